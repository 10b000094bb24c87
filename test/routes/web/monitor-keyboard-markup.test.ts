import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loginAs, makeApp, type TestApp } from '../../helpers/app.js';
import { seedHost, seedLicense, seedSession } from '../../helpers/monitor-data.js';

// What the monitor's markup gives assistive technology and htmx without monitor.js:
// filter chips whose remove links say which filter they remove, a confirm form whose
// server error leaves the table in place, a permanent region for done notices.

describe('monitor markup for the keyboard and screen readers', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.close());

  async function world() {
    const a = await seedLicense(t, { clientName: 'Acme', key: 'ACME-0001-KEY' });
    const host = await seedHost(t, a.licenseId, { hostname: 'ACC-SRV-01' });
    const session = await seedSession(t, { ...a, hostId: host, user: 'Ivanov' });
    return { a, host, session };
  }

  it('each filter chip\'s remove link names the filter it removes', async () => {
    const { a } = await world();
    const s = await loginAs(t, 'support');
    const res = await t.request.get(`/monitor?license=${a.licenseId}&client=${a.clientId}`).set('Cookie', s.cookie);
    expect(res.status).toBe(200);
    const chips = /<p class="chips">[\s\S]*?<\/p>/.exec(res.text)![0];
    const labels = [...chips.matchAll(/<a [^>]*aria-label="([^"]*)"/g)].map((m) => m[1]);
    expect(labels).toEqual(['Remove filter: License ACME-0001-KEY', 'Remove filter: Client Acme']);
    // In Russian too.
    await t.db.updateTable('users').set({ locale: 'ru' }).where('id', '=', s.user.id).execute();
    const ru = await t.request.get(`/monitor?license=${a.licenseId}`).set('Cookie', s.cookie);
    expect(ru.text).toContain('aria-label="Снять фильтр: Лицензия ACME-0001-KEY"');
  });

  it('the confirm form swaps nothing on a server error (the table stays), and brings itself back on a 4xx', async () => {
    const { session } = await world();
    const s = await loginAs(t, 'support');
    const res = await t.request.get(`/monitor/confirm?do=terminate&session=${session}`).set('Cookie', s.cookie).set('HX-Request', 'true');
    expect(res.status).toBe(200);
    const form = /^<form [^>]*>/.exec(res.text)![0];
    expect(form).toContain('hx-status:5xx="swap:none"');
    expect(form).toContain('hx-status:4xx="target:#monitor-dialog swap:innerHTML"');
  });

  it('the page has a permanent, empty status region for done notices, outside the refreshing part', async () => {
    await world();
    const s = await loginAs(t, 'support');
    const page = await t.request.get('/monitor').set('Cookie', s.cookie);
    expect(page.text).toContain('<div id="monitor-said" class="sr-only" role="status"></div>');
    expect(page.text.indexOf('id="monitor-said"')).toBeLessThan(page.text.indexOf('id="monitor-live"'));
    const fragment = await t.request.get('/monitor').set('Cookie', s.cookie).set('HX-Request', 'true');
    expect(fragment.text).not.toContain('monitor-said');
  });
});
