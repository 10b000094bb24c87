import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loginAs, makeApp, type TestApp } from '../../helpers/app.js';
import { seedHost, seedLicense, seedPackage, seedPool, seedSession, seedSessions, seedShared } from '../../helpers/monitor-data.js';

type Login = Awaited<ReturnType<typeof loginAs>>;

describe('monitor actions', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.close());

  async function world() {
    const a = await seedLicense(t, { clientName: 'Acme' });
    const b = await seedLicense(t, { clientName: 'Globex' });
    const hostA = await seedHost(t, a.licenseId, { hostname: 'ACC-SRV-01' });
    const hostB = await seedHost(t, b.licenseId, { hostname: 'GLB-SRV' });
    const runner = await seedSession(t, { ...a, hostId: hostA, user: 'Ivanov' });
    await seedPackage(t, runner, { id: 'p-run', name: 'sales', path: '/projects/sales.lgp', state: 'running', progress: 5 });
    await seedPackage(t, runner, { id: 'p-idle', name: 'hr', path: '/projects/hr.lgp' });
    const idle = await seedSession(t, { ...a, hostId: hostA, user: 'Petrov' });
    const foreign = await seedSession(t, { ...b, hostId: hostB, user: 'Smith' });
    return { a, b, hostA, hostB, runner, idle, foreign };
  }

  const post = (s: Login, url: string, body: Record<string, string> = {}) => t.request.post(url).set('Cookie', s.cookie).type('form').send({ _csrf: s.csrf, ...body });
  const hxPost = (s: Login, url: string, body: Record<string, string> = {}) =>
    t.request.post(url).set('Cookie', s.cookie).set('HX-Request', 'true').set('X-CSRF-Token', s.csrf).type('form').send(body);
  const session = (id: string) => t.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const audit = (action: string) => t.db.selectFrom('audit_log').selectAll().where('action', '=', action).execute();
  const commands = (id: string) => t.db.selectFrom('commands').selectAll().where('session_id', '=', id).orderBy('seq').execute();

  describe('terminate', () => {
    it('the confirm step says what happens to how many sessions, as a dialog fragment or a page', async () => {
      const w = await world();
      const s = await loginAs(t, 'support');
      const dialog = await t.request.get(`/monitor/confirm?do=terminate&session=${w.idle}&back=q%3Dpet`).set('Cookie', s.cookie).set('HX-Request', 'true');
      expect(dialog.status).toBe(200);
      expect(dialog.text.startsWith('<form method="post"')).toBe(true);
      expect(dialog.text).toContain(`action="/monitor/sessions/${w.idle}/terminate"`);
      expect(dialog.text).toContain('1 session (Petrov #');
      expect(dialog.text).toContain('name="message"');
      expect(dialog.text).toContain('name="back" value="q=pet"');
      const page = await t.request.get(`/monitor/confirm?do=terminate&session=${w.idle}`).set('Cookie', s.cookie);
      expect(page.text).toContain('<html');
      expect(page.text).toContain('Terminate the session?');
    });

    it('support terminates a session with a message; it leaves the list and the audit log has it', async () => {
      const w = await world();
      const s = await loginAs(t, 'support');
      const res = await post(s, `/monitor/sessions/${w.idle}/terminate`, { message: 'Please restart', back: 'q=pet' });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/monitor?q=pet&done=terminated&n=1');
      const row = await session(w.idle);
      expect(row.closed_at).not.toBeNull();
      expect(row.close_reason).toBe('terminated');
      expect(row.close_message).toBe('Please restart');
      const entries = await audit('session.terminate');
      expect(entries).toHaveLength(1);
      expect(entries[0].actor_name).toBe(s.user.email);
      expect(entries[0].target_id).toBe(w.idle);
      const page = await t.request.get(res.headers.location).set('Cookie', s.cookie);
      expect(page.text).toContain('Session terminated.');
      expect(page.text).not.toContain(`data-session-id="${w.idle}"`);
    });

    it('through htmx the answer is the refreshed list with a notice and a validator', async () => {
      const w = await world();
      const s = await loginAs(t, 'admin');
      const res = await hxPost(s, `/monitor/sessions/${w.idle}/terminate`, { back: '' });
      expect(res.status).toBe(200);
      expect(res.text.startsWith('<div id="monitor-live"')).toBe(true);
      expect(res.text).toContain('Session terminated.');
      expect(res.text).not.toContain(`data-session-id="${w.idle}"`);
      expect(res.text).toContain(`data-session-id="${w.runner}"`);
      expect(res.headers['etag']).toBeTruthy();
    });

    it('a client user terminates their own client’s session; another client’s answers 404 and stays open', async () => {
      const w = await world();
      const s = await loginAs(t, 'client', { clientId: w.a.clientId });
      expect((await post(s, `/monitor/sessions/${w.idle}/terminate`)).status).toBe(303);
      expect((await session(w.idle)).close_reason).toBe('terminated');
      const foreign = await post(s, `/monitor/sessions/${w.foreign}/terminate`);
      expect(foreign.status).toBe(404);
      expect((await session(w.foreign)).closed_at).toBeNull();
      const confirm = await t.request.get(`/monitor/confirm?do=terminate&session=${w.foreign}`).set('Cookie', s.cookie);
      expect(confirm.status).toBe(404);
      expect(await audit('session.terminate')).toHaveLength(1);
    });
  });

  describe('a target gone meanwhile', () => {
    const gone = 'data-gone=""';
    it('a confirmed action on a session closed meanwhile says it is no longer there, with a way out, not a bare error', async () => {
      const w = await world();
      const s = await loginAs(t, 'support');
      expect((await post(s, `/monitor/sessions/${w.idle}/terminate`)).status).toBe(303);
      const again = await hxPost(s, `/monitor/sessions/${w.idle}/terminate`, { back: 'q=pet' });
      expect(again.status).toBe(404);
      expect(again.text).toContain(gone);
      expect(again.text).toContain('<h2 id="monitor-dialog-title">No longer there</h2>');
      expect(again.text).toContain('This session is no longer there');
      expect(again.text).toMatch(/<a class="button" href="\/monitor\?q=pet" data-close="">Close<\/a>/);
      // A stop or message to it: the same words; so is the confirm step asked for it now.
      expect((await hxPost(s, `/monitor/sessions/${w.idle}/stop`)).text).toContain('This session is no longer there');
      const step = await t.request.get(`/monitor/confirm?do=terminate&session=${w.idle}`).set('Cookie', s.cookie).set('HX-Request', 'true');
      expect(step.status).toBe(404);
      expect(step.text).toContain(gone);
      // Without JavaScript: a page saying so, its link back to the monitor.
      const page = await post(s, `/monitor/sessions/${w.idle}/terminate`);
      expect(page.status).toBe(404);
      expect(page.text).toContain('<html');
      expect(page.text).toContain('This session is no longer there');
    });

    it('a package that ended: its confirm step and its action say the package is gone, in Russian too', async () => {
      const w = await world();
      const s = await loginAs(t, 'admin');
      await t.db.deleteFrom('packages').where('session_id', '=', w.runner).where('package_id', '=', 'p-idle').execute();
      const res = await hxPost(s, `/monitor/sessions/${w.runner}/packages/p-idle/close`);
      expect(res.status).toBe(404);
      expect(res.text).toContain('This package is no longer open in its session');
      const ru = await t.request.get(`/monitor/confirm?do=close-package&session=${w.runner}&pkg=p-idle`).set('Cookie', s.cookie).set('HX-Request', 'true').set('Accept-Language', 'ru');
      expect(ru.status).toBe(404);
      expect(ru.text).toContain('Этот пакет уже не открыт в своём сеансе');
    });

    it('a refusal for want of permission stays a bare 404, not "no longer there"', async () => {
      const w = await world();
      const c = await loginAs(t, 'client', { clientId: w.a.clientId });
      const res = await hxPost(c, `/monitor/sessions/${w.runner}/packages/p-run/stop`);
      expect(res.status).toBe(404);
      expect(res.text).not.toContain(gone);
    });
  });

  describe('stop, close package, message', () => {
    it('stop on a running session queues a stop command, audited; on an idle one it is refused with the reason', async () => {
      const w = await world();
      const s = await loginAs(t, 'support');
      expect((await post(s, `/monitor/sessions/${w.runner}/stop`)).status).toBe(303);
      const cmds = await commands(w.runner);
      expect(cmds.map((c) => [c.type, c.package_id])).toEqual([['stop', null]]);
      expect(await audit('session.command.stop')).toHaveLength(1);

      const confirm = await t.request.get(`/monitor/confirm?do=stop&session=${w.idle}`).set('Cookie', s.cookie).set('HX-Request', 'true');
      expect(confirm.text).toContain('Nothing is running there now.');
      expect(confirm.text).not.toContain('<button class="primary">');
      const refused = await hxPost(s, `/monitor/sessions/${w.idle}/stop`);
      expect(refused.status).toBe(409);
      expect(refused.text).toContain('id="monitor-confirm"');
      expect(await commands(w.idle)).toHaveLength(0);
    });

    it('a refused stop says why once, in either language', async () => {
      const w = await world();
      const s = await loginAs(t, 'support');
      const alerts = (html: string) => [...html.matchAll(/role="alert">\s*([^<]*)</g)].map((m) => m[1].trim());
      expect(alerts((await hxPost(s, `/monitor/sessions/${w.idle}/stop`)).text)).toEqual(['Nothing is running there now.']);
      expect(alerts((await hxPost(s, `/monitor/sessions/${w.runner}/packages/p-idle/stop`)).text)).toEqual(['Nothing is running there now.']);
      const ru = await t.request.post(`/monitor/sessions/${w.idle}/stop`).set('Cookie', `${s.cookie}; sm_lang=ru`).type('form').send({ _csrf: s.csrf });
      expect(ru.status).toBe(409);
      expect(alerts(ru.text)).toEqual(['Сейчас там ничего не выполняется.']);
    });

    it('cuts a message, a termination message and a reset reason to the dialog’s 500 characters', async () => {
      const w = await world();
      const s = await loginAs(t, 'support');
      const long = 'x'.repeat(100_000);
      expect((await post(s, `/monitor/sessions/${w.idle}/message`, { text: long })).status).toBe(303);
      expect((await commands(w.idle))[0].text).toBe('x'.repeat(500));
      expect((await post(s, `/monitor/sessions/${w.idle}/terminate`, { message: long })).status).toBe(303);
      expect((await session(w.idle)).close_message).toBe('x'.repeat(500));
      expect((await post(s, `/monitor/hosts/${w.hostA}/reset`, { reason: long })).status).toBe(303);
      const host = await t.db.selectFrom('hosts').selectAll().where('id', '=', w.hostA).executeTakeFirstOrThrow();
      expect(host.reset_reason).toBe('x'.repeat(500));
      expect((await audit('host.reset'))[0].reason).toBe('x'.repeat(500));
    });

    it('the row shows the requested stop until the agent acknowledges it', async () => {
      const w = await world();
      const s = await loginAs(t, 'admin');
      await post(s, `/monitor/sessions/${w.runner}/stop`);
      const page = await t.request.get(`/monitor?open=${w.runner}`).set('Cookie', s.cookie);
      expect(page.text).toMatch(new RegExp(`<tr data-session-id="${w.runner}"[^>]*>.*?stop requested`));
    });

    it('stops and closes one package; a client user may not (404)', async () => {
      const w = await world();
      const s = await loginAs(t, 'admin');
      expect((await post(s, `/monitor/sessions/${w.runner}/packages/p-run/stop`)).status).toBe(303);
      expect((await post(s, `/monitor/sessions/${w.runner}/packages/p-idle/close`)).status).toBe(303);
      const cmds = await commands(w.runner);
      expect(cmds.map((c) => [c.type, c.package_id, c.path])).toEqual([
        ['stop', 'p-run', null],
        ['closePackage', 'p-idle', '/projects/hr.lgp'],
      ]);
      expect(await audit('session.command.closePackage')).toHaveLength(1);
      const page = await t.request.get(`/monitor?open=${w.runner}`).set('Cookie', s.cookie);
      expect(page.text).toMatch(/data-package-id="p-idle"[^>]*><td class="pn">hr<span class="badge warn">close requested/);

      const c = await loginAs(t, 'client', { clientId: w.a.clientId });
      expect((await post(c, `/monitor/sessions/${w.runner}/packages/p-run/stop`)).status).toBe(404);
      expect((await post(c, `/monitor/sessions/${w.runner}/stop`)).status).toBe(404);
      expect((await t.request.get(`/monitor/confirm?do=close-package&session=${w.runner}&pkg=p-idle`).set('Cookie', c.cookie)).status).toBe(404);
      expect(await commands(w.runner)).toHaveLength(2);
    });

    it('sends a message; an empty text is refused and nothing is queued', async () => {
      const w = await world();
      const s = await loginAs(t, 'support');
      const empty = await post(s, `/monitor/sessions/${w.idle}/message`, { text: '  ' });
      expect(empty.status).toBe(400);
      expect(empty.text).toContain('Please fill in the required field.');
      expect(await commands(w.idle)).toHaveLength(0);
      expect((await post(s, `/monitor/sessions/${w.idle}/message`, { text: 'Save your work, restart at 18:00' })).status).toBe(303);
      const cmds = await commands(w.idle);
      expect(cmds.map((c) => [c.type, c.text])).toEqual([['message', 'Save your work, restart at 18:00']]);
    });
  });

  describe('reset binding, pool, shared packages', () => {
    it('reset asks for a reason, says how many sessions it closes, and is audited with the reason', async () => {
      const w = await world();
      const s = await loginAs(t, 'support');
      const confirm = await t.request.get(`/monitor/confirm?do=reset&session=${w.idle}`).set('Cookie', s.cookie).set('HX-Request', 'true');
      expect(confirm.text).toContain('2 open sessions on it are closed');
      expect(confirm.text).toContain(`action="/monitor/hosts/${w.hostA}/reset"`);
      expect(confirm.text).toMatch(/<textarea id="confirm-reason" name="reason" required=""/);

      const noReason = await hxPost(s, `/monitor/hosts/${w.hostA}/reset`, { reason: '' });
      expect(noReason.status).toBe(400);
      expect(noReason.text).toContain('id="monitor-confirm"');
      const host = await t.db.selectFrom('hosts').selectAll().where('id', '=', w.hostA).executeTakeFirstOrThrow();
      expect(host.reset_at).toBeNull();

      const done = await post(s, `/monitor/hosts/${w.hostA}/reset`, { reason: 'Server replaced' });
      expect(done.status).toBe(303);
      expect(done.headers.location).toBe('/monitor?done=reset&n=2');
      expect((await session(w.runner)).close_reason).toBe('binding_reset');
      expect((await session(w.idle)).close_reason).toBe('binding_reset');
      const entries = await audit('host.reset');
      expect(entries.map((e) => e.reason)).toEqual(['Server replaced']);
      expect((await session(w.foreign)).closed_at).toBeNull();
    });

    it('a client user may not reset from the monitor (404)', async () => {
      const w = await world();
      const c = await loginAs(t, 'client', { clientId: w.a.clientId });
      expect((await post(c, `/monitor/hosts/${w.hostA}/reset`, { reason: 'x' })).status).toBe(404);
      expect((await t.request.get(`/monitor/confirm?do=reset&session=${w.idle}`).set('Cookie', c.cookie)).status).toBe(404);
      const host = await t.db.selectFrom('hosts').select('reset_at').where('id', '=', w.hostA).executeTakeFirstOrThrow();
      expect(host.reset_at).toBeNull();
    });

    it('clears a host’s package pool and tells its live sessions; audited', async () => {
      const w = await world();
      await seedPool(t, w.hostA, '/batch/a.lgp');
      await seedPool(t, w.hostA, '/batch/b.lgp');
      await seedPool(t, w.hostB, '/batch/c.lgp');
      const s = await loginAs(t, 'support');
      const confirm = await t.request.get(`/monitor/confirm?do=clear-pool&host=${w.hostA}`).set('Cookie', s.cookie).set('HX-Request', 'true');
      expect(confirm.text).toContain('2 pooled packages of host ACC-SRV-01 are dropped');
      expect((await post(s, `/monitor/hosts/${w.hostA}/pool/clear`)).status).toBe(303);
      const left = await t.db.selectFrom('pool_entries').select('host_id').execute();
      expect(left.map((r) => r.host_id)).toEqual([w.hostB]);
      expect((await commands(w.idle)).map((c) => c.type)).toEqual(['clearPool']);
      expect(await audit('host.pool_clear')).toHaveLength(1);
      const c = await loginAs(t, 'client', { clientId: w.b.clientId });
      expect((await post(c, `/monitor/hosts/${w.hostB}/pool/clear`)).status).toBe(404);
    });

    it('clears every host’s pool at once after a confirm counting them; the button shows with several hosts; audited', async () => {
      const w = await world();
      await seedPool(t, w.hostA, '/batch/a.lgp');
      await seedPool(t, w.hostA, '/batch/b.lgp');
      await seedPool(t, w.hostB, '/batch/c.lgp');
      const s = await loginAs(t, 'support');
      const page = await t.request.get('/monitor').set('Cookie', s.cookie);
      expect(page.text).toContain('do=clear-all-pools');
      const confirm = await t.request.get('/monitor/confirm?do=clear-all-pools').set('Cookie', s.cookie).set('HX-Request', 'true');
      expect(confirm.text).toContain('3 pooled packages on 2 hosts are dropped');
      expect(confirm.text).toContain('action="/monitor/pools/clear"');
      const res = await post(s, '/monitor/pools/clear');
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/monitor?done=pools_cleared&n=2');
      expect(await t.db.selectFrom('pool_entries').select('id').execute()).toEqual([]);
      expect((await commands(w.idle)).map((c) => c.type)).toEqual(['clearPool']);
      expect((await commands(w.foreign)).map((c) => c.type)).toEqual(['clearPool']);
      expect(await audit('host.pool_clear_all')).toHaveLength(1);
      // Nothing left: the dialog says so instead of offering the button.
      const again = await t.request.get('/monitor/confirm?do=clear-all-pools').set('Cookie', s.cookie).set('HX-Request', 'true');
      expect(again.text).toContain('The package pools are already empty.');
    });

    it('clear all pools is for staff: a client user gets 404 and nothing is cleared', async () => {
      const w = await world();
      await seedPool(t, w.hostA, '/batch/a.lgp');
      const c = await loginAs(t, 'client', { clientId: w.a.clientId });
      expect((await t.request.get('/monitor/confirm?do=clear-all-pools').set('Cookie', c.cookie)).status).toBe(404);
      expect((await post(c, '/monitor/pools/clear')).status).toBe(404);
      expect(await t.db.selectFrom('pool_entries').select('id').execute()).toHaveLength(1);
    });

    it('closes a shared package only at reference count 1; above it the dialog explains and the POST is refused', async () => {
      const w = await world();
      await seedShared(t, w.hostA, '/shared/free.lgp');
      await seedShared(t, w.hostA, '/shared/used.lgp');
      await seedPackage(t, w.idle, { refs: ['/shared/used.lgp'] });
      const s = await loginAs(t, 'admin');
      const used = await t.request.get(`/monitor/confirm?do=close-shared&host=${w.hostA}&path=%2Fshared%2Fused.lgp`).set('Cookie', s.cookie).set('HX-Request', 'true');
      expect(used.text).toContain('Referenced by 1 more package');
      const refused = await hxPost(s, `/monitor/hosts/${w.hostA}/shared/close`, { path: '/shared/used.lgp' });
      expect(refused.status).toBe(409);
      const ok = await post(s, `/monitor/hosts/${w.hostA}/shared/close`, { path: '/shared/free.lgp' });
      expect(ok.status).toBe(303);
      const left = await t.db.selectFrom('shared_packages').select('path').execute();
      expect(left.map((r) => r.path)).toEqual(['/shared/used.lgp']);
      expect((await commands(w.idle)).map((c) => [c.type, c.path])).toEqual([['closePackage', '/shared/free.lgp']]);
      expect(await audit('host.shared_package_close')).toHaveLength(1);
    });
  });

  describe('terminate all', () => {
    async function many() {
      const l = await seedLicense(t, { clientName: 'Acme' });
      const h = await seedHost(t, l.licenseId);
      const ivanovs = await seedSessions(t, 3, { ...l, hostId: h, user: 'ivanov' });
      const others = await seedSessions(t, 2, { ...l, hostId: h, user: 'petrov' });
      return { l, h, ivanovs, others };
    }
    const confirmOf = async (s: Login, back: string) => {
      const res = await t.request.get(`/monitor/confirm?do=terminate-all&back=${encodeURIComponent(back)}`).set('Cookie', s.cookie).set('HX-Request', 'true');
      const hidden = (name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(res.text)?.[1] ?? '';
      return { res, asOf: hidden('asOf'), digest: hidden('digest'), count: hidden('count') };
    };

    it('terminates exactly the sessions the dialog counted, not one opened after the count', async () => {
      const d = await many();
      const s = await loginAs(t, 'support');
      const c = await confirmOf(s, 'q=ivanov');
      expect(c.res.text).toContain('3 sessions that the current filter shows are closed');
      expect(c.count).toBe('3');
      t.clock.advance(2000);
      const late = await seedSession(t, { ...d.l, hostId: d.h, user: 'ivanov-late', startedAt: t.clock.now() });
      const res = await post(s, '/monitor/terminate-all', { back: 'q=ivanov', asOf: c.asOf, digest: c.digest, count: c.count, message: 'Maintenance' });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/monitor?q=ivanov&done=terminated_all&n=3');
      for (const id of d.ivanovs) expect((await session(id)).close_message).toBe('Maintenance');
      expect((await session(late)).closed_at).toBeNull();
      for (const id of d.others) expect((await session(id)).closed_at).toBeNull();
      expect(await audit('session.terminate')).toHaveLength(3);
    });

    it('a counted session that closed meanwhile is simply not there to close', async () => {
      const d = await many();
      const s = await loginAs(t, 'admin');
      const c = await confirmOf(s, 'q=ivanov');
      t.clock.advance(1000);
      await post(s, `/monitor/sessions/${d.ivanovs[0]}/terminate`);
      t.clock.advance(1000);
      const res = await post(s, '/monitor/terminate-all', { back: 'q=ivanov', asOf: c.asOf, digest: c.digest, count: c.count });
      expect(res.headers.location).toBe('/monitor?q=ivanov&done=terminated_all&n=2');
    });

    it('says a count only as an action could have given it: not from a negative, fractional or missing n', async () => {
      const s = await loginAs(t, 'admin');
      const notice = async (query: string) => /<p class="msg ok" role="status">\s*([^<]*)</.exec((await t.request.get(`/monitor?${query}`).set('Cookie', s.cookie)).text)?.[1].trim() ?? null;
      expect(await notice('done=terminated_all&n=3')).toBe('3 sessions terminated.');
      expect(await notice('done=terminated_all&n=0')).toBe('0 sessions terminated.');
      for (const n of ['-5', '2.5', '1e3', 'x', '', ' 3']) expect(await notice(`done=terminated_all&n=${encodeURIComponent(n)}`), n).toBeNull();
      expect(await notice('done=terminated_all')).toBeNull();
    });

    it('refuses a stale or forged count and asks to confirm the new one', async () => {
      await many();
      const s = await loginAs(t, 'admin');
      const c = await confirmOf(s, 'q=ivanov');
      const res = await hxPost(s, '/monitor/terminate-all', { back: 'q=petrov', asOf: c.asOf, digest: c.digest, count: c.count });
      expect(res.status).toBe(409);
      expect(res.text).toContain('it now shows 2 sessions');
      expect(res.text).toMatch(/name="count" value="2"/);
      const open = await t.db.selectFrom('sessions').select('id').where('closed_at', 'is', null).execute();
      expect(open).toHaveLength(5);
    });

    it('support needs a non-empty filter; an admin does not; a client user may not at all', async () => {
      const d = await many();
      const support = await loginAs(t, 'support');
      const c = await confirmOf(support, '');
      expect(c.res.text).toContain('Narrow the list with a search or a filter first');
      // The refusal alone: no count of sessions that will not be closed.
      expect(c.res.text).not.toMatch(/sessions that the current filter shows are closed/);
      const refused = await post(support, '/monitor/terminate-all', { back: '', asOf: c.asOf, digest: c.digest, count: c.count });
      expect(refused.status).toBe(403);
      expect(await t.db.selectFrom('sessions').select('id').where('closed_at', 'is', null).execute()).toHaveLength(5);

      const client = await loginAs(t, 'client', { clientId: d.l.clientId });
      expect((await t.request.get('/monitor/confirm?do=terminate-all&back=q%3Divanov').set('Cookie', client.cookie)).status).toBe(404);
      expect((await post(client, '/monitor/terminate-all', { back: 'q=ivanov', asOf: c.asOf, digest: c.digest, count: c.count })).status).toBe(404);

      const admin = await loginAs(t, 'admin');
      const a = await confirmOf(admin, '');
      expect(a.count).toBe('5');
      const res = await post(admin, '/monitor/terminate-all', { back: '', asOf: a.asOf, digest: a.digest, count: a.count });
      expect(res.headers.location).toBe('/monitor?done=terminated_all&n=5');
    });
  });

  describe('agent-supplied strings are escaped everywhere', () => {
    it('user, hostname, IPs, package path and name, infobase, fingerprint, app name', async () => {
      const x = (tag: string) => `<img src=x onerror=alert('${tag}')>`;
      const l = await seedLicense(t, { clientName: x('client') });
      const h = await seedHost(t, l.licenseId, { hostname: x('bound'), components: { [x('fpkey')]: x('fpvalue') } });
      const id = await seedSession(t, {
        ...l,
        hostId: h,
        user: `<script>alert('user')</script>`,
        clientSessionId: `"><b>csid`,
        machineHostname: x('machine'),
        machineIp: x('ip'),
        clientIp: x('clientip'),
        appName: x('app'),
        appVersion: x('ver'),
        infobase: { externalId: x('ibid'), name: x('ibname') },
        features: [x('feature')],
        roles: ['admin'],
      });
      await seedPackage(t, id, { id: 'p<1>', name: x('pkgname'), path: `/p/${x('path')}.lgp`, version: x('pkgver'), node: x('node'), state: 'running', refs: [`/s/${x('shared')}`] });
      await seedShared(t, h, `/s/${x('shared')}`);
      await seedPool(t, h, `/pool/${x('pool')}`);
      const s = await loginAs(t, 'admin');
      await t.request.post('/monitor/columns').set('Cookie', s.cookie).type('form').send(`_csrf=${encodeURIComponent(s.csrf)}&col=activity&col=host&col=version&col=path&col=client&col=user&col=infobase&col=clientIp&col=features&col=saved`);
      const res = await t.request.get(`/monitor?open=${id}&info=${id}`).set('Cookie', s.cookie);
      expect(res.status).toBe(200);
      expect(res.text).not.toMatch(/<img src=x/);
      expect(res.text).not.toContain(`<script>alert`);
      expect(res.text).not.toContain('"><b>csid');
      for (const tag of ['client', 'machine', 'ibname', 'feature', 'pkgname', 'path', 'fpkey', 'fpvalue', 'app', 'shared', 'pool', 'node', 'clientip']) {
        expect(res.text, tag).toContain(`&lt;img src=x onerror=alert(&#39;${tag}&#39;)&gt;`);
      }
      expect(res.text).toContain('&lt;script&gt;alert(&#39;user&#39;)&lt;/script&gt;');
      const confirm = await t.request.get(`/monitor/confirm?do=terminate&session=${id}`).set('Cookie', s.cookie);
      expect(confirm.text).not.toContain('<script>alert');
      expect(confirm.text).toContain('&lt;script&gt;alert(&#39;user&#39;)&lt;/script&gt;');
    });
  });
});
