import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loginAs, makeApp, type TestApp } from '../../helpers/app.js';
import { adminLicense, insertHost, insertInfobase, insertSession } from '../../helpers/admin.js';

// The compact sessions tables link each session's license and infobase to their pages, for the audience
// reading them: staff to the staff pages, a client user to their cabinet's (never to a staff page).
describe('sessions tables link the license and the infobase', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.close());

  const get = (s: { cookie: string }, url: string) => t.request.get(url).set('Cookie', s.cookie);
  const rowOf = (html: string, id: string) => new RegExp(`<tr data-session-id="${id}">[\\s\\S]*?</tr>`).exec(html)?.[0] ?? '';

  async function setup() {
    const lic = await adminLicense(t);
    const lic2 = await adminLicense(t, { clientId: lic.clientId });
    const host = await insertHost(t, lic.id);
    const ib = await insertInfobase(t, lic.clientId, 'Accounting');
    const s = await insertSession(t, { licenseId: lic.id, hostId: host.id, infobaseId: ib.id, user: 'Ivanov' });
    return { lic, lic2, ib, s };
  }

  it('staff: the infobase page links the license, the license card links the infobase', async () => {
    const { lic, ib, s } = await setup();
    const staff = await loginAs(t, 'support');
    const ibRow = rowOf((await get(staff, `/infobases/${ib.id}`)).text, s.id);
    expect(ibRow).toContain(`<a href="/licenses/${lic.id}">${lic.key}</a>`);
    const licRow = rowOf((await get(staff, `/licenses/${lic.id}`)).text, s.id);
    expect(licRow).toContain(`<a href="/infobases/${ib.id}">Accounting</a>`);
  });

  it('client: the same tables link to the cabinet, never to a staff page', async () => {
    const { lic, ib, s } = await setup();
    const client = await loginAs(t, 'client', { clientId: lic.clientId });
    for (const url of [`/cabinet/infobases/${ib.id}`, `/cabinet/licenses/${lic.id}`, '/cabinet']) {
      const res = await get(client, url);
      expect(res.status, url).toBe(200);
      const row = rowOf(res.text, s.id);
      expect(row, url).not.toBe('');
      expect(row, url).not.toMatch(/href="\/(licenses|infobases)\//);
      if (url !== `/cabinet/licenses/${lic.id}`) expect(row, url).toContain(`<a href="/cabinet/licenses/${lic.id}">${lic.key}</a>`);
      if (url !== `/cabinet/infobases/${ib.id}`) expect(row, url).toContain(`<a href="/cabinet/infobases/${ib.id}">Accounting</a>`);
    }
  });
});
