import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import type { Role } from '../../src/db/schema.js';
import { hashToken } from '../../src/lib/tokens.js';
import { loginAs, makeApp, type TestApp } from '../helpers/app.js';
import { fingerprint, makeInfobase, makeLicense, openOk } from '../helpers/licensing.js';
import { FUZZ_TIMEOUT_MS, baseUrl, dbFingerprint, expectSafe, nastyString, pct, queryString, segment, send } from './fuzz-kit.js';

// Every web page and form (walked from app.routes, so new ones are fuzzed too),
// signed in as each role with the CSRF token (mostly): random path ids, query
// strings, form fields and htmx headers. Never a 5xx, never a stack trace, and a
// refused form (4xx) changes nothing but what a refusal may write (a failed
// login's audit line).

/** Form field names the pages use, plus whatever the pages are seen to render. */
const FIELDS = new Set([
  'email', 'password', 'confirm', 'current', 'next', 'locale', 'back', 'timeZone', 'name', 'role', 'clientId', 'client', 'from', 'to',
  'message', 'permissionCode', 'denySessions', 'denyBackgroundJobs', 'reason', 'product', 'features', 'maxHosts', 'maxSessions',
  'featureLimits', 'expiresAt', 'selfResetQuota', 'notes', 'phone', 'contactPerson', 'text', 'path', 'columns', 'ids', 'supportContact',
  'heartbeatIntervalSec', 'leaseTimeoutSec', 'poolSize', 'selfResetQuotaDefault', 'retentionDays', 'period', 'q', 'cursor', 'license',
  'infobase', 'sort', 'dir', 'page', 'asOf', 'digest', 'count', 'state', 'host', 'user', 'action', 'done', 'n', 'hours',
]);

const PLAUSIBLE = [
  'admin', 'support', 'client', 'on', '1', '2', '3', '10', '100', 'en', 'ru', 'UTC', 'Europe/Moscow', 'ops@example.com',
  'correct horse battery staple', 'reports, export', 'reports=1', '2026-12-01T10:00', '2026-11-21', '/monitor', '/monitor?q=x', 'Maintenance',
];

type Who = Role;

describe('web pages and forms fuzzing', () => {
  let t: TestApp;
  const sessions = {} as Record<Who, { cookie: string; csrf: string }>;
  const ids: Record<string, (string | number)[]> = {};
  let clientId: number;

  async function signIn(who: Who) {
    const s = await loginAs(t, who, who === 'client' ? { clientId } : {});
    sessions[who] = { cookie: s.cookie, csrf: s.csrf };
  }

  beforeAll(async () => {
    t = await makeApp({ captureRatePerIp: 10_000_000, captureRatePerKey: 10_000_000, loginMaxFailuresPerIp: 100_000 });
    const a = await makeLicense(t, { maxHosts: 5, features: { reports: 1 } });
    const b = await makeLicense(t, { maxHosts: 5 });
    clientId = a.clientId;
    await makeInfobase(t, a.clientId, 'ib-1', 'Accounting', { message: 'Maintenance' });
    const opened = [];
    for (let i = 0; i < 4; i++) {
      opened.push(
        await openOk(t, i % 2 ? b.key : a.key, {
          fingerprint: fingerprint(`web-${i}`),
          infobase: { id: `ib-${i % 2}`, name: 'Base' },
        }),
      );
    }
    await t.request
      .post(`/api/v1/sessions/${opened[0].sessionId}/heartbeat`)
      .set('Authorization', `Bearer ${opened[0].token}`)
      .send({ packages: [{ id: 'p1', path: '/a.lgp', state: 'running', refs: ['/shared/lib.lgp'], origin: 'integrator' }] })
      .expect(200);
    for (const who of ['admin', 'support', 'client'] as const) await signIn(who);
    ids.client = [a.clientId, b.clientId];
    ids.license = [a.id, b.id];
    ids.session = opened.map((s) => s.sessionId);
    ids.host = opened.map((s) => s.hostId);
    ids.infobase = (await t.db.selectFrom('infobases').select('id').execute()).map((r) => r.id);
    ids.user = (await t.db.selectFrom('users').select('id').execute()).map((r) => r.id);
    ids.token = [1, 2];
    ids.pkg = ['p1', '/a.lgp', '/shared/lib.lgp'];
  });
  afterAll(() => t.close());

  /** Which ids a path parameter draws from. */
  function pool(path: string, param: string): (string | number)[] {
    if (param === 'sid') return ids.session;
    if (param === 'hostId') return ids.host;
    if (param === 'pkg') return ids.pkg;
    if (param === 'token') return ['x'.repeat(43)];
    const first = path.split('/').filter(Boolean).at(path.startsWith('/cabinet') ? 1 : 0) ?? '';
    const byPrefix: Record<string, (string | number)[]> = {
      users: ids.user,
      tokens: ids.token,
      clients: ids.client,
      licenses: ids.license,
      infobases: ids.infobase,
      sessions: ids.session,
      hosts: ids.host,
    };
    if (first === 'monitor') return path.includes('/hosts/') ? ids.host : ids.session;
    return byPrefix[first] ?? [...ids.client, ...ids.session];
  }

  const PARAM = /:(\w+)(\{(?:[^{}]|\{[^{}]*\})*\})?/g;

  it('random ids, query strings, form fields and headers on every page and form', async () => {
    const { app } = createApp({ db: t.db, config: t.deps.config, clock: t.clock });
    const routes = [
      ...new Map(
        app.routes
          .filter((r) => r.method !== 'ALL' && !r.path.startsWith('/api/') && r.path !== '/assets/:file' && r.path !== '/healthz')
          .map((r) => [`${r.method} ${r.path}`, r]),
      ).values(),
    ];
    expect(routes.filter((r) => r.method === 'POST').length).toBeGreaterThan(10);

    // Learn the field names the pages actually render.
    for (const r of routes.filter((x) => x.method === 'GET')) {
      const url = r.path.replace(PARAM, (_m, p: string) => String(pool(r.path, p)[0] ?? 1));
      const page = await send(t, 'GET', url, { headers: { Cookie: sessions.admin.cookie } });
      for (const m of page.text.matchAll(/\bname="([^"]{1,40})"/g)) FIELDS.add(m[1]);
    }
    const fieldNames = [...FIELDS];

    const value = fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...PLAUSIBLE, ...Object.values(ids).flat().map(String)) }, { weight: 3, arbitrary: nastyString });
    const form = fc.array(fc.tuple(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...fieldNames) }, { weight: 1, arbitrary: nastyString }), value), { maxLength: 8 });
    const request = fc.constantFrom(...routes).chain((r) => {
      const params = [...r.path.matchAll(PARAM)].map((m) => m[1]);
      return fc.record({
        r: fc.constant(r),
        segs: fc.tuple(...params.map((p) => segment(pool(r.path, p)))),
        query: queryString(fieldNames),
        form,
        encoding: fc.constantFrom('urlencoded', 'urlencoded', 'urlencoded', 'multipart', 'json', 'none'),
        who: fc.constantFrom<Who | 'anonymous'>('admin', 'admin', 'admin', 'support', 'client', 'anonymous'),
        csrf: fc.constantFrom('field', 'field', 'field', 'header', 'wrong', 'none'),
        htmx: fc.boolean(),
        poll: fc.boolean(),
        origin: fc.constantFrom('none', 'none', 'none', 'own', 'foreign'),
      });
    });

    const fp = () =>
      dbFingerprint(t.sqlite, {
        ignore: { web_sessions: ['last_active_at'] },
        allow: (table, row) => table === 'audit_log' && row.action === 'login.failed',
      });

    await fc.assert(
      fc.asyncProperty(request, async ({ r, segs, query, form, encoding, who, csrf, htmx, poll, origin }) => {
        let i = 0;
        const url = r.path.replace(PARAM, () => pct(segs[i++])) + query;
        const s = who === 'anonymous' ? null : sessions[who];
        const headers: Record<string, string> = {};
        if (s) headers.Cookie = s.cookie;
        if (htmx) headers['HX-Request'] = 'true';
        if (poll) headers['X-Auto-Refresh'] = '1';
        if (origin !== 'none') headers.Origin = origin === 'own' ? await baseUrl(t) : 'https://evil.example';
        let body: string | Buffer | undefined;
        if (r.method !== 'GET') {
          const pairs = [...form];
          if (s && csrf === 'field') pairs.unshift(['_csrf', s.csrf]);
          if (s && csrf === 'wrong') pairs.unshift(['_csrf', s.csrf.slice(1) + 'x']);
          if (s && csrf === 'header') headers['X-CSRF-Token'] = s.csrf;
          if (encoding === 'urlencoded') {
            headers['Content-Type'] = 'application/x-www-form-urlencoded';
            body = pairs.map(([k, v]) => `${pct(k)}=${pct(v)}`).join('&');
          } else if (encoding === 'multipart') {
            const boundary = 'fuzzboundary';
            headers['Content-Type'] = `multipart/form-data; boundary=${boundary}`;
            body = Buffer.from(
              pairs.map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k.replace(/["\r\n]/g, '')}"\r\n\r\n${v}\r\n`).join('') + `--${boundary}--\r\n`,
            );
          } else if (encoding === 'json') {
            headers['Content-Type'] = 'application/json';
            body = JSON.stringify(Object.fromEntries(pairs));
          }
        }
        const before = fp();
        const res = await send(t, r.method, url, { body, headers });
        const what = `${r.method} ${url} as ${who} (${encoding}, csrf ${csrf}) ${JSON.stringify(form).slice(0, 300)}`;
        expectSafe(res, what);
        if (res.status >= 400) expect(fp(), `${what} → ${res.status} wrote something`).toEqual(before);
        // A foreign origin or a missing/wrong token never changes anything.
        if (r.method !== 'GET' && s && (origin === 'foreign' || csrf === 'wrong' || csrf === 'none')) expect(res.status, what).toBe(403);
        // The fuzz may have signed someone out, disabled or demoted them: sign in afresh.
        await ensureRoles();
      }),
      { numRuns: 1500 },
    );
  }, FUZZ_TIMEOUT_MS);

  /** Each session's user still has the role it stands for (the fuzz may change roles). */
  async function ensureRoles() {
    for (const w of ['admin', 'support', 'client'] as const) {
      const row = await t.db
        .selectFrom('web_sessions')
        .innerJoin('users', 'users.id', 'web_sessions.user_id')
        .select(['users.role', 'users.disabled_at'])
        .where('web_sessions.token_hash', '=', hashOf(sessions[w].cookie))
        .executeTakeFirst();
      if (!row || row.role !== w || row.disabled_at !== null) await signIn(w);
    }
  }
});

const hashOf = (cookie: string) => hashToken(cookie.slice(cookie.indexOf('=') + 1));
