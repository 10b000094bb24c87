import { Hono } from 'hono';
import { compress } from 'hono/compress';
import { AppError, invalid } from '../../lib/errors.js';
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
// A path or query string whose percent-escapes are not UTF-8 ("%ZZ", "%ED%A0%80") names nothing: a 400
// saying so, rather than looking it up as the literal text. Most URLs have no escape and skip the check.
apiRoutes.use('*', async (c, next) => {
  const url = c.req.url;
  if (url.includes('%')) {
    const at = url.indexOf('?');
    const path = at < 0 ? url : url.slice(0, at);
    if (!decodes(path)) throw invalid({ path: 'api.v.url_encoding' });
    if (at >= 0 && !url.slice(at + 1).split('&').every((part) => decodes(part.replace(/\+/g, ' ')))) throw invalid({ query: 'api.v.url_encoding' });
  }
  await next();
});

function decodes(s: string): boolean {
  try {
    decodeURIComponent(s);
    return true;
  } catch {
    return false;
  }
}

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
