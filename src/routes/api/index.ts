import { Hono } from 'hono';
import { compress } from 'hono/compress';
import { AppError } from '../../lib/errors.js';
import { apiHeaders, MAX_BODY_BYTES } from '../../middleware/api.js';
import type { AppEnv } from '../../middleware/context.js';
import { adminRoutes } from './admin.js';
import { agentRoutes } from './agent.js';

/** Everything under /api/v1: JSON only, never HTML. */
export const apiRoutes = new Hono<AppEnv>();
apiRoutes.use('*', apiHeaders);
// PROTOCOL: any body over 64 KiB is 413, also where the endpoint reads none (a release, a pool clear).
apiRoutes.use('*', async (c, next) => {
  if (Number(c.req.header('content-length') ?? 0) > MAX_BODY_BYTES) throw new AppError('payload_too_large', 413);
  await next();
});
// The admin API's lists (sessions with their metrics, histories) compress well. Not the agent
// protocol: its answers are a few dozen bytes and a compressor would cost more CPU than it saves.
apiRoutes.use('/admin/*', compress());

// Mounts, one line each, above the catch-all:
// apiRoutes.route('/', agentRoutes);      PROTOCOL §1–4 (./agent.ts)
// apiRoutes.route('/admin', adminRoutes); PROTOCOL §5 (./admin.ts)
apiRoutes.route('/admin', adminRoutes);
apiRoutes.route('/', agentRoutes);

// Every other /api/v1 path is a JSON 404 (its message says the endpoint, not an object, is missing).
apiRoutes.all('*', () => {
  throw new AppError('not_found', 404, {}, { route: 1 });
});
