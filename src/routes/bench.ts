import { Hono } from 'hono';
import type { AppEnv } from '../middleware/context.js';

/**
 * Benchmark-only endpoints, mounted only when BENCH_ENDPOINTS=1 (never by
 * default): `npm run bench` compares the agent API with a bare JSON POST on the
 * same server setup and reads the server process's own CPU time and memory.
 */
export const benchRoutes = new Hono<AppEnv>();

/** The bare endpoint: parse a JSON body, answer a heartbeat-shaped JSON; nothing else. */
benchRoutes.post('/__bench/echo', async (c) => {
  await c.req.json();
  return c.json({ commands: [], heartbeatIntervalSec: 60 });
});

/** CPU time (µs, user + system) and memory of this process. */
benchRoutes.get('/__bench/stats', (c) => {
  // With node --expose-gc: ?gc=1 collects first (tells garbage from what is kept).
  const gc = (globalThis as { gc?: () => void }).gc;
  if (c.req.query('gc') === '1' && gc) gc();
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  return c.json({
    cpuUs: cpu.user + cpu.system,
    userUs: cpu.user,
    systemUs: cpu.system,
    rss: mem.rss,
    heapUsed: mem.heapUsed,
    heapTotal: mem.heapTotal,
    external: mem.external,
    arrayBuffers: mem.arrayBuffers,
    maxRssKb: process.resourceUsage().maxRSS,
    groups: c.var.deps.groupCommit.counts,
  });
});
