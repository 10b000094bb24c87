import { loadConfig } from '../config.js';

// The container's HEALTHCHECK: exit 0 when /healthz answers 200 within 3 s, else 1.
// Plain Node, because the slim image has no curl or wget.
const { port } = loadConfig();
const controller = new AbortController();
const timer = setTimeout(() => controller.abort(), 3000);
fetch(`http://127.0.0.1:${port}/healthz`, { signal: controller.signal })
  .then((res) => {
    clearTimeout(timer);
    process.exit(res.status === 200 ? 0 : 1);
  })
  .catch(() => process.exit(1));
