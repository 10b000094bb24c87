import { Hono } from 'hono';
import { compress } from 'hono/compress';
import { AppError } from '../../lib/errors.js';
import { apiHeaders } from '../../middleware/api.js';
import type { AppEnv } from '../../middleware/context.js';
import { adminRoutes } from './admin.js';
import { agentRoutes } from './agent.js';

/** Everything under /api/v1: JSON only, never HTML. */
export const apiRoutes = new Hono<AppEnv>();
apiRoutes.use('*', apiHeaders);
// The admin API's lists (sessions with their metrics, histories) compress well. Not the agent
// protocol: its answers are a few dozen bytes and a compressor would cost more CPU than it saves.
apiRoutes.use('/admin/*', compress());

// Mounts, one line each, above the catch-all:
// apiRoutes.route('/', agentRoutes);      PROTOCOL §1–4 (./agent.ts)
// apiRoutes.route('/admin', adminRoutes); PROTOCOL §5 (./admin.ts)
apiRoutes.route('/admin', adminRoutes);
apiRoutes.route('/', agentRoutes);

// Every other /api/v1 path is a JSON 404.
apiRoutes.all('*', () => {
  throw new AppError('not_found', 404);
});
