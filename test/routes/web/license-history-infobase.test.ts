import { hashPermissionCode } from '../../../src/lib/tokens.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loginAs, makeApiToken, makeApp, type TestApp } from '../../helpers/app.js';
import { captureBody, makeLicense, type TestLicense } from '../../helpers/licensing.js';
import { applyRetention } from '../../../src/models/retention.js';

const HOUR = 3600_000;

/** Refusals by an infobase lock name the base, on the History tab, in the cabinet and in the admin API, raw and rolled up. */
describe('license history: which infobase refused', () => {
  let t: TestApp;
  let lic: TestLicense;
  const ib: Record<string, number> = {};

  beforeEach(async () => {
    t = await makeApp();
    lic = await makeLicense(t, { maxHosts: 5 });
    for (const [ext, name] of [['acc', 'Бухгалтерия'], ['hr', 'Зарплата']]) {
      const row = await t.db
        .insertInto('infobases')
        .values({ client_id: lic.clientId, external_id: ext, name, created_at: t.clock.now(), lock_set_at: t.clock.now(), lock_message: `${name} closed`, lock_deny_sessions: 1 })
        .returning('id')
        .executeTakeFirstOrThrow();
      ib[ext] = row.id;
    }
  });
  afterEach(() => t.close());

  const refuse = async (ext: string, n: number) => {
    for (let i = 0; i < n; i++) {
      const res = await t.request.post('/api/v1/sessions').send(captureBody(lic.key, { infobase: { id: ext } }));
      expect(res.status).toBe(423);
    }
  };

  it('groups refusals per base and names it, before and after the roll-up', async () => {
    const start = t.clock.now();
    await refuse('acc', 2);
    await refuse('hr', 1);
    // Another refusal without an infobase stays a group of its own, with no base named.
    await t.request.post('/api/v1/sessions').send(captureBody(lic.key, { features: ['nope'] })).expect(403);
    t.clock.set(start + 3 * 24 * HOUR);

    const staff = await loginAs(t, 'support');
    const client = await loginAs(t, 'client', { clientId: lic.clientId });
    const api = { Authorization: `Bearer ${await makeApiToken(t, 'support')}` };
    const read = async () => {
      const page = await t.request.get(`/licenses/${lic.id}/history?period=7d`).set('Cookie', staff.cookie);
      const cabinet = await t.request.get(`/cabinet/licenses/${lic.id}/history?period=7d`).set('Cookie', client.cookie);
      const json = await t.request.get(`/api/v1/admin/licenses/${lic.id}/history?hours=168`).set(api);
      return { page: page.text, cabinet: cabinet.text, refusals: json.body.refusals as { code: string; count: number; infobase: unknown }[] };
    };
    const before = await read();
    expect(before.page).toContain(`<a href="/infobases/${ib.acc}">Бухгалтерия</a>`);
    expect(before.page).toContain(`<a href="/infobases/${ib.hr}">Зарплата</a>`);
    expect(before.cabinet).toContain(`<a href="/cabinet/infobases/${ib.acc}">Бухгалтерия</a>`);
    expect(before.refusals.map((r) => [r.code, r.count, r.infobase])).toEqual(
      expect.arrayContaining([
        ['infobase_locked', 2, { id: ib.acc, name: 'Бухгалтерия' }],
        ['infobase_locked', 1, { id: ib.hr, name: 'Зарплата' }],
        ['feature_not_licensed', 1, null],
      ]),
    );
    expect(before.refusals).toHaveLength(3);

    // Three days on, the raw events are folded into hours: the same groups, the same names.
    await applyRetention(t.db, t.clock.now());
    expect(await t.db.selectFrom('license_events').selectAll().execute()).toEqual([]);
    const after = await read();
    expect(after.refusals).toEqual(before.refusals);
    expect(after.page).toContain(`<a href="/infobases/${ib.hr}">Зарплата</a>`);
  });

  it('says who got into a locked base with its permission code, per base, user and computer, before and after the roll-up', async () => {
    await t.db.updateTable('infobases').set({ lock_code: hashPermissionCode('let-me-in') }).where('id', '=', ib.acc).execute();
    const start = t.clock.now();
    const enter = (user: string) => captureBody(lic.key, { user, infobase: { id: 'acc' }, permissionCode: 'let-me-in', machine: { hostname: 'MAINT-PC' } });
    for (const user of ['Maintainer', 'Maintainer', 'Admin 1C']) expect((await t.request.post('/api/v1/sessions').send(enter(user))).status).toBe(201);
    // The code where no lock refuses lets in nobody "by the code"; a wrong code is a refusal.
    expect((await t.request.post('/api/v1/sessions').send(captureBody(lic.key, { infobase: { id: 'free' }, permissionCode: 'let-me-in' }))).status).toBe(201);
    expect((await t.request.post('/api/v1/sessions').send(captureBody(lic.key, { infobase: { id: 'acc' }, permissionCode: 'guess' }))).status).toBe(423);
    t.clock.set(start + 3 * 24 * HOUR);
    const staff = await loginAs(t, 'support');
    const client = await loginAs(t, 'client', { clientId: lic.clientId });
    const api = { Authorization: `Bearer ${await makeApiToken(t, 'support')}` };
    const read = async () => {
      const page = (await t.request.get(`/licenses/${lic.id}/history?period=7d`).set('Cookie', staff.cookie)).text;
      const cabinet = (await t.request.get(`/cabinet/licenses/${lic.id}/history?period=7d`).set('Cookie', client.cookie)).text;
      const json = (await t.request.get(`/api/v1/admin/licenses/${lic.id}/history?hours=168`).set(api)).body;
      return { page, cabinet, json };
    };
    const before = await read();
    expect(before.page).toContain('Let in by a permission code');
    const section = before.page.slice(before.page.indexOf('class="history admissions"'));
    expect(section).toContain(`<a href="/infobases/${ib.acc}">Бухгалтерия</a>`);
    expect(before.cabinet).toContain(`<a href="/cabinet/infobases/${ib.acc}">Бухгалтерия</a>`);
    expect(before.json.admissions.map((g: { user: string; hostname: string; count: number; infobase: unknown }) => [g.user, g.hostname, g.count, g.infobase])).toEqual(
      expect.arrayContaining([
        ['Maintainer', 'MAINT-PC', 2, { id: ib.acc, name: 'Бухгалтерия' }],
        ['Admin 1C', 'MAINT-PC', 1, { id: ib.acc, name: 'Бухгалтерия' }],
      ]),
    );
    expect(before.json.admissions).toHaveLength(2);
    // Not a feature capture.
    expect(before.json.captures).toEqual([]);
    await applyRetention(t.db, t.clock.now());
    expect((await read()).json.admissions).toEqual(before.json.admissions);
  });
});
