import { Hono } from 'hono';
import { AccountPage } from '../../../views/auth/account.js';
import { LoginPage, SetupPage } from '../../../views/auth/login.js';
import type { AppContext, AppEnv } from '../../middleware/context.js';
import { pageCtx } from '../../middleware/render.js';
import { clearSessionCookie, LOCALE_COOKIE, requireLogin, setCookie, setSessionCookie } from '../../middleware/web-auth.js';
import { field, safeNext } from '../../lib/forms.js';
import { isTimeZone } from '../../lib/format.js';
import { PasswordHasherBusy } from '../../lib/passwords.js';
import { hashToken, newToken } from '../../lib/tokens.js';
import { recordAudit } from '../../models/audit.js';
import { passwordProblem, setupAdmin, signIn } from '../../models/auth.js';
import { setupTokenValid } from '../../models/setup.js';
import { hasActiveAdmin, isEmail, normalizeEmail, setPassword, setUserPreferences, userById } from '../../models/users.js';
import { createWebSession, deleteWebSession } from '../../models/web-sessions.js';

export const authRoutes = new Hono<AppEnv>();

/** Issues a fresh login cookie for the user and remembers it server-side. */
async function startWebSession(c: AppContext, userId: number): Promise<void> {
  const { db, config, clock } = c.var.deps;
  const token = newToken();
  const maxAgeMs = config.webSessionMaxHours * 3600_000;
  await createWebSession(db, {
    tokenHash: hashToken(token),
    userId,
    now: clock.now(),
    maxAgeMs,
    ip: c.var.ip,
    userAgent: c.req.header('user-agent') ?? null,
  });
  setSessionCookie(c, token, Math.floor(maxAgeMs / 1000));
}

authRoutes.get('/login', (c) => {
  if (c.var.viewer) return c.redirect('/', 303);
  const notice = c.req.query('bye') !== undefined ? c.var.t('auth.login.signed_out') : null;
  return c.html(<LoginPage ctx={pageCtx(c)} next={safeNext(c.req.query('next'))} notice={notice} />);
});

authRoutes.post('/login', async (c) => {
  const body = await c.req.parseBody();
  const email = field(body, 'email').slice(0, 254);
  const password = typeof body.password === 'string' ? body.password.slice(0, 256) : '';
  const next = safeNext(field(body, 'next'));
  const t = c.var.t;
  try {
    const result = await signIn(c.var.deps, { email, password, ip: c.var.ip });
    if (result.ok) {
      await startWebSession(c, result.userId);
      return c.redirect(next, 303);
    }
    const error = result.retryAfterSec ? t('auth.login.throttled', { seconds: result.retryAfterSec }) : t('auth.login.invalid');
    if (result.retryAfterSec) c.header('Retry-After', String(result.retryAfterSec));
    return c.html(<LoginPage ctx={pageCtx(c)} email={email} next={next} error={error} />, result.retryAfterSec ? 429 : 401);
  } catch (e) {
    if (e instanceof PasswordHasherBusy) {
      c.header('Retry-After', '5');
      return c.html(<LoginPage ctx={pageCtx(c)} email={email} next={next} error={t('auth.login.busy')} />, 503);
    }
    throw e;
  }
});

authRoutes.post('/logout', async (c) => {
  const viewer = c.var.viewer;
  if (viewer) {
    const { db, clock } = c.var.deps;
    await deleteWebSession(db, viewer.tokenHash);
    await recordAudit(db, viewer.actor, { action: 'logout', targetType: 'user', targetId: viewer.user.id, targetLabel: viewer.user.email }, clock.now());
  }
  clearSessionCookie(c);
  return c.redirect('/login?bye', 303);
});

authRoutes.get('/setup/:token', async (c) => {
  const { db, clock } = c.var.deps;
  const token = c.req.param('token');
  const valid = !(await hasActiveAdmin(db)) && (await setupTokenValid(db, hashToken(token), clock.now()));
  return c.html(<SetupPage ctx={pageCtx(c)} token={token} valid={valid} />, valid ? 200 : 404);
});

authRoutes.post('/setup/:token', async (c) => {
  const token = c.req.param('token');
  const body = await c.req.parseBody();
  const email = field(body, 'email');
  const password = typeof body.password === 'string' ? body.password : '';
  const confirm = typeof body.confirm === 'string' ? body.confirm : '';
  const t = c.var.t;
  // A dead link answers 404 before any validation or (CPU-heavy) hashing happens.
  const { db, clock } = c.var.deps;
  if ((await hasActiveAdmin(db)) || !(await setupTokenValid(db, hashToken(token), clock.now()))) {
    return c.html(<SetupPage ctx={pageCtx(c)} token={token} valid={false} />, 404);
  }
  const problem = !isEmail(email) ? t('auth.email.invalid') : passwordProblem(t, password, confirm);
  if (problem) return c.html(<SetupPage ctx={pageCtx(c)} token={token} valid email={email} error={problem} />, 400);
  const user = await setupAdmin(c.var.deps, { tokenHash: hashToken(token), email, password, ip: c.var.ip });
  if (!user) return c.html(<SetupPage ctx={pageCtx(c)} token={token} valid={false} />, 404);
  await startWebSession(c, user.id);
  return c.redirect('/', 303);
});

authRoutes.post('/locale', async (c) => {
  const body = await c.req.parseBody();
  const locale = field(body, 'locale');
  const back = safeNext(field(body, 'back'));
  if (locale !== 'en' && locale !== 'ru') return c.redirect(back, 303);
  const viewer = c.var.viewer;
  if (viewer) await setUserPreferences(c.var.deps.db, viewer.user.id, { locale });
  setCookie(c, LOCALE_COOKIE, locale, { path: '/', sameSite: 'Lax', maxAge: 365 * 86400, secure: c.var.deps.config.secureCookies });
  return c.redirect(back, 303);
});

authRoutes.use('/account', requireLogin);
authRoutes.use('/account/*', requireLogin);

function accountPage(c: AppContext, status: 200 | 400 | 429 = 200, msg: { error?: string; notice?: string } = {}) {
  const u = c.var.viewer!.user;
  return c.html(<AccountPage ctx={pageCtx(c)} email={u.email} locale={u.locale} timeZone={u.time_zone} {...msg} />, status);
}

authRoutes.get('/account', (c) => accountPage(c, 200, { notice: c.req.query('saved') !== undefined ? c.var.t('common.saved') : undefined }));

authRoutes.post('/account', async (c) => {
  const body = await c.req.parseBody();
  const locale = field(body, 'locale');
  const timeZone = field(body, 'timeZone');
  const t = c.var.t;
  if (locale !== '' && locale !== 'en' && locale !== 'ru') return accountPage(c, 400, { error: t('auth.account.locale_invalid') });
  if (timeZone !== '' && (timeZone.length > 64 || !isTimeZone(timeZone))) return accountPage(c, 400, { error: t('auth.account.time_zone_invalid') });
  const viewer = c.var.viewer!;
  await setUserPreferences(c.var.deps.db, viewer.user.id, { locale: locale || null, timeZone: timeZone || null });
  await recordAudit(c.var.deps.db, viewer.actor, { action: 'user.preferences', targetType: 'user', targetId: viewer.user.id, targetLabel: viewer.user.email }, c.var.deps.clock.now());
  return c.redirect('/account?saved', 303);
});

authRoutes.post('/account/password', async (c) => {
  const body = await c.req.parseBody();
  const current = typeof body.current === 'string' ? body.current : '';
  const password = typeof body.password === 'string' ? body.password : '';
  const confirm = typeof body.confirm === 'string' ? body.confirm : '';
  const { db, hasher, clock, limits } = c.var.deps;
  const t = c.var.t;
  const viewer = c.var.viewer!;
  const user = (await userById(db, viewer.user.id))!;
  // A wrong current password is a guess like a failed login: it counts against the account's
  // login limit (someone holding a borrowed session must not try passwords at hashing speed).
  const key = normalizeEmail(user.email);
  const gate = limits.loginPerAccount.hit(key, clock.now());
  if (!gate.ok) {
    c.header('Retry-After', String(gate.retryAfterSec));
    return accountPage(c, 429, { error: t('auth.login.throttled', { seconds: gate.retryAfterSec }) });
  }
  // Refused, it writes nothing (the count lives in memory, as the login's).
  if (!(await hasher.verify(user.password_hash, current.slice(0, 256)))) return accountPage(c, 400, { error: t('auth.password.wrong_current') });
  limits.loginPerAccount.undo(key, clock.now());
  const problem = passwordProblem(t, password, confirm);
  if (problem) return accountPage(c, 400, { error: problem });
  await setPassword(db, user.id, await hasher.hash(password), clock.now(), viewer.tokenHash);
  await recordAudit(db, viewer.actor, { action: 'user.password_changed', targetType: 'user', targetId: user.id, targetLabel: user.email }, clock.now());
  return accountPage(c, 200, { notice: t('auth.password.changed') });
});
