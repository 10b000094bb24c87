import { ConfigError, loadConfig, type Config } from '../config.js';

// The container's HEALTHCHECK: exit 0 when /healthz answers 200 within 3 s, else 1 with the reason
// on one line (docker inspect shows it). Plain Node, because the slim image has no curl or wget.
let config: Config;
try {
  config = loadConfig();
} catch (e) {
  if (!(e instanceof ConfigError)) throw e;
  console.error(`unhealthy: configuration: ${e.message}`);
  process.exit(1);
}
const { port, host } = config;
/** Where the server answers from inside its container: its own address when HOST names one, else loopback. */
function target(h: string): string {
  if (h === '0.0.0.0' || h === '::' || h === '' || h === 'localhost') return '127.0.0.1';
  return h.includes(':') ? `[${h}]` : h;
}
const controller = new AbortController();
const timer = setTimeout(() => controller.abort(), 3000);
const url = `http://${target(host)}:${port}/healthz`;
fetch(url, { signal: controller.signal })
  .then((res) => {
    clearTimeout(timer);
    if (res.status !== 200) console.error(`unhealthy: ${url} answered ${res.status}`);
    process.exit(res.status === 200 ? 0 : 1);
  })
  .catch((e: unknown) => {
    console.error(`unhealthy: ${url}: ${controller.signal.aborted ? 'no answer within 3 s' : e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e)}`);
    process.exit(1);
  });
