import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loginAs, makeApp, type TestApp } from '../../helpers/app.js';
import { seedHost, seedLicense, seedSession } from '../../helpers/monitor-data.js';

// Bad input in a page's query string is a 400 whose page names the parameter, never a page that
// quietly drops it: a monitor with its filter dropped lists every session, and a "Terminate all"
// there would act on all of them. Empty values still mean "no filter", as the pages' forms send them.

const HX = { 'HX-Request': 'true', 'HX-Request-Type': 'partial' };
const POLL = { ...HX, 'X-Auto-Refresh': '1' };
const rowIds = (html: string) => [...html.matchAll(/<tr data-session-id="([^"]+)"/g)].map((m) => m[1]);
/** The page's text with the entities JSX writes turned back into characters. */
const plain = (html: string) => html.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');

describe('web pages refuse query parameters they cannot read', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.close());

  const get = (s: { cookie: string }, url: string, lang?: string) => t.request.get(url).set('Cookie', lang ? `${s.cookie}; sm_lang=${lang}` : s.cookie);

  async function world() {
    const a = await seedLicense(t, { clientName: 'Acme' });
    const b = await seedLicense(t, { clientName: 'Globex' });
    const hostA = await seedHost(t, a.licenseId);
    const hostB = await seedHost(t, b.licenseId);
    const one = await seedSession(t, { ...a, hostId: hostA, user: 'Ivanov', infobase: { externalId: 'ib-acc', name: 'Accounting' } });
    const two = await seedSession(t, { ...b, hostId: hostB, user: 'Smith', infobase: { externalId: 'ib-gl', name: 'Ledger' } });
    const infobase = (await t.db.selectFrom('infobases').select('id').where('external_id', '=', 'ib-acc').executeTakeFirstOrThrow()).id;
    return { a, b, hostA, hostB, one, two, infobase };
  }

  describe('history periods', () => {
    for (const period of ['abc', '999d', '-1h', '2h']) {
      it(`?period=${period} is a 400 naming the period on the monitor's, the license card's and the cabinet's history`, async () => {
        const w = await world();
        const staff = await loginAs(t, 'support');
        const own = await loginAs(t, 'client', { clientId: w.a.clientId });
        const pages: [{ cookie: string }, string][] = [
          [staff, `/monitor/licenses/${w.a.licenseId}/history`],
          [own, `/monitor/licenses/${w.a.licenseId}/history`],
          [staff, `/licenses/${w.a.licenseId}/history`],
          [own, `/cabinet/licenses/${w.a.licenseId}/history`],
        ];
        for (const [s, url] of pages) {
          const res = await get(s, `${url}?period=${encodeURIComponent(period)}`);
          expect(res.status, url).toBe(400);
          expect(plain(res.text), url).toContain('The "Period" setting in the page address (period) is not valid: use one of: 1h (1 hour), 24h (24 hours), 7d (7 days).');
          expect((await get(s, `${url}?period=`)).status, url).toBe(200);
          expect((await get(s, `${url}?period=1h`)).status, url).toBe(200);
        }
        const ru = await get(staff, `/licenses/${w.a.licenseId}/history?period=${encodeURIComponent(period)}`, 'ru');
        expect(plain(ru.text)).toContain('Параметр «Период» в адресе страницы (period) задан неверно: допустимые значения: 1h (1 час)');
      });
    }
  });
});
