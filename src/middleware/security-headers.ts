import type { MiddlewareHandler } from 'hono';

// Scripts and styles only from our own origin: no inline script, no eval, no inline style.
export const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Security headers on every answer with a body. The 204/304 of the 5-second
 * poll carry none of this: nothing is rendered from them, and every byte
 * counts on a metered link.
 */
export const securityHeaders: MiddlewareHandler = async (c, next) => {
  await next();
  const status = c.res.status;
  if (status === 204 || status === 304) return;
  const h = c.res.headers;
  h.set('X-Content-Type-Options', 'nosniff');
  h.set('Referrer-Policy', 'same-origin');
  if ((h.get('content-type') ?? '').startsWith('text/html')) {
    // The document policies belong to documents. An htmx fragment (HX-Request, which no
    // navigation can send; Vary: HX-Request, no-store) is fetched and inserted into a page
    // already governed by its own CSP, where these headers have no effect: ~400 B per poll.
    if (c.req.header('hx-request') !== 'true') {
      h.set('Content-Security-Policy', CSP);
      h.set('X-Frame-Options', 'DENY');
      h.set('Cross-Origin-Opener-Policy', 'same-origin');
      h.set('Permissions-Policy', 'camera=(), microphone=(), geolocation=()');
    }
    if (!h.has('Cache-Control')) h.set('Cache-Control', 'no-store');
  }
};
