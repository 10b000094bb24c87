import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loginAs, makeApp, type TestApp } from '../../helpers/app.js';
import { makeLicense, openOk } from '../../helpers/licensing.js';
import { seedHost, seedLicense, seedSession } from '../../helpers/monitor-data.js';
import { sessionSearchText } from '../../../src/models/session-search.js';

// The monitor's global search over the text a capture stores on the session
// row (sessions.search_text, src/models/session-search.ts).

const rowIds = (html: string) => [...html.matchAll(/<tr data-session-id="([^"]+)"/g)].map((m) => m[1]).sort();

describe('monitor global search', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.close());

  async function search(q: string, extra = ''): Promise<string[]> {
    const s = await loginAs(t, 'admin');
    const res = await t.request.get(`/monitor?q=${encodeURIComponent(q)}${extra}`).set('Cookie', s.cookie).set('HX-Request', 'true');
    expect(res.status).toBe(200);
    return rowIds(res.text);
  }

  it('a capture stores the lowercased search text, and the search finds the session by each of its columns in any case', async () => {
    const lic = await makeLicense(t);
    const opened = await openOk(t, lic.key, {
      user: 'ЁЖиков Пётр',
      clientSessionId: 'App-42',
      machine: { hostname: 'ACC-SRV-01', os: 'Windows', ip: '10.0.0.5' },
      client: { ip: '192.168.7.77', hostname: 'БУХ-ПК-3' },
    });
    const row = await t.db.selectFrom('sessions').select('search_text').where('id', '=', opened.sessionId).executeTakeFirstOrThrow();
    expect(row.search_text).toBe('ёжиков пётр\napp-42\nacc-srv-01\nбух-пк-3\n10.0.0.5\n192.168.7.77');
    const other = (await openOk(t, lic.key, { user: 'Smith', clientSessionId: 'other', machine: { hostname: 'OTHER', os: 'Linux', ip: '10.2.2.2' }, client: { ip: '10.1.1.1', hostname: 'X' } })).sessionId;

    for (const q of ['ёжиков', 'ЁЖИКОВ', 'ёЖиКоВ', 'Пётр', 'ПЁТР', 'app-42', 'APP-4', 'acc-srv', 'бух-пк', 'БУХ-ПК-3', '192.168.7', '10.0.0.5']) {
      expect(await search(q), q).toEqual([opened.sessionId]);
    }
    expect(await search('smith')).toEqual([other]);
    expect(await search('петров')).toEqual([]);
  });

  it('% and _ are literal characters, and a term never matches across two columns', async () => {
    const w = await seedLicense(t, { clientName: 'Acme', key: 'ACME-0001-KEY' });
    const host = await seedHost(t, w.licenseId, { hostname: 'SRV', ip: '10.0.0.5' });
    const pct = await seedSession(t, { ...w, hostId: host, user: 'a_b%c', clientSessionId: null, machineHostname: 'SRV' });
    const plain = await seedSession(t, { ...w, hostId: host, user: 'axbyc', clientSessionId: null, machineHostname: 'SRV' });
    expect(await search('_b%')).toEqual([pct]);
    expect(await search('a_b%c')).toEqual([pct]);
    expect(await search('x_b')).toEqual([]);
    expect(await search('%')).toEqual([pct]);
    expect(await search('axbyc')).toEqual([plain]);
    // The stored text is "axbyc\n\nsrv\n…": one word never runs from the user into the host.
    expect(await search('axbycsrv')).toEqual([]);
    expect(await search('cs')).toEqual([]);
    // A NUL cannot stand in a LIKE pattern (SQLite stops reading it there): it is searched as itself.
    expect(await search('\0')).toEqual([]);
    expect(await search('a\0')).toEqual([]);
    const nul = await seedSession(t, { ...w, hostId: host, user: 'nul\0user', clientSessionId: null, machineHostname: 'SRV' });
    expect(await search('l\0u')).toEqual([nul]);
  });

  it('every word of the search must match, each anywhere: user and machine, user and infobase or client', async () => {
    const w = await seedLicense(t, { clientName: 'Рога и Копыта', key: 'RK-0001-KEY' });
    const app02 = await seedHost(t, w.licenseId, { hostname: '1C-APP-02', ip: '10.0.0.2' });
    const app03 = await seedHost(t, w.licenseId, { hostname: '1C-APP-03', ip: '10.0.0.3' });
    const petrov02 = await seedSession(t, { ...w, hostId: app02, user: 'Петров С.И.', machineHostname: '1C-APP-02', infobase: { externalId: 'ib-zup', name: 'Зарплата и кадры' } });
    const petrov03 = await seedSession(t, { ...w, hostId: app03, user: 'Петров С.И.', machineHostname: '1C-APP-03' });
    const ivanova02 = await seedSession(t, { ...w, hostId: app02, user: 'Иванова А.В.', machineHostname: '1C-APP-02' });
    // Before, a search was one phrase: "1C-APP-02 Петров" matched no single column and found nothing.
    expect(await search('1C-APP-02 Петров')).toEqual([petrov02]);
    expect(await search('петров   1c-app')).toEqual([petrov02, petrov03].sort());
    expect(await search('Петров зарплата')).toEqual([petrov02]);
    expect(await search('копыта иванова')).toEqual([ivanova02]);
    // A phrase still finds what it found: its words are in it.
    expect(await search('Петров С.И.')).toEqual([petrov02, petrov03].sort());
    expect(await search('Зарплата и кадры')).toEqual([petrov02]);
    expect(await search('Петров Иванова')).toEqual([]);
  });

  it('still matches names in other tables, the session number, and combines with filters and the client scope', async () => {
    const a = await seedLicense(t, { clientName: 'Рога и Копыта', key: 'RK-0001-KEY' });
    const b = await seedLicense(t, { clientName: 'Globex', key: 'GLBX-0002-KEY' });
    const hostA = await seedHost(t, a.licenseId, { hostname: 'RK-SRV', ip: '10.0.0.5' });
    const hostB = await seedHost(t, b.licenseId, { hostname: 'GLB-SRV', ip: '10.9.9.9' });
    const ra = await seedSession(t, { ...a, hostId: hostA, user: 'Иванова', infobase: { externalId: 'ib-zup', name: 'Зарплата' }, connection: 'client' });
    const rb = await seedSession(t, { ...a, hostId: hostA, user: 'Петров', connection: 'background' });
    const gb = await seedSession(t, { ...b, hostId: hostB, user: 'иванова', connection: 'client' });
    expect(await search('рога')).toEqual([ra, rb].sort());
    expect(await search('ЗАРПЛАТА')).toEqual([ra]);
    expect(await search('ib-zup')).toEqual([ra]);
    expect(await search('rk-0001')).toEqual([ra, rb].sort());
    expect(await search('иванова')).toEqual([ra, gb].sort());
    expect(await search('иванова', '&f_connection=client')).toEqual([ra, gb].sort());
    expect(await search('рога', '&f_connection=background')).toEqual([rb]);
    const number = (await t.db.selectFrom('sessions').select('session_number').where('id', '=', rb).executeTakeFirstOrThrow()).session_number;
    expect(await search(String(number))).toContain(rb);

    const s = await loginAs(t, 'client', { clientId: b.clientId });
    const res = await t.request.get(`/monitor?q=${encodeURIComponent('иванова')}`).set('Cookie', s.cookie).set('HX-Request', 'true');
    expect(rowIds(res.text)).toEqual([gb]);
  });

  it('sessions without a stored search text (opened before it existed) are searched column by column', async () => {
    const w = await seedLicense(t);
    const host = await seedHost(t, w.licenseId, { hostname: 'SRV', ip: '10.0.0.5' });
    const id = await seedSession(t, { ...w, hostId: host, user: 'Иванов', clientSessionId: 'csid-1', machineHostname: 'ACC-SRV' });
    await t.db.updateTable('sessions').set({ search_text: null }).where('id', '=', id).execute();
    for (const q of ['иванов', 'ИВАНОВ', 'Иванов', 'csid-1', 'acc-srv', '10.0.0.77']) expect(await search(q), q).toEqual([id]);
    expect(await search('ivanov')).toEqual([]);
  });

  it('sessionSearchText joins the six columns, missing ones empty, in full Unicode lowercase', () => {
    expect(
      sessionSearchText({ user_name: 'ΟΔΥΣΣΕΑΣ Ärger', client_session_id: null, machine_hostname: 'Host', client_hostname: null, machine_ip: '::1', client_ip: null }),
    ).toBe('οδυσσεας ärger\n\nhost\n\n::1\n');
  });
});
