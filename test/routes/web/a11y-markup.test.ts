import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loginAs, makeApiToken, makeApp, type TestApp } from '../../helpers/app.js';
import { adminLicense, insertHost, insertInfobase, insertSession } from '../../helpers/admin.js';
import { seedHost, seedLicense, seedPool, seedSession, seedShared } from '../../helpers/monitor-data.js';

// What a screen reader needs from the server-rendered markup: named tables with scoped
// column heads, sort links that say their direction, wide tables scrolling in their own box.

const tables = (html: string) => [...html.matchAll(/<table\b[^>]*>[\s\S]*?<\/table>/g)].map((m) => m[0]);
const openTag = (table: string) => /^<table\b[^>]*>/.exec(table)![0];
/** The table's problems: no name, column heads without scope. */
function tableProblems(html: string): string[] {
  const out: string[] = [];
  for (const tb of tables(html)) {
    const tag = openTag(tb);
    if (!/aria-label(ledby)?="[^"]+"/.test(tag) && !/<caption\b/.test(tb)) out.push(`unnamed: ${tag}`);
    const head = /<thead\b[^>]*>([\s\S]*?)<\/thead>/.exec(tb)?.[1] ?? '';
    for (const th of head.match(/<th\b[^>]*>/g) ?? []) if (!/\bscope="/.test(th)) out.push(`no scope: ${tag} ${th}`);
  }
  return out;
}

describe('accessible markup', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.close());

  it('staff list pages name their tables and scope their column heads', async () => {
    const lic = await adminLicense(t);
    const host = await insertHost(t, lic.id);
    const ib = (await insertInfobase(t, lic.clientId)).id;
    await insertSession(t, { licenseId: lic.id, hostId: host.id, infobaseId: ib });
    await makeApiToken(t);
    const s = await loginAs(t, 'admin');
    for (const path of ['/licenses', `/licenses/${lic.id}`, '/clients', `/clients/${lic.clientId}`, '/infobases', `/infobases/${ib}`, '/audit', '/users', '/tokens']) {
      const res = await t.request.get(path).set('Cookie', s.cookie);
      expect(res.status, path).toBe(200);
      expect(tables(res.text).length, path).toBeGreaterThan(0);
      expect(tableProblems(res.text), path).toEqual([]);
    }
  });

  it('the cabinet names its tables too', async () => {
    const lic = await adminLicense(t);
    const host = await insertHost(t, lic.id);
    const ib = (await insertInfobase(t, lic.clientId)).id;
    await insertSession(t, { licenseId: lic.id, hostId: host.id, infobaseId: ib });
    const c = await loginAs(t, 'client', { clientId: lic.clientId });
    for (const path of ['/cabinet', `/cabinet/licenses/${lic.id}`, `/cabinet/infobases/${ib}`]) {
      const res = await t.request.get(path).set('Cookie', c.cookie);
      expect(res.status, path).toBe(200);
      expect(tables(res.text).length, path).toBeGreaterThan(0);
      expect(tableProblems(res.text), path).toEqual([]);
    }
  });

  it('the monitor names its tables, keeps the shared and pool tables in a scrolling box, and its sort link says the direction', async () => {
    const a = await seedLicense(t, { clientName: 'Acme' });
    const hostA = await seedHost(t, a.licenseId, { hostname: 'ACC-SRV-01' });
    await seedSession(t, { ...a, hostId: hostA, user: 'Ivanov' });
    await seedShared(t, hostA, '/shared/lib.lgp');
    await seedPool(t, hostA, '/batch/nightly.lgp');
    const s = await loginAs(t, 'support');
    const res = await t.request.get('/monitor?sort=client&dir=desc').set('Cookie', s.cookie);
    expect(res.status).toBe(200);
    expect(tableProblems(res.text)).toEqual([]);
    // A table not in a scrolling box widens the whole page on a tablet or a phone.
    expect(res.text).toMatch(/<div class="table-wrap"><table class="mon" id="monitor-shared"/);
    expect(res.text).toMatch(/<div class="table-wrap"><table class="mon" id="monitor-pool"/);
    expect(res.text).toMatch(/<th scope="col"[^>]*aria-sort="descending"><a [^>]*>Client<span class="sr-only"> \(sorted descending\)<\/span><\/a>/);
    const ru = await t.request.get('/monitor?sort=client&dir=asc').set('Cookie', `${s.cookie}; sm_lang=ru`);
    expect(ru.text).toMatch(/aria-sort="ascending"><a [^>]*>[^<]+<span class="sr-only"> \(по возрастанию\)<\/span>/);
  });

  it('a notice or error that comes with the page after a submit takes the focus', async () => {
    const s = await loginAs(t, 'admin');
    const saved = await t.request.get('/settings?saved').set('Cookie', s.cookie);
    expect(saved.text).toMatch(/<p class="msg ok" role="status" tabindex="-1" autofocus="">Settings saved\.<\/p>/);
    const refused = await t.request.post('/settings').set('Cookie', s.cookie).type('form').send({ _csrf: s.csrf, heartbeatIntervalSec: 'x' });
    expect(refused.status).toBe(400);
    expect(refused.text).toMatch(/<p class="msg error" role="alert" tabindex="-1" autofocus="">/);
    // Only what the page says after an action: a page without one has nothing to take the focus.
    expect((await t.request.get('/settings').set('Cookie', s.cookie)).text).not.toContain('autofocus');
  });
});
