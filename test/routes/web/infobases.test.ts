import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loginAs, makeApp, type TestApp } from '../../helpers/app.js';
import { adminClient, adminLicense, auditRows, insertHost, insertInfobase, insertSession } from '../../helpers/admin.js';
import { captureBody, makeInfobase } from '../../helpers/licensing.js';

const HOUR = 3600_000;

describe('infobase pages', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.close());

  const get = (s: { cookie: string }, url: string, tz?: string) => t.request.get(url).set('Cookie', tz ? `${s.cookie}; sm_tz=${tz}` : s.cookie);
  const post = (s: { cookie: string; csrf: string }, url: string, body: Record<string, string> = {}, tz?: string) =>
    t.request
      .post(url)
      .set('Cookie', tz ? `${s.cookie}; sm_tz=${tz}` : s.cookie)
      .type('form')
      .send({ _csrf: s.csrf, ...body });
  const ibRow = (id: number) => t.db.selectFrom('infobases').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  it('lists infobases per client with a lock-state icon and words for every state', async () => {
    const acme = await adminClient(t, 'Acme');
    const globex = await adminClient(t, 'Globex');
    const now = t.clock.now();
    const none = await makeInfobase(t, acme.id, 'ib-1', 'Accounting');
    const active = await makeInfobase(t, acme.id, 'ib-2', 'Payroll', { message: 'Month end' });
    const scheduled = await makeInfobase(t, acme.id, 'ib-3', 'Stock', { from: now + HOUR, message: 'Tonight' });
    const expired = await makeInfobase(t, globex.id, 'ib-4', 'Sales', { from: now - 2 * HOUR, to: now - HOUR, message: 'Over' });
    const s = await loginAs(t, 'support');
    const res = await get(s, '/infobases');
    expect(res.status).toBe(200);
    const rowOf = (id: number) => new RegExp(`<tr><td><a href="/infobases/${id}">[\\s\\S]*?</tr>`).exec(res.text)?.[0] ?? '';
    expect(rowOf(none)).toMatch(/class="lock-badge lock-none"><svg[\s\S]*?<\/svg>Not locked/);
    expect(rowOf(active)).toMatch(/class="lock-badge lock-active"><svg[\s\S]*?<\/svg>Locked/);
    expect(rowOf(scheduled)).toMatch(/class="lock-badge lock-scheduled"><svg[\s\S]*?<\/svg>Lock scheduled/);
    expect(rowOf(expired)).toMatch(/class="lock-badge lock-expired"><svg[\s\S]*?<\/svg>Lock over/);
    // No "from": in force since it was set.
    expect(rowOf(active)).toContain('21 Nov 2026, 10:00:00 – until unlocked');
    // Grouped by client, each group headed by the client.
    expect(res.text.indexOf(`href="/clients/${acme.id}">Acme`)).toBeLessThan(res.text.indexOf(`href="/clients/${globex.id}">Globex`));
    const filtered = await get(s, `/infobases?client=${globex.id}`);
    expect(filtered.text).toContain('Sales');
    expect(filtered.text).not.toContain('Accounting');
  });

  it('a lock that refuses only background jobs is badged as such (list, page header), not as a full lock, in EN and RU', async () => {
    const acme = await adminClient(t, 'Acme');
    const now = t.clock.now();
    const bg = await makeInfobase(t, acme.id, 'ib-1', 'Accounting', { denySessions: false, denyBackground: true, message: 'Nightly jobs off' });
    const bgLater = await makeInfobase(t, acme.id, 'ib-2', 'Payroll', { from: now + HOUR, denySessions: false, denyBackground: true });
    const full = await makeInfobase(t, acme.id, 'ib-3', 'Stock', { denyBackground: true });
    const s = await loginAs(t, 'support');
    const res = await get(s, '/infobases');
    const rowOf = (id: number) => new RegExp(`<tr><td><a href="/infobases/${id}">[\\s\\S]*?</tr>`).exec(res.text)?.[0] ?? '';
    expect(rowOf(bg)).toMatch(/class="lock-badge lock-active lock-background"><svg[\s\S]*?<\/svg>Locked: background jobs/);
    expect(rowOf(bgLater)).toMatch(/class="lock-badge lock-scheduled lock-background"><svg[\s\S]*?<\/svg>Lock scheduled: background jobs/);
    expect(rowOf(full)).toMatch(/class="lock-badge lock-active"><svg[\s\S]*?<\/svg>Locked</);
    const page = await get(s, `/infobases/${bg}`);
    expect(/<span id="ib-badge">[\s\S]*?<\/span><\/span>/.exec(page.text)?.[0]).toContain('Locked: background jobs');
    await t.db.updateTable('users').set({ locale: 'ru' }).where('id', '=', s.user.id).execute();
    const ru = await get(s, '/infobases');
    expect(ru.text).toContain('Заблокированы фоновые задания');
  });

  it('the list follows by itself every 10 s: nothing changed is an empty 204, a lock window opening or a new session sends the list part', async () => {
    const lic = await adminLicense(t);
    const host = await insertHost(t, lic.id);
    const now = t.clock.now();
    const ib = await makeInfobase(t, lic.clientId, 'ib-1', 'Accounting', { from: now + 5 * 60_000, message: 'Soon' });
    const s = await loginAs(t, 'support');
    const page = await get(s, `/infobases?client=${lic.clientId}`);
    const poller = /<div hidden="" hx-get="([^"]+)" hx-trigger="every 10s" hx-swap="none" hx-select-oob="([^"]+)" hx-include="([^"]+)" hx-headers="([^"]+)">/.exec(page.text);
    expect(poller?.[1]).toBe(`/infobases?client=${lic.clientId}`);
    expect(poller?.[2]).toBe('#infobases-list');
    expect(page.text).toContain('id="infobases-list"');
    expect(poller?.[4]).toContain('X-Auto-Refresh');
    const shownOf = (html: string) => new RegExp(`<input type="hidden" id="${poller![3].slice(1)}" name="shown" value="([^"]+)"`).exec(html)?.[1] ?? '';
    let shown = shownOf(page.text);
    expect(shown).not.toBe('');
    const poll = (v: string) => get(s, `/infobases?client=${lic.clientId}&shown=${encodeURIComponent(v)}`).set('HX-Request', 'true').set('X-Auto-Refresh', '1');

    const same = await poll(shown);
    expect(same.status).toBe(204);
    expect(same.text).toBe('');
    // The lock window opens by time alone: the part comes, alone (no page around it), with its new marker.
    t.clock.advance(5 * 60_000);
    const opened = await poll(shown);
    expect(opened.status).toBe(200);
    expect(opened.text).toMatch(/^<div id="infobases-list">/);
    expect(opened.text).toContain('class="lock-badge lock-active"');
    expect(opened.text).not.toContain('<html');
    expect(shownOf(opened.text)).not.toBe(shown);
    shown = shownOf(opened.text);
    expect((await poll(shown)).status).toBe(204);
    // A session opens: the live count moves.
    await insertSession(t, { licenseId: lic.id, hostId: host.id, infobaseId: ib });
    const counted = await poll(shown);
    expect(counted.status).toBe(200);
    expect(counted.text).toContain('<td class="num" data-label="Live sessions">1</td>');
  });

  it('searches Cyrillic names and ids in any case', async () => {
    const acme = await adminClient(t, 'Acme');
    const stock = await makeInfobase(t, acme.id, 'ИБ-Склад', 'Склад');
    const payroll = await makeInfobase(t, acme.id, 'ib-2', 'Зарплата');
    const s = await loginAs(t, 'support');
    for (const q of ['склад', 'СКЛАД', 'Склад', 'иб-']) {
      const found = await get(s, `/infobases?q=${encodeURIComponent(q)}`);
      expect(found.text, q).toContain(`href="/infobases/${stock}"`);
      expect(found.text, q).not.toContain(`href="/infobases/${payroll}"`);
    }
  });

  it('shows an infobase with its sessions; Terminate all closes exactly the counted ones (audited)', async () => {
    const lic = await adminLicense(t);
    const host = await insertHost(t, lic.id);
    const ib = await insertInfobase(t, lic.clientId, 'Accounting');
    const other = await insertInfobase(t, lic.clientId, 'HR');
    const a = await insertSession(t, { licenseId: lic.id, hostId: host.id, infobaseId: ib.id, user: 'Ivanov' });
    const b = await insertSession(t, { licenseId: lic.id, hostId: host.id, infobaseId: ib.id, user: 'Petrov' });
    const c = await insertSession(t, { licenseId: lic.id, hostId: host.id, infobaseId: other.id, user: 'Sidorov' });
    const s = await loginAs(t, 'support');
    const page = await get(s, `/infobases/${ib.id}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain(`data-session-id="${a.id}"`);
    expect(page.text).toContain(`data-session-id="${b.id}"`);
    expect(page.text).not.toContain(`data-session-id="${c.id}"`);
    expect(page.text).toContain('data-confirm="Terminate all 2 sessions of Accounting?"');
    expect(page.text).toContain('name="count" value="2"');
    expect(page.text).toContain(`href="/monitor?infobase=${ib.id}"`);
    // The lock state and the sessions follow by themselves (a lock window opens without a reload), as an
    // automatic refresh; every part it takes is on the page.
    const poller = /<div hidden="" hx-get="([^"]+)" hx-trigger="every 10s" hx-swap="none" hx-select-oob="([^"]+)" hx-include="[^"]+" hx-headers="([^"]+)">/.exec(page.text);
    expect(poller?.[1]).toBe(`/infobases/${ib.id}`);
    for (const part of poller![2].split(',')) expect(page.text).toContain(`id="${part.slice(1)}"`);
    expect(poller?.[3]).toContain('X-Auto-Refresh');

    // A session opened after the count: the confirm is stale, nothing is closed.
    const late = await insertSession(t, { licenseId: lic.id, hostId: host.id, infobaseId: ib.id, user: 'Late' });
    const stale = await post(s, `/infobases/${ib.id}/terminate-all`, { count: '2' });
    expect(stale.status).toBe(409);
    expect(stale.text).toContain('now 3 sessions are open');
    expect(await t.db.selectFrom('sessions').select('id').where('closed_at', 'is not', null).execute()).toHaveLength(0);

    const res = await post(s, `/infobases/${ib.id}/terminate-all`, { count: '3' });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`/infobases/${ib.id}?done=terminated_all&n=3#sessions`);
    const closed = await t.db.selectFrom('sessions').select(['id', 'close_reason']).where('closed_at', 'is not', null).orderBy('id').execute();
    expect(closed.map((r) => r.id).sort()).toEqual([a.id, b.id, late.id].sort());
    expect(closed.every((r) => r.close_reason === 'terminated')).toBe(true);
    expect(await auditRows(t, 'session.terminate')).toHaveLength(3);
    expect((await get(s, res.headers.location)).text).toContain('3 sessions were terminated.');
    // The count in the URL is anyone's to write: one no action could give says nothing.
    const forged = await get(s, `/infobases/${ib.id}?done=terminated_all&n=-5`);
    expect(forged.text).not.toContain('sessions were terminated');
    expect(forged.text).not.toContain('class="msg ok"');
    expect((await get(s, res.headers.location.replace('#sessions', ''))).text).toContain('3 sessions were terminated.');
  });

  it('terminates one session of the infobase; one of another infobase is 404', async () => {
    const lic = await adminLicense(t);
    const host = await insertHost(t, lic.id);
    const ib = await insertInfobase(t, lic.clientId, 'Accounting');
    const other = await insertInfobase(t, lic.clientId, 'HR');
    const a = await insertSession(t, { licenseId: lic.id, hostId: host.id, infobaseId: ib.id });
    const b = await insertSession(t, { licenseId: lic.id, hostId: host.id, infobaseId: other.id });
    const s = await loginAs(t, 'admin');
    expect((await post(s, `/infobases/${ib.id}/sessions/${b.id}/terminate`)).status).toBe(404);
    const res = await post(s, `/infobases/${ib.id}/sessions/${a.id}/terminate`);
    expect(res.status).toBe(303);
    const rows = await t.db.selectFrom('sessions').select(['id', 'closed_at']).execute();
    expect(rows.find((r) => r.id === a.id)!.closed_at).toBe(t.clock.now());
    expect(rows.find((r) => r.id === b.id)!.closed_at).toBeNull();
  });

  describe('lock form', () => {
    it('locks with a window entered in the viewer’s time zone, stores UTC instants, and agents are refused with the message', async () => {
      const lic = await adminLicense(t, { maxHosts: 5 });
      const ib = await makeInfobase(t, lic.clientId, 'ib-acc', 'Accounting');
      const s = await loginAs(t, 'support');
      const page = await get(s, `/infobases/${ib}`, 'Europe/Moscow');
      expect(page.text).toContain('Times are in Europe/Moscow (UTC+03:00).');
      // Now is 10:00Z = 13:00 in Moscow.
      const res = await post(
        s,
        `/infobases/${ib}/lock`,
        { from: '2026-11-21T12:30', to: '2026-11-21T18:00', message: 'Closing the month', permissionCode: 'let-me-in', denySessions: '1' },
        'Europe/Moscow',
      );
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe(`/infobases/${ib}?done=locked`);
      expect(await ibRow(ib)).toMatchObject({
        lock_from: Date.parse('2026-11-21T09:30:00Z'),
        lock_to: Date.parse('2026-11-21T15:00:00Z'),
        lock_message: 'Closing the month',
        lock_code: expect.stringMatching(/^s1\$/),
        lock_deny_sessions: 1,
        lock_deny_background: 0,
        lock_set_by: s.user.email,
      });
      const [audit] = await auditRows(t, 'infobase.locked');
      expect(audit).toMatchObject({ target_type: 'infobase', target_id: String(ib), client_id: lic.clientId });
      expect(audit.details).not.toContain('let-me-in');

      const refused = await t.request.post('/api/v1/sessions').send(captureBody(lic.key, { infobase: { id: 'ib-acc', name: 'Accounting' } }));
      expect(refused.status).toBe(423);
      expect(refused.body.error.message).toBe('Closing the month');

      // The page shows the window back in the viewer's zone, never the code.
      const after = await get(s, res.headers.location, 'Europe/Moscow');
      expect(after.text).toContain('The lock was saved.');
      expect(after.text).toContain('value="2026-11-21T12:30"');
      expect(after.text).toContain('value="2026-11-21T18:00"');
      expect(after.text).toContain('set (not shown)');
      expect(after.text).not.toContain('let-me-in');
    });

    it('converts across a daylight-saving change (America/New_York, March 2027)', async () => {
      const lic = await adminLicense(t);
      const ib = await makeInfobase(t, lic.clientId, 'ib-ny', 'NY');
      t.clock.set(Date.parse('2027-03-13T12:00:00Z'));
      const s = await loginAs(t, 'admin');
      const res = await post(s, `/infobases/${ib}/lock`, { from: '2027-03-14T01:30', to: '2027-03-14T03:30', message: 'DST night', denySessions: '1' }, 'America/New_York');
      expect(res.status).toBe(303);
      // 01:30 EST (−5) and 03:30 EDT (−4): one hour apart in UTC.
      expect(await ibRow(ib)).toMatchObject({ lock_from: Date.parse('2027-03-14T06:30:00Z'), lock_to: Date.parse('2027-03-14T07:30:00Z') });
    });

    it('refuses a time the clocks skip (02:30 on the spring-forward night) by name, and takes a repeated one at its first reading', async () => {
      const lic = await adminLicense(t);
      const ib = await makeInfobase(t, lic.clientId, 'ib-ny', 'NY');
      t.clock.set(Date.parse('2027-03-13T12:00:00Z'));
      const s = await loginAs(t, 'admin');
      const skipped = await post(s, `/infobases/${ib}/lock`, { from: '2027-03-14T02:30', to: '', message: 'DST night' }, 'America/New_York');
      expect(skipped.status).toBe(400);
      expect(skipped.text).toContain('There is no such time in America/New_York');
      expect(skipped.text).toContain('value="2027-03-14T02:30"');
      expect(await ibRow(ib)).toMatchObject({ lock_set_at: null, lock_from: null });
      // 01:30 on 7 November 2027 happens twice (EDT, then EST): the first one, 05:30Z.
      const repeated = await post(s, `/infobases/${ib}/lock`, { from: '2027-11-07T01:30', to: '', message: 'DST night', denySessions: '1' }, 'America/New_York');
      expect(repeated.status).toBe(303);
      expect(await ibRow(ib)).toMatchObject({ lock_from: Date.parse('2027-11-07T05:30:00Z') });
    });

    it('refuses "to" before "from", "to" in the past, an empty message or a bad date with 400, storing nothing', async () => {
      const lic = await adminLicense(t);
      const ib = await makeInfobase(t, lic.clientId, 'ib-1', 'Accounting');
      const s = await loginAs(t, 'support');
      const cases: [Record<string, string>, string][] = [
        [{ from: '2026-11-21T16:00', to: '2026-11-21T15:00', message: 'x' }, '&quot;To&quot; must be later than &quot;from&quot;.'],
        [{ from: '', to: '2026-11-21T09:00', message: 'x' }, '&quot;To&quot; must be in the future.'],
        [{ from: '', to: '', message: '   ' }, 'Enter the message refused users will see.'],
        [{ from: '2026-02-30T10:00', to: '', message: 'x' }, 'Not a valid date and time.'],
        // Neither box ticked: a lock that refuses nothing.
        [{ from: '', to: '', message: 'x', denyBackgroundJobs: '' }, 'A lock must refuse new sessions, background jobs or both'],
      ];
      for (const [body, text] of cases) {
        const res = await post(s, `/infobases/${ib}/lock`, body);
        expect(res.status).toBe(400);
        expect(res.text).toContain('The lock was not saved');
        expect(res.text).toContain(text);
        // The form keeps what was typed.
        if (body.from) expect(res.text).toContain(`value="${body.from}"`);
      }
      expect(await ibRow(ib)).toMatchObject({ lock_set_at: null, lock_from: null, lock_to: null, lock_message: null });
      expect(await auditRows(t, 'infobase.locked')).toHaveLength(0);
    });

    it('refuses a permission code on a lock that does not refuse new sessions (a code never lifts a background-job refusal), and says so by the field', async () => {
      const lic = await adminLicense(t);
      const ib = await makeInfobase(t, lic.clientId, 'ib-1', 'Accounting');
      const s = await loginAs(t, 'support');
      const page = await get(s, `/infobases/${ib}`);
      expect(page.text).toContain('Only with &quot;Refuse new sessions&quot;');
      const res = await post(s, `/infobases/${ib}/lock`, { from: '', to: '', message: 'Jobs off', permissionCode: 'let-me-in', denyBackgroundJobs: '1' });
      expect(res.status).toBe(400);
      expect(res.text).toContain('id="lock-permissionCode-error"');
      expect(res.text).toContain('A code only lets sessions through a lock that refuses new sessions');
      expect(await ibRow(ib)).toMatchObject({ lock_set_at: null });
      // Without the code, or with new sessions refused too, it is saved.
      expect((await post(s, `/infobases/${ib}/lock`, { message: 'Jobs off', denyBackgroundJobs: '1' })).status).toBe(303);
      expect(await ibRow(ib)).toMatchObject({ lock_deny_sessions: 0, lock_deny_background: 1, lock_code: null });
      expect((await post(s, `/infobases/${ib}/lock`, { message: 'All off', permissionCode: 'let-me-in', denySessions: '1', denyBackgroundJobs: '1' })).status).toBe(303);
      expect(await ibRow(ib)).toMatchObject({ lock_deny_sessions: 1, lock_deny_background: 1, lock_code: expect.stringMatching(/^s1\$/) });
    });

    it('a new lock replaces the whole old one: no stale window, code or flags survive', async () => {
      const lic = await adminLicense(t);
      const now = t.clock.now();
      const ib = await makeInfobase(t, lic.clientId, 'ib-1', 'Accounting', { from: now - HOUR, to: now + HOUR, message: 'Old', code: 'old-code', denyBackground: true });
      const s = await loginAs(t, 'admin');
      const page = await get(s, `/infobases/${ib}`);
      // The form starts from the current lock, the code is never echoed.
      expect(page.text).toContain('>Old</textarea>');
      expect(page.text).toContain('name="denyBackgroundJobs" value="1" checked=""');
      expect(page.text).not.toContain('old-code');
      const res = await post(s, `/infobases/${ib}/lock`, { from: '', to: '', message: 'Until further notice', denySessions: '1' });
      expect(res.status).toBe(303);
      expect(await ibRow(ib)).toMatchObject({
        lock_from: null,
        lock_to: null,
        lock_message: 'Until further notice',
        lock_code: null,
        lock_deny_sessions: 1,
        lock_deny_background: 0,
        lock_set_at: now,
      });
    });

    it('saving the lock form with the window untouched keeps the stored instants exactly', async () => {
      const lic = await adminLicense(t);
      const now = t.clock.now();
      // Seconds the datetime-local fields do not show.
      const from = now - HOUR - 17_250;
      const to = now + HOUR + 42_500;
      const ib = await makeInfobase(t, lic.clientId, 'ib-1', 'Accounting', { from, to, message: 'Month end' });
      const s = await loginAs(t, 'admin');
      for (const tz of ['UTC', 'Europe/Moscow']) {
        const page = await get(s, `/infobases/${ib}`, tz);
        const shown = (name: string) => new RegExp(`name="${name}"[^>]*value="([^"]*)"`).exec(page.text)?.[1] ?? '';
        expect(shown('from')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d$/);
        const res = await post(s, `/infobases/${ib}/lock`, { from: shown('from'), to: shown('to'), message: 'Month end', denySessions: '1' }, tz);
        expect(res.status).toBe(303);
        expect(await ibRow(ib)).toMatchObject({ lock_from: from, lock_to: to });
      }
      // A minute typed in is that minute.
      await post(s, `/infobases/${ib}/lock`, { from: '', to: '2026-11-21T12:00', message: 'Month end', denySessions: '1' });
      expect(await ibRow(ib)).toMatchObject({ lock_from: null, lock_to: Date.parse('2026-11-21T12:00:00Z') });
    });

    it('an expired lock does not pre-fill the form', async () => {
      const lic = await adminLicense(t);
      const now = t.clock.now();
      const ib = await makeInfobase(t, lic.clientId, 'ib-1', 'Accounting', { from: now - 2 * HOUR, to: now - HOUR, message: 'Yesterday' });
      const s = await loginAs(t, 'admin');
      const page = await get(s, `/infobases/${ib}`);
      expect(page.text).toContain('Lock over');
      expect(page.text).not.toContain('>Yesterday</textarea>');
    });

    it('when the window ends while the page is open, the refresh replaces the form filled from it (no ended window), and only then', async () => {
      const lic = await adminLicense(t);
      const now = t.clock.now();
      const ib = await makeInfobase(t, lic.clientId, 'ib-1', 'Accounting', { to: now + 2 * 60_000, message: 'Short one' });
      const s = await loginAs(t, 'support');
      const page = await get(s, `/infobases/${ib}`);
      expect(page.text).toContain('value="2026-11-21T10:02"');
      const poller = /<div hidden="" hx-get="[^"]+" hx-trigger="every 10s" hx-swap="none" hx-select-oob="([^"]+)" hx-include="([^"]+)"/.exec(page.text);
      expect(poller?.[1].split(',')).toContain('#lock-form-card');
      const basisOf = (html: string) => new RegExp(`<input type="hidden" id="${poller![2].slice(1)}" name="formFor" value="([^"]+)"`).exec(html)?.[1] ?? '';
      const basis = basisOf(page.text);
      expect(basis).not.toBe('');
      const poll = (v: string) => get(s, `/infobases/${ib}?formFor=${encodeURIComponent(v)}`).set('HX-Request', 'true').set('X-Auto-Refresh', '1');
      // While the lock is as the form was filled from it, the refresh leaves the form alone (it may be half typed).
      expect((await poll(basis)).text).not.toContain('id="lock-form-card"');
      t.clock.advance(3 * 60_000);
      const over = await poll(basis);
      expect(over.text).toContain('Lock over');
      const card = /<section class="card" id="lock-form-card">[\s\S]*?<\/section>/.exec(over.text)?.[0] ?? '';
      expect(card).toContain('name="to" type="datetime-local" value=""');
      expect(card).not.toContain('>Short one</textarea>');
      expect(basisOf(over.text)).not.toBe(basis);
      expect((await poll(basisOf(over.text))).text).not.toContain('id="lock-form-card"');
    });

    it('"The lock was saved." stays through the refresh while that lock stands, and goes when it ends', async () => {
      const lic = await adminLicense(t);
      const ib = await makeInfobase(t, lic.clientId, 'ib-1', 'Accounting');
      const s = await loginAs(t, 'support');
      const saved = await post(s, `/infobases/${ib}/lock`, { to: '2026-11-21T10:02', message: 'Short one', denySessions: '1' });
      const page = await get(s, saved.headers.location);
      expect(page.text).toContain('The lock was saved.');
      const poller = /<div hidden="" hx-get="[^"]+" hx-trigger="every 10s" hx-swap="none" hx-select-oob="([^"]+)" hx-include="[^"]+"/.exec(page.text);
      expect(poller?.[1].split(',')).toContain('#ib-notice');
      expect(/<div id="ib-notice">[\s\S]*?<\/div>/.exec(page.text)?.[0]).toContain('The lock was saved.');
      const basis = /name="formFor" value="([^"]+)"/.exec(page.text)![1];
      const poll = () => get(s, `/infobases/${ib}?formFor=${encodeURIComponent(basis)}`).set('HX-Request', 'true').set('X-Auto-Refresh', '1');
      // The refresh leaves it alone (not even swapped again: it would take the focus every 10 s).
      expect((await poll()).text).not.toContain('id="ib-notice"');
      t.clock.advance(3 * 60_000);
      const over = await poll();
      expect(over.text).toContain('Lock over');
      expect(over.text).toContain('<div id="ib-notice"></div>');
    });

    it('the unlock confirm of an ended, a scheduled or a background-jobs-only lock says what it really changes', async () => {
      const lic = await adminLicense(t);
      const now = t.clock.now();
      const over = await makeInfobase(t, lic.clientId, 'ib-1', 'Accounting', { from: now - 2 * HOUR, to: now - HOUR, message: 'Yesterday' });
      const later = await makeInfobase(t, lic.clientId, 'ib-2', 'Payroll', { from: now + HOUR, message: 'Tonight' });
      const jobs = await makeInfobase(t, lic.clientId, 'ib-3', 'Stock', { denySessions: false, denyBackground: true, message: 'Jobs off' });
      const s = await loginAs(t, 'support');
      const confirmOf = async (id: number) => /data-confirm="([^"]+)"><input type="hidden" name="_csrf" value="[^"]+"\/?><input type="hidden" name="lockSetAt" value="\d+"\/?><button>Unlock/.exec((await get(s, `/infobases/${id}`)).text)?.[1];
      expect(await confirmOf(over)).toBe('Remove the ended lock of Accounting? It no longer refuses anything: new sessions are already allowed.');
      expect(await confirmOf(later)).toBe('Cancel the scheduled lock of Payroll? It will not start; new sessions are allowed now too.');
      expect(await confirmOf(jobs)).toBe('Remove the lock of Stock? Background jobs will be allowed at once (new sessions already are).');
    });

    it('unlocks (audited); unlocking an unlocked base writes nothing', async () => {
      const lic = await adminLicense(t);
      const ib = await makeInfobase(t, lic.clientId, 'ib-1', 'Accounting', { message: 'Locked' });
      const s = await loginAs(t, 'support');
      const page = await get(s, `/infobases/${ib}`);
      expect(page.text).toContain('data-confirm="Remove the lock of Accounting? New sessions will be allowed at once."');
      const res = await post(s, `/infobases/${ib}/unlock`);
      expect(res.status).toBe(303);
      expect(await ibRow(ib)).toMatchObject({ lock_set_at: null, lock_message: null, lock_code: null });
      expect(await auditRows(t, 'infobase.unlocked')).toHaveLength(1);
      await post(s, `/infobases/${ib}/unlock`);
      expect(await auditRows(t, 'infobase.unlocked')).toHaveLength(1);
      expect((await get(s, `/infobases/${ib}?done=unlocked`)).text).toContain('The lock was removed.');
    });

    it('an Unlock confirmed on one lock leaves a lock set anew meanwhile, and says so (staff and cabinet)', async () => {
      const lic = await adminLicense(t);
      const ib = await makeInfobase(t, lic.clientId, 'ib-1', 'Accounting', { message: 'Old lock' });
      for (const [who, base] of [
        [await loginAs(t, 'support'), `/infobases/${ib}`],
        [await loginAs(t, 'client', { clientId: lic.clientId }), `/cabinet/infobases/${ib}`],
      ] as const) {
        await t.db.updateTable('infobases').set({ lock_set_at: t.clock.now(), lock_message: 'Old lock' }).where('id', '=', ib).execute();
        const page = (await get(who, base)).text;
        const setAt = /name="lockSetAt" value="(\d+)"/.exec(page)![1];
        // Another person sets a new lock while the confirm is open.
        t.clock.advance(1000);
        await t.db.updateTable('infobases').set({ lock_set_at: t.clock.now(), lock_message: 'Month closing' }).where('id', '=', ib).execute();
        const res = await post(who, `${base}/unlock`, { lockSetAt: setAt });
        expect(res.status).toBe(409);
        expect(res.text).toContain('Nothing was unlocked: the lock was set anew meanwhile.');
        expect(res.text).toContain('Month closing');
        expect(await ibRow(ib)).toMatchObject({ lock_message: 'Month closing' });
        // Confirmed on the lock that stands, it goes.
        const again = /name="lockSetAt" value="(\d+)"/.exec(res.text)![1];
        expect((await post(who, `${base}/unlock`, { lockSetAt: again })).status).toBe(303);
        expect(await ibRow(ib)).toMatchObject({ lock_set_at: null });
      }
    });
  });

  it('is staff only: client users get 404 (their own infobases live in the cabinet)', async () => {
    const lic = await adminLicense(t);
    const ib = await makeInfobase(t, lic.clientId, 'ib-1', 'Accounting');
    const c = await loginAs(t, 'client', { clientId: lic.clientId });
    expect((await get(c, '/infobases')).status).toBe(404);
    expect((await get(c, `/infobases/${ib}`)).status).toBe(404);
    expect((await post(c, `/infobases/${ib}/lock`, { message: 'x' })).status).toBe(404);
    expect((await ibRow(ib)).lock_set_at).toBeNull();
  });
});
