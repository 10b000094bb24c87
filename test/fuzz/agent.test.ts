import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeApp, type TestApp } from '../helpers/app.js';
import { captureBody, fingerprint, makeInfobase, makeLicense, openOk, type OpenedSession } from '../helpers/licensing.js';
import { FUZZ_TIMEOUT_MS, acceptLanguage, contentType, dbFingerprint, expectSafe, mutated, nastyJson, nastyString, pct, send, wireBody } from './fuzz-kit.js';

// The agent protocol under random and mutated input: never a 5xx, never a stack
// trace, and a refused request writes nothing — except the refusal event a 403
// or 423 of a known license records (PROTOCOL "Conventions").

const ISO = '2026-11-21T09:59:00.000Z';

describe('agent API fuzzing', () => {
  let t: TestApp;
  const keys: string[] = [];
  const open: OpenedSession[] = [];
  let closed: OpenedSession;
  let n = 0;

  beforeAll(async () => {
    t = await makeApp({ captureRatePerIp: 10_000_000, captureRatePerKey: 10_000_000 });
    const big = await makeLicense(t, { maxHosts: 1_000_000, features: { reports: null, export: 2 } });
    const small = await makeLicense(t, { maxHosts: 1, maxSessions: 1, features: { reports: 1 } });
    const suspended = await makeLicense(t, { suspended: true });
    const expired = await makeLicense(t, { expiresAt: t.clock.now() - 1 });
    await makeInfobase(t, big.clientId, 'locked-ib', 'Locked', { code: 'letmein', message: 'Closed for the night' });
    keys.push(big.key, small.key, suspended.key, expired.key);
    for (let i = 0; i < 3; i++) open.push(await openOk(t, big.key, { fingerprint: fingerprint(`fz-${i}`), clientSessionId: `fz-${i}` }));
    closed = await openOk(t, big.key, { fingerprint: fingerprint('fz-closed') });
    await t.request.delete(`/api/v1/sessions/${closed.sessionId}`).set('Authorization', `Bearer ${closed.token}`).expect(204);
  });
  afterAll(() => t.close());

  const strict = () => dbFingerprint(t.sqlite);
  const refusalsAllowed = () => dbFingerprint(t.sqlite, { allow: (table, row) => table === 'license_events' && row.kind === 'refusal' });

  /** Checks the answer; for a refusal, that nothing but a refusal event (403/423) was written. */
  function judge(res: { status: number; text: string }, what: string, before: { strict: Record<string, string>; loose: Record<string, string> }) {
    expectSafe(res, what);
    if (res.status >= 400) {
      if (res.status === 403 || res.status === 423) expect(refusalsAllowed(), `${what} → ${res.status} wrote something`).toEqual(before.loose);
      else expect(strict(), `${what} → ${res.status} wrote something`).toEqual(before.strict);
      if (res.text) expect(JSON.parse(res.text).error.code, what).toMatch(/^[a-z_]+$/);
    }
  }

  it('capture: random and mutated bodies, content types and languages', async () => {
    const valid = () =>
      captureBody(keys[0], {
        fingerprint: { cpu: 'C', board: 'B' },
        client: { ip: '10.0.0.77', hostname: 'BUH-PC-3' },
        roles: ['viewer', 'design'],
        infobase: { id: 'locked-ib', name: 'Locked' },
        connectionType: 'client',
        features: ['reports', 'export'],
        permissionCode: 'letmein',
      });
    const body = fc.oneof(
      {
        weight: 5,
        arbitrary: fc
          .tuple(fc.constantFrom(keys[0], ...keys, 'NOPE-NOPE', ''), fc.option(fc.uuid(), { nil: undefined }))
          .chain(([key, csid]) => mutated({ ...valid(), licenseKey: key, clientSessionId: csid })),
      },
      { weight: 1, arbitrary: nastyJson },
    );
    await fc.assert(
      fc.asyncProperty(wireBody(body), contentType, acceptLanguage, async (raw, type, lang) => {
        const before = { strict: strict(), loose: refusalsAllowed() };
        const res = await send(t, 'POST', '/api/v1/sessions', { body: raw, headers: { 'Content-Type': type, 'Accept-Language': lang } });
        judge(res, `capture ${String(raw).slice(0, 200)} (${type})`, before);
        if (res.status === 200 || res.status === 201) {
          const s = JSON.parse(res.text) as OpenedSession;
          expect(s.token).toMatch(/^[\w-]{43}$/);
          // Keep the seats free for the next runs.
          await t.request.delete(`/api/v1/sessions/${s.sessionId}`).set('Authorization', `Bearer ${s.token}`).expect(204);
        }
      }),
      { numRuns: 800 },
    );
  }, FUZZ_TIMEOUT_MS);

  it('heartbeat, features and release: random sessions, tokens, paths and bodies', async () => {
    const heartbeat = {
      sleeping: false,
      lastInputAt: ISO,
      metrics: {
        cpuMs: { current: 1, total: 2 },
        memoryBytes: { current: -5, total: 10 },
        dataBytes: { total: 1 },
        calls: { total: 1 },
        dbmsBytes: { total: 1 },
      },
      packages: [
        { id: 'p1', path: '/a.lgp', name: 'a', version: '1.0.0', createdAt: ISO, savedAt: ISO, state: 'running', progress: 5, node: 'Join', nodeStartedAt: ISO, refs: ['/shared/lib.lgp'], origin: 'integrator' },
        { id: 'p2', name: 'draft', state: 'idle', origin: 'interactive' },
      ],
      acks: ['cmd-1'],
    };
    const op = fc.constantFrom('heartbeat', 'feature', 'unfeature', 'release');
    const who = fc.constantFrom('open', 'open', 'open', 'closed', 'unknown');
    const token = fc.constantFrom('right', 'right', 'right', 'wrong', 'none', 'garbage');
    const feature = fc.oneof(fc.constantFrom('reports', 'export', 'nope'), nastyString);
    const body = fc.oneof({ weight: 4, arbitrary: mutated(heartbeat) }, { weight: 1, arbitrary: feature.map((f) => ({ feature: f })) }, { weight: 1, arbitrary: nastyJson });
    await fc.assert(
      fc.asyncProperty(op, who, token, feature, wireBody(body), contentType, fc.nat(), async (op, who, tok, feat, raw, type, pick) => {
        const s = who === 'open' ? open[pick % open.length] : who === 'closed' ? closed : { sessionId: 'no-such-session', token: 'x' };
        const auth =
          tok === 'right' ? `Bearer ${s.token}` : tok === 'wrong' ? `Bearer ${open[(pick + 1) % open.length].token}` : tok === 'garbage' ? 'Basic Og==' : '';
        const headers = { 'Content-Type': type, Authorization: auth };
        const url = `/api/v1/sessions/${pct(s.sessionId)}`;
        const before = { strict: strict(), loose: refusalsAllowed() };
        const res =
          op === 'heartbeat'
            ? await send(t, 'POST', `${url}/heartbeat`, { body: raw, headers })
            : op === 'feature'
              ? await send(t, 'POST', `${url}/features`, { body: raw, headers })
              : op === 'unfeature'
                ? await send(t, 'DELETE', `${url}/features/${pct(feat)}`, { headers })
                : await send(t, 'DELETE', url, { headers });
        judge(res, `${op} ${who}/${tok} ${String(raw).slice(0, 200)}`, before);
        if (op === 'release' && res.status === 204 && who === 'open') {
          open[pick % open.length] = await openOk(t, keys[0], { fingerprint: fingerprint(`fz-re-${++n}`) });
        }
      }),
      { numRuns: 800 },
    );
    // 800 runs of HTTP round trips: ~13 s alone here, ~18 s on a loaded machine; a time limit is not what this tests.
  }, FUZZ_TIMEOUT_MS);
});
