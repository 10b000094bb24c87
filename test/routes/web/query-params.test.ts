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

  describe('monitor', () => {
    const cases: [string, string, string][] = [
      ['infobase=abc', 'Infobase', 'use an id from a link, a whole number from 1'],
      ['license=abc', 'License', 'use an id from a link'],
      ['client=-1', 'Client', 'use an id from a link'],
      ['host=1.5', 'Host', 'use an id from a link'],
      ['infobase=0', 'Infobase', 'use an id from a link'],
      ['f_state=bogus', 'State', 'choose a value from the list'],
      ['f_connection=x', 'Connection type', 'choose a value from the list'],
      [`f_user=${'u'.repeat(201)}`, 'User', 'it is too long, at most 200 characters'],
      [`q=${'q'.repeat(201)}`, 'Search sessions', 'it is too long, at most 200 characters'],
      ['sort=nope', 'Sort by', 'sort by clicking a column header'],
      ['dir=up', 'Sort direction', 'use one of: asc, desc'],
      ['size=7', 'Rows per page', 'use one of: 25, 50, 100, 200'],
      ['page=0', 'Page', 'use a page number from 1'],
      ['page=abc', 'Page', 'use a page number from 1'],
      [`info=${'i'.repeat(65)}`, 'Session details', 'it is too long, at most 64 characters'],
    ];
    for (const [query, label, problem] of cases) {
      const param = query.split('=')[0];
      it(`?${query.slice(0, 30)} is a 400 naming ${param}, with no session list`, async () => {
        await world();
        const s = await loginAs(t, 'support');
        const res = await get(s, `/monitor?${query}`);
        expect(res.status).toBe(400);
        expect(plain(res.text)).toContain(`The "${label}" setting in the page address (${param}) is not valid: ${problem}`);
        expect(rowIds(res.text)).toEqual([]);
        expect(res.text).not.toContain('id="monitor-sessions"');
        expect(res.text).not.toContain('terminate-all');
      });
    }

    it('says it in Russian for a Russian reader', async () => {
      await world();
      const s = await loginAs(t, 'support');
      const res = await get(s, '/monitor?infobase=abc', 'ru');
      expect(res.status).toBe(400);
      expect(plain(res.text)).toContain('Параметр «Информационная база» в адресе страницы (infobase) задан неверно: нужен номер из ссылки, целое число от 1.');
      // The same page without its settings is one click away.
      expect(res.text).toContain('<a class="button primary" href="/monitor">Открыть эту страницу без этих параметров</a>');
    });

    it('the refreshing part refuses a bad filter too, never every session; the poll never sends one', async () => {
      const w = await world();
      const s = await loginAs(t, 'admin');
      const full = await t.request.get('/monitor').set('Cookie', s.cookie).set(HX);
      expect(full.status).toBe(200);
      expect(rowIds(full.text).sort()).toEqual([w.one, w.two].sort());
      const tag = String(full.headers['etag']);
      // The unfiltered view's validator sent with a malformed filter: the refreshing part is a 400 with no rows.
      const res = await t.request.get('/monitor?infobase=abc').set('Cookie', s.cookie).set(HX).set('If-None-Match', tag);
      expect(res.status).toBe(400);
      expect(plain(res.text)).toContain('(infobase)');
      expect(rowIds(res.text)).toEqual([]);
      // The 5-second poll's fast path does not read the query twice (it costs ~5 µs of its 100): a page whose
      // query is refused has no validator to poll with, and a 304 sends nothing. Without a matching one, a 400.
      const poll = await t.request.get('/monitor?infobase=abc').set('Cookie', s.cookie).set(POLL).set('If-None-Match', '"0-nothing"');
      expect(poll.status).toBe(400);
      expect(rowIds(poll.text)).toEqual([]);
      // A valid poll is still the fast 304.
      expect((await t.request.get('/monitor').set('Cookie', s.cookie).set(POLL).set('If-None-Match', tag)).status).toBe(304);
    });

    it('empty values, as the filter form sends them, still mean "no filter"', async () => {
      const w = await world();
      const s = await loginAs(t, 'support');
      const res = await get(s, '/monitor?q=&size=&page=&sort=&dir=&license=&client=&infobase=&host=&f_state=&f_role=&f_user=&f_connection=&f_sleeping=');
      expect(res.status).toBe(200);
      expect(rowIds(res.text).sort()).toEqual([w.one, w.two].sort());
    });

    it('the links the monitor writes are read back as they are', async () => {
      const w = await world();
      const s = await loginAs(t, 'support');
      const res = await get(s, `/monitor?infobase=${w.infobase}&sort=user&dir=asc&size=25&page=2&f_state=alive&open=${w.one}&info=${w.one}`);
      expect(res.status).toBe(200);
      expect(rowIds(res.text)).toEqual([w.one]);
    });

    it('a well-formed id of nothing that exists is a 404, for staff as for a client user (not a chip over an empty list)', async () => {
      const w = await world();
      const s = await loginAs(t, 'support');
      for (const q of ['infobase=999', 'license=999', 'client=999', 'host=999']) {
        const res = await get(s, `/monitor?${q}`);
        expect(res.status, q).toBe(404);
        expect(res.text, q).not.toContain('#999');
      }
      const own = await loginAs(t, 'client', { clientId: w.a.clientId });
      expect((await get(own, '/monitor?infobase=999')).status).toBe(404);
      expect((await get(own, `/monitor?infobase=${w.infobase}`)).status).toBe(200);
      // Staff's existing ids still filter.
      const res = await get(s, `/monitor?infobase=${w.infobase}`);
      expect(res.status).toBe(200);
      expect(rowIds(res.text)).toEqual([w.one]);
    });

    it('an action whose "back" query is malformed is refused before anything is done', async () => {
      const w = await world();
      const s = await loginAs(t, 'admin');
      const confirm = await get(s, `/monitor/confirm?do=terminate-all&back=${encodeURIComponent('infobase=abc')}`);
      expect(confirm.status).toBe(400);
      expect(plain(confirm.text)).toContain('(infobase)');
      const post = await t.request
        .post('/monitor/terminate-all')
        .set('Cookie', s.cookie)
        .type('form')
        .send({ _csrf: s.csrf, back: 'infobase=abc', asOf: String(t.clock.now()), count: '2', digest: 'x' });
      expect(post.status).toBe(400);
      const open = await t.db.selectFrom('sessions').select('id').where('closed_at', 'is', null).execute();
      expect(open.map((r) => r.id).sort()).toEqual([w.one, w.two].sort());
      const before = (await t.db.selectFrom('users').select('monitor_columns').where('email', '=', s.user.email).executeTakeFirstOrThrow()).monitor_columns;
      const cols = await t.request.post('/monitor/columns').set('Cookie', s.cookie).type('form').send({ _csrf: s.csrf, back: 'size=7', col: 'user' });
      expect(cols.status).toBe(400);
      expect(plain(cols.text)).toContain('(size)');
      const after = (await t.db.selectFrom('users').select('monitor_columns').where('email', '=', s.user.email).executeTakeFirstOrThrow()).monitor_columns;
      expect(after).toBe(before);
    });
  });

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

  describe('lists filtered by client', () => {
    for (const page of ['/infobases', '/licenses']) {
      for (const value of ['abc', '-1', '0', '1e3']) {
        it(`${page}?client=${value} is a 400 naming the client filter, not every client's list`, async () => {
          await world();
          const s = await loginAs(t, 'support');
          const res = await get(s, `${page}?client=${value}`);
          expect(res.status).toBe(400);
          expect(plain(res.text)).toContain('setting in the page address (client) is not valid: choose a client from the list.');
          expect(res.text).not.toContain('Accounting');
          expect(res.text).not.toContain('KEY');
        });
      }
      it(`${page}?client= (the form's "any client") still lists everything`, async () => {
        const w = await world();
        const s = await loginAs(t, 'support');
        expect((await get(s, `${page}?client=`)).status).toBe(200);
        expect((await get(s, `${page}?client=${w.a.clientId}`)).status).toBe(200);
      });
    }

    it('/licenses/new refuses a client that is not an id', async () => {
      const w = await world();
      const s = await loginAs(t, 'admin');
      const res = await get(s, '/licenses/new?client=abc');
      expect(res.status).toBe(400);
      expect(plain(res.text)).toContain('(client) is not valid: choose a client from the list.');
      expect((await get(s, `/licenses/new?client=${w.a.clientId}`)).status).toBe(200);
      expect((await get(s, '/licenses/new')).status).toBe(200);
    });

    it('/licenses refuses a check box filter other than the form sends', async () => {
      await world();
      const s = await loginAs(t, 'support');
      const res = await get(s, '/licenses?expired=yes');
      expect(res.status).toBe(400);
      expect(plain(res.text)).toContain('(expired) is not valid: use one of: 1.');
      expect((await get(s, '/licenses?expired=1&near=on&suspended=')).status).toBe(200);
    });
  });
});
