import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loginAs, makeApp, type TestApp } from '../../helpers/app.js';
import { seedHost, seedLicense, seedPackage, seedPool, seedSession, seedShared } from '../../helpers/monitor-data.js';

// A client user reaches the monitor from the cabinet ("Show current sessions"): it speaks the
// cabinet's words — "computer", never "host" — and its search names only what they can search.
// Staff keep "host".

type Login = Awaited<ReturnType<typeof loginAs>>;
type Lang = 'en' | 'ru';

const HX = { 'HX-Request': 'true', 'HX-Request-Type': 'partial' };
const POLL = { ...HX, 'X-Auto-Refresh': '1' };

/** The words a reader meets: the text (tags and scripts dropped) plus the attributes that are read out or shown. */
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

const HOST_WORD: Record<Lang, RegExp> = { en: /\bhosts?\b/i, ru: /хост/i };
/** Header cells' texts (the filter link's label aside). */
const heads = (html: string) => [...html.matchAll(/<th[^>]*>([\s\S]*?)<\/th>/g)].map((m) => m[1].replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim());
const placeholderOf = (html: string) => /<input id="monitor-q"[^>]*placeholder="([^"]*)"/.exec(html)?.[1];
const filterLabel = (html: string) => /<label for="f_host">([^<]*)<\/label>/.exec(html)?.[1];
const chooserLabel = (html: string) => /<input type="checkbox" name="col" value="host"[^>]*\/?>\s*([^<]*)</.exec(html)?.[1].trim();

describe('the monitor in a client user\'s words', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.close());

  async function world() {
    const l = await seedLicense(t, { clientName: 'Romashka' });
    const hostId = await seedHost(t, l.licenseId, { hostname: 'ACC-SRV-01' });
    const sid = await seedSession(t, { ...l, hostId, user: 'Ivanov', infobase: { externalId: 'ib-acc', name: 'Accounting' }, clientIp: '10.1.1.7' });
    await seedPackage(t, sid, { id: 'p-run', name: 'sales', state: 'running', progress: 5 });
    await seedShared(t, hostId, '/shared/common.lgp');
    await seedPool(t, hostId, '/projects/old.lgp');
    return { ...l, hostId, sid };
  }

  const get = (s: Login, url: string, lang: Lang, headers: Record<string, string> = {}) =>
    t.request.get(url).set('Cookie', s.cookie).set('Accept-Language', lang).set(headers);

  /** Every monitor answer a client user can get on that license: page, fragment, poll, confirm, done notices. */
  async function answers(s: Login, w: Awaited<ReturnType<typeof world>>, lang: Lang) {
    // Everything open at once: the host chip, a filter on the host column (so the filter panel is open), the info panel, the packages.
    const qs = `?license=${w.licenseId}&host=${w.hostId}&f_host=ACC&info=${w.sid}&open=${w.sid}`;
    const out: Record<string, string> = {};
    const take = (name: string, res: { status: number; text: string }) => {
      expect(res.status, `${lang} ${name}`).toBe(200);
      out[name] = res.text;
    };
    take('page', await get(s, `/monitor${qs}`, lang));
    take('fragment', await get(s, `/monitor${qs}`, lang, HX));
    take('poll', await get(s, `/monitor${qs}`, lang, POLL));
    take('confirm dialog', await get(s, `/monitor/confirm?do=terminate&session=${w.sid}&back=${encodeURIComponent(qs.slice(1))}`, lang, HX));
    take('confirm page', await get(s, `/monitor/confirm?do=terminate&session=${w.sid}`, lang));
    take('nothing found', await get(s, `/monitor?q=nobody-like-this`, lang));
    return out;
  }

  it('says "computer" to a client user everywhere on the monitor, in both languages, never "host"', async () => {
    const w = await world();
    const c = await loginAs(t, 'client', { clientId: w.clientId });
    for (const lang of ['en', 'ru'] as const) {
      for (const [name, html] of Object.entries(await answers(c, w, lang))) expect(visible(html), `${lang} ${name}`).not.toMatch(HOST_WORD[lang]);
    }

    const en = (await answers(c, w, 'en')).page;
    expect(heads(en)).toContain('Computer');
    expect(filterLabel(en)).toBe('Computer');
    expect(chooserLabel(en)).toBe('Computer');
    expect(en).toContain('aria-label="Filter by Computer"');
    expect(visible(en)).toContain('Computer: ACC-SRV-01');
    expect(en).toContain('aria-label="Remove filter: Computer ACC-SRV-01"');
    expect(visible(en)).toContain('computer ACC-SRV-01, fingerprint');
    // Only what a client user can search: no "client" (they see their own sessions only).
    expect(placeholderOf(en)).toBe('User, infobase, computer, IP, license key…');

    const ru = (await answers(c, w, 'ru')).page;
    expect(heads(ru)).toContain('Компьютер');
    expect(filterLabel(ru)).toBe('Компьютер');
    expect(chooserLabel(ru)).toBe('Компьютер');
    expect(visible(ru)).toContain('Компьютер: ACC-SRV-01');
    expect(visible(ru)).toContain('компьютер ACC-SRV-01, слепок');
    expect(placeholderOf(ru)).toBe('Пользователь, информационная база, компьютер, IP, ключ…');
    expect(placeholderOf(ru)).not.toMatch(/клиент/i);
    // The workstation's address is the user's, not "the client's" (their own company, to them).
    expect(visible(ru)).toContain('IP пользователя');
    expect(visible(ru)).not.toContain('IP клиента');
  });

  it('the done notice of what a client user may do, and the actions they may not, stay host-free', async () => {
    const w = await world();
    const c = await loginAs(t, 'client', { clientId: w.clientId });
    const done = await t.request
      .post(`/monitor/sessions/${w.sid}/terminate`)
      .set('Cookie', `${c.cookie}; sm_lang=ru`)
      .set('HX-Request', 'true')
      .set('X-CSRF-Token', c.csrf)
      .type('form')
      .send({ back: `license=${w.licenseId}` });
    expect(done.status).toBe(200);
    expect(done.text).toContain('Сеанс завершён.');
    expect(visible(done.text)).not.toMatch(/хост/i);
    // Staff-only actions (those whose dialogs name the host) stay closed to a client user: only words changed.
    for (const act of ['reset', 'clear-pool', 'stop', 'message', 'clear-all-pools', 'terminate-all']) {
      const res = await get(c, `/monitor/confirm?do=${act}&session=${w.sid}&host=${w.hostId}`, 'en', HX);
      expect(res.status, act).toBe(404);
    }
  });

  it('staff keep "host", word for word', async () => {
    const w = await world();
    const s = await loginAs(t, 'support');
    const en = (await answers(s, w, 'en')).page;
    expect(heads(en)).toContain('Host');
    expect(filterLabel(en)).toBe('Host');
    expect(chooserLabel(en)).toBe('Host');
    expect(visible(en)).toContain('Host: ACC-SRV-01');
    expect(visible(en)).toContain('host ACC-SRV-01, fingerprint');
    expect(placeholderOf(en)).toBe('User, infobase, host, IP, license key, client…');
    const ru = (await answers(s, w, 'ru')).page;
    expect(heads(ru)).toContain('Хост');
    expect(filterLabel(ru)).toBe('Хост');
    expect(visible(ru)).toContain('Хост: ACC-SRV-01');
    expect(visible(ru)).toContain('хост ACC-SRV-01, слепок');
    expect(placeholderOf(ru)).toBe('Пользователь, информационная база, хост, IP, ключ, клиент…');
    expect(visible(ru)).toContain('IP клиента');
    const reset = await get(s, `/monitor/confirm?do=reset&session=${w.sid}`, 'en', HX);
    expect(reset.status).toBe(200);
    expect(reset.text).toContain('Host ACC-SRV-01');
  });

  it('a staff validator never answers a client user 304, nor the other way round: each gets their own words', async () => {
    const w = await world();
    const s = await loginAs(t, 'support');
    const c = await loginAs(t, 'client', { clientId: w.clientId });
    const qs = `/monitor?license=${w.licenseId}&info=${w.sid}`;
    const staffTag = String((await get(s, qs, 'en', HX)).headers['etag']);
    const clientTag = String((await get(c, qs, 'en', HX)).headers['etag']);
    expect(staffTag).not.toBe(clientTag);
    // Both the early poll answer and the route's own (marker or content) answer are per viewer.
    for (const headers of [POLL, HX]) {
      const asClient = await get(c, qs, 'en', { ...headers, 'If-None-Match': staffTag });
      expect(asClient.status).toBe(200);
      expect(visible(asClient.text)).toContain('computer ACC-SRV-01');
      expect(visible(asClient.text)).not.toMatch(/\bhost\b/i);
      const asStaff = await get(s, qs, 'en', { ...headers, 'If-None-Match': clientTag });
      expect(asStaff.status).toBe(200);
      expect(visible(asStaff.text)).toContain('host ACC-SRV-01');
    }
    // Their own validators still answer 304.
    expect((await get(c, qs, 'en', { ...POLL, 'If-None-Match': clientTag })).status).toBe(304);
    expect((await get(s, qs, 'en', { ...POLL, 'If-None-Match': staffTag })).status).toBe(304);
  });

  it('a client user\'s default columns leave out Client (their own company on every row); they may add it', async () => {
    const w = await world();
    const c = await loginAs(t, 'client', { clientId: w.clientId });
    expect(heads((await get(c, '/monitor', 'en')).text)).not.toContain('Client');
    const s = await loginAs(t, 'support');
    expect(heads((await get(s, '/monitor', 'en')).text)).toContain('Client');
    const cols = ['session', 'state', 'client'];
    const saved = await t.request.post('/monitor/columns').set('Cookie', c.cookie).type('form').send(`_csrf=${c.csrf}&${cols.map((x) => `col=${x}`).join('&')}`);
    expect(saved.status).toBe(303);
    expect(heads((await get(c, '/monitor', 'en')).text)).toContain('Client');
  });
});
