import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dayStart, parseAuditQuery, recordAudit, type AuditActor } from '../../../src/models/audit.js';
import { loginAs, makeApp, type TestApp } from '../../helpers/app.js';
import { plansDuring } from '../../helpers/statements.js';

const at = (iso: string) => Date.parse(iso);
const alice: AuditActor = { type: 'user', id: 101, name: 'alice@vendor.test', role: 'admin', clientId: null, ip: '10.0.0.1' };
const bob: AuditActor = { type: 'user', id: 102, name: 'bob@vendor.test', role: 'support', clientId: null, ip: '10.0.0.2' };
const robot: AuditActor = { type: 'token', id: 7, name: 'billing', role: 'admin', clientId: null, ip: '10.0.0.3' };

/** How many entries the page's table shows. */
const rowCount = (html: string) => (html.match(/<time datetime=/g) ?? []).length;
const times = (html: string) => [...html.matchAll(/<time datetime="([^"]+)"/g)].map((m) => m[1]);

describe('audit page', () => {
  let t: TestApp;
  let viewer: Awaited<ReturnType<typeof loginAs>>;
  beforeEach(async () => {
    t = await makeApp();
    viewer = await loginAs(t, 'support');
    // Viewer in Moscow (UTC+3 all year): filters and times are in this zone.
    await t.db.updateTable('users').set({ time_zone: 'Europe/Moscow' }).where('id', '=', viewer.user.id).execute();
    // Only the rows each test writes.
    await t.db.deleteFrom('audit_log').execute();
  });
  afterEach(() => t.close());

  const get = (query = '') => t.request.get('/audit' + query).set('Cookie', viewer.cookie);

  it('lists entries newest first with time in the viewer\'s zone, actor, action, target, reason and IP', async () => {
    await recordAudit(t.db, alice, { action: 'user.created', targetType: 'user', targetId: 5, targetLabel: 'new@vendor.test' }, at('2026-11-21T09:00:00Z'));
    await recordAudit(t.db, robot, { action: 'binding.reset', targetType: 'host', targetId: 9, targetLabel: 'PC-<9>', reason: 'new motherboard' }, at('2026-11-21T10:00:00Z'));
    const res = await get();
    expect(res.status).toBe(200);
    expect(times(res.text)).toEqual(['2026-11-21T10:00:00.000Z', '2026-11-21T09:00:00.000Z']);
    expect(res.text).toContain('21 Nov 2026, 13:00:00');
    expect(res.text).toContain('21 Nov 2026, 12:00:00');
    expect(res.text).toContain('Europe/Moscow');
    for (const text of ['billing', 'API token', 'binding.reset', 'PC-&lt;9&gt;', 'new motherboard', '10.0.0.3', 'alice@vendor.test', 'User created', 'new@vendor.test']) {
      expect(res.text).toContain(text);
    }
    expect(res.text).not.toContain('PC-<9>');
    // The target links to the same page filtered by it.
    expect(res.text).toContain('href="/audit?targetType=host&amp;targetId=9"');
  });

  it("a license's entries include resets of its bound hosts", async () => {
    const now = t.clock.now();
    const client = await t.db.insertInto('clients').values({ name: 'C', created_at: now, updated_at: now }).returning('id').executeTakeFirstOrThrow();
    const lic = await t.db
      .insertInto('licenses')
      .values({ client_id: client.id, key: 'AAAA-BBBB', product: 'P', max_hosts: 2, created_at: now, updated_at: now })
      .returning('id')
      .executeTakeFirstOrThrow();
    const host = await t.db
      .insertInto('hosts')
      .values({ license_id: lic.id, fingerprint_hash: 'h', components: '{}', bound_at: now, last_seen_at: now })
      .returning('id')
      .executeTakeFirstOrThrow();
    await recordAudit(t.db, alice, { action: 'license.updated', targetType: 'license', targetId: lic.id }, at('2026-11-21T08:00:00Z'));
    await recordAudit(t.db, bob, { action: 'host.reset', targetType: 'host', targetId: host.id, reason: 'new server' }, at('2026-11-21T08:01:00Z'));
    await recordAudit(t.db, bob, { action: 'host.reset', targetType: 'host', targetId: host.id + 1000, reason: 'other' }, at('2026-11-21T08:02:00Z'));
    const res = await get(`?targetType=license&targetId=${lic.id}`);
    expect(times(res.text)).toEqual(['2026-11-21T08:01:00.000Z', '2026-11-21T08:00:00.000Z']);
    expect(res.text).toContain('new server');
  });

  it('filters by actor substring, action and target; the form keeps the values', async () => {
    await recordAudit(t.db, alice, { action: 'login' }, at('2026-11-21T08:00:00Z'));
    await recordAudit(t.db, alice, { action: 'user.disabled', targetType: 'user', targetId: 3, targetLabel: 'c@x' }, at('2026-11-21T08:01:00Z'));
    await recordAudit(t.db, bob, { action: 'user.disabled', targetType: 'user', targetId: 4, targetLabel: 'd@x' }, at('2026-11-21T08:02:00Z'));
    await recordAudit(t.db, robot, { action: 'token.revoked', targetType: 'api_token', targetId: 3 }, at('2026-11-21T08:03:00Z'));

    const byActor = await get('?actor=ALICE');
    expect(times(byActor.text)).toEqual(['2026-11-21T08:01:00.000Z', '2026-11-21T08:00:00.000Z']);
    expect(byActor.text).toContain('name="actor" value="ALICE"');

    const byAction = await get('?action=user.disabled');
    expect(times(byAction.text)).toEqual(['2026-11-21T08:02:00.000Z', '2026-11-21T08:01:00.000Z']);
    expect(byAction.text).toContain('<option value="user.disabled" selected="">');
    // The action list offers the actions present.
    for (const a of ['login', 'token.revoked', 'user.disabled']) expect(byAction.text).toContain(`<option value="${a}"`);

    // Every action the filter offers can be chosen, the one with capitals too.
    await recordAudit(t.db, bob, { action: 'session.command.closePackage', targetType: 'session', targetId: 'x' }, at('2026-11-21T08:04:00Z'));
    const camel = await get('?action=session.command.closePackage');
    expect(camel.status).toBe(200);
    expect(times(camel.text)).toEqual(['2026-11-21T08:04:00.000Z']);

    const both = await get('?actor=bob&action=user.disabled');
    expect(times(both.text)).toEqual(['2026-11-21T08:02:00.000Z']);

    const byTarget = await get('?targetType=user&targetId=3');
    expect(times(byTarget.text)).toEqual(['2026-11-21T08:01:00.000Z']);

    const none = await get('?actor=nobody');
    expect(none.status).toBe(200);
    expect(rowCount(none.text)).toBe(0);
    expect(none.text).toContain('No audit entries match these filters.');
  });

  it('takes dates as whole days in the viewer\'s time zone, both ends inclusive', async () => {
    for (const iso of ['2026-11-20T20:59:00Z', '2026-11-20T21:00:00Z', '2026-11-21T20:59:59Z', '2026-11-21T21:00:00Z']) {
      await recordAudit(t.db, alice, { action: 'login' }, at(iso));
    }
    // 2026-11-21 in Moscow is 2026-11-20T21:00Z … 2026-11-21T21:00Z.
    const day = await get('?from=2026-11-21&to=2026-11-21');
    expect(times(day.text)).toEqual(['2026-11-21T20:59:59.000Z', '2026-11-20T21:00:00.000Z']);
    expect(day.text).toContain('name="from" type="date" value="2026-11-21"');
    expect(times((await get('?from=2026-11-22')).text)).toEqual(['2026-11-21T21:00:00.000Z']);
    expect(times((await get('?to=2026-11-20')).text)).toEqual(['2026-11-20T20:59:00.000Z']);
  });

  it('pages by 50 with prev/next links that keep the filters', async () => {
    const start = at('2026-11-01T00:00:00Z');
    for (let i = 0; i < 120; i++) await recordAudit(t.db, bob, { action: 'session.terminated', targetType: 'session', targetId: i }, start + i * 60_000);
    await recordAudit(t.db, alice, { action: 'login' }, start + 500 * 60_000);

    const first = await get('?action=session.terminated');
    expect(rowCount(first.text)).toBe(50);
    expect(times(first.text)[0]).toBe(new Date(start + 119 * 60_000).toISOString());
    expect(first.text).toContain('href="/audit?action=session.terminated&amp;page=2" rel="next"');
    expect(first.text).not.toContain('rel="prev"');

    const third = await get('?action=session.terminated&page=3');
    expect(rowCount(third.text)).toBe(20);
    expect(times(third.text).at(-1)).toBe(new Date(start).toISOString());
    expect(third.text).toContain('href="/audit?action=session.terminated&amp;page=2" rel="prev"');
    expect(third.text).not.toContain('rel="next"');
    expect(third.text).toContain('Page 3');

    const beyond = await get('?action=session.terminated&page=9');
    expect(beyond.status).toBe(200);
    expect(rowCount(beyond.text)).toBe(0);
  });

  it('answers bad filter values with 400 naming the field by its visible label', async () => {
    await recordAudit(t.db, alice, { action: 'login' }, t.clock.now());
    const cases: [string, string, string][] = [
      ['?from=2026-13-01', 'From', 'use a date such as 2026-11-21'],
      ['?from=2026-02-30', 'From', 'use a date such as 2026-11-21'],
      ['?to=yesterday', 'To (inclusive)', 'use a date such as 2026-11-21'],
      ['?from=2026-11-21&to=2026-11-20', 'To (inclusive)', 'it must not be before &quot;From&quot;'],
      ['?page=0', 'Page', 'use a page number from 1'],
      ['?page=two', 'Page', 'use a page number from 1'],
      ['?action=DROP%20TABLE', 'Action', 'it contains unexpected characters'],
      ['?targetType=%3Cb%3E', 'Target type', 'choose a type from the list'],
      ['?targetType=License', 'Target type', 'choose a type from the list'],
      ['?targetType=%D0%9B%D0%B8%D1%86%D0%B5%D0%BD%D0%B7%D0%B8%D1%8F', 'Target type', 'choose a type from the list'],
      ['?actor=' + 'a'.repeat(255), 'Actor contains', 'it is too long'],
      ['?client=abc', 'Client', 'choose a client from the list'],
      ['?client=0', 'Client', 'choose a client from the list'],
      ['?client=99999999999999999999', 'Client', 'choose a client from the list'],
    ];
    for (const [query, label, problem] of cases) {
      const res = await get(query);
      expect(res.status, query).toBe(400);
      expect(res.text, query).toContain(`The filter &quot;${label}&quot; is not valid: ${problem}.`);
      expect(rowCount(res.text)).toBe(0);
    }
    // The bad field is marked, and the message names no query parameter.
    const bad = await get('?targetType=License');
    expect(bad.text).toMatch(/<select id="f-targetType" name="targetType" aria-invalid="true" aria-describedby="audit-error">/);
    const message = /<p class="msg error"[^>]*>([^<]*)<\/p>/.exec(bad.text)![1];
    expect(message).not.toMatch(/targetType|"from"|"to"/);
    expect((await get('?from=2026-11-21&to=2026-11-20')).text).not.toMatch(/&quot;(to|from)&quot;/);
    // Nothing changed.
    expect(await t.db.selectFrom('audit_log').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).toEqual({ n: 1 });
  });

  it('names the bad field in Russian too', async () => {
    await t.db.updateTable('users').set({ locale: 'ru' }).where('id', '=', viewer.user.id).execute();
    expect((await get('?targetType=' + encodeURIComponent('Лицензия'))).text).toContain('Фильтр «Тип объекта» задан неверно: выберите тип из списка.');
    expect((await get('?from=2026-11-21&to=2026-11-20')).text).toContain('Фильтр «По (включительно)» задан неверно: дата не может быть раньше даты «С».');
    expect((await get('?client=x')).text).toContain('Фильтр «Клиент» задан неверно: выберите клиента из списка.');
  });

  it('offers the target types as a select labelled from the catalogue', async () => {
    await recordAudit(t.db, alice, { action: 'license.created', targetType: 'license', targetId: 5 }, at('2026-11-21T08:00:00Z'));
    await recordAudit(t.db, alice, { action: 'client.created', targetType: 'client', targetId: 5 }, at('2026-11-21T08:01:00Z'));
    const res = await get('?targetType=license');
    expect(res.status).toBe(200);
    expect(times(res.text)).toEqual(['2026-11-21T08:00:00.000Z']);
    expect(res.text).toContain('<select id="f-targetType" name="targetType">');
    expect(res.text).toContain('<option value="">Any type</option>');
    expect(res.text).toContain('<option value="license" selected="">License</option>');
    expect(res.text).toContain('<option value="infobase">Infobase</option>');
    expect(res.text).not.toContain('name="targetType" value=');
    await t.db.updateTable('users').set({ locale: 'ru' }).where('id', '=', viewer.user.id).execute();
    expect((await get()).text).toContain('<option value="license">Лицензия</option>');
  });

  it("filters by client: everything done to the client, its licenses, hosts, infobases, sessions and users", async () => {
    const now = t.clock.now();
    const [a, b] = await Promise.all(
      ['Acme', 'Other'].map((name) => t.db.insertInto('clients').values({ name, created_at: now, updated_at: now }).returning('id').executeTakeFirstOrThrow()),
    );
    const clientUser = await loginAs(t, 'client', { clientId: a.id }); // writes a 'login' row with no client_id
    await recordAudit(t.db, alice, { action: 'client.created', targetType: 'client', targetId: a.id, clientId: a.id }, at('2026-11-21T08:00:00Z'));
    await recordAudit(t.db, alice, { action: 'license.suspended', targetType: 'license', targetId: 7, clientId: a.id }, at('2026-11-21T08:01:00Z'));
    await recordAudit(t.db, bob, { action: 'host.reset', targetType: 'host', targetId: 9, clientId: a.id, reason: 'new disk' }, at('2026-11-21T08:02:00Z'));
    await recordAudit(t.db, bob, { action: 'infobase.locked', targetType: 'infobase', targetId: 3, clientId: a.id }, at('2026-11-21T08:03:00Z'));
    await recordAudit(t.db, bob, { action: 'session.terminate', targetType: 'session', targetId: 'abc', clientId: a.id }, at('2026-11-21T08:04:00Z'));
    await recordAudit(t.db, alice, { action: 'user.password_reset', targetType: 'user', targetId: clientUser.user.id }, at('2026-11-21T08:05:00Z'));
    // Another client's, and the same ids as targets of other types.
    await recordAudit(t.db, alice, { action: 'license.suspended', targetType: 'license', targetId: 8, clientId: b.id }, at('2026-11-21T08:06:00Z'));
    await recordAudit(t.db, alice, { action: 'client.created', targetType: 'client', targetId: b.id, clientId: b.id }, at('2026-11-21T08:07:00Z'));
    await recordAudit(t.db, alice, { action: 'user.disabled', targetType: 'user', targetId: a.id }, at('2026-11-21T08:08:00Z'));

    // The client card's "Audit entries" link is this filter.
    const card = await t.request.get(`/clients/${a.id}`).set('Cookie', viewer.cookie);
    const link = /<a class="button" href="(\/audit\?[^"]*)">Audit entries<\/a>/.exec(card.text)![1].replaceAll('&amp;', '&');
    const res = await t.request.get(link).set('Cookie', viewer.cookie);
    expect(res.status).toBe(200);
    // The client user's sign-in (at the clock's now), then what was done to the client and its objects.
    const signIn = new Date(now).toISOString();
    expect(times(res.text)).toEqual([signIn, ...['08:05', '08:04', '08:03', '08:02', '08:01', '08:00'].map((hm) => `2026-11-21T${hm}:00.000Z`)]);
    expect(res.text).toContain('new disk');
    expect(res.text).toContain(`<option value="${a.id}" selected="">Acme</option>`);
    // The other filters narrow it; paging keeps it.
    expect(times((await get(`?client=${a.id}&targetType=host`)).text)).toEqual(['2026-11-21T08:02:00.000Z']);
    expect(times((await get(`?client=${b.id}`)).text)).toEqual(['2026-11-21T08:07:00.000Z', '2026-11-21T08:06:00.000Z']);
    // The log is kept for good: a client's rows are looked up by index (migration 2026-12-07-40), never by
    // walking the whole log by time until a page is full (93 ms over 300,000 entries for a client with none).
    const planned = await plansDuring(t.sqlite, () => get(`?client=${b.id}`));
    const listing = planned.filter((p) => /from "audit_log"/.test(p.sql) && /"client_id" = \?/.test(p.sql));
    expect(listing.length).toBe(1);
    expect(listing[0].plan.join(' | ')).toContain('USING INDEX audit_log_client');
    expect(listing[0].plan.filter((line) => /^SCAN audit_log\b/.test(line))).toEqual([]);
    // A client with no entries (or none by that id) is an empty list, not an error.
    const gone = await get('?client=999');
    expect(gone.status).toBe(200);
    expect(rowCount(gone.text)).toBe(0);
    expect(gone.text).toContain('<option value="999" selected="">Client #999</option>');
    // Old links by target still work.
    expect(times((await get(`?targetType=client&targetId=${a.id}`)).text)).toEqual(['2026-11-21T08:00:00.000Z']);
  });

  it('names actions and target types in Russian, with no raw codes in the visible text', async () => {
    await t.db.updateTable('users').set({ locale: 'ru' }).where('id', '=', viewer.user.id).execute();
    const entries: [string, Omit<Parameters<typeof recordAudit>[2], 'action'>][] = [
      ['license.created', { targetType: 'license', targetId: 5 }],
      ['license.suspended', { targetType: 'license', targetId: 6, targetLabel: 'AAAA-BBBB' }],
      ['settings.updated', { targetType: 'settings', targetId: 1, targetLabel: 'settings' }],
      ['infobase.locked', { targetType: 'infobase', targetId: 3, targetLabel: 'Бухгалтерия' }],
      ['session.command.closePackage', { targetType: 'session', targetId: 'abc', targetLabel: 'ivanov 7' }],
      ['host.pool_clear_all', { targetType: 'client' }],
    ];
    for (const [i, [action, entry]] of entries.entries()) await recordAudit(t.db, alice, { action, ...entry }, at('2026-11-21T08:00:00Z') + i * 60_000);
    const res = await get();
    expect(res.status).toBe(200);
    const visible = res.text.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ');
    for (const text of [
      'Лицензия создана', 'Лицензия №5', 'Лицензия приостановлена', 'AAAA-BBBB Лицензия №6', 'Настройки изменены',
      'Информационная база заблокирована', 'Бухгалтерия Информационная база №3', 'Запрошено закрытие пакета', 'ivanov 7 Сеанс №abc',
      'Все пулы пакетов очищены', 'Все клиенты',
    ]) {
      expect(visible).toContain(text);
    }
    for (const [action] of entries) expect(visible).not.toContain(action);
    expect(visible).not.toMatch(/\b(license|settings|infobase|session|client) #/i);
    // The filter offers the labels; the codes stay in the values (and the links) only.
    expect(res.text).toContain('<option value="license.created">Лицензия создана</option>');
    expect(res.text).toContain('href="/audit?targetType=license&amp;targetId=5"');
  });

  it('is for staff: admin and support 200, client users 404, signed-out visitors go to login', async () => {
    const admin = await loginAs(t, 'admin');
    expect((await t.request.get('/audit').set('Cookie', admin.cookie)).status).toBe(200);
    expect((await get()).status).toBe(200);
    const client = await loginAs(t, 'client');
    expect((await t.request.get('/audit').set('Cookie', client.cookie)).status).toBe(404);
    const anon = await t.request.get('/audit?action=login');
    expect(anon.status).toBe(303);
    expect(anon.headers.location).toBe('/login?next=%2Faudit%3Faction%3Dlogin');
  });
});

describe('audit filters (model)', () => {
  it('finds the start of a day in zones with and without daylight saving', () => {
    expect(dayStart('2026-11-21', 'UTC')).toBe(at('2026-11-21T00:00:00Z'));
    expect(dayStart('2026-11-21', 'Europe/Moscow')).toBe(at('2026-11-20T21:00:00Z'));
    expect(dayStart('2026-11-21', 'Europe/Moscow', 1)).toBe(at('2026-11-21T21:00:00Z'));
    expect(dayStart('2026-03-08', 'America/New_York')).toBe(at('2026-03-08T05:00:00Z')); // DST starts at 02:00 that day
    expect(dayStart('2026-03-09', 'America/New_York')).toBe(at('2026-03-09T04:00:00Z'));
    expect(dayStart('2026-11-01', 'America/New_York')).toBe(at('2026-11-01T04:00:00Z')); // DST ends at 02:00 that day
    expect(dayStart('2026-11-02', 'America/New_York')).toBe(at('2026-11-02T05:00:00Z'));
    expect(dayStart('2026-12-31', 'Asia/Kolkata', 1)).toBe(at('2026-12-31T18:30:00Z'));
    expect(dayStart('2026-02-29', 'UTC')).toBeNull();
    expect(dayStart('21.11.2026', 'UTC')).toBeNull();
  });

  it('parses a clean query into a filter', () => {
    expect(parseAuditQuery({ actor: ' bob ', action: 'user.created', targetType: 'user', targetId: '5', from: '2026-11-01', to: '2026-11-01', page: '2' }, 'UTC')).toEqual({
      ok: true,
      filter: { actor: 'bob', action: 'user.created', targetType: 'user', targetId: '5', from: at('2026-11-01T00:00:00Z'), to: at('2026-11-02T00:00:00Z') },
      page: 2,
    });
    expect(parseAuditQuery({}, 'UTC')).toEqual({ ok: true, filter: {}, page: 1 });
    expect(parseAuditQuery({ client: '12' }, 'UTC')).toEqual({ ok: true, filter: { clientId: 12 }, page: 1 });
  });
});
