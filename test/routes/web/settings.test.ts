import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loginAs, makeApp, type TestApp } from '../../helpers/app.js';
import { auditRows } from '../../helpers/admin.js';

describe('settings page', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.close());

  const settingsRow = () => t.db.selectFrom('settings').selectAll().executeTakeFirstOrThrow();
  const form = { heartbeatIntervalSec: '60', leaseTimeoutSec: '300', poolSize: '10', selfResetQuotaDefault: '3', retentionDays: '30' };

  it('shows the current values with help text, and the menu links to it for admins', async () => {
    const s = await loginAs(t, 'admin');
    const res = await t.request.get('/settings').set('Cookie', s.cookie);
    expect(res.status).toBe(200);
    expect(res.text).toContain('name="heartbeatIntervalSec"');
    expect(res.text).toMatch(/id="f-leaseTimeoutSec"[^>]*value="300"|value="300"[^>]*id="f-leaseTimeoutSec"/);
    expect(res.text).toContain('At least 3 × the heartbeat interval');
    expect(res.text).toContain('href="/settings"');
  });

  it('saves valid values, audits them and redirects with a notice', async () => {
    const s = await loginAs(t, 'admin');
    const res = await t.request
      .post('/settings')
      .set('Cookie', s.cookie)
      .type('form')
      .send({ _csrf: s.csrf, ...form, heartbeatIntervalSec: '30', poolSize: '0' });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/settings?saved');
    expect(await settingsRow()).toMatchObject({ heartbeat_interval_sec: 30, pool_size: 0, lease_timeout_sec: 300 });
    const [audit] = await auditRows(t, 'settings.updated');
    expect(audit).toMatchObject({ actor_type: 'user', actor_name: s.user.email });
    expect(JSON.parse(audit.details!)).toEqual({ heartbeatIntervalSec: { from: 60, to: 30 }, poolSize: { from: 10, to: 0 } });
    const page = await t.request.get('/settings?saved').set('Cookie', s.cookie);
    expect(page.text).toContain('Settings saved.');
  });

  it('re-renders bad input with 400, a message at the field and nothing saved', async () => {
    const s = await loginAs(t, 'admin');
    const cases: [Record<string, string>, string, string][] = [
      [{ leaseTimeoutSec: '100' }, 'leaseTimeoutSec', 'Must be at least 3 × the heartbeat interval (180 s).'],
      [{ heartbeatIntervalSec: '2' }, 'heartbeatIntervalSec', 'Enter a whole number from 5 to 3600.'],
      [{ poolSize: 'ten' }, 'poolSize', 'Enter a whole number from 0 to 1000.'],
      [{ retentionDays: '' }, 'retentionDays', 'Enter a whole number from 1 to 3650.'],
      [{ selfResetQuotaDefault: '-1' }, 'selfResetQuotaDefault', 'Enter a whole number from 0 to 1000.'],
    ];
    for (const [change, name, message] of cases) {
      const res = await t.request.post('/settings').set('Cookie', s.cookie).type('form').send({ _csrf: s.csrf, ...form, ...change });
      expect(res.status, name).toBe(400);
      expect(res.text).toContain(`<p class="field-error" id="f-${name}-error">${message}</p>`);
      expect(res.text).toContain('Nothing was saved.');
      // What was typed stays in the field.
      expect(res.text).toContain(`value="${Object.values(change)[0]}"`);
    }
    expect(await settingsRow()).toMatchObject({ heartbeat_interval_sec: 60, lease_timeout_sec: 300, pool_size: 10, self_reset_quota_default: 3, retention_days: 30 });
    expect(await auditRows(t, 'settings.updated')).toHaveLength(0);
  });

  it('speaks Russian to a Russian viewer', async () => {
    const s = await loginAs(t, 'admin');
    const res = await t.request
      .post('/settings')
      .set('Cookie', `${s.cookie}; sm_lang=ru`)
      .type('form')
      .send({ _csrf: s.csrf, ...form, leaseTimeoutSec: '100' });
    expect(res.status).toBe(400);
    expect(res.text).toContain('Должен быть не меньше 3 × интервал сигналов (180 с).');
  });

  it('is for admins only: support gets 403, client users 404, strangers the login page, forged posts are refused', async () => {
    const support = await loginAs(t, 'support');
    expect((await t.request.get('/settings').set('Cookie', support.cookie)).status).toBe(403);
    const post = await t.request.post('/settings').set('Cookie', support.cookie).type('form').send({ _csrf: support.csrf, ...form, poolSize: '1' });
    expect(post.status).toBe(403);
    const client = await loginAs(t, 'client');
    expect((await t.request.get('/settings').set('Cookie', client.cookie)).status).toBe(404);
    const anon = await t.request.get('/settings');
    expect(anon.status).toBe(303);
    expect(anon.headers.location).toContain('/login');
    const admin = await loginAs(t, 'admin');
    const noCsrf = await t.request.post('/settings').set('Cookie', admin.cookie).type('form').send({ ...form, poolSize: '1' });
    expect(noCsrf.status).toBe(403);
    expect((await settingsRow()).pool_size).toBe(10);
    const supportPage = await t.request.get('/account').set('Cookie', support.cookie);
    expect(supportPage.text).not.toContain('href="/settings"');
  });

  it('saves the support contact shown to clients (audited), refuses an over-long one and clears with empty', async () => {
    const s = await loginAs(t, 'admin');
    const post = (supportContact: string) =>
      t.request.post('/settings/support-contact').set('Cookie', s.cookie).type('form').send({ _csrf: s.csrf, supportContact });
    const ok = await post('  support@vendor.test, +7 495 000-00-00  ');
    expect(ok.status).toBe(303);
    expect((await settingsRow()).support_contact).toBe('support@vendor.test, +7 495 000-00-00');
    const [audit] = await auditRows(t, 'settings.support_contact');
    expect(JSON.parse(audit.details!)).toEqual({ from: null, to: 'support@vendor.test, +7 495 000-00-00' });
    const page = await t.request.get('/settings').set('Cookie', s.cookie);
    expect(page.text).toContain('support@vendor.test, +7 495 000-00-00</textarea>');

    const long = await post('x'.repeat(501));
    expect(long.status).toBe(400);
    expect(long.text).toContain('At most 500 characters.');
    expect((await settingsRow()).support_contact).toBe('support@vendor.test, +7 495 000-00-00');

    expect((await post('')).status).toBe(303);
    expect((await settingsRow()).support_contact).toBeNull();
  });

  it('support contact: support staff get 403 and nothing changes', async () => {
    const s = await loginAs(t, 'support');
    const res = await t.request.post('/settings/support-contact').set('Cookie', s.cookie).type('form').send({ _csrf: s.csrf, supportContact: 'x' });
    expect(res.status).toBe(403);
    expect((await settingsRow()).support_contact).toBeNull();
  });
});
