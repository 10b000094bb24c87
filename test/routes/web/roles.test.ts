import type supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../../src/db/schema.js';
import { existingSections } from '../../../views/layouts/page.js';
import { loginAs, makeApp, makeUser, type TestApp } from '../../helpers/app.js';

type Who = Role | 'anonymous';
const PASSWORD = 'matrix test passphrase';

// Every page that exists, per viewer. 303 for "/" is the start-page redirect; for signed-out visitors, the login page.
const PAGES: Record<string, Record<Who, number>> = {
  '/': { admin: 303, support: 303, client: 303, anonymous: 303 },
  '/account': { admin: 200, support: 200, client: 200, anonymous: 303 },
  '/users': { admin: 200, support: 403, client: 404, anonymous: 303 },
  '/users/:target': { admin: 200, support: 403, client: 404, anonymous: 303 },
  '/tokens': { admin: 200, support: 403, client: 404, anonymous: 303 },
  '/audit': { admin: 200, support: 200, client: 404, anonymous: 303 },
};

describe('role matrix', () => {
  let t: TestApp;
  const sessions = {} as Record<Role, { cookie: string; csrf: string; userId: number }>;
  let target: number;
  let tokenId: number;

  beforeAll(async () => {
    t = await makeApp();
    for (const role of ['admin', 'support', 'client'] as const) {
      const s = await loginAs(t, role);
      sessions[role] = { cookie: s.cookie, csrf: s.csrf, userId: s.user.id };
    }
    target = (await makeUser(t, 'support', { email: 'target@vendor.test' })).id;
    tokenId = (
      await t.db
        .insertInto('api_tokens')
        .values({ name: 'matrix', token_hash: 'x'.repeat(64), role: 'support', created_by: null, created_at: t.clock.now() })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
  });
  afterAll(() => t.close());

  const get = (who: Who, path: string) => {
    const req = t.request.get(path.replace(':target', String(target)));
    return who === 'anonymous' ? req : req.set('Cookie', sessions[who].cookie);
  };
  const post = (who: Who, path: string, body: Record<string, string>) => {
    const req = t.request.post(path.replace(':target', String(target))).type('form');
    return who === 'anonymous' ? req.send(body) : req.set('Cookie', sessions[who].cookie).send({ _csrf: sessions[who].csrf, ...body });
  };

  for (const [path, expected] of Object.entries(PAGES)) {
    for (const who of ['admin', 'support', 'client', 'anonymous'] as const) {
      it(`GET ${path} as ${who} → ${expected[who]}`, async () => {
        const res = await get(who, path);
        expect(res.status).toBe(expected[who]);
        if (who === 'anonymous' && path !== '/') expect(res.headers.location).toMatch(/^\/login\?next=/);
      });
    }
  }

  it('sends each role to its start page', async () => {
    // Staff start at their main section: the first of these that exists (the audit log at least).
    const staffStart = ['/monitor', '/licenses', '/audit'].find((p) => existingSections.has(p));
    expect(staffStart).toBeDefined();
    expect((await get('admin', '/')).headers.location).toBe(staffStart);
    expect((await get('support', '/')).headers.location).toBe(staffStart);
    expect((await get('client', '/')).headers.location).toBe('/cabinet');
    expect((await get('anonymous', '/')).headers.location).toBe('/login?next=%2F');
  });

  // State-changing actions: the refusals leave the database as it was.
  const ACTIONS: { path: string; body: () => Record<string, string>; admin: number }[] = [
    { path: '/users', body: () => ({ email: `new-${Math.random()}@vendor.test`, role: 'support', password: PASSWORD, confirm: PASSWORD }), admin: 303 },
    { path: '/users/:target/role', body: () => ({ role: 'admin' }), admin: 303 },
    { path: '/users/:target/password', body: () => ({ password: PASSWORD, confirm: PASSWORD }), admin: 303 },
    { path: '/users/:target/disable', body: () => ({}), admin: 303 },
    { path: '/users/:target/enable', body: () => ({}), admin: 303 },
    { path: '/tokens', body: () => ({ name: 'from matrix', role: 'support' }), admin: 303 },
    { path: '/tokens/:token/revoke', body: () => ({}), admin: 303 },
  ];

  const snapshot = async () => ({
    users: await t.db.selectFrom('users').select(['id', 'role', 'disabled_at', 'password_hash']).orderBy('id').execute(),
    tokens: await t.db.selectFrom('api_tokens').select(['id', 'revoked_at']).orderBy('id').execute(),
  });

  for (const a of ACTIONS) {
    for (const [who, status] of [
      ['support', 403],
      ['client', 404],
      ['anonymous', 303],
    ] as const) {
      it(`POST ${a.path} as ${who} → ${status}, nothing changed`, async () => {
        const before = await snapshot();
        const res = await post(who, a.path.replace(':token', String(tokenId)), a.body());
        expect(res.status).toBe(status);
        if (who === 'anonymous') expect(res.headers.location).toBe('/login');
        expect(await snapshot()).toEqual(before);
      });
    }
  }

  it('lets the admin do every action', async () => {
    for (const a of ACTIONS) {
      const res = await post('admin', a.path.replace(':token', String(tokenId)), a.body());
      expect(res.status, a.path).toBe(a.admin);
    }
    const user = await t.db.selectFrom('users').selectAll().where('id', '=', target).executeTakeFirstOrThrow();
    expect(user).toMatchObject({ role: 'admin', disabled_at: null });
    expect((await t.db.selectFrom('api_tokens').select('revoked_at').where('id', '=', tokenId).executeTakeFirstOrThrow()).revoked_at).not.toBeNull();
    const actions = (await t.db.selectFrom('audit_log').select('action').where('actor_id', '=', sessions.admin.userId).where('action', '!=', 'login').orderBy('id').execute()).map((r) => r.action);
    expect(actions).toEqual(['user.created', 'user.role_changed', 'user.password_reset', 'user.disabled', 'user.enabled', 'token.created', 'token.revoked']);
  });

  it('shows each role only the menu sections it may open', async () => {
    const menu = async (who: Role) => {
      const html = (await get(who, '/account')).text;
      const nav = /<nav aria-label="Main menu">([\s\S]*?)<\/nav>/.exec(html)?.[1] ?? '';
      return [...nav.matchAll(/href="([^"]+)"/g)].map((m) => m[1]);
    };
    expect(await menu('admin')).toEqual(expect.arrayContaining(['/audit', '/users', '/tokens']));
    const support = await menu('support');
    expect(support).toContain('/audit');
    expect(support).not.toContain('/users');
    expect(support).not.toContain('/tokens');
    const client = await menu('client');
    for (const p of ['/audit', '/users', '/tokens']) expect(client).not.toContain(p);
  });

  it('names the menu for screen readers in the viewer’s language', async () => {
    expect((await get('support', '/account')).text).toContain('<nav aria-label="Main menu">');
    const ru = await t.request.get('/account').set('Cookie', `${sessions.support.cookie}; sm_lang=ru`);
    expect(ru.text).toContain('<nav aria-label="Главное меню">');
  });
});

describe('security headers and CSP', () => {
  let t: TestApp;
  let admin: Awaited<ReturnType<typeof loginAs>>;
  beforeAll(async () => {
    t = await makeApp();
    admin = await loginAs(t, 'admin');
  });
  afterAll(() => t.close());

  it('every page carries a CSP without inline script or eval, and no inline script or style in its HTML', async () => {
    const pages: [string, () => PromiseLike<supertest.Response>][] = [
      ['/login', () => t.request.get('/login')],
      ['/nope', () => t.request.get('/nope')],
      ...['/account', '/users', `/users/${admin.user.id}`, '/tokens', '/audit', '/audit?page=x', '/nope'].map(
        (path): [string, () => supertest.Test] => [path, () => t.request.get(path).set('Cookie', admin.cookie)],
      ),
      [
        'a new token, shown once',
        async () => {
          const res = await t.request.post('/tokens').set('Cookie', admin.cookie).type('form').send({ _csrf: admin.csrf, name: 'csp' });
          return t.request.get(res.headers.location).set('Cookie', admin.cookie);
        },
      ],
    ];
    for (const [path, request] of pages) {
      const res = await request();
      expect([200, 400, 404], path).toContain(res.status);
      const csp = res.headers['content-security-policy'];
      expect(csp, path).toContain("script-src 'self'");
      expect(csp).toContain("object-src 'none'");
      expect(csp).toContain("base-uri 'none'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).not.toContain('unsafe-eval');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['referrer-policy']).toBe('same-origin');
      // Every <script> has a src; no style attributes, no inline handlers, no hx-on.
      expect(res.text.match(/<script(?![^>]*\bsrc=)[^>]*>/g), path).toBeNull();
      expect(res.text, path).not.toMatch(/\sstyle=|\son[a-z]+=|hx-on/);
    }
  });

  it('serves the htmx the pages reference, from our own origin', async () => {
    const page = await t.request.get('/users').set('Cookie', admin.cookie);
    const src = /<script src="([^"]*htmx[^"]*)"/.exec(page.text)?.[1];
    expect(src).toMatch(/^\/assets\/htmx\.[0-9a-f]{12}\.js$/);
    expect(page.text).toContain(`hx-headers:inherited="{&quot;X-CSRF-Token&quot;:&quot;${admin.csrf}&quot;}"`);
    const js = await t.request.get(src!);
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toMatch(/^text\/javascript/);
    expect(js.headers['cache-control']).toContain('immutable');
    expect(js.text.length).toBeGreaterThan(10_000);
    expect(js.text).toContain('htmx');
    const appJs = /<script src="(\/assets\/app\.[0-9a-f]{12}\.js)"/.exec(page.text)?.[1];
    expect((await t.request.get(appJs!)).status).toBe(200);
  });
});
