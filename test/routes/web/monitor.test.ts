import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loginAs, makeApp, type TestApp } from '../../helpers/app.js';
import { seedHost, seedLicense, seedPackage, seedPool, seedSession, seedSessions, seedShared } from '../../helpers/monitor-data.js';

/** The sessions table's row ids in order. */
const rowIds = (html: string) => [...html.matchAll(/<tr data-session-id="([^"]+)"(?: class="[^"]*")? tabindex="-1">/g)].map((m) => m[1]);
/** The markup of one session's row. */
const rowOf = (html: string, id: string) => new RegExp(`<tr data-session-id="${id}"[^>]*>[\\s\\S]*?</tr>`).exec(html)?.[0] ?? '';
const sessionsTable = (html: string) => /<table id="monitor-sessions"[\s\S]*?<\/table>/.exec(html)?.[0] ?? '';

describe('monitor page', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.close());

  async function world() {
    const a = await seedLicense(t, { clientName: 'Acme', key: 'ACME-0001-KEY' });
    const b = await seedLicense(t, { clientName: 'Globex', key: 'GLBX-0002-KEY' });
    const hostA = await seedHost(t, a.licenseId, { hostname: 'ACC-SRV-01', ip: '10.0.0.5' });
    const hostB = await seedHost(t, b.licenseId, { hostname: 'GLB-SRV', ip: '10.9.9.9' });
    const ivanov = await seedSession(t, {
      ...a,
      hostId: hostA,
      user: 'Иванов',
      clientSessionId: 'csid-ivanov',
      roles: ['viewer', 'design'],
      infobase: { externalId: 'ib-acc', name: 'Accounting' },
      features: ['reports', 'export'],
      running: true,
    });
    const petrov = await seedSession(t, { ...a, hostId: hostA, user: 'Petrov', infobase: { externalId: 'ib-hr', name: 'HR' }, connection: 'background', sleeping: true });
    const smith = await seedSession(t, { ...b, hostId: hostB, user: 'Smith', machineIp: '10.9.9.9', machineHostname: 'GLB-SRV', clientIp: '192.168.1.50' });
    return { a, b, hostA, hostB, ivanov, petrov, smith };
  }

  it('lists open sessions with their columns for staff, newest first', async () => {
    const w = await world();
    const s = await loginAs(t, 'support');
    const res = await t.request.get('/monitor').set('Cookie', s.cookie);
    expect(res.status).toBe(200);
    expect(res.headers['vary']).toContain('HX-Request');
    expect(rowIds(res.text)).toEqual([w.smith, w.petrov, w.ivanov]);
    const row = rowOf(res.text, w.ivanov);
    expect(row).toContain('Иванов');
    expect(row).toContain('csid-ivanov');
    expect(row).toContain('class="role design"');
    expect(row).toContain('role="img" title="Scenario design"');
    expect(row).toContain('Accounting');
    expect(row).toContain('ACME-0001-KEY');
    expect(row).toContain('class="st running"');
    expect(row).toContain('class="run"');
    expect(rowOf(res.text, w.petrov)).toContain('class="st sleeping"');
    expect(rowOf(res.text, w.petrov)).toMatch(/#\d+/);
    expect(res.text).toContain('<script src="/assets/monitor.');
    expect(res.text).toContain('href="/monitor" aria-current="page"');
  });

  it('a closed session leaves the list', async () => {
    const w = await world();
    await t.db.updateTable('sessions').set({ closed_at: t.clock.now(), close_reason: 'released' }).where('id', '=', w.petrov).execute();
    const s = await loginAs(t, 'admin');
    const res = await t.request.get('/monitor').set('Cookie', s.cookie);
    expect(rowIds(res.text)).toEqual([w.smith, w.ivanov]);
  });

  it('client users see only their own client, and entry filters of another client show nothing', async () => {
    const w = await world();
    const s = await loginAs(t, 'client', { clientId: w.a.clientId });
    const res = await t.request.get('/monitor').set('Cookie', s.cookie);
    expect(res.status).toBe(200);
    expect(rowIds(res.text).sort()).toEqual([w.ivanov, w.petrov].sort());
    expect(res.text).not.toContain('Smith');
    expect(res.text).not.toContain('data-act="stop"');
    const other = await t.request.get(`/monitor?client=${w.b.clientId}`).set('Cookie', s.cookie);
    expect(rowIds(other.text)).toEqual([]);
    expect(other.text).not.toContain('Globex');
  });

  it('sends visitors who are not signed in to the login page', async () => {
    const res = await t.request.get('/monitor?q=x');
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/login?next=%2Fmonitor%3Fq%3Dx');
  });

  describe('search, filters, sort and paging', () => {
    it('searches user, infobase name and id, host, IP, license key and client, case-insensitively also in Cyrillic', async () => {
      const w = await world();
      const s = await loginAs(t, 'admin');
      const ids = async (qs: string) => rowIds((await t.request.get(`/monitor?${qs}`).set('Cookie', s.cookie)).text).sort();
      expect(await ids('q=иванов')).toEqual([w.ivanov]);
      expect(await ids('q=ИВАН')).toEqual([w.ivanov]);
      expect(await ids('q=accounting')).toEqual([w.ivanov]);
      expect(await ids('q=ib-hr')).toEqual([w.petrov]);
      expect(await ids('q=glb-srv')).toEqual([w.smith]);
      expect(await ids('q=192.168.1')).toEqual([w.smith]);
      expect(await ids('q=acme-0001')).toEqual([w.ivanov, w.petrov].sort());
      expect(await ids('q=globex')).toEqual([w.smith]);
      expect(await ids('q=100%25')).toEqual([]);
    });

    it('filters per column and by license, client and infobase from entry links', async () => {
      const w = await world();
      const s = await loginAs(t, 'admin');
      const ids = async (qs: string) => rowIds((await t.request.get(`/monitor?${qs}`).set('Cookie', s.cookie)).text).sort();
      expect(await ids('f_user=petr')).toEqual([w.petrov]);
      expect(await ids('f_connection=background')).toEqual([w.petrov]);
      expect(await ids('f_state=sleeping')).toEqual([w.petrov]);
      expect(await ids('f_state=running')).toEqual([w.ivanov]);
      expect(await ids('f_role=design')).toEqual([w.ivanov]);
      expect(await ids('f_features=export')).toEqual([w.ivanov]);
      expect(await ids('f_clientIp=192.168')).toEqual([w.smith]);
      expect(await ids(`license=${w.b.licenseId}`)).toEqual([w.smith]);
      expect(await ids(`client=${w.a.clientId}`)).toEqual([w.ivanov, w.petrov].sort());
      const ib = await t.db.selectFrom('infobases').select('id').where('external_id', '=', 'ib-hr').executeTakeFirstOrThrow();
      expect(await ids(`infobase=${ib.id}`)).toEqual([w.petrov]);
      const page = await t.request.get(`/monitor?license=${w.b.licenseId}`).set('Cookie', s.cookie);
      expect(page.text).toMatch(/class="chip">License: <b>GLBX-0002-KEY<\/b>/);
    });

    it('a package path filter finds the session the package is open in', async () => {
      const w = await world();
      await seedPackage(t, w.petrov, { path: '/projects/sales.lgp' });
      const s = await loginAs(t, 'admin');
      const res = await t.request.get('/monitor?f_path=sales').set('Cookie', s.cookie);
      expect(rowIds(res.text)).toEqual([w.petrov]);
    });

    it('sorts by user without regard to case, in any script', async () => {
      const w = await world();
      const adams = await seedSession(t, { ...w.b, hostId: w.hostB, user: 'adams' });
      const ivanova = await seedSession(t, { ...w.a, hostId: w.hostA, user: 'иванова' });
      const s = await loginAs(t, 'admin');
      const ids = async (qs: string) => rowIds((await t.request.get(`/monitor?${qs}`).set('Cookie', s.cookie)).text);
      // Binary order put "adams" after "Smith" and "иванова" before "Иванов"'s capital.
      expect(await ids('sort=user&dir=asc')).toEqual([adams, w.petrov, w.smith, w.ivanov, ivanova]);
      expect(await ids('sort=session&dir=desc')).toEqual([ivanova, w.ivanov, w.smith, w.petrov, adams]);
    });

    it('sorts by any column in both directions', async () => {
      const w = await world();
      const s = await loginAs(t, 'admin');
      const ids = async (qs: string) => rowIds((await t.request.get(`/monitor?${qs}`).set('Cookie', s.cookie)).text);
      expect(await ids('sort=user&dir=asc')).toEqual([w.petrov, w.smith, w.ivanov]);
      expect(await ids('sort=user&dir=desc')).toEqual([w.ivanov, w.smith, w.petrov]);
      const byClient = await ids('sort=client&dir=asc');
      expect(byClient.slice(0, 2).sort()).toEqual([w.ivanov, w.petrov].sort());
      expect(byClient[2]).toBe(w.smith);
      expect((await ids('sort=client&dir=desc'))[0]).toBe(w.smith);
      expect((await ids('sort=connection&dir=asc'))[0]).toBe(w.petrov);
      expect((await ids('sort=role&dir=asc'))[0]).toBe(w.ivanov);
      expect((await ids('sort=state&dir=desc'))[0]).toBe(w.petrov);
    });

    it('sorts by a metric figure', async () => {
      const l = await seedLicense(t);
      const h = await seedHost(t, l.licenseId);
      const low = await seedSession(t, { ...l, hostId: h, cpuTotal: 100 });
      const high = await seedSession(t, { ...l, hostId: h, cpuTotal: 90_000 });
      const s = await loginAs(t, 'admin');
      const res = await t.request.get('/monitor?sort=cpu_total&dir=desc').set('Cookie', s.cookie);
      expect(rowIds(res.text)).toEqual([high, low]);
      expect(rowOf(res.text, high)).toContain('90.0');
      expect(res.text).toMatch(/aria-sort="descending"><a href="[^"]*sort=cpu_total&amp;dir=asc"/);
    });

    it('pages with a page size choice and links that keep the query', async () => {
      const l = await seedLicense(t);
      const h = await seedHost(t, l.licenseId);
      const ids = await seedSessions(t, 30, { ...l, hostId: h, user: 'pager' });
      const s = await loginAs(t, 'admin');
      const first = await t.request.get('/monitor?q=pager&size=25').set('Cookie', s.cookie);
      expect(rowIds(first.text)).toHaveLength(25);
      expect(first.text).toContain('30 sessions');
      expect(first.text).toContain('page 1 of 2');
      expect(first.text).toContain('href="/monitor?q=pager&amp;size=25&amp;page=2"');
      const second = await t.request.get('/monitor?q=pager&size=25&page=2').set('Cookie', s.cookie);
      expect(rowIds(second.text)).toEqual(ids.slice(0, 5).reverse());
      expect(second.text).toContain('<option value="25" selected="">');
      // Unfiltered paging walks the sort's index instead of sorting every match.
      const unfiltered = await t.request.get('/monitor?size=25&page=2').set('Cookie', s.cookie);
      expect(rowIds(unfiltered.text)).toEqual(ids.slice(0, 5).reverse());
      const beyond = await t.request.get('/monitor?size=25&page=9').set('Cookie', s.cookie);
      expect(rowIds(beyond.text)).toEqual(ids.slice(0, 5).reverse());
    });

    it('without JavaScript the search is a plain GET form and sort links are plain links', async () => {
      await world();
      const s = await loginAs(t, 'admin');
      const res = await t.request.get('/monitor').set('Cookie', s.cookie);
      expect(res.text).toMatch(/<form id="monitor-search" role="search" method="get" action="\/monitor"/);
      expect(res.text).toContain('<input id="monitor-q" type="search" name="q"');
      expect(res.text).toMatch(/<a href="\/monitor\?sort=session&amp;dir=asc" data-nav="">/);
    });
  });

  describe('rows, packages, shared packages and pool', () => {
    it('expands a row into its packages (running with progress and node tooltip) and features', async () => {
      const w = await world();
      await seedPackage(t, w.ivanov, { id: 'p-1', name: 'sales', path: '/projects/sales.lgp', version: '1.4.0', state: 'running', progress: 42, node: 'Join' });
      await seedPackage(t, w.ivanov, { id: 'p-2', name: null, path: null, version: null });
      const s = await loginAs(t, 'admin');
      const closed = await t.request.get('/monitor').set('Cookie', s.cookie);
      expect(closed.text).not.toContain('data-package-id="p-1"');
      expect(rowOf(closed.text, w.ivanov)).toContain('<button class="tg" aria-label="Packages and features">+</button>');
      expect(rowOf(closed.text, w.petrov)).toContain('<span class="tg"></span>');
      const open = await t.request.get(`/monitor?open=${w.ivanov}`).set('Cookie', s.cookie);
      expect(open.text).toMatch(/<tr class="pk run" data-session-id="[^"]+" data-package-id="p-1" tabindex="-1"><td class="pn">sales/);
      expect(open.text).toMatch(/<progress max="100" value="42" title="Join started at [^"]+">/);
      expect(open.text).toContain('data-package-id="p-2"');
      expect(open.text).toContain('draft');
      expect(open.text).toContain('Features: export, reports');
      expect(rowOf(open.text, w.ivanov)).toContain('class="tg" aria-expanded="true"');
      // The live part polls the URL with the row expanded, so a refresh keeps it open.
      expect(open.text).toContain(`<div id="monitor-live" hx-get="/monitor?open=${w.ivanov}"`);
    });

    it('shows shared packages with reference counts and the pool, per host when there are several', async () => {
      const w = await world();
      await seedShared(t, w.hostA, '/shared/lib.lgp');
      await seedShared(t, w.hostA, '/shared/free.lgp');
      await seedPackage(t, w.ivanov, { refs: ['/shared/lib.lgp'] });
      await seedPackage(t, w.petrov, { refs: ['/shared/lib.lgp'] });
      await seedPool(t, w.hostA, '/batch/nightly.lgp', ['/shared/lib.lgp']);
      await seedPool(t, w.hostB, '/batch/other.lgp');
      const s = await loginAs(t, 'admin');
      const res = await t.request.get('/monitor').set('Cookie', s.cookie);
      expect(res.text).toMatch(/data-shared-path="\/shared\/lib.lgp" data-count="4"[^>]*><td>lib.lgp <span class="cnt"[^>]*>4<\/span>/);
      expect(res.text).toMatch(/data-shared-path="\/shared\/free.lgp" data-count="1"/);
      // Close is offered at count 1 only; above it the button is disabled with the reason.
      expect(res.text).toMatch(/do=close-shared&amp;host=\d+&amp;path=%2Fshared%2Ffree.lgp/);
      expect(res.text).toContain('Referenced by 3 more packages');
      expect(res.text).toContain('/batch/nightly.lgp');
      expect(res.text).toContain('/batch/other.lgp');
      // The pool covers two hosts: each gets its own heading with its own Clear button.
      expect(res.text.match(/<tr class="grp" data-host-id/g)?.length).toBe(2);
      expect(res.text.match(/do=clear-pool&amp;host=/g)?.length).toBe(2);
    });

    it('opens the info panel with fingerprint, machine, binding, features and metrics', async () => {
      const w = await world();
      const s = await loginAs(t, 'support');
      const res = await t.request.get(`/monitor?info=${w.ivanov}`).set('Cookie', s.cookie);
      const panel = /<div class="panel" id="info-[^"]+"[\s\S]*?<\/div>/.exec(res.text)?.[0] ?? '';
      expect(panel).toContain('Payroll 3.2.1');
      expect(panel).toContain('ACC-SRV-01 · Windows Server 2022 · 10.0.0.5');
      expect(panel).toMatch(/<caption>Fingerprint<\/caption>[\s\S]*<th scope="row">cpu<\/th><td class="mono">CPU-/);
      expect(panel).toMatch(/host ACC-SRV-01, fingerprint [0-9a-f]{12}, bound /);
      expect(panel).toContain('export, reports');
      expect(panel).toContain('<caption>Metrics</caption>');
      expect(panel).toContain('do=terminate');
      expect(panel).toContain('do=reset');
    });

    it('a client user sees the binding as hostname and short hash, without the fingerprint components', async () => {
      const w = await world();
      const s = await loginAs(t, 'client', { clientId: w.a.clientId });
      const res = await t.request.get(`/monitor?info=${w.ivanov}`).set('Cookie', s.cookie);
      expect(res.text).toMatch(/fingerprint [0-9a-f]{12}/);
      expect(res.text).not.toContain('<caption>Fingerprint</caption>');
      expect(res.text).not.toContain('do=reset');
      expect(res.text).toContain('do=terminate');
      const foreign = await t.request.get(`/monitor?info=${w.smith}`).set('Cookie', s.cookie);
      expect(foreign.text).not.toContain('class="panel"');
    });

    it('shows the Host column as the resolved name when "Resolve names by IP" is on, remembered per user', async () => {
      await t.close();
      t = await makeApp();
      // A resolver that knows one address.
      (t.deps as { resolveName: (ip: string) => string | null }).resolveName = (ip) => (ip === '10.9.9.9' ? 'globex-gw.example' : null);
      const w = await world();
      const s = await loginAs(t, 'support');
      const before = await t.request.get('/monitor').set('Cookie', s.cookie);
      expect(rowOf(before.text, w.smith)).toContain('<td>10.9.9.9<small> GLB-SRV</small></td>');
      const on = await t.request.post('/monitor/resolve-names').set('Cookie', s.cookie).type('form').send({ _csrf: s.csrf, on: '1', back: '' });
      expect(on.status).toBe(303);
      const after = await t.request.get('/monitor').set('Cookie', s.cookie);
      expect(rowOf(after.text, w.smith)).toContain('<td>globex-gw.example<small> GLB-SRV</small></td>');
      expect(rowOf(after.text, w.ivanov)).toContain('<td>ACC-SRV-01</td>');
      expect(after.text).toContain('name="on" value="1" checked=""');
      const user = await t.db.selectFrom('users').select('monitor_resolve_names').where('id', '=', s.user.id).executeTakeFirstOrThrow();
      expect(user.monitor_resolve_names).toBe(1);
      const audit = await t.db.selectFrom('audit_log').selectAll().where('action', '=', 'monitor.resolve_names').execute();
      expect(audit).toHaveLength(1);
    });
  });

  describe('columns', () => {
    it('shows a default set and remembers the user’s choice on the server', async () => {
      await world();
      const s = await loginAs(t, 'support');
      const before = sessionsTable((await t.request.get('/monitor').set('Cookie', s.cookie)).text);
      expect(before).toContain('>License key</a>');
      expect(before).not.toContain('>Client IP</a>');
      const save = await t.request
        .post('/monitor/columns')
        .set('Cookie', s.cookie)
        .type('form')
        .send(`_csrf=${encodeURIComponent(s.csrf)}&col=clientIp&col=cpu&col=bogus&back=q%3Dx`);
      expect(save.status).toBe(303);
      expect(save.headers.location).toBe('/monitor?q=x');
      const row = await t.db.selectFrom('users').select('monitor_columns').where('id', '=', s.user.id).executeTakeFirstOrThrow();
      expect(JSON.parse(row.monitor_columns!)).toEqual(['session', 'clientIp', 'cpu']);
      const after = (await t.request.get('/monitor').set('Cookie', s.cookie)).text;
      const table = sessionsTable(after);
      expect(table).toContain('>Client IP</a>');
      expect(table).toContain('>CPU time, s</th>');
      expect(table).not.toContain('>License key</a>');
      expect(table).toContain('>Session / package</a>');
      expect(after).toContain('name="col" value="clientIp" checked=""');
    });

    it('byte figures carry units in the viewer\'s language, in the table and the info panel', async () => {
      const l = await seedLicense(t);
      const id = await seedSession(t, { ...l, hostId: await seedHost(t, l.licenseId), user: 'Ivanov', memTotal: 3 * 2 ** 20 + 2 ** 19, cpuTotal: 82_600 });
      const s = await loginAs(t, 'support');
      await t.db.updateTable('users').set({ monitor_columns: JSON.stringify(['session', 'memory', 'cpu']) }).where('id', '=', s.user.id).execute();
      const en = await t.request.get(`/monitor?info=${id}`).set('Cookie', s.cookie);
      expect(rowOf(en.text, id)).toContain('>3.5 MB</td>');
      expect(rowOf(en.text, id)).toContain('>82.6</td>');
      await t.db.updateTable('users').set({ locale: 'ru' }).where('id', '=', s.user.id).execute();
      const ru = await t.request.get(`/monitor?info=${id}`).set('Cookie', s.cookie);
      // With the decimal comma Russian readers expect.
      expect(rowOf(ru.text, id)).toContain('>3,5 МБ</td>');
      expect(rowOf(ru.text, id)).toContain('>82,6</td>');
      expect(ru.text).not.toMatch(/\d (?:B|KB|MB)</);
    });

    it('an htmx column change answers the refreshed table with the new columns', async () => {
      await world();
      const s = await loginAs(t, 'admin');
      const res = await t.request
        .post('/monitor/columns')
        .set('Cookie', s.cookie)
        .set('HX-Request', 'true')
        .set('X-CSRF-Token', s.csrf)
        .type('form')
        .send('col=user&back=');
      expect(res.status).toBe(200);
      expect(res.text.startsWith('<div id="monitor-live"')).toBe(true);
      expect(sessionsTable(res.text)).toContain('>User</a>');
      expect(sessionsTable(res.text)).not.toContain('>State</a>');
    });
  });
});
