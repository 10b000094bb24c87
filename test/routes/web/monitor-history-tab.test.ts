import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loginAs, makeApp, type TestApp } from '../../helpers/app.js';
import { seedHost, seedLicense, seedSession } from '../../helpers/monitor-data.js';

/** The monitor's tab strip, when there is one. */
const tabs = (html: string) => /<nav class="tabs"[\s\S]*?<\/nav>/.exec(html)?.[0] ?? null;

describe('monitor filtered by a license key: the History tab beside Active sessions (PRODUCT §5)', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.close());

  async function world() {
    const a = await seedLicense(t, { clientName: 'Acme', key: 'ACME-0001-KEY' });
    const b = await seedLicense(t, { clientName: 'Globex', key: 'GLBX-0002-KEY' });
    await seedSession(t, { ...a, hostId: await seedHost(t, a.licenseId), user: 'Ivanov' });
    return { a, b };
  }

  it('staff: the History tab opens the license\'s history within the monitor, its tabs leading back; unfiltered there are none', async () => {
    const { a } = await world();
    const s = await loginAs(t, 'support');
    const page = await t.request.get(`/monitor?license=${a.licenseId}`).set('Cookie', s.cookie);
    expect(page.status).toBe(200);
    const strip = tabs(page.text);
    expect(strip).toContain(`aria-current="page">Active sessions</a>`);
    expect(strip).toContain(`<a href="/monitor/licenses/${a.licenseId}/history">History</a>`);
    const history = await t.request.get(`/monitor/licenses/${a.licenseId}/history`).set('Cookie', s.cookie);
    expect(history.status).toBe(200);
    // Still the monitor: its menu entry, its title, Active sessions one click away, the periods kept in it.
    expect(history.text).toContain('href="/monitor" aria-current="page"');
    expect(history.text).toContain('<h1>Session monitor</h1>');
    expect(history.text).toContain('ACME-0001-KEY');
    expect(tabs(history.text)).toContain(`<a href="/monitor?license=${a.licenseId}">Active sessions</a>`);
    expect(tabs(history.text)).toContain('aria-current="page">History</a>');
    expect(history.text).toContain(`href="/monitor/licenses/${a.licenseId}/history?period=1h"`);
    expect((await t.request.get(`/monitor/licenses/${a.licenseId}/history?period=1h`).set('Cookie', s.cookie)).status).toBe(200);
    expect((await t.request.get('/monitor/licenses/9999/history').set('Cookie', s.cookie)).status).toBe(404);
    // The refreshing part carries the tabs too (a search or a chip's removal swaps it).
    const fragment = await t.request.get(`/monitor?license=${a.licenseId}`).set('Cookie', s.cookie).set('HX-Request', 'true');
    expect(tabs(fragment.text)).toContain('/history');
    expect(tabs((await t.request.get('/monitor').set('Cookie', s.cookie)).text)).toBeNull();
    expect(tabs((await t.request.get(`/monitor?client=${a.clientId}`).set('Cookie', s.cookie)).text)).toBeNull();
  });

  it('in Russian', async () => {
    const { a } = await world();
    const s = await loginAs(t, 'admin');
    await t.db.updateTable('users').set({ locale: 'ru' }).where('id', '=', s.user.id).execute();
    const page = await t.request.get(`/monitor?license=${a.licenseId}`).set('Cookie', s.cookie);
    const strip = tabs(page.text) ?? '';
    expect(strip).toContain('Активные сеансы');
    expect(strip).toContain('История');
  });

  it('a client user: the cabinet\'s history of their own license; no tab for another client\'s', async () => {
    const { a, b } = await world();
    const s = await loginAs(t, 'client', { clientId: a.clientId });
    const own = await t.request.get(`/monitor?license=${a.licenseId}`).set('Cookie', s.cookie);
    expect(tabs(own.text)).toContain(`<a href="/monitor/licenses/${a.licenseId}/history">History</a>`);
    expect((await t.request.get(`/monitor/licenses/${a.licenseId}/history`).set('Cookie', s.cookie)).status).toBe(200);
    const foreign = await t.request.get(`/monitor?license=${b.licenseId}`).set('Cookie', s.cookie);
    expect(tabs(foreign.text)).toBeNull();
    expect(foreign.text).not.toContain('GLBX-0002-KEY');
    // Another client's history is not there for them, by the monitor's address either.
    const foreignHistory = await t.request.get(`/monitor/licenses/${b.licenseId}/history`).set('Cookie', s.cookie);
    expect(foreignHistory.status).toBe(404);
    expect(foreignHistory.text).not.toContain('GLBX-0002-KEY');
  });
});
