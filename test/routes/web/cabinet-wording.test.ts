import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loginAs, makeApp, type TestApp } from '../../helpers/app.js';
import { adminClient, adminLicense, insertEvent, insertHost, insertSession } from '../../helpers/admin.js';
import { makeInfobase } from '../../helpers/licensing.js';

/** The words a reader meets: the page's text (tags and scripts dropped) plus the attributes that are read out or shown. */
const visible = (html: string) =>
  [
    html
      .replace(/<script[\s\S]*?<\/script>/g, ' ')
      .replace(/<style[\s\S]*?<\/style>/g, ' ')
      .replace(/<[^>]+>/g, ' '),
    ...[...html.matchAll(/\s(?:title|aria-label|placeholder|data-confirm|alt)="([^"]*)"/g)].map((m) => m[1]),
  ]
    .join(' ')
    .replace(/\s+/g, ' ');

/** Header cells' texts in order. */
const heads = (html: string) => [...html.matchAll(/<th[^>]*>([\s\S]*?)<\/th>/g)].map((m) => visible(m[1]).trim());

describe('client cabinet wording and layout', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.close());

  const get = (s: { cookie: string }, url: string, lang: 'en' | 'ru' = 'en') => t.request.get(url).set('Cookie', s.cookie).set('Accept-Language', lang);

  async function setup() {
    const client = await adminClient(t, 'Acme Ltd');
    const lic = await adminLicense(t, { clientId: client.id, selfResetQuota: 2, maxHosts: 3 });
    const host = await insertHost(t, lic.id, { hostname: 'ACC-SRV-01' });
    const ib = await makeInfobase(t, client.id, 'ib-acc', 'Accounting');
    await insertSession(t, { licenseId: lic.id, hostId: host.id, infobaseId: ib, user: 'Ivanov' });
    await insertEvent(t, { licenseId: lic.id, kind: 'refusal', at: t.clock.now() - 60_000, code: 'host_limit_reached', hostname: 'NEW-PC' });
    return { client, lic, host, ib };
  }

  it('says "computer" to a client user everywhere in the cabinet, in both languages, never "host"', async () => {
    const { client, lic, ib } = await setup();
    const c = await loginAs(t, 'client', { clientId: client.id });
    const pages = ['/cabinet', `/cabinet/licenses/${lic.id}`, `/cabinet/licenses/${lic.id}/history`, `/cabinet/infobases/${ib}`];
    for (const url of pages) {
      const en = await get(c, url, 'en');
      expect(en.status, url).toBe(200);
      expect(visible(en.text), url).not.toMatch(/\bhosts?\b/i);
      const ru = await get(c, url, 'ru');
      expect(ru.status, url).toBe(200);
      expect(visible(ru.text), url).not.toMatch(/хост/i);
    }

    const home = await get(c, '/cabinet');
    expect(heads(home.text)).toContain('Computers');
    expect(heads(home.text)).toContain('Computer');
    expect(home.text).toContain('1 of 3 computers bound');
    // The noun agrees with the limit.
    await t.db.updateTable('licenses').set({ max_hosts: 1 }).where('id', '=', lic.id).execute();
    expect((await get(c, '/cabinet')).text).toContain('1 of 1 computer bound');
    await t.db.updateTable('licenses').set({ max_hosts: 3 }).where('id', '=', lic.id).execute();

    const card = await get(c, `/cabinet/licenses/${lic.id}`);
    expect(card.text).toContain('<dt>Computers</dt>');
    expect(card.text).toContain('Computers bound to this license <span class="muted">(1 of 3)</span>');
    expect(card.text).toContain('<caption class="sr-only">Computers bound to this license</caption>');
    const cardRu = await get(c, `/cabinet/licenses/${lic.id}`, 'ru');
    expect(cardRu.text).toContain('<dt>Компьютеры</dt>');
    expect(cardRu.text).toContain('Компьютеры, привязанные к лицензии <span class="muted">(1 из 3)</span>');
    expect(heads(cardRu.text)).toContain('Компьютер');

    expect((await get(c, `/cabinet/licenses/${lic.id}/history`)).text).toContain('Computer limit reached');
    expect((await get(c, `/cabinet/licenses/${lic.id}/history`, 'ru')).text).toContain('Достигнут лимит компьютеров');
    expect(heads((await get(c, `/cabinet/infobases/${ib}`, 'ru')).text)).toContain('Компьютер');
  });

  it('tells a client with no bound computer so in cabinet words', async () => {
    const lic = await adminLicense(t, { selfResetQuota: 1 });
    const c = await loginAs(t, 'client', { clientId: lic.clientId });
    expect((await get(c, `/cabinet/licenses/${lic.id}`)).text).toContain('No computer is bound.');
    expect((await get(c, `/cabinet/licenses/${lic.id}`, 'ru')).text).toContain('Ни один компьютер не привязан.');
  });

  it('staff keep "host" on the same license', async () => {
    const { lic, ib } = await setup();
    const s = await loginAs(t, 'support');
    const card = await get(s, `/licenses/${lic.id}`);
    expect(card.text).toContain('<dt>Hosts</dt>');
    expect(card.text).toContain('1 of 3 hosts bound');
    expect(heads(card.text)).toContain('Host');
    expect((await get(s, `/licenses/${lic.id}/history`)).text).toContain('Host limit reached');
    expect(heads((await get(s, `/infobases/${ib}`, 'ru')).text)).toContain('Хост');
  });

  it('shows "showing N of M" and the monitor link only when the list of sessions is cut off', async () => {
    const { client, lic, host } = await setup();
    const c = await loginAs(t, 'client', { clientId: client.id });
    const whole = await get(c, `/cabinet/licenses/${lic.id}`);
    expect(whole.text).toContain('data-session-id=');
    expect(whole.text).not.toContain('Showing');
    expect(whole.text).not.toContain('open the monitor for the full live view');
    expect((await get(c, `/cabinet/licenses/${lic.id}`, 'ru')).text).not.toContain('Показано сеансов');
    expect((await get(c, '/cabinet')).text).not.toContain('Showing');

    // The card lists at most 100 sessions: the 101st cuts it off.
    for (let i = 0; i < 100; i++) await insertSession(t, { licenseId: lic.id, hostId: host.id, user: `U${i}` });
    const cut = await get(c, `/cabinet/licenses/${lic.id}`);
    expect(cut.text).toContain('Showing 100 of 101 live sessions');
    expect(cut.text).toContain(`<a href="/monitor?license=${lic.id}">open the monitor for the full live view</a>`);
  });

  it('shows the license column of the cabinet\'s sessions only to a client with more than one license', async () => {
    const { client, lic } = await setup();
    const c = await loginAs(t, 'client', { clientId: client.id });
    const one = await get(c, '/cabinet');
    expect(heads(one.text)).not.toContain('License');
    expect(one.text).not.toContain(`<td class="mono nowrap" data-label="License"><a href="/cabinet/licenses/${lic.id}">${lic.key}</a></td>`);
    const second = await adminLicense(t, { clientId: client.id });
    await insertSession(t, { licenseId: second.id, hostId: (await insertHost(t, second.id)).id });
    const two = await get(c, '/cabinet');
    expect(heads(two.text)).toContain('License');
    expect(two.text).toContain(`<td class="mono nowrap" data-label="License"><a href="/cabinet/licenses/${lic.id}">${lic.key}</a></td>`);
    expect(two.text).toContain(`<td class="mono nowrap" data-label="License"><a href="/cabinet/licenses/${second.id}">${second.key}</a></td>`);
  });
});

describe('staff list wording', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.close());
  const get = (s: { cookie: string }, url: string, lang: 'en' | 'ru' = 'en') => t.request.get(url).set('Cookie', s.cookie).set('Accept-Language', lang);

  it('makes the license search field wide enough for its placeholder', async () => {
    const s = await loginAs(t, 'support');
    for (const lang of ['en', 'ru'] as const) {
      const res = await get(s, '/licenses', lang);
      const input = /<input id="f-q"[^>]*>/.exec(res.text)![0];
      const placeholder = /placeholder="([^"]*)"/.exec(input)![1];
      const size = Number(/size="(\d+)"/.exec(input)?.[1] ?? 20);
      expect(size, lang).toBeGreaterThanOrEqual(placeholder.length + 1);
    }
  });

  it('calls the e-mail field «Эл. почта» in Russian on the client pages, as login and users do', async () => {
    const client = await adminClient(t, 'Acme Ltd');
    const admin = await loginAs(t, 'admin');
    for (const url of ['/clients', '/clients/new', `/clients/${client.id}/edit`]) {
      const res = await get(admin, url, 'ru');
      expect(res.status, url).toBe(200);
      expect(visible(res.text), url).not.toMatch(/e-mail/i);
    }
    expect((await get(admin, '/clients/new', 'ru')).text).toContain('Эл. почта');
    expect((await get(admin, '/clients', 'ru')).text).toContain('Название или эл. почта');
  });
});
