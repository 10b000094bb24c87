import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HOUR_MS, RAW_WINDOW_MS, hourStart, rollUpLicenseEvents } from '../../../src/models/history-rollup.js';
import { makeApp, type TestApp } from '../../helpers/app.js';
import { captureBody, fingerprint, makeLicense, openOk } from '../../helpers/licensing.js';
import { reapExpiredSessions } from '../../../src/models/reaper.js';

// A capture counts its open, and a release its close, in the license's hour (license_event_hours):
// the row the roll-up made of an hour's raw 'open' and 'close' events before; no raw event each.

const MIN = 60_000;

describe('opens and releases counted per license and hour', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.close());

  const opens = () =>
    t.db
      .selectFrom('license_event_hours')
      .select(['license_id', 'hour', 'count', 'first_at', 'last_at', 'code', 'feature', 'user_name', 'host_id', 'hostname', 'infobase_id'])
      .where('kind', '=', 'open')
      .orderBy('hour')
      .orderBy('license_id')
      .orderBy('count')
      .execute();
  const rawOpens = () => t.db.selectFrom('license_events').select('id').where('kind', '=', 'open').execute();
  const none = { code: null, feature: null, user_name: null, host_id: null, hostname: null, infobase_id: null };

  it('one row per license and hour: its count, first and last time; the next hour starts a row of its own', async () => {
    const a = await makeLicense(t, { maxHosts: 3 });
    const b = await makeLicense(t);
    // Not on an hour: the first open is 10 minutes into it.
    t.clock.set(hourStart(t.clock.now()) + HOUR_MS + 10 * MIN);
    const H = hourStart(t.clock.now());
    const first = t.clock.now();
    await openOk(t, a.key);
    t.clock.advance(5 * MIN);
    await openOk(t, a.key, { fingerprint: fingerprint(2), user: 'Petrov' });
    await openOk(t, b.key);
    t.clock.advance(44 * MIN); // 59 minutes in: still H
    const last = t.clock.now();
    await openOk(t, a.key);
    t.clock.advance(MIN); // the next hour
    await openOk(t, a.key);
    expect(await opens()).toEqual([
      { license_id: a.id, hour: H, count: 3, first_at: first, last_at: last, ...none },
      { license_id: b.id, hour: H, count: 1, first_at: first + 5 * MIN, last_at: first + 5 * MIN, ...none },
      { license_id: a.id, hour: H + HOUR_MS, count: 1, first_at: H + HOUR_MS, last_at: H + HOUR_MS, ...none },
    ]);
    expect(await rawOpens()).toEqual([]);
  });

  it('an idempotent repeat and every refusal count nothing', async () => {
    const lic = await makeLicense(t, { maxHosts: 1, maxSessions: 1, features: { reports: null } });
    await openOk(t, lic.key, { clientSessionId: 'app-1' });
    const repeat = await t.request.post('/api/v1/sessions').send(captureBody(lic.key, { clientSessionId: 'app-1' }));
    expect(repeat.status).toBe(200);
    const refusals = [
      captureBody(lic.key), // session limit (the session's insert refused inside the capture's savepoint)
      captureBody(lic.key, { fingerprint: fingerprint(9) }), // host limit
      captureBody(lic.key, { features: ['designer'] }), // feature not licensed
    ];
    for (const body of refusals) expect((await t.request.post('/api/v1/sessions').send(body)).status).toBe(403);
    expect((await opens()).map((r) => r.count)).toEqual([1]);
  });

  it('raw opens written before the upgrade are still folded into their hour beside the counted ones, and the sum is every open', async () => {
    const lic = await makeLicense(t, { maxHosts: 5 });
    const H = hourStart(t.clock.now());
    // An older version's raw opens in this hour (before it was upgraded).
    for (let i = 0; i < 2; i++) {
      await t.db
        .insertInto('license_events')
        .values({ license_id: lic.id, at: H + i, kind: 'open', user_name: `old${i}`, host_id: null, hostname: 'PC', client_ip: '10.0.0.9', session_id: `s-${i}` })
        .execute();
    }
    t.clock.set(H + 30 * MIN);
    await openOk(t, lic.key);
    // The roll-up of that hour adds its own row for the raw opens.
    expect(await rollUpLicenseEvents(t.db, H + HOUR_MS + RAW_WINDOW_MS)).toEqual({ hours: 1, events: 2 });
    expect(await rawOpens()).toEqual([]);
    // A late open in the same hour (a clock set back) bumps one of the two rows, not both.
    t.clock.set(H + 40 * MIN);
    await openOk(t, lic.key, { fingerprint: fingerprint(2) });
    const rows = await opens();
    expect(rows).toHaveLength(2);
    expect(rows.reduce((n, r) => n + r.count, 0)).toBe(4);
    expect(Math.min(...rows.map((r) => r.first_at))).toBe(H);
    expect(Math.max(...rows.map((r) => r.last_at))).toBe(H + 40 * MIN);
  });

  it('releases are counted likewise, once per session; a timeout counts none', async () => {
    const lic = await makeLicense(t, { maxHosts: 5 });
    t.clock.set(hourStart(t.clock.now()) + HOUR_MS + 5 * MIN);
    const H = hourStart(t.clock.now());
    const [a, b, c] = [await openOk(t, lic.key), await openOk(t, lic.key), await openOk(t, lic.key)];
    const release = (s: { sessionId: string; token: string }) => t.request.delete(`/api/v1/sessions/${s.sessionId}`).set('Authorization', `Bearer ${s.token}`);
    expect((await release(a)).status).toBe(204);
    t.clock.advance(10 * MIN);
    expect((await release(b)).status).toBe(204);
    expect((await release(b)).status).toBe(204); // releasing again: already closed, nothing counted
    // c times out: the reaper closes it without a history event.
    t.clock.advance(60 * MIN);
    expect(await reapExpiredSessions(t.db, t.clock.now())).toBe(1);
    const closes = await t.db.selectFrom('license_event_hours').select(['hour', 'code', 'count', 'first_at', 'last_at']).where('kind', '=', 'close').execute();
    expect(closes).toEqual([{ hour: H, code: 'released', count: 2, first_at: H + 5 * MIN, last_at: H + 15 * MIN }]);
    expect(await t.db.selectFrom('license_events').select('kind').execute()).toEqual([]);
    expect((await t.db.selectFrom('sessions').select('close_reason').where('id', '=', c.sessionId).executeTakeFirstOrThrow()).close_reason).toBe('timeout');
  });
});
