import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loginAs, makeApiToken, makeApp, type TestApp } from '../../helpers/app.js';
import { fingerprint, makeLicense, openOk, type TestLicense } from '../../helpers/licensing.js';
import { applyRetention } from '../../../src/models/retention.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

/**
 * The History tab over real agent traffic: 8 days of captures, feature
 * captures, refusals and releases, then the retention job (roll-up of raw
 * events older than 48 h, closed sessions older than 7 d + 1 h deleted).
 * Every period must show exactly what it showed before.
 */
describe('license history after the roll-up', () => {
  let t: TestApp;
  let lic: TestLicense;
  let now: number;

  beforeEach(async () => {
    t = await makeApp();
    lic = await makeLicense(t, { maxHosts: 2, maxSessions: 3, features: { reports: null, export: 1 } });
    await t.db.updateTable('settings').set({ retention_days: 30 }).execute();
    now = t.clock.now() + 37 * MIN + 456;
    // Every 5 h 17 min for 8 days: a session opens (features by turn) and is released 2 h later;
    // every third step a third computer is refused (host limit), every fifth an unlicensed feature.
    const start = now - 8 * DAY;
    // One session still open, started before the week; it binds the second host slot.
    t.clock.set(start - HOUR);
    await openOk(t, lic.key, { user: 'Longrunner', fingerprint: fingerprint(1), clientSessionId: 'long' });
    let i = 0;
    for (let at = start; at < now - 3 * HOUR; at += 5 * HOUR + 17 * MIN, i++) {
      t.clock.set(at);
      const features = i % 2 === 0 ? ['reports'] : ['reports', 'export'];
      const s = await openOk(t, lic.key, { user: `user${i % 4}`, fingerprint: fingerprint(i % 2), features });
      t.clock.set(at + 7 * MIN);
      if (i % 3 === 0) {
        const r = await t.request.post('/api/v1/sessions').send({ licenseKey: lic.key, fingerprint: fingerprint(99), machine: { hostname: 'NEW-PC' }, user: 'Sidorov', app: { name: 'Payroll', version: '1' } });
        expect(r.status).toBe(403);
      }
      if (i % 5 === 0) {
        const r = await t.request.post('/api/v1/sessions').send({ licenseKey: lic.key, fingerprint: fingerprint(0), user: 'Petrov', features: ['admin'], app: { name: 'Payroll', version: '1' } });
        expect(r.status).toBe(403);
      }
      t.clock.set(at + 2 * HOUR);
      await t.request.delete(`/api/v1/sessions/${s.sessionId}`).set('Authorization', `Bearer ${s.token}`).expect(204);
    }
    t.clock.set(now);
  });
  afterEach(() => t.close());

  it('shows the same 1 h, 24 h and 7 d history (groups, chart, summary) and admin API answer before and after the job, twice', async () => {
    const staff = await loginAs(t, 'support');
    const cabinet = await loginAs(t, 'client', { clientId: lic.clientId });
    const apiToken = { Authorization: `Bearer ${await makeApiToken(t, 'support')}` };
    const pages = async () => {
      const out: Record<string, string> = {};
      for (const p of ['1h', '24h', '7d']) {
        const res = await t.request.get(`/licenses/${lic.id}/history?period=${p}`).set('Cookie', staff.cookie);
        expect(res.status).toBe(200);
        out[p] = res.text;
        const cab = await t.request.get(`/cabinet/licenses/${lic.id}/history?period=${p}`).set('Cookie', cabinet.cookie);
        expect(cab.status).toBe(200);
        out[`cabinet ${p}`] = cab.text;
      }
      for (const h of [1, 24, 48, 49, 168, 200]) {
        const res = await t.request.get(`/api/v1/admin/licenses/${lic.id}/history?hours=${h}`).set(apiToken);
        expect(res.status).toBe(200);
        out[`api ${h}`] = JSON.stringify(res.body);
      }
      return out;
    };
    const before = await pages();
    // The week is worth checking: captures of both features, both refusal codes, a peak at the limit.
    const week = before['7d'];
    expect(week).toContain('<code>export</code>');
    expect(week).toContain('host_limit_reached');
    expect(week).toContain('feature_not_licensed');
    expect(week).toMatch(/Peak: 2 concurrent sessions/);
    const sumCounts = (html: string) => [...html.matchAll(/<td class="num">(\d+)<\/td>/g)].reduce((s, m) => s + Number(m[1]), 0);
    const rawCaptures = await t.db.selectFrom('license_events').select((eb) => eb.fn.countAll<number>().as('n')).where('kind', 'in', ['capture', 'refusal']).executeTakeFirstOrThrow();
    expect(sumCounts(week)).toBeGreaterThan(30);
    expect(sumCounts(week)).toBeLessThan(Number(rawCaptures.n)); // the 8th day is outside the week
    // The week starts on the hour: from the start of the hour 7 days ago.
    const weekApi = JSON.parse(before['api 168']) as { from: string };
    expect(Date.parse(weekApi.from)).toBe(Math.floor((now - 7 * DAY) / HOUR) * HOUR);
    expect(JSON.parse(before['api 48']).from).toBe(new Date(now - 48 * HOUR).toISOString());
    // The page says so, and in which zone its times are; the periods within the raw window need no such word.
    expect(week).toContain('History older than 48 hours is kept per hour of UTC, so this period starts at the beginning of such an hour.');
    expect(week).toContain('Times in UTC.');
    expect(before['24h']).toContain('Times in UTC.');
    expect(before['24h']).not.toContain('kept per hour of UTC');
    expect(before['cabinet 7d']).toContain('kept per hour of UTC');

    const sessionsBefore = await t.db.selectFrom('sessions').select('id').execute();
    const r = await applyRetention(t.db, now);
    expect(r.events).toBe(0); // nothing is older than the retention
    expect(r.sessions).toBeGreaterThan(0);
    // Database effect: raw events only within the last 48 h, older ones as hourly rows; closed sessions older than 7 d + 1 h gone.
    const oldestRaw = await t.db.selectFrom('license_events').select((eb) => eb.fn.min('at').as('at')).executeTakeFirstOrThrow();
    expect(Number(oldestRaw.at)).toBeGreaterThanOrEqual(Math.floor((now - 48 * HOUR) / HOUR) * HOUR);
    const rolled = await t.db.selectFrom('license_event_hours').select((eb) => eb.fn.sum<number>('count').as('n')).executeTakeFirstOrThrow();
    expect(Number(rolled.n)).toBeGreaterThan(0);
    const closedLeft = await t.db.selectFrom('sessions').select((eb) => eb.fn.min('closed_at').as('c')).executeTakeFirstOrThrow();
    expect(Number(closedLeft.c)).toBeGreaterThan(now - 7 * DAY - HOUR);
    expect((await t.db.selectFrom('sessions').select('id').execute()).length).toBe(sessionsBefore.length - r.sessions);

    expect(await pages()).toEqual(before);
    // The job again: nothing to fold, nothing counted twice.
    expect(await applyRetention(t.db, now)).toEqual({ sessions: 0, events: 0 });
    expect(await pages()).toEqual(before);
  });

  it('after the retention the week is empty of what is older, and the roll-ups are gone with it', async () => {
    await applyRetention(t.db, now);
    t.clock.set(now + 31 * DAY);
    const r = await applyRetention(t.db, t.clock.now());
    expect(r.events).toBeGreaterThan(0);
    expect(await t.db.selectFrom('license_event_hours').selectAll().execute()).toEqual([]);
    expect(await t.db.selectFrom('license_events').selectAll().execute()).toEqual([]);
    const staff = await loginAs(t, 'support');
    const res = await t.request.get(`/licenses/${lic.id}/history?period=7d`).set('Cookie', staff.cookie);
    expect(res.status).toBe(200);
    expect(res.text).toContain('No feature was captured in this period.');
    expect(res.text).toContain('Nothing was refused in this period.');
  });
});
