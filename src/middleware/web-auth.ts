import { createHmac } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { getCookie, setCookie, deleteCookie } from 'hono/cookie';
import type { Role, UserRow } from '../db/schema.js';
import { isLocale, localeFromAcceptLanguage, translator, type Locale } from '../i18n/index.js';
import { AppError } from '../lib/errors.js';
import { safeNext } from '../lib/forms.js';
import { isTimeZone } from '../lib/format.js';
import { constantTimeEqual, hashToken } from '../lib/tokens.js';
import { deleteWebSession, touchWebSession, webSessionByTokenHash, type WebSessionWithUser } from '../models/web-sessions.js';
import type { AppContext, AppEnv } from './context.js';

export const SESSION_COOKIE = 'sm_session';
export const LOCALE_COOKIE = 'sm_lang';
export const TZ_COOKIE = 'sm_tz';
/** Header the page's automatic refresh sends: such requests do not count as activity. */
export const POLL_HEADER = 'x-auto-refresh';

/** The CSRF token of a login: derived from its secret, so nothing more is stored. */
export function csrfTokenFor(sessionToken: string): string {
  return createHmac('sha256', sessionToken).update('csrf').digest('base64url');
}

export function setSessionCookie(c: AppContext, token: string, maxAgeSec: number): void {
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'Lax',
    secure: c.var.deps.config.secureCookies,
    path: '/',
    maxAge: maxAgeSec,
  });
}

export function clearSessionCookie(c: AppContext): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/', secure: c.var.deps.config.secureCookies });
}

/** The login cookie's token, if one of a plausible length was sent. */
export function sessionTokenOf(c: AppContext): string | undefined {
  const token = getCookie(c, SESSION_COOKIE);
  return token && token.length <= 200 ? token : undefined;
}

/** Whether a stored login still signs its user in: within its absolute and idle ends, and the user not disabled. */
export function loginIsLive(ws: WebSessionWithUser, now: number, idleMinutes: number): boolean {
  return ws.expiresAt > now && ws.lastActiveAt + idleMinutes * 60_000 > now && ws.user.disabled_at === null;
}

/** Whether the request is the page's automatic refresh (which is not activity). */
export const isPoll = (c: AppContext): boolean => !!c.req.header(POLL_HEADER);

/** The language of the answer: the user's own, else the sm_lang cookie's, else Accept-Language's, else the default. */
export function viewerLocale(c: AppContext, user: UserRow | null): Locale {
  const cookieLocale = getCookie(c, LOCALE_COOKIE);
  return (
    (user && isLocale(user.locale) ? user.locale : null) ??
    (isLocale(cookieLocale) ? cookieLocale : null) ??
    localeFromAcceptLanguage(c.req.header('accept-language')) ??
    c.var.deps.config.defaultLocale
  );
}

/** The time zone times are shown in: the user's own, else the browser's (sm_tz cookie), else the default. */
export function viewerTimeZone(c: AppContext, user: UserRow | null): string {
  const cookieTz = getCookie(c, TZ_COOKIE);
  return (
    (user?.time_zone && isTimeZone(user.time_zone) ? user.time_zone : null) ??
    (cookieTz && cookieTz.length < 64 && isTimeZone(cookieTz) ? cookieTz : null) ??
    c.var.deps.config.defaultTimeZone
  );
}

/**
 * Loads the signed-in user (if any), the locale and time zone. An expired
 * login (idle or absolute) is deleted and treated as signed out. Requests from
 * the automatic refresh do not move the idle clock, so an open tab expires.
 * The monitor's unchanged poll is answered before this runs, with the same
 * functions (src/routes/web/monitor.tsx answerUnchangedPoll).
 */
export const loadViewer: MiddlewareHandler<AppEnv> = async (c, next) => {
  const { db, config, clock } = c.var.deps;
  const now = clock.now();
  c.set('viewer', null);
  const token = sessionTokenOf(c);
  if (token) {
    const tokenHash = hashToken(token);
    const ws = await webSessionByTokenHash(db, tokenHash);
    if (ws && !loginIsLive(ws, now, config.webSessionIdleMinutes)) {
      await deleteWebSession(db, tokenHash);
      clearSessionCookie(c);
    } else if (ws) {
      const u = ws.user;
      let csrf: string | undefined;
      c.set('viewer', {
        user: u,
        actor: { type: 'user', id: u.id, name: u.email, role: u.role, clientId: u.client_id, ip: c.var.ip },
        tokenHash,
        // Derived when a page or a check needs it, not for every poll answered 304.
        get csrfToken() {
          return (csrf ??= csrfTokenFor(token));
        },
      });
      // Write at most once a minute: the idle timeout is counted in minutes.
      if (!isPoll(c) && now - ws.lastActiveAt >= 60_000) await touchWebSession(db, tokenHash, now);
    } else {
      clearSessionCookie(c);
    }
  }
  const user = c.var.viewer?.user ?? null;
  const locale = viewerLocale(c, user);
  c.set('locale', locale);
  c.set('t', translator(locale));
  c.set('timeZone', viewerTimeZone(c, user));
  await next();
};

/** The origin this server is reached at: PUBLIC_URL's, else the request's own. */
function ownOrigin(c: AppContext): string {
  const pub = c.var.deps.config.publicUrl;
  return pub ? new URL(pub).origin : new URL(c.req.url).origin;
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * CSRF defence for every state-changing web request: the browser's Origin (or
 * Sec-Fetch-Site) must be our own, and a signed-in user's request must carry
 * the per-login token in the X-CSRF-Token header (htmx) or the _csrf field (forms).
 */
export const csrfProtection: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (SAFE.has(c.req.method)) return next();
  const origin = c.req.header('origin');
  if (origin !== undefined) {
    const own = ownOrigin(c);
    if (origin !== own) {
      // The usual cause in a new installation: the monitor opened at another address than PUBLIC_URL's.
      if (origin === new URL(c.req.url).origin) {
        c.var.deps.logger.warn(`a form was refused: it came from ${origin}, but PUBLIC_URL says the monitor is ${own}. Open it at ${own}, or set PUBLIC_URL to the address users reach.`);
      }
      throw new AppError('csrf', 403);
    }
  } else {
    const site = c.req.header('sec-fetch-site');
    if (site && site !== 'same-origin' && site !== 'none') throw new AppError('csrf', 403);
  }
  const viewer = c.var.viewer;
  if (viewer) {
    let sent = c.req.header('x-csrf-token');
    if (!sent) {
      const type = c.req.header('content-type') ?? '';
      if (type.startsWith('application/x-www-form-urlencoded') || type.startsWith('multipart/form-data')) {
        const body = await c.req.parseBody();
        sent = typeof body._csrf === 'string' ? body._csrf : undefined;
      }
    }
    if (!sent || !constantTimeEqual(sent, viewer.csrfToken)) throw new AppError('csrf', 403);
  }
  return next();
};

/**
 * Where to come back to after signing in: a page's own address, or for htmx the
 * page it was sent from (HX-Current-URL; a fragment's or a POST's address is no page
 * to return to). Only a path of this site (safeNext); null when there is none.
 */
function returnPath(c: AppContext): string | null {
  let url: URL;
  if (c.req.header('hx-request')) {
    const from = c.req.header('hx-current-url');
    if (!from) return null;
    try {
      url = new URL(from, c.req.url);
    } catch {
      return null;
    }
  } else if (c.req.method === 'GET') url = new URL(c.req.url);
  else return null;
  return safeNext(url.pathname + url.search);
}

/** Signed-in users only; others are sent to the login page (htmx gets HX-Redirect), with the way back. */
export const requireLogin: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!c.var.viewer) {
    const back = returnPath(c);
    const login = back ? `/login?next=${encodeURIComponent(back)}` : '/login';
    if (c.req.header('hx-request')) {
      c.header('HX-Redirect', login);
      return c.body(null, 401);
    }
    return c.redirect(login, 303);
  }
  return next();
};

/**
 * Only these roles. A staff user without the right gets 403; a client user
 * gets 404 for any staff page, as if it did not exist.
 */
export function requireRole(...roles: Role[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const viewer = c.var.viewer;
    if (!viewer) return requireLogin(c, next);
    if (!roles.includes(viewer.user.role)) {
      throw viewer.user.role === 'client' ? new AppError('not_found', 404) : new AppError('forbidden', 403);
    }
    return next();
  };
}

export { deleteCookie, getCookie, setCookie };
