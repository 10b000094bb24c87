import { localeFromAcceptLanguage, translator, type Locale } from '../i18n/index.js';

/**
 * What the port answers while the server opens and migrates its database (server.ts): 503 with
 * Retry-After, in the API's error shape under /api (an agent's SDK reads `error.code`), plain text
 * elsewhere (a browser, the health check).
 */
export function startingResponse(req: Request, defaultLocale: Locale): Response {
  const headers: Record<string, string> = { 'Retry-After': '1', 'Cache-Control': 'no-store' };
  const t = translator(localeFromAcceptLanguage(req.headers.get('accept-language')) ?? defaultLocale);
  const message = t('api.unavailable');
  if (new URL(req.url).pathname.startsWith('/api/')) {
    const body = { error: { code: 'unavailable', message, details: { retryAfterSec: 1 } } };
    return new Response(JSON.stringify(body), { status: 503, headers: { ...headers, 'Content-Type': 'application/json; charset=utf-8' } });
  }
  return new Response(message, { status: 503, headers: { ...headers, 'Content-Type': 'text/plain; charset=utf-8' } });
}
