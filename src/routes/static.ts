import { Hono } from 'hono';
import type { AppEnv } from '../middleware/context.js';

/** Content-hashed static files: cached for a year, served pre-compressed. */
export const staticRoutes = new Hono<AppEnv>();

staticRoutes.get('/assets/:file', (c) => {
  const asset = c.var.deps.assets.byFile(c.req.param('file'));
  if (!asset) return c.notFound();
  const accept = c.req.header('accept-encoding') ?? '';
  c.header('Content-Type', asset.type);
  c.header('Cache-Control', 'public, max-age=31536000, immutable');
  c.header('Vary', 'Accept-Encoding');
  c.header('X-Content-Type-Options', 'nosniff');
  if (/\bbr\b/.test(accept)) {
    c.header('Content-Encoding', 'br');
    return c.body(new Uint8Array(asset.br));
  }
  if (/\bgzip\b/.test(accept)) {
    c.header('Content-Encoding', 'gzip');
    return c.body(new Uint8Array(asset.gzip));
  }
  return c.body(new Uint8Array(asset.body));
});
