import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ErrorPage } from '../../views/errors/error-page.js';
import { translator } from '../i18n/index.js';
import { apiLocale } from './api.js';
import { AppError, errorDetail, invalidFields, RateLimited } from '../lib/errors.js';
import type { AppEnv } from './context.js';
import { pageCtx } from './render.js';

const isApi = (c: Context) => new URL(c.req.url).pathname.startsWith('/api/');

/** Maps a domain error to the API's JSON error shape, message in the caller's language. */
export function apiError(c: Context<AppEnv>, err: AppError): Response {
  const t = translator(apiLocale(c));
  // An unknown route and a missing object are both not_found; the message tells them apart.
  const key =
    err.code === 'not_found' && err.params.route
      ? 'api.not_found_route'
      : err.code === 'not_running' && err.params.package !== undefined
        ? 'api.not_running_package'
        : `api.${err.code}`;
  const params: Record<string, string | number> = { detail: errorDetail(err, t), ...err.params };
  for (const [k, v] of Object.entries(err.details)) if (typeof v === 'string' || typeof v === 'number') params[k] = v;
  if (err.code === 'session_closed' && typeof err.details.reason === 'string') params.reason = t(`api.reason.${err.details.reason}`);
  const message = err.code === 'infobase_locked' && typeof err.details.message === 'string' ? err.details.message : t(key, params);
  const body: { error: { code: string; message: string; details?: Record<string, unknown> } } = { error: { code: err.code, message } };
  const fields = invalidFields(err, t);
  const details = err.code === 'infobase_locked' ? {} : fields ? { ...err.details, fields } : err.details;
  if (Object.keys(details).length) body.error.details = details;
  if (err instanceof RateLimited) c.header('Retry-After', String(err.retryAfterSec));
  // RFC 6750: a 401 names the scheme it wants.
  if (err.status === 401) c.header('WWW-Authenticate', 'Bearer');
  return c.json(body, err.status);
}

const WEB_MESSAGES: Record<string, string> = {
  not_found: 'error.not_found',
  forbidden: 'error.forbidden',
  csrf: 'error.csrf',
  payload_too_large: 'error.payload_too_large',
};

/** The one place errors become responses: JSON under /api, an HTML page elsewhere. */
export function onError(err: Error, c: Context<AppEnv>): Response | Promise<Response> {
  if (err instanceof HTTPException && !(err instanceof AppError)) {
    // Hono's own refusals (e.g. body limit) come through here.
    const status = err.status;
    const code = status === 413 ? 'payload_too_large' : status === 415 ? 'unsupported_media_type' : 'invalid_request';
    err = new AppError(code, (status === 413 || status === 415 ? status : 400) as 400);
  }
  if (!(err instanceof AppError)) {
    c.var.deps?.logger.error('unhandled error', { method: c.req.method, path: new URL(c.req.url).pathname, error: err.stack ?? String(err) });
    err = new AppError('internal', 500);
  }
  const appErr = err as AppError;
  if (isApi(c)) return apiError(c, appErr);
  if (!c.var.t) c.set('t', translator('en'));
  const t = c.var.t;
  const key = WEB_MESSAGES[appErr.code] ?? (appErr.status === 500 ? 'error.internal' : `error.bad_request`);
  // A bad query parameter's message is whole already (it names the parameter and what is wrong).
  const message =
    appErr.code === 'bad_query' ? String(appErr.params.detail) : key === 'error.bad_request' ? t(key, { detail: errorDetail(appErr, t) || appErr.code }) : t(key);
  if (appErr instanceof RateLimited) c.header('Retry-After', String(appErr.retryAfterSec));
  if (c.req.header('hx-request')) {
    return c.html(`<p class="msg error" role="alert">${escapeHtml(message)}</p>`, appErr.status);
  }
  // A page asked for with a setting it cannot read: the same page without its settings is one click away.
  const withoutQuery = appErr.code === 'bad_query' && c.req.method === 'GET' ? new URL(c.req.url).pathname : undefined;
  return c.html(<ErrorPage ctx={pageCtx(c)} status={appErr.status} message={message} withoutQuery={withoutQuery} />, appErr.status);
}

export function onNotFound(c: Context<AppEnv>): Response | Promise<Response> {
  return onError(new AppError('not_found', 404, {}, { route: 1 }), c);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}
