import { loadConfig } from '../config.js';

// The container's HEALTHCHECK: exit 0 when /healthz answers 200 within 3 s, else 1.
// Plain Node, because the slim image has no curl or wget.
const { port, host } = loadConfig();
/** Where the server answers from inside its container: its own address when HOST names one, else loopback. */
function target(h: string): string {
  if (h === '0.0.0.0' || h === '::' || h === '' || h === 'localhost') return '127.0.0.1';
  return h.includes(':') ? `[${h}]` : h;
}
const controller = new AbortController();
const timer = setTimeout(() => controller.abort(), 3000);
fetch(`http://${target(host)}:${port}/healthz`, { signal: controller.signal })
  .then((res) => {
    clearTimeout(timer);
    process.exit(res.status === 200 ? 0 : 1);
  })
  .catch(() => process.exit(1));
