import { Hono } from 'hono';
import { apiHeaders } from '../middleware/api.js';
import type { AppEnv } from '../middleware/context.js';
import { heartbeatHandler } from './api/agent.js';

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

/**
 * The heartbeat route without its database work: the same handler, body
 * validation, id and bearer checks and answer, under the same /api/v1
 * headers, with a recorder that reads and writes nothing. What heartbeats
 * could reach if the database cost nothing.
 */
benchRoutes.post(
  '/api/v1/__bench/sessions/:id/heartbeat',
  apiHeaders,
  heartbeatHandler(async () => ({ commands: [], heartbeatIntervalSec: 60 })),
);

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
