import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { makeApiToken, makeApp, type TestApp } from '../helpers/app.js';
import { fingerprint, makeInfobase, makeLicense, openOk } from '../helpers/licensing.js';
import { FUZZ_TIMEOUT_MS, acceptLanguage, contentType, dbFingerprint, expectSafe, mutated, nastyJson, pct, queryString, segment, send, wireBody } from './fuzz-kit.js';

// Every admin API endpoint (walked from app.routes, so new ones are fuzzed too)
// with random path ids, query strings, bodies and tokens: never a 5xx, never a
// stack trace, and a refusal writes nothing (a token's last use aside).

const FUTURE = '2027-01-01T00:00:00.000Z';

/** A valid body per endpoint, the seed the mutations start from; endpoints not listed start from {}. */
const EXAMPLES: Record<string, Record<string, unknown>> = {
  'POST /api/v1/admin/clients': { name: 'Initech', email: 'ops@initech.test', phone: '+1', contactPerson: 'Peter', notes: 'n' },
  'PATCH /api/v1/admin/clients/:id': { name: 'Initech 2', notes: null },
  'POST /api/v1/admin/licenses': {
    clientId: 1,
    product: 'Payroll',
    features: ['reports', 'export'],
    maxHosts: 3,
    maxSessions: 5,
    featureLimits: { reports: 1 },
    expiresAt: FUTURE,
    selfResetQuota: 2,
    notes: 'n',
  },
  'PATCH /api/v1/admin/licenses/:id': { product: 'P', suspended: false, maxHosts: 4, maxSessions: null, features: ['reports'], featureLimits: { reports: 2 }, expiresAt: null, selfResetQuota: null },
  'DELETE /api/v1/admin/licenses/:id/hosts/:hostId': { reason: 'new motherboard' },
  'DELETE /api/v1/admin/sessions/:id': { message: 'closing for the night' },
  'POST /api/v1/admin/sessions/:id/commands': { type: 'message', text: 'hello', packageId: 'p1', path: '/a.lgp' },
  'PUT /api/v1/admin/infobases/:id/lock': { from: null, to: FUTURE, message: 'Maintenance', permissionCode: 'letmein', denySessions: true, denyBackgroundJobs: false },
  'PATCH /api/v1/admin/settings': { heartbeatIntervalSec: 60, leaseTimeoutSec: 300, poolSize: 10, selfResetQuotaDefault: 3, retentionDays: 30 },
};

const QUERY_NAMES = ['limit', 'cursor', 'client', 'key', 'product', 'q', 'license', 'infobase', 'hours'];

describe('admin API fuzzing', () => {
  let t: TestApp;
  let tokens: Record<string, string>;
  const ids: Record<string, (string | number)[]> = {};

  beforeAll(async () => {
    t = await makeApp({ captureRatePerIp: 10_000_000, captureRatePerKey: 10_000_000 });
    tokens = { admin: await makeApiToken(t, 'admin'), support: await makeApiToken(t, 'support'), garbage: 'smt_nope', none: '' };
    const a = await makeLicense(t, { maxHosts: 5, maxSessions: 10, features: { reports: 1, export: null } });
    const b = await makeLicense(t, { maxHosts: 2 });
    const ib = await makeInfobase(t, a.clientId, 'ib-1', 'Accounting', { message: 'Maintenance', code: 'x' });
    const sessions = [];
    for (let i = 0; i < 4; i++) {
      sessions.push(await openOk(t, i % 2 ? b.key : a.key, { fingerprint: fingerprint(`adm-${i}`), infobase: { id: 'ib-free', name: 'Free' }, features: i ? [] : ['reports'] }));
    }
    ids.client = [a.clientId, b.clientId];
    ids.license = [a.id, b.id];
    ids.infobase = [ib, ...(await t.db.selectFrom('infobases').select('id').execute()).map((r) => r.id)];
    ids.session = sessions.map((s) => s.sessionId);
    ids.host = sessions.map((s) => s.hostId);
  });
  afterAll(() => t.close());

  /** Which id pool a path parameter draws from. */
  function pool(path: string, param: string): (string | number)[] {
    if (param === 'hostId') return ids.host;
    if (path.startsWith('/api/v1/admin/clients')) return ids.client;
    if (path.startsWith('/api/v1/admin/licenses')) return ids.license;
    if (path.startsWith('/api/v1/admin/sessions')) return ids.session;
    if (path.startsWith('/api/v1/admin/infobases')) return ids.infobase;
    if (path.startsWith('/api/v1/admin/hosts')) return ids.host;
    return [...ids.client, ...ids.session];
  }

  it('random ids, queries, bodies and tokens on every endpoint', async () => {
    const { app } = createApp({ db: t.db, config: t.deps.config, clock: t.clock });
    const endpoints = [...new Map(app.routes.filter((r) => r.method !== 'ALL' && r.path.startsWith('/api/v1/admin/')).map((r) => [`${r.method} ${r.path}`, r])).values()];
    expect(endpoints.length).toBeGreaterThan(15);
    for (const e of endpoints) expect(`${e.method} ${e.path}`).not.toMatch(/\{/); // path patterns below assume plain :params

    const request = fc.constantFrom(...endpoints).chain((e) => {
      const params = [...e.path.matchAll(/:(\w+)/g)].map((m) => m[1]);
      const example = EXAMPLES[`${e.method} ${e.path}`] ?? {};
      return fc.record({
        e: fc.constant(e),
        segs: fc.tuple(...params.map((p) => segment(pool(e.path, p)))),
        query: queryString(QUERY_NAMES),
        body: fc.option(wireBody(fc.oneof({ weight: 5, arbitrary: mutated(example) }, { weight: 1, arbitrary: nastyJson })), { freq: 6, nil: undefined }),
        type: contentType,
        lang: acceptLanguage,
        who: fc.constantFrom('admin', 'admin', 'admin', 'support', 'support', 'garbage', 'none'),
      });
    });

    const fp = () => dbFingerprint(t.sqlite, { ignore: { api_tokens: ['last_used_at'] } });
    await fc.assert(
      fc.asyncProperty(request, async ({ e, segs, query, body, type, lang, who }) => {
        let i = 0;
        const url = e.path.replace(/:(\w+)/g, () => pct(segs[i++])) + query;
        const before = fp();
        const headers: Record<string, string> = { 'Content-Type': type, 'Accept-Language': lang, Authorization: tokens[who] ? `Bearer ${tokens[who]}` : '' };
        const res = await send(t, e.method, url, { body: e.method === 'GET' ? undefined : body, headers });
        const what = `${e.method} ${url} as ${who} ${String(body).slice(0, 200)}`;
        expectSafe(res, what);
        if (res.status >= 400) {
          expect(fp(), `${what} → ${res.status} wrote something`).toEqual(before);
          expect(JSON.parse(res.text).error.code, what).toMatch(/^[a-z_]+$/);
        }
        if (res.status === 401) expect(who === 'garbage' || who === 'none', what).toBe(true);
        if (res.status === 429) expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      }),
      { numRuns: 1200 },
    );
  }, FUZZ_TIMEOUT_MS);
});
