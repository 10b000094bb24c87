import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { licenseHistory, historyCounts } from '../../src/models/history.js';
import { HOUR_MS, RAW_WINDOW_MS, historyRange, hourStart, rollUpLicenseEvents } from '../../src/models/history-rollup.js';
import { applyRetention, closedSessionKeepMs } from '../../src/models/retention.js';
import { makeApp, type TestApp } from '../helpers/app.js';
import { adminLicense, insertEvent, insertHost, insertSession } from '../helpers/admin.js';

const MIN = 60_000;
const DAY = 24 * HOUR_MS;

describe('license history roll-ups', () => {
  let t: TestApp;
  let licId: number;
  let otherId: number;
  let hostId: number;
  let now: number;
  const ev = (e: Omit<Parameters<typeof insertEvent>[1], 'licenseId'> & { licenseId?: number }) => insertEvent(t, { licenseId: licId, ...e });
  const raw = () => t.db.selectFrom('license_events').selectAll().orderBy('id').execute();
  const hours = () =>
    t.db.selectFrom('license_event_hours').selectAll().orderBy('hour').orderBy('license_id').orderBy('kind').orderBy('feature').orderBy('user_name').orderBy('code').execute();
  const week = () => licenseHistory(t.db, licId, { from: now - 7 * DAY, to: now });

  beforeEach(async () => {
    t = await makeApp();
    // Not on an hour, so that aligning the 7-day range is visible.
    t.clock.advance(37 * MIN + 123);
    now = t.clock.now();
    const lic = await adminLicense(t, { features: ['reports', 'export'] });
    licId = lic.id;
    otherId = (await adminLicense(t)).id;
    hostId = (await insertHost(t, licId, { hostname: 'PC-1' })).id;
  });
  afterEach(() => t.close());

  it('folds whole hours older than the raw window into groups; the 7-day history is the same before and after, and a second run counts nothing', async () => {
    const H = hourStart(now - 3 * DAY); // an hour well past the raw window
    const cap = { kind: 'capture' as const, feature: 'reports', user: 'Ivanov', hostId, hostname: 'PC-1' };
    await ev({ ...cap, at: H }); // on the boundary: belongs to H
    await ev({ ...cap, at: H + 20 * MIN });
    await ev({ ...cap, at: H + HOUR_MS - 1 }); // last millisecond of H
    await ev({ ...cap, at: H - 1 }); // last millisecond of the hour before
    await ev({ ...cap, at: H + HOUR_MS }); // first millisecond of the hour after
    await ev({ ...cap, user: 'Petrov', at: H + 5 * MIN });
    await ev({ kind: 'refusal', code: 'host_limit_reached', user: 'Sidorov', hostname: 'NEW-PC', at: H + 10 * MIN });
    await ev({ kind: 'refusal', code: 'host_limit_reached', user: 'Sidorov', hostname: 'NEW-PC', at: H + 50 * MIN });
    await ev({ kind: 'refusal', code: 'feature_not_licensed', feature: 'admin', user: 'Ivanov', hostname: 'PC-1', at: H + 30 * MIN });
    await ev({ ...cap, licenseId: otherId, at: H + MIN });
    // Opens and closes: counted per hour, without user and host (nothing shows them).
    for (const [i, user] of ['A', 'B', 'C'].entries()) {
      await t.db
        .insertInto('license_events')
        .values({ license_id: licId, at: H + i * MIN, kind: 'open', user_name: user, host_id: hostId, hostname: 'PC-1', client_ip: '10.0.0.9', session_id: `s-${i}` })
        .execute();
    }
    await t.db.insertInto('license_events').values({ license_id: licId, at: H + 40 * MIN, kind: 'close', code: 'released', user_name: 'A', host_id: hostId }).execute();
    // Inside the raw window: stays raw.
    await ev({ ...cap, at: now - RAW_WINDOW_MS + MIN });
    await ev({ ...cap, at: now - 10 * MIN });

    const before = await week();
    const countsBefore = await historyCounts(t.db, licId, { from: now - 7 * DAY, to: now });
    expect(before.captures.find((g) => g.user === 'Ivanov')).toMatchObject({ count: 7, firstAt: H - 1, lastAt: now - 10 * MIN });
    expect(countsBefore).toEqual({ captures: 8, refusals: 3 });

    const r = await rollUpLicenseEvents(t.db, now);
    expect(r).toEqual({ hours: 3, events: 14 });
    // Only the raw window is left raw.
    expect((await raw()).map((e) => e.at)).toEqual([now - RAW_WINDOW_MS + MIN, now - 10 * MIN]);
    const rolled = await hours();
    const row = (hour: number, licenseId: number, kind: string, extra: object = {}) => expect.objectContaining({ hour, license_id: licenseId, kind, ...extra });
    expect(rolled).toEqual([
      row(H - HOUR_MS, licId, 'capture', { user_name: 'Ivanov', count: 1, first_at: H - 1, last_at: H - 1 }),
      row(H, licId, 'capture', { user_name: 'Ivanov', host_id: hostId, hostname: 'PC-1', feature: 'reports', count: 3, first_at: H, last_at: H + HOUR_MS - 1 }),
      row(H, licId, 'capture', { user_name: 'Petrov', count: 1 }),
      row(H, licId, 'close', { code: 'released', user_name: null, host_id: null, hostname: null, count: 1 }),
      row(H, licId, 'open', { user_name: null, host_id: null, hostname: null, count: 3, first_at: H, last_at: H + 2 * MIN }),
      row(H, licId, 'refusal', { code: 'host_limit_reached', feature: null, user_name: 'Sidorov', hostname: 'NEW-PC', count: 2, first_at: H + 10 * MIN, last_at: H + 50 * MIN }),
      row(H, licId, 'refusal', { code: 'feature_not_licensed', feature: 'admin', count: 1 }),
      row(H, otherId, 'capture', { count: 1 }),
      row(H + HOUR_MS, licId, 'capture', { user_name: 'Ivanov', count: 1, first_at: H + HOUR_MS }),
    ]);
    expect(rolled.reduce((s, x) => s + x.count, 0)).toBe(14);

    expect(await week()).toEqual(before);
    expect(await historyCounts(t.db, licId, { from: now - 7 * DAY, to: now })).toEqual(countsBefore);

    // Twice: nothing left to fold, nothing counted twice.
    expect(await rollUpLicenseEvents(t.db, now)).toEqual({ hours: 0, events: 0 });
    expect(await hours()).toEqual(rolled);
    expect(await week()).toEqual(before);
  });

  it('a range past the raw window starts on an hour and takes that hour whole, raw or rolled up; a shorter one stays (from, to]', async () => {
    const { from, inclusive } = historyRange(now - 7 * DAY, now);
    expect(from).toBe(hourStart(now - 7 * DAY));
    expect(from).toBeLessThan(now - 7 * DAY);
    expect(inclusive).toBe(true);
    expect(historyRange(now - 24 * HOUR_MS, now)).toEqual({ from: now - 24 * HOUR_MS, to: now, inclusive: false });
    expect(historyRange(now - RAW_WINDOW_MS, now)).toEqual({ from: now - RAW_WINDOW_MS, to: now, inclusive: false });

    await ev({ kind: 'capture', feature: 'reports', user: 'AtStart', at: from });
    await ev({ kind: 'capture', feature: 'reports', user: 'Before', at: from - 1 });
    await ev({ kind: 'capture', feature: 'reports', user: 'InTheFirstHour', at: now - 7 * DAY - MIN });
    await ev({ kind: 'capture', feature: 'reports', user: 'Day', at: now - 24 * HOUR_MS });
    await ev({ kind: 'capture', feature: 'reports', user: 'Now', at: now });
    const users = async (h: Promise<{ from: number; captures: { user: string | null }[] }>) => (await h).captures.map((g) => g.user).sort();
    const expected = ['AtStart', 'Day', 'InTheFirstHour', 'Now'];
    expect(await users(week())).toEqual(expected);
    expect((await week()).from).toBe(from);
    // The 24-hour view: (now − 24 h, now], the event exactly 24 h old is out.
    expect(await users(licenseHistory(t.db, licId, { from: now - 24 * HOUR_MS, to: now }))).toEqual(['Now']);

    await rollUpLicenseEvents(t.db, now);
    expect(await users(week())).toEqual(expected);
    expect(await users(licenseHistory(t.db, licId, { from: now - 24 * HOUR_MS, to: now }))).toEqual(['Now']);
  });

  it('a crash inside an hour leaves that hour raw, the hours before it rolled up; running again completes it exactly once', async () => {
    const H = hourStart(now - 5 * DAY);
    for (let i = 0; i < 3; i++) {
      await ev({ kind: 'capture', feature: 'reports', user: 'Ivanov', at: H + i * HOUR_MS + MIN });
      await ev({ kind: 'refusal', code: 'session_limit_reached', user: 'Petrov', at: H + i * HOUR_MS + 2 * MIN });
    }
    const before = await week();
    // The process dies after the second hour's groups are inserted, before its raw events are deleted.
    t.sqlite.exec(`create temp trigger crash before delete on license_events when old.at >= ${H + HOUR_MS}
      begin select raise(abort, 'simulated crash'); end`);
    await expect(rollUpLicenseEvents(t.db, now)).rejects.toThrow('simulated crash');
    expect((await hours()).map((h) => [h.hour, h.kind, h.count])).toEqual([
      [H, 'capture', 1],
      [H, 'refusal', 1],
    ]);
    expect((await raw()).length).toBe(4);
    expect(await week()).toEqual(before);

    t.sqlite.exec('drop trigger temp.crash');
    expect(await rollUpLicenseEvents(t.db, now)).toEqual({ hours: 2, events: 4 });
    expect(await raw()).toEqual([]);
    expect((await hours()).reduce((s, h) => s + h.count, 0)).toBe(6);
    expect(await week()).toEqual(before);
  });

  it('retention deletes raw events and whole roll-up hours older than retentionDays, and reports the events they held', async () => {
    await t.db.updateTable('settings').set({ retention_days: 30 }).execute();
    const cut = now - 30 * DAY;
    const straddling = hourStart(cut); // holds events on both sides of the cut: kept until its whole hour is older
    await ev({ kind: 'capture', feature: 'reports', user: 'Gone', at: straddling - HOUR_MS + MIN });
    await ev({ kind: 'capture', feature: 'reports', user: 'Gone', at: straddling - HOUR_MS + 2 * MIN });
    await ev({ kind: 'capture', feature: 'reports', user: 'Edge', at: cut + MIN });
    await ev({ kind: 'capture', feature: 'reports', user: 'Kept', at: now - 10 * DAY });
    await ev({ kind: 'refusal', code: 'host_limit_reached', user: 'Recent', at: now - HOUR_MS });
    await rollUpLicenseEvents(t.db, now);
    expect((await hours()).map((h) => [h.hour, h.user_name, h.count])).toEqual([
      [straddling - HOUR_MS, 'Gone', 2],
      [straddling, 'Edge', 1],
      [hourStart(now - 10 * DAY), 'Kept', 1],
    ]);
    // A raw event past the retention (say the job had not run): deleted raw, before any roll-up.
    await ev({ kind: 'refusal', code: 'host_limit_reached', user: 'OldRaw', at: cut - 1 });

    expect(await applyRetention(t.db, now)).toEqual({ sessions: 0, events: 3 }); // 2 in the old hour + 1 raw
    expect((await hours()).map((h) => h.user_name)).toEqual(['Edge', 'Kept']);
    expect((await raw()).map((e) => e.user_name)).toEqual(['Recent']);
    // An hour later the straddling hour is wholly older than the retention.
    expect(await applyRetention(t.db, now + HOUR_MS)).toEqual({ sessions: 0, events: 1 });
    expect((await hours()).map((h) => h.user_name)).toEqual(['Kept']);
  });

  it('applyRetention rolls up, and closed sessions stay 7 days + 1 hour (the 7-day chart starts on an hour), not the whole retention', async () => {
    await t.db.updateTable('settings').set({ retention_days: 30 }).execute();
    expect(closedSessionKeepMs(30)).toBe(7 * DAY + HOUR_MS);
    expect(closedSessionKeepMs(7)).toBe(7 * DAY + HOUR_MS);
    expect(closedSessionKeepMs(6)).toBe(7 * DAY); // no 7-day view; 410 for 7 days (PROTOCOL)
    expect(closedSessionKeepMs(1)).toBe(7 * DAY);
    const old = await insertSession(t, { licenseId: licId, hostId, startedAt: now - 9 * DAY, closedAt: now - 7 * DAY - HOUR_MS });
    const inChart = await insertSession(t, { licenseId: licId, hostId, startedAt: now - 8 * DAY, closedAt: now - 7 * DAY - HOUR_MS + 1 });
    const open = await insertSession(t, { licenseId: licId, hostId, startedAt: now - 8 * DAY });
    await ev({ kind: 'capture', feature: 'reports', user: 'Ivanov', at: now - 3 * DAY });

    expect(await applyRetention(t.db, now)).toEqual({ sessions: 1, events: 0 });
    const left = await t.db.selectFrom('sessions').select('id').orderBy('started_at').execute();
    expect(left.map((s) => s.id)).toEqual([inChart.id, open.id]);
    expect(left.map((s) => s.id)).not.toContain(old.id);
    expect(await raw()).toEqual([]);
    expect((await hours()).map((h) => h.count)).toEqual([1]);
  });
});

describe('a roll-up backlog', () => {
  it('is folded at most maxHours per call, oldest first, each call going on where the last stopped', async () => {
    const t = await makeApp();
    try {
      const lic = await adminLicense(t);
      const now = t.clock.now();
      const first = hourStart(now - RAW_WINDOW_MS) - 30 * HOUR_MS; // 30 whole hours past the raw window
      for (let h = 0; h < 30; h++) await insertEvent(t, { licenseId: lic.id, kind: 'capture', feature: 'f', user: 'U', at: first + h * HOUR_MS + MIN });
      expect(await applyRetention(t.db, now, { maxRollUpHours: 24 })).toEqual({ sessions: 0, events: 0 });
      const folded = await t.db.selectFrom('license_event_hours').select('hour').orderBy('hour').execute();
      expect(folded.map((r) => r.hour)).toEqual(Array.from({ length: 24 }, (_, h) => first + h * HOUR_MS));
      expect(await rollUpLicenseEvents(t.db, now, 24)).toEqual({ hours: 6, events: 6 });
      expect(await rollUpLicenseEvents(t.db, now, 24)).toEqual({ hours: 0, events: 0 });
      expect(await t.db.selectFrom('license_events').selectAll().execute()).toEqual([]);
    } finally {
      await t.close();
    }
  });
});
