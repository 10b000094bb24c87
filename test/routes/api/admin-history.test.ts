import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeApiToken, makeApp, type TestApp } from '../../helpers/app.js';
import { adminLicense, insertEvent, insertHost } from '../../helpers/admin.js';
import { captureBody, openOk } from '../../helpers/licensing.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const iso = (ms: number) => new Date(ms).toISOString();

describe('admin API: history by key', () => {
  let t: TestApp;
  let support: { Authorization: string };
  beforeEach(async () => {
    t = await makeApp();
    support = { Authorization: `Bearer ${await makeApiToken(t, 'support')}` };
  });
  afterEach(() => t.close());

  it('groups captures by feature × user × computer and refusals by code, within the hours asked', async () => {
    const lic = await adminLicense(t, { features: ['reports', 'export'] });
    const other = await adminLicense(t);
    const h1 = await insertHost(t, lic.id, { hostname: 'PC-1' });
    const h2 = await insertHost(t, lic.id, { hostname: 'PC-2' });
    const now = t.clock.now();
    const ev = (kind: 'capture' | 'refusal', at: number, o: object) => insertEvent(t, { licenseId: lic.id, kind, at, ...o });
    await ev('capture', now - 3 * HOUR, { feature: 'reports', user: 'Ivanov', hostId: h1.id, hostname: 'PC-1' });
    await ev('capture', now - 2 * HOUR, { feature: 'reports', user: 'Ivanov', hostId: h1.id, hostname: 'PC-1' });
    await ev('capture', now - 30 * MIN, { feature: 'reports', user: 'Ivanov', hostId: h1.id, hostname: 'PC-1' });
    await ev('capture', now - 20 * MIN, { feature: 'export', user: 'Ivanov', hostId: h1.id, hostname: 'PC-1' });
    await ev('capture', now - 10 * MIN, { feature: 'reports', user: 'Petrov', hostId: h2.id, hostname: 'PC-2' });
    await ev('capture', now - 25 * HOUR, { feature: 'reports', user: 'Old', hostId: h1.id, hostname: 'PC-1' });
    await ev('refusal', now - 5 * HOUR, { code: 'host_limit_reached', feature: null, user: 'Sidorov', hostname: 'PC-9' });
    await ev('refusal', now - 4 * HOUR, { code: 'host_limit_reached', feature: null, user: 'Sidorov', hostname: 'PC-9' });
    await ev('refusal', now - 5 * MIN, { code: 'feature_not_licensed', feature: 'admin', user: 'Ivanov', hostname: 'PC-1' });
    await insertEvent(t, { licenseId: other.id, kind: 'capture', at: now - MIN, feature: 'reports', user: 'Ivanov' });

    const res = await t.request.get(`/api/v1/admin/licenses/${lic.id}/history`).set(support);
    expect(res.status).toBe(200);
    expect(res.body.from).toBe(iso(now - 24 * HOUR));
    expect(res.body.to).toBe(iso(now));
    expect(res.body.captures).toEqual([
      { feature: 'reports', user: 'Petrov', hostId: h2.id, hostname: 'PC-2', count: 1, firstAt: iso(now - 10 * MIN), lastAt: iso(now - 10 * MIN) },
      { feature: 'export', user: 'Ivanov', hostId: h1.id, hostname: 'PC-1', count: 1, firstAt: iso(now - 20 * MIN), lastAt: iso(now - 20 * MIN) },
      { feature: 'reports', user: 'Ivanov', hostId: h1.id, hostname: 'PC-1', count: 3, firstAt: iso(now - 3 * HOUR), lastAt: iso(now - 30 * MIN) },
    ]);
    expect(res.body.refusals).toEqual([
      { code: 'feature_not_licensed', feature: 'admin', infobase: null, user: 'Ivanov', hostname: 'PC-1', count: 1, firstAt: iso(now - 5 * MIN), lastAt: iso(now - 5 * MIN) },
      { code: 'host_limit_reached', feature: null, infobase: null, user: 'Sidorov', hostname: 'PC-9', count: 2, firstAt: iso(now - 5 * HOUR), lastAt: iso(now - 4 * HOUR) },
    ]);

    const lastHour = await t.request.get(`/api/v1/admin/licenses/${lic.id}/history?hours=1`).set(support);
    expect(lastHour.body.captures.map((g: { feature: string; user: string; count: number }) => [g.feature, g.user, g.count])).toEqual([
      ['reports', 'Petrov', 1],
      ['export', 'Ivanov', 1],
      ['reports', 'Ivanov', 1],
    ]);
    expect(lastHour.body.refusals).toHaveLength(1);
    const week = await t.request.get(`/api/v1/admin/licenses/${lic.id}/history?hours=168`).set(support);
    expect(week.body.captures.find((g: { user: string }) => g.user === 'Old')).toBeTruthy();
  });

  it('a refusal of a bound machine that sent no machine details names it by the name it is bound with', async () => {
    const lic = await adminLicense(t, { features: ['reports'] });
    await openOk(t, lic.key, { machine: { hostname: 'BUH-PC', os: 'Windows', ip: '10.0.0.7' } });
    const { machine: _machine, ...withoutMachine } = captureBody(lic.key, { features: ['admin'], user: 'Petrov' });
    expect((await t.request.post('/api/v1/sessions').send(withoutMachine)).status).toBe(403);
    const res = await t.request.get(`/api/v1/admin/licenses/${lic.id}/history`).set(support);
    expect(res.body.refusals).toEqual([expect.objectContaining({ code: 'feature_not_licensed', user: 'Petrov', hostname: 'BUH-PC' })]);
  });

  it('answers 400 for a bad hours value and 404 for an unknown license', async () => {
    const lic = await adminLicense(t);
    for (const h of ['0', '-1', 'abc', '1.5']) {
      const res = await t.request.get(`/api/v1/admin/licenses/${lic.id}/history?hours=${h}`).set(support);
      expect(res.status, h).toBe(400);
      expect(res.body.error.details.fields).toHaveProperty('hours');
    }
    expect((await t.request.get('/api/v1/admin/licenses/9999/history').set(support)).status).toBe(404);
    expect((await t.request.get(`/api/v1/admin/licenses/${lic.id}/history`)).status).toBe(401);
  });
});
