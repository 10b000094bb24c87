import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../../src/db/connection.js';
import { migrateToLatest } from '../../../src/db/migrate.js';
import { projectRoot } from '../../../src/lib/paths.js';
import { createUser } from '../../../src/models/users.js';
import { login, loginAs, makeApp, makeUser, testPasswordHash, TEST_PASSWORD, type TestApp } from '../../helpers/app.js';
import { adminClient, adminLicense, auditRows, insertEvent, insertHost, insertInfobase, insertSession } from '../../helpers/admin.js';
import { fingerprint, heartbeat, insertLicense, makeInfobase, openOk } from '../../helpers/licensing.js';

const DAY = 86_400_000;

describe('client cabinet', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.close());

  const get = (s: { cookie: string }, url: string) => t.request.get(url).set('Cookie', s.cookie);
  const post = (s: { cookie: string; csrf: string }, url: string, body: Record<string, string> = {}) =>
    t.request.post(url).set('Cookie', s.cookie).type('form').send({ _csrf: s.csrf, ...body });
  const hostRow = (id: number) => t.db.selectFrom('hosts').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const sessionRow = (id: string) => t.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  it('shows a client user their own licenses, infobases and live sessions, nothing of another client', async () => {
    const mine = await adminClient(t, 'Acme Ltd');
    const theirs = await adminClient(t, 'Globex');
    const lic = await adminLicense(t, { clientId: mine.id, product: 'Payroll', selfResetQuota: 2 });
    const other = await adminLicense(t, { clientId: theirs.id, product: 'Warehouse' });
    const host = await insertHost(t, lic.id, { hostname: 'ACC-SRV-01' });
    const ib = await makeInfobase(t, mine.id, 'ib-acc', 'Accounting', { message: 'Closed' });
    await insertInfobase(t, theirs.id, 'Globex Base');
    const s1 = await insertSession(t, { licenseId: lic.id, hostId: host.id, user: 'Ivanov' });
    const s2 = await insertSession(t, { licenseId: other.id, hostId: (await insertHost(t, other.id)).id, user: 'Smith' });
    const c = await loginAs(t, 'client', { clientId: mine.id });

    expect((await get(c, '/')).headers.location).toBe('/cabinet');
    const res = await get(c, '/cabinet');
    expect(res.status).toBe(200);
    expect(res.text).toContain('Acme Ltd');
    expect(res.text).toContain(`href="/cabinet/licenses/${lic.id}"`);
    expect(res.text).toContain('2 of 2');
    expect(res.text).toContain(`href="/cabinet/infobases/${ib}"`);
    expect(res.text).toContain('lock-badge lock-active');
    expect(res.text).toContain(`data-session-id="${s1.id}"`);
    expect(res.text).toContain(`action="/cabinet/sessions/${s1.id}/terminate"`);
    for (const foreign of [other.key, 'Globex', 'Warehouse', s2.id, 'Smith']) expect(res.text).not.toContain(foreign);
    // The menu has the cabinet only.
    expect(res.text).toContain('<a href="/cabinet" aria-current="page">My licenses</a>');
    expect(res.text).not.toContain('href="/licenses"');
  });

  it('a suspended or expired license is explained, with the support contact when there is one', async () => {
    const mine = await adminClient(t, 'Acme Ltd');
    const ok = await adminLicense(t, { clientId: mine.id, product: 'Payroll' });
    const suspended = await adminLicense(t, { clientId: mine.id, product: 'Warehouse' });
    const expired = await adminLicense(t, { clientId: mine.id, product: 'Retail' });
    await t.db.updateTable('licenses').set({ suspended_at: t.clock.now() }).where('id', '=', suspended.id).execute();
    await t.db.updateTable('licenses').set({ expires_at: Date.parse('2026-01-31T09:00:00Z') }).where('id', '=', expired.id).execute();
    const c = await loginAs(t, 'client', { clientId: mine.id });
    const home = (await get(c, '/cabinet')).text;
    expect(home).toContain(`License ${suspended.key} is suspended: your applications cannot open sessions with it`);
    expect(home).toContain(`License ${expired.key} expired on`);
    expect(home).not.toContain(`License ${ok.key}`);
    expect(home).toContain('Contact your vendor&#39;s support about it.');
    await t.db.updateTable('settings').set({ support_contact: 'help@vendor.example, +7 495 000-00-00' }).execute();
    const withContact = (await get(c, '/cabinet')).text;
    expect(withContact).toContain('Support: help@vendor.example, +7 495 000-00-00');
    const page = (await get(c, `/cabinet/licenses/${suspended.id}`)).text;
    expect(page).toContain('This license is suspended: your applications cannot open sessions with it');
    expect(page).toContain('Support: help@vendor.example');
    expect((await get(c, `/cabinet/licenses/${ok.id}`)).text).not.toContain('This license is');
  });

  it('is for client users: staff get 403', async () => {
    const s = await loginAs(t, 'support');
    expect((await get(s, '/cabinet')).status).toBe(403);
  });

  it('shows bound hosts as hostname + short hash, never the fingerprint components', async () => {
    const lic = await adminLicense(t, { selfResetQuota: 3 });
    const host = await insertHost(t, lic.id, { hostname: 'ACC-SRV-01' });
    const c = await loginAs(t, 'client', { clientId: lic.clientId });
    const res = await get(c, `/cabinet/licenses/${lic.id}`);
    expect(res.status).toBe(200);
    expect(res.text).toContain('ACC-SRV-01');
    // Named for a phone, where the table stacks each computer's cells (data-label).
    expect(res.text).toContain(`<td class="mono" data-label="Fingerprint">${host.fingerprint_hash.slice(0, 12)}</td>`);
    const components = JSON.parse(host.components) as Record<string, string>;
    for (const v of Object.values(components)) expect(res.text).not.toContain(v);
    expect(res.text).not.toContain(host.fingerprint_hash);
    expect(res.text).not.toContain('10.0.0.5');
    expect(res.text).toContain('You can reset 3 more bindings yourself in the rolling 30 days (0 of 3 used).');
    expect(res.text).toContain(`action="/cabinet/licenses/${lic.id}/hosts/${host.id}/reset"`);
    expect(res.text).toContain(`href="/monitor?license=${lic.id}"`);
  });

  it('self-service reset: reason required, then the host is freed, its session gets 410 binding_reset, the quota goes down (audited)', async () => {
    const lic = await adminLicense(t, { selfResetQuota: 2, maxHosts: 2 });
    const opened = await openOk(t, lic.key);
    const c = await loginAs(t, 'client', { clientId: lic.clientId });
    const url = `/cabinet/licenses/${lic.id}/hosts/${opened.hostId}/reset`;

    const noReason = await post(c, url, { reason: ' ' });
    expect(noReason.status).toBe(400);
    expect(noReason.text).toContain('Give a reason for the reset.');
    expect((await hostRow(opened.hostId)).reset_at).toBeNull();

    const res = await post(c, url, { reason: 'Moved to a new server' });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`/cabinet/licenses/${lic.id}?done=reset&n=1#hosts`);
    expect(await hostRow(opened.hostId)).toMatchObject({ reset_at: t.clock.now(), reset_by_client: 1, reset_reason: 'Moved to a new server', reset_by: c.user.email });
    expect((await sessionRow(opened.sessionId)).close_reason).toBe('binding_reset');
    const hb = await heartbeat(t, opened);
    expect(hb.status).toBe(410);
    expect(hb.body.error.details.reason).toBe('binding_reset');
    const [audit] = await auditRows(t, 'host.reset');
    expect(audit).toMatchObject({ actor_name: c.user.email, reason: 'Moved to a new server', client_id: lic.clientId });
    expect(JSON.parse(audit.details!)).toMatchObject({ selfService: true, closedSessions: 1 });

    const page = await get(c, `/cabinet/licenses/${lic.id}?done=reset&n=1`);
    expect(page.text).toContain('The binding was reset; 1 session was closed.');
    expect((await get(c, `/cabinet/licenses/${lic.id}?done=reset&n=-1`)).text).not.toContain('The binding was reset');
    expect(page.text).toContain('You can reset 1 more binding yourself in the rolling 30 days (1 of 2 used).');
    expect(page.text).not.toContain(`data-session-id="${opened.sessionId}"`);
  });

  it('quota edge: the last allowed reset succeeds, the next is refused with how to reach support, the window rolls after 30 days', async () => {
    const lic = await adminLicense(t, { selfResetQuota: 2, maxHosts: 10 });
    const hosts = [];
    for (let i = 0; i < 5; i++) hosts.push(await insertHost(t, lic.id, { hostname: `PC-${i}` }));
    const user = await makeUser(t, 'client', { clientId: lic.clientId });
    // Moving the clock by days ends idle logins: sign in again after each move.
    let c = await login(t, user.email);
    const relogin = async () => (c = await login(t, user.email));
    const reset = (h: { id: number }) => post(c, `/cabinet/licenses/${lic.id}/hosts/${h.id}/reset`, { reason: 'new hardware' });
    const expectReset = async (h: { id: number }) => {
      const res = await reset(h);
      expect(res.status).toBe(303);
      expect(res.headers.location).toMatch(new RegExp(`^/cabinet/licenses/${lic.id}\\?done=reset`));
    };
    const start = t.clock.now();

    await expectReset(hosts[0]);
    t.clock.advance(DAY);
    await relogin();
    await expectReset(hosts[1]); // the last allowed one

    const refused = await reset(hosts[2]);
    expect(refused.status).toBe(409);
    expect(refused.text).toContain(`the self-service quota of license ${lic.key} is used up. Contact your vendor`);
    expect((await hostRow(hosts[2].id)).reset_at).toBeNull();
    expect(await auditRows(t, 'host.reset')).toHaveLength(2);

    // The button is replaced by the message, with when the next reset becomes possible.
    const page = await get(c, `/cabinet/licenses/${lic.id}`);
    expect(page.text).toContain('You have used all 2 self-service resets of the last 30 days.');
    expect(page.text).toContain(`The next one becomes available on ${time(start + 30 * DAY)}.`);
    expect(page.text).toContain(`give them the license key ${lic.key}`);
    expect(page.text).not.toMatch(/action="\/cabinet\/licenses\/\d+\/hosts\/\d+\/reset"/);
    // Where to reach support comes from the admin's setting, escaped.
    expect(page.text).not.toContain('Support:');
    await t.db.updateTable('settings').set({ support_contact: 'help@vendor.test <b>24/7</b>' }).execute();
    const withContact = await get(c, `/cabinet/licenses/${lic.id}`);
    expect(withContact.text).toContain('Support: help@vendor.test &lt;b&gt;24/7&lt;/b&gt;');

    // Support can still reset, and that never counts against the quota.
    const support = await loginAs(t, 'support');
    const bySupport = await post(support, `/licenses/${lic.id}/hosts/${hosts[3].id}/reset`, { reason: 'client asked by phone' });
    expect(bySupport.headers.location).toBe(`/licenses/${lic.id}?done=reset&n=0#hosts`);
    expect((await hostRow(hosts[3].id)).reset_by_client).toBe(0);

    // Rolling 30 days: just before the first reset leaves the window, still refused; at 30 days, allowed.
    t.clock.set(start + 30 * DAY - 1);
    await relogin();
    expect((await reset(hosts[2])).status).toBe(409);
    t.clock.set(start + 30 * DAY);
    expect((await get(c, `/cabinet/licenses/${lic.id}`)).text).toContain('You can reset 1 more binding yourself');
    await expectReset(hosts[2]);
    expect((await reset(hosts[4])).status).toBe(409);
    expect((await hostRow(hosts[4].id)).reset_at).toBeNull();
  });

  it('a license with quota 0 offers no self-service reset at all', async () => {
    const lic = await adminLicense(t, { selfResetQuota: 0 });
    const host = await insertHost(t, lic.id);
    const c = await loginAs(t, 'client', { clientId: lic.clientId });
    const page = await get(c, `/cabinet/licenses/${lic.id}`);
    expect(page.text).toContain('Self-service resets are not included in this license.');
    expect(page.text).toContain('Ask support');
    expect((await post(c, `/cabinet/licenses/${lic.id}/hosts/${host.id}/reset`, { reason: 'x' })).status).toBe(409);
    expect((await hostRow(host.id)).reset_at).toBeNull();
  });

  it('the settings default applies when the license has no quota of its own', async () => {
    await t.db.updateTable('settings').set({ self_reset_quota_default: 1 }).execute();
    const lic = await adminLicense(t, { maxHosts: 5 });
    const [h1, h2] = [await insertHost(t, lic.id), await insertHost(t, lic.id)];
    const c = await loginAs(t, 'client', { clientId: lic.clientId });
    expect((await post(c, `/cabinet/licenses/${lic.id}/hosts/${h1.id}/reset`, { reason: 'x' })).status).toBe(303);
    expect((await post(c, `/cabinet/licenses/${lic.id}/hosts/${h2.id}/reset`, { reason: 'x' })).status).toBe(409);
  });

  it('a client user terminates their own sessions (audited); another client’s session is 404', async () => {
    const lic = await adminLicense(t);
    const other = await adminLicense(t);
    const mine = await insertSession(t, { licenseId: lic.id, hostId: (await insertHost(t, lic.id)).id });
    const theirs = await insertSession(t, { licenseId: other.id, hostId: (await insertHost(t, other.id)).id });
    const c = await loginAs(t, 'client', { clientId: lic.clientId });
    // Where each session runs is said under its name (shown on a phone, where those columns are off to the
    // side) and in the confirm question.
    const ib = await insertInfobase(t, lic.clientId, 'Payroll base');
    const placed = await insertSession(t, { licenseId: lic.id, hostId: (await insertHost(t, lic.id)).id, infobaseId: ib.id, user: 'Sokolova' });
    const card = (await t.request.get(`/cabinet/licenses/${lic.id}`).set('Cookie', c.cookie)).text;
    const row = new RegExp(`<tr data-session-id="${placed.id}">[\\s\\S]*?</tr>`).exec(card)?.[0] ?? '';
    expect(row).toContain('<small class="muted narrow-only">ACC-SRV-01, Payroll base</small>');
    expect(row).toContain(`data-confirm="Terminate the session of Sokolova (${placed.client_session_id}) on ACC-SRV-01, Payroll base?"`);
    const res = await post(c, `/cabinet/sessions/${mine.id}/terminate`, { back: `/cabinet/licenses/${lic.id}` });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`/cabinet/licenses/${lic.id}?done=terminated#sessions`);
    expect((await get(c, res.headers.location)).text).toContain('The session was terminated.');
    expect(await sessionRow(mine.id)).toMatchObject({ closed_at: t.clock.now(), close_reason: 'terminated' });
    expect(await auditRows(t, 'session.terminate')).toHaveLength(1);
    // A session that has ended meanwhile (a second click, a page left open) is said to have ended, not "terminated".
    const again = await post(c, `/cabinet/sessions/${mine.id}/terminate`, { back: `/cabinet/licenses/${lic.id}` });
    expect(again.headers.location).toBe(`/cabinet/licenses/${lic.id}?done=already_closed#sessions`);
    const page = (await get(c, again.headers.location)).text;
    expect(page).toContain('This session had already ended: there was nothing to terminate.');
    expect(page).not.toContain('The session was terminated.');
    expect(await auditRows(t, 'session.terminate')).toHaveLength(1);
    // An outside "back" is not followed.
    const offsite = await post(c, `/cabinet/sessions/${placed.id}/terminate`, { back: 'https://evil.example/' });
    expect(offsite.headers.location).toBe('/cabinet?done=terminated#sessions');
    expect((await post(c, `/cabinet/sessions/${theirs.id}/terminate`)).status).toBe(404);
    expect((await sessionRow(theirs.id)).closed_at).toBeNull();
  });

  it('shows the history tab of an own license', async () => {
    const lic = await adminLicense(t, { maxSessions: 3 });
    await insertEvent(t, { licenseId: lic.id, kind: 'capture', at: t.clock.now() - 3600_000, feature: 'export', user: 'Ivanov', hostname: 'BUH-PC-1' });
    await insertEvent(t, { licenseId: lic.id, kind: 'refusal', at: t.clock.now() - 60_000, code: 'session_limit_reached', user: 'Petrov', hostname: 'BUH-PC-2' });
    const c = await loginAs(t, 'client', { clientId: lic.clientId });
    const res = await get(c, `/cabinet/licenses/${lic.id}/history?period=24h`);
    expect(res.status).toBe(200);
    expect(res.text).toContain('<code>export</code>');
    expect(res.text).toContain('Session limit reached');
    expect(res.text).toContain('<svg class="chart"');
    expect(res.text).toContain(`href="/cabinet/licenses/${lic.id}/history?period=1h"`);
  });

  it('a client user locks and unlocks their own infobase (audited), with the form’s validation', async () => {
    const lic = await adminLicense(t);
    const ib = await makeInfobase(t, lic.clientId, 'ib-acc', 'Accounting');
    const c = await loginAs(t, 'client', { clientId: lic.clientId });
    const page = await get(c, `/cabinet/infobases/${ib}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain(`action="/cabinet/infobases/${ib}/lock"`);
    expect(page.text).not.toContain('terminate-all');

    const bad = await post(c, `/cabinet/infobases/${ib}/lock`, { message: '' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('Enter the message refused users will see.');
    const res = await post(c, `/cabinet/infobases/${ib}/lock`, { message: 'Month end', to: '2026-11-21T20:00', denySessions: '1' });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`/cabinet/infobases/${ib}?done=locked`);
    const row = await t.db.selectFrom('infobases').selectAll().where('id', '=', ib).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ lock_message: 'Month end', lock_to: Date.parse('2026-11-21T20:00:00Z'), lock_set_by: c.user.email });
    expect(await auditRows(t, 'infobase.locked')).toHaveLength(1);
    expect((await post(c, `/cabinet/infobases/${ib}/unlock`)).status).toBe(303);
    expect(await auditRows(t, 'infobase.unlocked')).toHaveLength(1);
  });
});

/** As pages format times for a viewer without a zone of their own (the test default, UTC). */
function time(ms: number): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(ms);
}

// Two server processes on one database file: the quota check and the reset must be one
// transaction, or both of two parallel requests would pass "one reset left".
describe('parallel self-service resets against two server processes', () => {
  let dir: string;
  let db: Db;
  const servers: { child: ChildProcess; port: number }[] = [];

  function startServer(file: string): Promise<{ child: ChildProcess; port: number }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'test/helpers/race-server.ts'), file], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /PORT (\d+)/.exec(out);
        if (m) resolve({ child, port: Number(m[1]) });
      });
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${err}`)));
    });
  }

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-cabinet-'));
    const file = path.join(dir, 'race.db');
    db = openDatabase(file).db;
    await migrateToLatest(db);
    servers.push(...(await Promise.all([startServer(file), startServer(file)])));
  }, 60_000);

  afterAll(async () => {
    for (const s of servers) s.child.kill('SIGTERM');
    await Promise.all(servers.map((s) => new Promise((r) => (s.child.exitCode !== null ? r(null) : s.child.once('exit', r)))));
    await db?.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('with one reset left, exactly one of two parallel requests resets', async () => {
    const now = Date.now();
    const lic = await insertLicense(db, now, { maxHosts: 10 });
    await db.updateTable('licenses').set({ self_reset_quota: 2 }).where('id', '=', lic.id).execute();
    const host = (n: number, resetAt: number | null) =>
      db
        .insertInto('hosts')
        .values({
          license_id: lic.id,
          fingerprint_hash: `hash-${n}`,
          components: JSON.stringify(fingerprint(n)),
          machine_hostname: `PC-${n}`,
          bound_at: now - DAY,
          last_seen_at: now - DAY,
          reset_at: resetAt,
          reset_by_client: resetAt === null ? 0 : 1,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
    await host(0, now - DAY); // one of two used
    const targets = [await host(1, null), await host(2, null)];
    const user = await createUser(db, { email: 'race@client.example', passwordHash: await testPasswordHash(), role: 'client', clientId: lic.clientId }, now);

    const base = (i: number) => `http://127.0.0.1:${servers[i].port}`;
    const login = await fetch(`${base(0)}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ email: user.email, password: TEST_PASSWORD }),
    });
    expect(login.status).toBe(303);
    const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).find((c) => c.startsWith('sm_session='))!;
    const account = await (await fetch(`${base(1)}/account`, { headers: { cookie } })).text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(account)![1];

    const statuses = await Promise.all(
      targets.map((h, i) =>
        fetch(`${base(i)}/cabinet/licenses/${lic.id}/hosts/${h.id}/reset`, {
          method: 'POST',
          redirect: 'manual',
          headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ _csrf: csrf, reason: 'parallel' }),
        }).then((r) => r.status),
      ),
    );
    expect(statuses.sort()).toEqual([303, 409]);
    const reset = await db.selectFrom('hosts').select('id').where('license_id', '=', lic.id).where('reset_at', 'is not', null).execute();
    expect(reset).toHaveLength(2);
    const audits = await db.selectFrom('audit_log').select('id').where('action', '=', 'host.reset').execute();
    expect(audits).toHaveLength(1);
  }, 30_000);
});
