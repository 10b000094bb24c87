import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { hashToken } from '../../src/lib/tokens.js';
import { PasswordHasher } from '../../src/lib/passwords.js';
import { loginAs, makeApp, makeUser, TEST_PASSWORD, type TestApp } from '../helpers/app.js';
import { dbFingerprint, send } from '../fuzz/fuzz-kit.js';
import { fill, seedClient, viewer } from './world.js';

// Login sessions and CSRF from an attacker's side: parallel password guessing,
// cross-site posts to every form, expired and revoked cookies.

const cookieOf = (res: { headers: Record<string, unknown> }) =>
  ([] as string[]).concat((res.headers['set-cookie'] as string[]) ?? []).map((c) => c.split(';')[0]).find((c) => c.startsWith('sm_session=') && c.length > 'sm_session='.length);

/** A hasher that counts the password checks it is asked for. */
class CountingHasher extends PasswordHasher {
  verifies = 0;
  override async verify(hash: string | null, password: string) {
    this.verifies++;
    return super.verify(hash, password);
  }
}

describe('login throttling under parallel attempts', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('50 wrong passwords at once: no more than the limit get a password check', async () => {
    t = await makeApp({ loginMaxFailuresPerAccount: 5, loginMaxFailuresPerIp: 1000 });
    const user = await makeUser(t, 'admin');
    const hasher = new CountingHasher(4);
    const { app } = createApp({ db: t.db, config: t.deps.config, clock: t.clock, hasher });
    const attempt = () =>
      app.request('/login', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ email: user.email, password: 'wrong password!' }).toString(),
      });
    const answers = await Promise.all(Array.from({ length: 50 }, attempt));
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(5);
    expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
    expect(hasher.verifies).toBeLessThanOrEqual(5);
    const failed = await t.db.selectFrom('audit_log').select('id').where('action', '=', 'login.failed').execute();
    expect(failed.length).toBeLessThanOrEqual(5);
    // The right password is not checked either while the account is blocked.
    const right = await app.request('/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ email: user.email, password: TEST_PASSWORD }).toString(),
    });
    expect(right.status).toBe(429);
  });

  it('the per-IP limit holds under parallel attempts across many accounts', async () => {
    t = await makeApp({ loginMaxFailuresPerAccount: 1000, loginMaxFailuresPerIp: 7 });
    const hasher = new CountingHasher(4);
    const { app } = createApp({ db: t.db, config: t.deps.config, clock: t.clock, hasher });
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        app.request('/login', {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ email: `guess${i}@example.com`, password: 'wrong password!' }).toString(),
        }),
      ),
    );
    expect(answers.filter((r) => r.status === 401).length).toBeLessThanOrEqual(7);
    expect(hasher.verifies).toBeLessThanOrEqual(7);
  });

  it('a successful login is not blocked by its own attempt being counted', async () => {
    t = await makeApp({ loginMaxFailuresPerAccount: 1 });
    const user = await makeUser(t, 'support');
    const res = await t.request.post('/login').type('form').send({ email: user.email, password: TEST_PASSWORD });
    expect(res.status).toBe(303);
    const again = await t.request.post('/login').type('form').send({ email: user.email, password: TEST_PASSWORD });
    expect(again.status).toBe(303);
  });
});

describe('login cookies after expiry and revocation', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('an expired login cannot be used again, even with the clock set back', async () => {
    t = await makeApp({ webSessionIdleMinutes: 30 });
    const s = await loginAs(t, 'support');
    t.clock.advance(30 * 60_000);
    const expired = await t.request.get('/account').set('Cookie', s.cookie);
    expect(expired.status).toBe(303);
    expect(await t.db.selectFrom('web_sessions').select('token_hash').where('token_hash', '=', hashToken(s.cookie.split('=')[1])).execute()).toEqual([]);
    t.clock.advance(-60 * 60_000);
    expect((await t.request.get('/account').set('Cookie', s.cookie)).status).toBe(303);
    const post = await t.request.post('/account').set('Cookie', s.cookie).type('form').send({ _csrf: s.csrf, locale: 'ru' });
    expect(post.status).toBe(303);
    expect(post.headers.location).toBe('/login');
    const row = await t.db.selectFrom('users').select('locale').where('id', '=', s.user.id).executeTakeFirstOrThrow();
    expect(row.locale).toBeNull();
  });

  it('a disabled user’s open login stops working at once', async () => {
    t = await makeApp();
    const admin = await loginAs(t, 'admin');
    const victim = await loginAs(t, 'support');
    const res = await t.request.post(`/users/${victim.user.id}/disable`).set('Cookie', admin.cookie).type('form').send({ _csrf: admin.csrf });
    expect(res.status).toBe(303);
    expect((await t.request.get('/audit').set('Cookie', victim.cookie)).status).toBe(303);
  });

  it('a login cookie of one user never carries another user’s CSRF token', async () => {
    t = await makeApp();
    const a = await loginAs(t, 'admin');
    const b = await loginAs(t, 'admin');
    const res = await t.request.post('/account').set('Cookie', a.cookie).type('form').send({ _csrf: b.csrf, locale: 'ru' });
    expect(res.status).toBe(403);
  });

  it('a token planted before login is replaced at login (no session fixation)', async () => {
    t = await makeApp();
    const user = await makeUser(t, 'admin');
    const res = await t.request.post('/login').set('Cookie', 'sm_session=attacker-chosen-value').type('form').send({ email: user.email, password: TEST_PASSWORD });
    const issued = cookieOf(res);
    expect(issued).toBeDefined();
    expect(issued).not.toBe('sm_session=attacker-chosen-value');
    expect((await t.request.get('/account').set('Cookie', 'sm_session=attacker-chosen-value')).status).toBe(303);
  });
});

describe('CSRF on every form', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('every state-changing web route refuses a foreign origin, a cross-site fetch, a missing or wrong token — htmx too — and changes nothing', async () => {
    t = await makeApp();
    const a = await seedClient(t, 'Alpha');
    const admin = await viewer(t, 'admin');
    const { app } = createApp({ db: t.db, config: t.deps.config, clock: t.clock });
    const posts = [...new Set(app.routes.filter((r) => r.method === 'POST' && !r.path.startsWith('/api/')).map((r) => r.path))];
    expect(posts.length).toBeGreaterThan(20);
    const fp = () => dbFingerprint(t.sqlite);
    const before = fp();
    const failures: string[] = [];
    for (const route of posts) {
      const url = route.includes(':token') ? route.replace(/:token.*$/, 'x'.repeat(43)) : fill(route, a, a, null, { userId: a.userId, tokenId: 1 });
      const form = (csrf?: string) => new URLSearchParams({ ...(csrf ? { _csrf: csrf } : {}), reason: 'r', message: 'm', name: 'n', email: 'e@x.test' }).toString();
      const attempts: [string, Record<string, string>, string][] = [
        ['foreign origin', { Origin: 'https://evil.example' }, form(admin.csrf)],
        ['cross-site fetch', { 'Sec-Fetch-Site': 'cross-site' }, form(admin.csrf)],
        ['no token', {}, form()],
        ['wrong token', {}, form(admin.csrf.slice(0, -2) + 'xx')],
        ['htmx without the header', { 'HX-Request': 'true' }, form()],
        ['htmx with a wrong header', { 'HX-Request': 'true', 'X-CSRF-Token': 'nope' }, form()],
      ];
      for (const [what, headers, body] of attempts) {
        const res = await send(t, 'POST', url, { headers: { Cookie: admin.cookie, 'Content-Type': 'application/x-www-form-urlencoded', ...headers }, body });
        if (res.status !== 403) failures.push(`POST ${url} (${what}) → ${res.status}`);
      }
      // Signed out, a foreign origin is refused as well (login CSRF).
      const anon = await send(t, 'POST', url, { headers: { Origin: 'https://evil.example', 'Content-Type': 'application/x-www-form-urlencoded' }, body: form() });
      if (anon.status !== 403) failures.push(`POST ${url} (signed out, foreign origin) → ${anon.status}`);
    }
    expect(failures).toEqual([]);
    expect(fp()).toEqual(before);
  });
});
