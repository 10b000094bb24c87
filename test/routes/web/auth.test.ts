import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Response } from 'supertest';
import { hashToken, newToken } from '../../../src/lib/tokens.js';
import { createSetupToken } from '../../../src/models/setup.js';
import { login, loginAs, makeApp, makeUser, TEST_PASSWORD, type TestApp } from '../../helpers/app.js';

const MIN = 60_000;

function setCookies(res: Response): string[] {
  return ([] as string[]).concat(res.headers['set-cookie'] ?? []);
}

/** The sm_session Set-Cookie line of a response, if any. */
function sessionSetCookie(res: Response): string | undefined {
  return setCookies(res).find((c) => c.startsWith('sm_session='));
}

function sessionCookie(res: Response): string {
  const line = sessionSetCookie(res);
  if (!line) throw new Error(`no session cookie (status ${res.status})`);
  return line.split(';')[0];
}

function alertText(html: string): string | undefined {
  return /<p class="msg error" role="alert"[^>]*>([^<]*)<\/p>/.exec(html)?.[1];
}

const postLogin = (t: TestApp, email: string, password: string) => t.request.post('/login').type('form').send({ email, password });

async function webSessionsOf(t: TestApp, userId: number) {
  return t.db.selectFrom('web_sessions').selectAll().where('user_id', '=', userId).execute();
}

async function auditRows(t: TestApp, action: string) {
  return t.db.selectFrom('audit_log').selectAll().where('action', '=', action).orderBy('id').execute();
}

describe('login', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.close());

  it('signs in with the right password and stores only the token hash', async () => {
    const user = await makeUser(t, 'admin');
    const res = await postLogin(t, user.email.toUpperCase(), TEST_PASSWORD);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/');
    const cookie = sessionCookie(res);
    const token = cookie.slice('sm_session='.length);
    expect(token.length).toBeGreaterThanOrEqual(43); // 256 bits in base64url
    const rows = await webSessionsOf(t, user.id);
    expect(rows).toHaveLength(1);
    expect(rows[0].token_hash).toBe(hashToken(token));
    expect(rows[0].token_hash).not.toContain(token);
    const account = await t.request.get('/account').set('Cookie', cookie);
    expect(account.status).toBe(200);
    expect(account.text).toContain(user.email);
    const audit = await auditRows(t, 'login');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor_type: 'user', actor_id: user.id, target_id: String(user.id), ip: '127.0.0.1' });
  });

  it('goes back only to a path of this site: a control character or backslash anywhere sends to the start page', async () => {
    const user = await makeUser(t, 'admin');
    const signIn = (next: string) => t.request.post('/login').type('form').send({ email: user.email, password: TEST_PASSWORD, next });
    expect((await signIn('/licenses?q=acme')).headers.location).toBe('/licenses?q=acme');
    // Browsers drop tabs and newlines and read "\" as "/": each of these would open //evil.example.
    for (const next of ['/\t/evil.example', '/\n/evil.example', '/\r/evil.example', '/\\evil.example', '/x/../\\/evil.example', '/\u0000/evil.example', '//evil.example']) {
      const res = await signIn(next);
      expect(res.status, JSON.stringify(next)).toBe(303);
      expect(res.headers.location, JSON.stringify(next)).toBe('/');
    }
    // The login page does not carry such a next into its form either.
    const page = await t.request.get('/login?next=/%09/evil.example');
    expect(page.text).toMatch(/name="next" value="\/"/);
    expect(page.text).not.toContain('evil.example');
  });

  it('the language switch goes back only to a path of this site', async () => {
    const back = (value: string) => t.request.post('/locale').type('form').send({ locale: 'ru', back: value });
    expect((await back('/licenses')).headers.location).toBe('/licenses');
    for (const value of ['/\t/evil.example', '/\\evil.example', '//evil.example']) expect((await back(value)).headers.location, JSON.stringify(value)).toBe('/');
  });

  it('answers a wrong password and an unknown account with the same status and message', async () => {
    const user = await makeUser(t, 'support');
    const wrong = await postLogin(t, user.email, 'not the password');
    const unknown = await postLogin(t, 'nobody@example.com', 'not the password');
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(wrong.status);
    expect(alertText(wrong.text)).toBe('Wrong e-mail or password.');
    expect(alertText(unknown.text)).toBe(alertText(wrong.text));
    expect(sessionSetCookie(wrong)).toBeUndefined();
    expect(sessionSetCookie(unknown)).toBeUndefined();
    expect(await webSessionsOf(t, user.id)).toHaveLength(0);
    const failed = await auditRows(t, 'login.failed');
    expect(failed).toHaveLength(2);
    expect(failed[0]).toMatchObject({ actor_type: 'anonymous', actor_name: user.email, target_id: String(user.id), ip: '127.0.0.1' });
    expect(failed[1]).toMatchObject({ actor_type: 'anonymous', actor_name: 'nobody@example.com', target_id: null });
  });

  it('refuses a disabled user with the same message', async () => {
    const user = await makeUser(t, 'support');
    await t.db.updateTable('users').set({ disabled_at: t.clock.now() }).where('id', '=', user.id).execute();
    const res = await postLogin(t, user.email, TEST_PASSWORD);
    expect(res.status).toBe(401);
    expect(alertText(res.text)).toBe('Wrong e-mail or password.');
    expect(await webSessionsOf(t, user.id)).toHaveLength(0);
  });

  it('issues a new token at every login, replacing any cookie the browser brought', async () => {
    const user = await makeUser(t, 'admin');
    const planted = 'sm_session=' + newToken();
    const first = await postLogin(t, user.email, TEST_PASSWORD).set('Cookie', planted);
    const second = await postLogin(t, user.email, TEST_PASSWORD);
    const a = sessionCookie(first);
    const b = sessionCookie(second);
    expect(a).not.toBe(planted);
    expect(a).not.toBe(b);
    expect(await webSessionsOf(t, user.id)).toHaveLength(2);
    expect((await t.request.get('/account').set('Cookie', planted)).status).toBe(303);
  });
});

describe('login throttling', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('blocks an account after the configured failures, known or not, and lifts after the window', async () => {
    t = await makeApp({ loginMaxFailuresPerAccount: 3, loginWindowSeconds: 900 });
    const user = await makeUser(t, 'admin');
    for (let i = 0; i < 3; i++) expect((await postLogin(t, user.email, 'wrong password!')).status).toBe(401);
    for (let i = 0; i < 3; i++) expect((await postLogin(t, 'ghost@example.com', 'wrong password!')).status).toBe(401);

    // Even the right password is not checked now; the answer does not tell whether the account exists.
    const blocked = await postLogin(t, user.email, TEST_PASSWORD);
    const blockedGhost = await postLogin(t, 'ghost@example.com', TEST_PASSWORD);
    expect(blocked.status).toBe(429);
    expect(blockedGhost.status).toBe(429);
    expect(alertText(blocked.text)).toBe('Too many failed attempts. Try again in 900 s.');
    expect(alertText(blockedGhost.text)).toBe(alertText(blocked.text));
    expect(blocked.headers['retry-after']).toBe('900');
    expect(sessionSetCookie(blocked)).toBeUndefined();

    t.clock.advance(600_000);
    const later = await postLogin(t, user.email, TEST_PASSWORD);
    expect(later.status).toBe(429);
    expect(alertText(later.text)).toBe('Too many failed attempts. Try again in 300 s.');

    t.clock.advance(300_000);
    const ok = await postLogin(t, user.email, TEST_PASSWORD);
    expect(ok.status).toBe(303);
    expect(await webSessionsOf(t, user.id)).toHaveLength(1);
  });

  it('counts failures per IP across accounts', async () => {
    t = await makeApp({ loginMaxFailuresPerIp: 3, loginMaxFailuresPerAccount: 100, loginWindowSeconds: 60 });
    const user = await makeUser(t, 'support');
    for (const email of ['a@example.com', 'b@example.com', 'c@example.com']) {
      expect((await postLogin(t, email, 'wrong password!')).status).toBe(401);
    }
    const blocked = await postLogin(t, user.email, TEST_PASSWORD);
    expect(blocked.status).toBe(429);
    expect(alertText(blocked.text)).toBe('Too many failed attempts. Try again in 60 s.');
    t.clock.advance(60_000);
    expect((await postLogin(t, user.email, TEST_PASSWORD)).status).toBe(303);
  });
});

describe('login cookie', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('is HttpOnly, SameSite=Lax, lives as long as the absolute lifetime and is not Secure over http', async () => {
    t = await makeApp({ webSessionMaxHours: 12 });
    const user = await makeUser(t, 'admin');
    const line = sessionSetCookie(await postLogin(t, user.email, TEST_PASSWORD))!;
    expect(line).toMatch(/;\s*HttpOnly/i);
    expect(line).toMatch(/;\s*SameSite=Lax/i);
    expect(line).toMatch(/;\s*Path=\//);
    expect(line).toMatch(/;\s*Max-Age=43200/);
    expect(line).not.toMatch(/;\s*Secure/i);
  });

  it('is Secure when the public URL is https', async () => {
    t = await makeApp({ publicUrl: 'https://monitor.example.com', secureCookies: true });
    const user = await makeUser(t, 'admin');
    const line = sessionSetCookie(await postLogin(t, user.email, TEST_PASSWORD))!;
    expect(line).toMatch(/;\s*Secure/i);
    expect(line).toMatch(/;\s*HttpOnly/i);
    expect(line).toMatch(/;\s*SameSite=Lax/i);
  });
});

describe('web session lifetime', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp({ webSessionIdleMinutes: 60, webSessionMaxHours: 12 });
  });
  afterEach(() => t.close());

  const account = (cookie: string, poll = false) => {
    const req = t.request.get('/account').set('Cookie', cookie);
    return poll ? req.set('X-Auto-Refresh', '1') : req;
  };

  it('ends after the idle timeout; automatic refreshes do not count as activity', async () => {
    const { cookie, user } = await loginAs(t, 'support');
    t.clock.advance(30 * MIN);
    expect((await account(cookie, true)).status).toBe(200);
    t.clock.advance(29 * MIN);
    expect((await account(cookie, true)).status).toBe(200);
    t.clock.advance(2 * MIN); // 61 minutes without real activity
    const res = await account(cookie, true);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/login?next=%2Faccount');
    expect(await webSessionsOf(t, user.id)).toHaveLength(0);
    expect((await account(cookie)).status).toBe(303);
  });

  it('real activity moves the idle clock', async () => {
    const { cookie } = await loginAs(t, 'support');
    t.clock.advance(50 * MIN);
    expect((await account(cookie)).status).toBe(200);
    t.clock.advance(50 * MIN);
    expect((await account(cookie)).status).toBe(200);
    t.clock.advance(61 * MIN);
    expect((await account(cookie)).status).toBe(303);
  });

  it('ends at the absolute lifetime however active the user is', async () => {
    const { cookie, user } = await loginAs(t, 'admin');
    for (let elapsed = 0; elapsed < 12 * 60 - 50; elapsed += 50) {
      t.clock.advance(50 * MIN);
      expect((await account(cookie)).status).toBe(200);
    }
    t.clock.set((await webSessionsOf(t, user.id))[0].expires_at);
    expect((await account(cookie)).status).toBe(303);
    expect(await webSessionsOf(t, user.id)).toHaveLength(0);
  });
});

describe('logout and password change', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.close());

  it('logout revokes the login: the old cookie no longer works', async () => {
    const s = await loginAs(t, 'admin');
    const res = await t.request.post('/logout').set('Cookie', s.cookie).type('form').send({ _csrf: s.csrf });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/login?bye');
    expect(sessionSetCookie(res)).toMatch(/^sm_session=;/);
    expect(await webSessionsOf(t, s.user.id)).toHaveLength(0);
    const after = await t.request.get('/account').set('Cookie', s.cookie);
    expect(after.status).toBe(303);
    expect(after.headers.location).toMatch(/^\/login/);
    const audit = await auditRows(t, 'logout');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor_type: 'user', actor_id: s.user.id, target_id: String(s.user.id) });
  });

  it('password change keeps the current login and ends the others', async () => {
    const user = await makeUser(t, 'support');
    const a = await login(t, user.email);
    const b = await login(t, user.email);
    const newPassword = 'a brand new passphrase';
    const res = await t.request
      .post('/account/password')
      .set('Cookie', a.cookie)
      .type('form')
      .send({ _csrf: a.csrf, current: TEST_PASSWORD, password: newPassword, confirm: newPassword });
    expect(res.status).toBe(200);
    expect(res.text).toContain('Password changed.');
    expect((await t.request.get('/account').set('Cookie', a.cookie)).status).toBe(200);
    expect((await t.request.get('/account').set('Cookie', b.cookie)).status).toBe(303);
    expect(await webSessionsOf(t, user.id)).toHaveLength(1);
    expect((await postLogin(t, user.email, TEST_PASSWORD)).status).toBe(401);
    expect((await postLogin(t, user.email, newPassword)).status).toBe(303);
    const audit = await auditRows(t, 'user.password_changed');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor_id: user.id, target_id: String(user.id) });
  });

  it('a wrong current password or a bad new one changes nothing', async () => {
    const user = await makeUser(t, 'support');
    const a = await login(t, user.email);
    const b = await login(t, user.email);
    const send = (body: Record<string, string>) => t.request.post('/account/password').set('Cookie', a.cookie).type('form').send({ _csrf: a.csrf, ...body });
    const wrong = await send({ current: 'not my password', password: 'a brand new passphrase', confirm: 'a brand new passphrase' });
    expect(wrong.status).toBe(400);
    expect(alertText(wrong.text)).toBe('The current password is wrong.');
    const short = await send({ current: TEST_PASSWORD, password: 'short', confirm: 'short' });
    expect(short.status).toBe(400);
    expect(alertText(short.text)).toBe('The password must be at least 10 characters long.');
    const mismatch = await send({ current: TEST_PASSWORD, password: 'a brand new passphrase', confirm: 'another passphrase' });
    expect(mismatch.status).toBe(400);
    expect((await t.request.get('/account').set('Cookie', b.cookie)).status).toBe(200);
    expect((await postLogin(t, user.email, TEST_PASSWORD)).status).toBe(303);
    expect(await auditRows(t, 'user.password_changed')).toHaveLength(0);
  });

  it('guessing the current password is throttled like logins, and shares their count', async () => {
    const user = await makeUser(t, 'client', { clientId: (await t.db.insertInto('clients').values({ name: 'C', created_at: 0, updated_at: 0 }).returning('id').executeTakeFirstOrThrow()).id });
    const a = await login(t, user.email);
    const send = (current: string) =>
      t.request.post('/account/password').set('Cookie', a.cookie).type('form').send({ _csrf: a.csrf, current, password: 'a brand new passphrase', confirm: 'a brand new passphrase' });
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await send(`guess ${i}`)).status);
    expect(statuses.slice(0, 5)).toEqual([400, 400, 400, 400, 400]);
    expect(statuses.slice(5)).toEqual([429, 429]);
    // Even the right password waits now, and the login of that account too.
    const right = await send(TEST_PASSWORD);
    expect(right.status).toBe(429);
    expect(right.headers['retry-after']).toMatch(/^\d+$/);
    expect((await postLogin(t, user.email, TEST_PASSWORD)).status).toBe(429);
    t.clock.advance(16 * MIN);
    expect((await send(TEST_PASSWORD)).status).toBe(200);
  });
});

describe('setup link', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp({ setupLinkMinutes: 30 });
  });
  afterEach(() => t.close());

  async function setupToken(): Promise<string> {
    const token = newToken();
    await createSetupToken(t.db, hashToken(token), t.clock.now(), 30 * MIN);
    return token;
  }
  const form = { email: 'first@example.com', password: 'first admin passphrase', confirm: 'first admin passphrase' };
  const admins = () => t.db.selectFrom('users').selectAll().where('role', '=', 'admin').execute();

  it('creates the first admin once, then is dead', async () => {
    const token = await setupToken();
    expect((await t.request.get(`/setup/${token}`)).status).toBe(200);

    const bad = await t.request.post(`/setup/${token}`).type('form').send({ ...form, confirm: 'something else' });
    expect(bad.status).toBe(400);
    expect(alertText(bad.text)).toBe('The two passwords differ.');
    expect(await admins()).toHaveLength(0);

    const res = await t.request.post(`/setup/${token}`).type('form').send(form);
    expect(res.status).toBe(303);
    const cookie = sessionCookie(res);
    expect((await t.request.get('/account').set('Cookie', cookie)).text).toContain('first@example.com');
    const created = await admins();
    expect(created).toHaveLength(1);
    expect(created[0].email).toBe('first@example.com');
    expect(created[0].password_hash).toMatch(/^\$argon2id\$/);
    expect(await auditRows(t, 'setup.admin_created')).toHaveLength(1);

    const again = await t.request.post(`/setup/${token}`).type('form').send({ ...form, email: 'second@example.com' });
    expect(again.status).toBe(404);
    expect(sessionSetCookie(again)).toBeUndefined();
    const used = await t.request.get(`/setup/${token}`);
    expect(used.status).toBe(404);
    // What to do next, without inviting anyone to empty the database.
    expect(used.text).toContain('While there is no administrator, every start of the server prints a new link');
    expect(used.text).not.toContain('empty database');
    expect(await admins()).toHaveLength(1);
  });

  it('does not work while an admin exists', async () => {
    const token = await setupToken();
    await makeUser(t, 'admin', { email: 'existing@example.com' });
    expect((await t.request.get(`/setup/${token}`)).status).toBe(404);
    const res = await t.request.post(`/setup/${token}`).type('form').send(form);
    expect(res.status).toBe(404);
    expect((await admins()).map((u) => u.email)).toEqual(['existing@example.com']);
  });

  it('expires, and an unknown token never works', async () => {
    const token = await setupToken();
    expect((await t.request.get(`/setup/${newToken()}`)).status).toBe(404);
    expect((await t.request.post(`/setup/${newToken()}`).type('form').send(form)).status).toBe(404);
    t.clock.advance(30 * MIN);
    expect((await t.request.get(`/setup/${token}`)).status).toBe(404);
    expect((await t.request.post(`/setup/${token}`).type('form').send(form)).status).toBe(404);
    expect(await admins()).toHaveLength(0);
  });
});

describe('CSRF', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.close());

  const save = (cookie: string, body: Record<string, string>) =>
    t.request.post('/account').set('Cookie', cookie).type('form').send({ locale: 'ru', timeZone: 'Europe/Moscow', ...body });
  const prefs = async (id: number) => t.db.selectFrom('users').select(['locale', 'time_zone']).where('id', '=', id).executeTakeFirstOrThrow();

  it('refuses a state change without the token, with a wrong one, and from a foreign origin', async () => {
    const s = await loginAs(t, 'admin');
    const none = await save(s.cookie, {});
    expect(none.status).toBe(403);
    expect(none.text).toContain('The form has expired or came from another site.');
    // One character changed, whatever the token begins with (a fixed 'x' was the token itself 1 time in 64).
    const wrong = (s.csrf[0] === 'x' ? 'y' : 'x') + s.csrf.slice(1);
    expect((await save(s.cookie, { _csrf: wrong })).status).toBe(403);
    expect((await save(s.cookie, { _csrf: s.csrf }).set('Origin', 'https://evil.example')).status).toBe(403);
    expect((await save(s.cookie, { _csrf: s.csrf }).set('Sec-Fetch-Site', 'cross-site')).status).toBe(403);
    expect(await prefs(s.user.id)).toEqual({ locale: null, time_zone: null });
    expect(await auditRows(t, 'user.preferences')).toHaveLength(0);
  });

  it('accepts the token in the form field or the htmx header, from our own origin', async () => {
    const s = await loginAs(t, 'admin');
    const ok = await save(s.cookie, { _csrf: s.csrf }).set('Host', 'monitor.local').set('Origin', 'http://monitor.local');
    expect(ok.status).toBe(303);
    expect(await prefs(s.user.id)).toEqual({ locale: 'ru', time_zone: 'Europe/Moscow' });
    const viaHeader = await t.request.post('/account').set('Cookie', s.cookie).set('X-CSRF-Token', s.csrf).type('form').send({ locale: 'en', timeZone: 'UTC' });
    expect(viaHeader.status).toBe(303);
    expect(await prefs(s.user.id)).toEqual({ locale: 'en', time_zone: 'UTC' });
  });

  it('a language not offered is refused in words, not by the form field\'s name', async () => {
    const s = await loginAs(t, 'admin');
    const res = await save(s.cookie, { _csrf: s.csrf, locale: 'de' });
    expect(res.status).toBe(400);
    expect(res.text).toContain('Choose a language from the list: English or Russian.');
    expect(res.text).not.toContain('not understood: locale');
    expect(await prefs(s.user.id)).toEqual({ locale: null, time_zone: null });
  });

  it('a form too large to send is a 413 page of the signed-in user, in their language, changing nothing', async () => {
    const s = await loginAs(t, 'admin');
    await t.db.updateTable('users').set({ locale: 'ru' }).where('id', '=', s.user.id).execute();
    const res = await save(s.cookie, { _csrf: s.csrf, timeZone: 'x'.repeat(300 * 1024) });
    expect(res.status).toBe(413);
    expect(res.text).toContain('Форма слишком велика для отправки (не больше 256 КБ).');
    expect(res.text).toContain(s.user.email); // their header, not a signed-out one
    expect(await prefs(s.user.id)).toEqual({ locale: 'ru', time_zone: null });
  });

  it('refuses a login form posted from a foreign origin', async () => {
    const user = await makeUser(t, 'admin');
    const res = await postLogin(t, user.email, TEST_PASSWORD).set('Origin', 'https://evil.example');
    expect(res.status).toBe(403);
    expect(sessionSetCookie(res)).toBeUndefined();
    expect(await webSessionsOf(t, user.id)).toHaveLength(0);
  });
});
