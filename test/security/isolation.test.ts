import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { makeApp, type TestApp } from '../helpers/app.js';
import { dbFingerprint, send } from '../fuzz/fuzz-kit.js';
import { apiTokens, fill, routeKey as key, seedClient, viewer, type ClientWorld, type Viewer } from './world.js';

// The access matrix, generated from app.routes: every route that exists must be
// listed below with what each role may do, so a new route without a decision
// fails the first test. Then, for each role and route:
//   * staff get exactly their column of PRODUCT.md "Who may do what" (403 for
//     support on admin-only pages; API tokens likewise);
//   * a client user gets 404 for every object of another client — also when
//     only one of several ids in the path is foreign — and lists never show
//     another client's data;
//   * a refusal changes nothing.

type Access = 'ok' | 403 | 404;
interface Rule {
  admin: Access;
  support: Access;
  /** A client user on their own client's objects (another client's always answer 404). */
  client: Access;
  /** Query strings for routes that take their objects from the query (`w` is whose objects). */
  queries?: (w: ClientWorld) => string[];
}

const STAFF: Rule = { admin: 'ok', support: 'ok', client: 404 };
const ADMIN: Rule = { admin: 'ok', support: 403, client: 404 };
const ALL: Rule = { admin: 'ok', support: 'ok', client: 'ok' };
const CLIENT: Rule = { admin: 403, support: 403, client: 'ok' };

/** Routes anyone may call (no viewer, or the viewer's own account only). */
const PUBLIC = new Set([
  'GET /healthz',
  'GET /assets/:file',
  'GET /',
  'GET /login',
  'POST /login',
  'POST /logout',
  'GET /setup/:token',
  'POST /setup/:token',
  'POST /locale',
]);

/** The agent protocol: its own bearer tokens, tested in "agent tokens" below. */
const AGENT = new Set([
  'POST /api/v1/sessions',
  'POST /api/v1/sessions/:id/heartbeat',
  'POST /api/v1/sessions/:id/features',
  'DELETE /api/v1/sessions/:id/features/:feature',
  'DELETE /api/v1/sessions/:id',
]);

const RULES: Record<string, Rule> = {
  // ---- web: account ----
  'GET /account': ALL,
  'POST /account': ALL,
  'POST /account/password': ALL,
  // ---- web: admin pages ----
  'GET /settings': ADMIN,
  'POST /settings': ADMIN,
  'POST /settings/support-contact': ADMIN,
  'GET /users': ADMIN,
  'POST /users': ADMIN,
  'GET /users/:id': ADMIN,
  'POST /users/:id/disable': ADMIN,
  'POST /users/:id/enable': ADMIN,
  'POST /users/:id/password': ADMIN,
  'POST /users/:id/role': ADMIN,
  'POST /users/:id/details': ADMIN,
  'GET /tokens': ADMIN,
  'POST /tokens': ADMIN,
  'GET /tokens/:id/created': ADMIN,
  'POST /tokens/:id/revoke': ADMIN,
  'GET /audit': STAFF,
  // ---- web: monitor ----
  'GET /monitor': { ...ALL, queries: (w) => ['', `?license=${w.licenseId}`, `?client=${w.clientId}`, `?infobase=${w.infobaseId}`, `?q=${encodeURIComponent(w.markers[2])}`] },
  'GET /monitor/licenses/:id/history': ALL,
  'GET /monitor/confirm': {
    ...ALL,
    queries: (w) => [`?do=terminate&session=${w.sessionId}`],
  },
  'POST /monitor/sessions/:id/terminate': ALL,
  'POST /monitor/sessions/:id/stop': STAFF,
  'POST /monitor/sessions/:id/message': STAFF,
  'POST /monitor/sessions/:id/packages/:pkg/stop': STAFF,
  'POST /monitor/sessions/:id/packages/:pkg/close': STAFF,
  'POST /monitor/hosts/:id/reset': STAFF,
  'POST /monitor/hosts/:id/pool/clear': STAFF,
  'POST /monitor/pools/clear': STAFF,
  'POST /monitor/hosts/:id/shared/close': STAFF,
  'POST /monitor/terminate-all': STAFF,
  'POST /monitor/columns': ALL,
  'POST /monitor/resolve-names': STAFF,
  // ---- web: licenses, clients, infobases ----
  'GET /licenses': STAFF,
  'GET /licenses/new': ADMIN,
  'POST /licenses': ADMIN,
  'GET /licenses/:id/edit': ADMIN,
  'POST /licenses/:id': ADMIN,
  'GET /licenses/:id': STAFF,
  'GET /licenses/:id/history': STAFF,
  'POST /licenses/:id/suspend': ADMIN,
  'POST /licenses/:id/unsuspend': ADMIN,
  'POST /licenses/:id/hosts/:hostId/reset': STAFF,
  'POST /licenses/:id/sessions/:sid/terminate': STAFF,
  'GET /clients': STAFF,
  'GET /clients/new': ADMIN,
  'POST /clients': ADMIN,
  'GET /clients/:id': STAFF,
  'GET /clients/:id/edit': ADMIN,
  'POST /clients/:id': ADMIN,
  'GET /infobases': STAFF,
  'GET /infobases/:id': STAFF,
  'POST /infobases/:id/lock': STAFF,
  'POST /infobases/:id/unlock': STAFF,
  'POST /infobases/:id/terminate-all': STAFF,
  'POST /infobases/:id/sessions/:sid/terminate': STAFF,
  // ---- web: the client's cabinet ----
  'GET /cabinet': CLIENT,
  'GET /cabinet/licenses/:id': CLIENT,
  'GET /cabinet/licenses/:id/history': CLIENT,
  'POST /cabinet/licenses/:id/hosts/:hostId/reset': CLIENT,
  'POST /cabinet/sessions/:sid/terminate': CLIENT,
  'GET /cabinet/infobases/:id': CLIENT,
  'POST /cabinet/infobases/:id/lock': CLIENT,
  'POST /cabinet/infobases/:id/unlock': CLIENT,
  // ---- admin API (API tokens: admin and support; client users never get a token) ----
  'POST /api/v1/admin/clients': ADMIN,
  'GET /api/v1/admin/clients': STAFF,
  'GET /api/v1/admin/clients/:id': STAFF,
  'PATCH /api/v1/admin/clients/:id': ADMIN,
  'POST /api/v1/admin/licenses': ADMIN,
  'GET /api/v1/admin/licenses': STAFF,
  'GET /api/v1/admin/licenses/:id': STAFF,
  'PATCH /api/v1/admin/licenses/:id': ADMIN,
  'GET /api/v1/admin/licenses/:id/history': STAFF,
  'DELETE /api/v1/admin/licenses/:id/hosts/:hostId': STAFF,
  'GET /api/v1/admin/sessions': STAFF,
  'DELETE /api/v1/admin/sessions/:id': STAFF,
  'POST /api/v1/admin/sessions/:id/commands': STAFF,
  'POST /api/v1/admin/hosts/:hostId/pool/clear': STAFF,
  'GET /api/v1/admin/infobases': STAFF,
  'GET /api/v1/admin/infobases/:id': STAFF,
  'PUT /api/v1/admin/infobases/:id/lock': STAFF,
  'DELETE /api/v1/admin/infobases/:id/lock': STAFF,
  'GET /api/v1/admin/settings': ADMIN,
  'PATCH /api/v1/admin/settings': ADMIN,
};

const PASSWORD = 'isolation matrix passphrase';

/** One form that satisfies every action's input, so only access decides the answer. */
function validForm(csrf: string, w: ClientWorld): Record<string, string> {
  return {
    _csrf: csrf,
    back: `license=${w.licenseId}`,
    reason: 'checked with the client',
    message: 'Maintenance window',
    text: 'Please save your work',
    path: w.sharedPath,
    name: 'Matrix',
    email: `m${Math.random().toString(36).slice(2, 8)}@vendor.test`,
    role: 'support',
    password: PASSWORD,
    confirm: PASSWORD,
    current: 'not the password',
    locale: 'en',
    product: 'Payroll',
    maxHosts: '3',
    on: '1',
  };
}

/** A JSON body that satisfies every admin API endpoint. */
const VALID_JSON = { reason: 'checked with the client', message: 'Maintenance', type: 'message', text: 'hello', name: 'Matrix', product: 'Payroll', clientId: 1, maxHosts: 3, poolSize: 10 };

const paramCount = (path: string) => (path.match(/\/:/g) ?? []).length;

describe('access matrix', () => {
  let t: TestApp;
  let routes: { method: string; path: string; key: string }[];
  let a: ClientWorld;
  let b: ClientWorld;
  let viewers: Record<'admin' | 'support' | 'client', Viewer>;
  let tokens: { admin: string; support: string };
  let extra: { userId: number; tokenId: number };

  beforeAll(async () => {
    t = await makeApp();
    const { app } = createApp({ db: t.db, config: t.deps.config, clock: t.clock });
    routes = [...new Map(app.routes.filter((r) => r.method !== 'ALL').map((r) => [key(r.method, r.path), { method: r.method, path: r.path, key: key(r.method, r.path) }])).values()];
    a = await seedClient(t, 'Alpha');
    b = await seedClient(t, 'Beta');
    viewers = { admin: await viewer(t, 'admin'), support: await viewer(t, 'support'), client: await viewer(t, 'client', a.clientId) };
    tokens = await apiTokens(t);
    extra = { userId: b.userId, tokenId: 1 };
  });
  afterAll(() => t.close());

  it('every route has a decision, and every decision a route', () => {
    const known = new Set([...PUBLIC, ...AGENT, ...Object.keys(RULES)]);
    const undecided = routes.map((r) => r.key).filter((k) => !known.has(k));
    expect(undecided, 'add these routes to RULES (or PUBLIC/AGENT) in test/security/isolation.test.ts').toEqual([]);
    const gone = [...known].filter((k) => !routes.some((r) => r.key === k) && !k.startsWith('GET /__bench'));
    expect(gone, 'these routes no longer exist').toEqual([]);
  });

  const isApi = (path: string) => path.startsWith('/api/');
  const denied = (res: { status: number; headers: Headers }) =>
    res.status === 401 || res.status === 403 || res.status === 404 || (res.status === 303 && (res.headers.get('location') ?? '').startsWith('/login'));

  async function call(who: 'admin' | 'support' | 'client', method: string, url: string, htmx = false, w: ClientWorld = a) {
    if (isApi(url)) {
      const headers: Record<string, string> = { Authorization: `Bearer ${tokens[who as 'admin' | 'support']}` };
      if (method !== 'GET') headers['Content-Type'] = 'application/json';
      return send(t, method, url, { headers, body: method === 'GET' ? undefined : JSON.stringify(VALID_JSON) });
    }
    const v = viewers[who];
    const headers: Record<string, string> = { Cookie: v.cookie };
    if (htmx) headers['HX-Request'] = 'true';
    if (method === 'GET') return send(t, method, url, { headers });
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    return send(t, method, url, { headers, body: new URLSearchParams(validForm(v.csrf, w)).toString() });
  }

  const refusalFp = () => dbFingerprint(t.sqlite, { ignore: { api_tokens: ['last_used_at'], web_sessions: ['last_active_at'] } });

  it('client users: another client’s objects answer 404 on every route, changing nothing', async () => {
    const failures: string[] = [];
    for (const r of routes) {
      const rule = RULES[r.key];
      if (!rule || isApi(r.path)) continue;
      const urls: string[] = [];
      const n = paramCount(r.path);
      if (n > 0) {
        // All ids foreign, then each one alone foreign (the others the client's own).
        urls.push(fill(r.path, b, a, null, extra));
        if (n > 1) for (let i = 0; i < n; i++) urls.push(fill(r.path, a, b, i, extra));
      }
      for (const q of rule.queries?.(b) ?? []) urls.push(fill(r.path, b, a, null, extra) + q);
      for (const url of urls) {
        const before = refusalFp();
        for (const htmx of r.method === 'GET' ? [false, true] : [false]) {
          const res = await call('client', r.method, url, htmx, b);
          // A searched-for text is echoed in the search box; that is not a leak.
          const leaked = b.markers.filter((m) => res.text.includes(m) && !url.includes(encodeURIComponent(m)));
          if (n > 0 || (rule.queries && url.includes('?') && !url.endsWith('?'))) {
            if (res.status !== 404 && !(rule.client === 'ok' && rule.queries && res.status === 200 && leaked.length === 0 && n === 0)) {
              failures.push(`${r.method} ${url}${htmx ? ' (htmx)' : ''} → ${res.status}, expected 404`);
            }
          }
          if (leaked.length) failures.push(`${r.method} ${url}${htmx ? ' (htmx)' : ''} shows another client's ${leaked.join(', ')}`);
        }
        if (JSON.stringify(refusalFp()) !== JSON.stringify(before)) failures.push(`${r.method} ${url} changed the database`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('client users: pages without ids show only their own client', async () => {
    const failures: string[] = [];
    for (const r of routes) {
      if (r.method !== 'GET' || paramCount(r.path) > 0 || isApi(r.path) || PUBLIC.has(r.key) || !RULES[r.key]) continue;
      for (const htmx of [false, true]) {
        const res = await call('client', 'GET', r.path, htmx);
        const leaked = b.markers.filter((m) => res.text.includes(m));
        if (leaked.length) failures.push(`GET ${r.path}${htmx ? ' (htmx)' : ''} shows ${leaked.join(', ')}`);
      }
    }
    expect(failures).toEqual([]);
    // The positive control: the client's own session is on the monitor.
    expect((await call('client', 'GET', '/monitor')).text).toContain(a.markers[2]);
  });

  it('staff: support gets 403 where only admins may go (web and API), changing nothing; admins are never refused', async () => {
    const failures: string[] = [];
    for (const r of routes) {
      const rule = RULES[r.key];
      if (!rule) continue;
      for (const who of ['support', 'admin'] as const) {
        if (rule[who] === 'ok') continue;
        for (const w of [a, b]) {
          const url = fill(r.path, w, w, null, extra) + (rule.queries?.(w)[0] ?? '');
          const before = refusalFp();
          const res = await call(who, r.method, url, false, w);
          if (res.status !== rule[who]) failures.push(`${r.method} ${url} as ${who} → ${res.status}, expected ${rule[who]}`);
          if (JSON.stringify(refusalFp()) !== JSON.stringify(before)) failures.push(`${r.method} ${url} as ${who} changed the database`);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('every role reaches what its column allows (on a fresh world per action)', async () => {
    const failures: string[] = [];
    for (const r of routes) {
      const rule = RULES[r.key];
      if (!rule) continue;
      for (const who of ['admin', 'support', 'client'] as const) {
        if (rule[who] !== 'ok' || (who === 'client' && isApi(r.path))) continue;
        // Actions may consume their objects (a reset, a termination): give each its own.
        const w = r.method === 'GET' ? a : await seedClient(t, 'Fresh');
        if (who === 'client' && r.method !== 'GET') viewers.client = await viewer(t, 'client', w.clientId);
        else if (who === 'client') viewers.client = await viewer(t, 'client', a.clientId);
        const target = r.method === 'GET' ? extra : { userId: (await seedClient(t, 'Target')).userId, tokenId: extra.tokenId };
        const url = fill(r.path, w, w, null, target) + (rule.queries?.(w)[0] ?? '');
        const res = await call(who, r.method, url, false, w);
        if (denied(res) || res.status >= 500) failures.push(`${r.method} ${url} as ${who} → ${res.status} ${res.headers.get('location') ?? ''}`);
      }
    }
    viewers.client = await viewer(t, 'client', a.clientId);
    expect(failures).toEqual([]);
  });
});

describe('agent tokens', () => {
  let t: TestApp;
  afterAll(() => t.close());

  it('a session token works for its own session only (401 elsewhere, nothing changed)', async () => {
    t = await makeApp();
    const a = await seedClient(t, 'Alpha');
    const b = await seedClient(t, 'Beta');
    const before = dbFingerprint(t.sqlite);
    const auth = { Authorization: `Bearer ${a.sessionToken}`, 'Content-Type': 'application/json' };
    const base = `/api/v1/sessions/${b.sessionId}`;
    const answers = [
      await send(t, 'POST', `${base}/heartbeat`, { headers: auth, body: '{}' }),
      await send(t, 'POST', `${base}/features`, { headers: auth, body: '{"feature":"reports"}' }),
      await send(t, 'DELETE', `${base}/features/reports`, { headers: auth }),
      await send(t, 'DELETE', base, { headers: auth }),
    ];
    expect(answers.map((r) => r.status)).toEqual([401, 401, 401, 401]);
    expect(answers.map((r) => JSON.parse(r.text).error.code)).toEqual(['unauthorized', 'unauthorized', 'unauthorized', 'unauthorized']);
    expect(dbFingerprint(t.sqlite)).toEqual(before);
    // Neither is an API token, nor a web login.
    expect((await send(t, 'GET', '/api/v1/admin/sessions', { headers: { Authorization: `Bearer ${a.sessionToken}` } })).status).toBe(401);
    expect((await send(t, 'GET', '/monitor', { headers: { Cookie: `sm_session=${a.sessionToken}` } })).status).toBe(303);
  });
});
