import { Hono } from 'hono';
import { AppError } from '../../lib/errors.js';
import { apiHeaders } from '../../middleware/api.js';
import type { AppEnv } from '../../middleware/context.js';
import { adminRoutes } from './admin.js';
import { agentRoutes } from './agent.js';

/** Everything under /api/v1: JSON only, never HTML. */
export const apiRoutes = new Hono<AppEnv>();
apiRoutes.use('*', apiHeaders);

// Mounts, one line each, above the catch-all:
// apiRoutes.route('/', agentRoutes);      PROTOCOL §1–4 (./agent.ts)
// apiRoutes.route('/admin', adminRoutes); PROTOCOL §5 (./admin.ts)
apiRoutes.route('/admin', adminRoutes);
apiRoutes.route('/', agentRoutes);

// Every other /api/v1 path is a JSON 404.
apiRoutes.all('*', () => {
  throw new AppError('not_found', 404);
});
