import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loginAs, makeApp, type TestApp } from '../../helpers/app.js';
import { adminClient, adminLicense, auditRows, insertEvent, insertHost, insertInfobase, insertSession } from '../../helpers/admin.js';
import { heartbeat, openOk } from '../../helpers/licensing.js';

const HOUR = 3600_000;

/** The values a browser would send from a page's form: its inputs and textareas as rendered. */
function formFields(html: string): Record<string, string> {
  const unescape = (v: string) => v.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  const values: Record<string, string> = {};
  for (const m of html.matchAll(/<input\b[^>]*>/g)) {
    const name = /\sname="([^"]*)"/.exec(m[0])?.[1];
    if (name && name !== '_csrf') values[name] = unescape(/\svalue="([^"]*)"/.exec(m[0])?.[1] ?? '');
  }
  // The HTML parser drops one line break right after <textarea>.
  for (const m of html.matchAll(/<textarea\b[^>]*\sname="([^"]*)"[^>]*>([\s\S]*?)<\/textarea>/g)) values[m[1]] = unescape(m[2].replace(/^\r?\n/, ''));
  return values;
}

/** The messages a field is described by (its error messages and hint), after checking it is marked invalid. */
function fieldProblems(html: string, id: string): string[] {
  const el = new RegExp(`<(?:input|textarea|select)\\b[^>]*\\sid="${id}"[^>]*>`).exec(html)?.[0];
  expect(el, id).toBeDefined();
  expect(el, id).toContain('aria-invalid="true"');
  const ids = (/\saria-describedby="([^"]*)"/.exec(el!)?.[1] ?? '').split(' ').filter((x) => x && !x.endsWith('-hint'));
  return ids.map((x) => new RegExp(`<p class="field-error" id="${x}">([^<]*)</p>`).exec(html)?.[1] ?? `(no message ${x})`);
}

describe('license pages', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.close());

  const get = (s: { cookie: string }, url: string) => t.request.get(url).set('Cookie', s.cookie);
  const post = (s: { cookie: string; csrf: string }, url: string, body: Record<string, string> = {}) =>
    t.request.post(url).set('Cookie', s.cookie).type('form').send({ _csrf: s.csrf, ...body });
  const licenseRow = (id: number) => t.db.selectFrom('licenses').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  describe('list', () => {
    it('lists licenses for staff and searches by key, client and product', async () => {
      const acme = await adminClient(t, 'Acme Ltd');
      const globex = await adminClient(t, 'Globex');
      const a = await adminLicense(t, { clientId: acme.id, product: 'Payroll' });
      const b = await adminLicense(t, { clientId: globex.id, product: 'Warehouse' });
      const s = await loginAs(t, 'support');

      const all = await get(s, '/licenses');
      expect(all.status).toBe(200);
      expect(all.text).toContain(a.key);
      expect(all.text).toContain(b.key);
      expect(all.text).toContain('href="/licenses" aria-current="page"');

      const byKey = await get(s, `/licenses?q=${a.key.slice(0, 9)}`);
      expect(byKey.text).toContain(a.key);
      expect(byKey.text).not.toContain(b.key);
      // Without its dashes, in any case (read out over the phone, copied from a log).
      const undashed = a.key.replace(/-/g, '').slice(2, 12).toLowerCase();
      const byBareKey = await get(s, `/licenses?q=${undashed}`);
      expect(byBareKey.text).toContain(a.key);
      expect(byBareKey.text).not.toContain(b.key);
      const byClient = await get(s, '/licenses?q=globex');
      expect(byClient.text).toContain(b.key);
      expect(byClient.text).not.toContain(a.key);
      const byProduct = await get(s, '/licenses?q=warehouse');
      expect(byProduct.text).toContain(b.key);
      expect(byProduct.text).not.toContain(a.key);
      const byClientFilter = await get(s, `/licenses?client=${acme.id}`);
      expect(byClientFilter.text).toContain(a.key);
      expect(byClientFilter.text).not.toContain(b.key);
      const byExactProduct = await get(s, '/licenses?product=Payroll');
      expect(byExactProduct.text).toContain(a.key);
      expect(byExactProduct.text).not.toContain(b.key);
      // Support sees no "New license".
      expect(all.text).not.toContain('href="/licenses/new"');
    });

    it('searches Cyrillic clients and products in any case', async () => {
      const a = await adminLicense(t, { clientId: (await adminClient(t, 'ООО Ромашка')).id, product: 'Зарплата' });
      const b = await adminLicense(t, { clientId: (await adminClient(t, 'Globex')).id, product: 'Склад' });
      const s = await loginAs(t, 'support');
      const search = async (q: string) => (await get(s, `/licenses?q=${encodeURIComponent(q)}`)).text;
      for (const q of ['ромашка', 'РОМАШКА', 'зарплата', 'ЗАРПЛАТА']) {
        const text = await search(q);
        expect(text, q).toContain(a.key);
        expect(text, q).not.toContain(b.key);
      }
      expect(await search('склад')).toContain(b.key);
    });

    it('filters expired, suspended and near the host limit', async () => {
      const expired = await adminLicense(t, { expiresAt: t.clock.now() - 1000 });
      const suspended = await adminLicense(t);
      await t.db.updateTable('licenses').set({ suspended_at: t.clock.now() }).where('id', '=', suspended.id).execute();
      const near = await adminLicense(t, { maxHosts: 2 });
      await insertHost(t, near.id);
      const roomy = await adminLicense(t, { maxHosts: 10 });
      const s = await loginAs(t, 'support');

      const keys = (html: string) => [expired, suspended, near, roomy].filter((l) => html.includes(l.key)).map((l) => l.id);
      expect(keys((await get(s, '/licenses?expired=1')).text)).toEqual([expired.id]);
      expect(keys((await get(s, '/licenses?suspended=1')).text)).toEqual([suspended.id]);
      // maxHosts 2 in the helper's default: every fresh license with ≤ 1 free slot counts.
      const nearIds = keys((await get(s, '/licenses?near=1')).text);
      expect(nearIds).toContain(near.id);
      expect(nearIds).not.toContain(roomy.id);
      const page = (await get(s, '/licenses')).text;
      expect(page).toContain('Suspended');
      expect(page).toContain('Expired');
    });

    it('pages with a cursor and refuses a forged one with 400', async () => {
      const client = await adminClient(t);
      const made = [];
      for (let i = 0; i < 52; i++) made.push(await adminLicense(t, { clientId: client.id }));
      const s = await loginAs(t, 'admin');
      const first = await get(s, '/licenses');
      const next = /href="(\/licenses\?cursor=[^"]+)" rel="next"/.exec(first.text)?.[1];
      expect(next).toBeDefined();
      const second = await get(s, next!.replace(/&amp;/g, '&'));
      expect(second.status).toBe(200);
      // Newest first: the two oldest are on page 2 only.
      expect(first.text).not.toContain(made[0].key);
      expect(second.text).toContain(made[0].key);
      expect(second.text).toContain(made[1].key);
      expect(second.text).not.toContain(made[51].key);
      const bad = await get(s, '/licenses?cursor=bm9wZQ');
      expect(bad.status).toBe(400);
      expect(bad.text).toContain('no longer valid');
    });
  });

  describe('card', () => {
    it('shows the key with a copy button, rules, hosts with fingerprint components, sessions and the quota', async () => {
      const client = await adminClient(t, 'Acme Ltd');
      const lic = await adminLicense(t, {
        clientId: client.id,
        product: 'Payroll',
        features: ['export', 'reports'],
        featureLimits: { export: 2 },
        maxHosts: 3,
        maxSessions: 5,
        expiresAt: Date.parse('2027-01-01T00:00:00Z'),
        selfResetQuota: 4,
      });
      const host = await insertHost(t, lic.id, { hostname: 'ACC-SRV-01' });
      await insertHost(t, lic.id, { hostname: 'OLD-SRV', resetAt: t.clock.now() - 1000, resetByClient: true });
      const ib = await insertInfobase(t, client.id, 'Accounting');
      const session = await insertSession(t, { licenseId: lic.id, hostId: host.id, infobaseId: ib.id, user: 'Ivanov', features: ['export'] });
      const s = await loginAs(t, 'support');
      const res = await get(s, `/licenses/${lic.id}`);
      expect(res.status).toBe(200);
      expect(res.text).toContain(`data-copy="${lic.key}"`);
      expect(res.text).toContain(`href="/clients/${client.id}">Acme Ltd</a>`);
      expect(res.text).toContain('Payroll');
      expect(res.text).toMatch(/<code>export<\/code> <span class="muted">at most 2 at once<\/span>/);
      expect(res.text).toMatch(/<code>reports<\/code> <span class="muted">no limit of its own<\/span>/);
      expect(res.text).toContain('1 of 3 hosts bound');
      expect(res.text).toContain('(1 open now)');
      expect(res.text).toContain('01 Jan 2027');
      expect(res.text).toContain('1 of 4 used in the last 30 days (3 left)');
      // Staff see the fingerprint's components and the machine.
      expect(res.text).toContain('ACC-SRV-01');
      expect(res.text).toContain(JSON.parse(host.components).cpu);
      expect(res.text).not.toContain('OLD-SRV');
      expect(res.text).toContain(`data-session-id="${session.id}"`);
      expect(res.text).toContain(`href="/monitor?license=${lic.id}"`);
      expect(res.text).toContain(`href="/audit?targetType=license&amp;targetId=${lic.id}"`);
      expect(res.text).toContain(`action="/licenses/${lic.id}/hosts/${host.id}/reset"`);
      expect(res.text).toContain('This closes 1 open session on it.');
      // Support: read-only terms.
      expect(res.text).not.toContain(`/licenses/${lic.id}/edit`);
      expect(res.text).not.toContain(`/licenses/${lic.id}/suspend`);
    });

    it('says "host" or "hosts" as the limit asks, and writes counts with the language\'s grouping', async () => {
      const client = await adminClient(t, 'Acme Ltd');
      const one = await adminLicense(t, { clientId: client.id, maxHosts: 1 });
      const over = await adminLicense(t, { clientId: client.id, maxHosts: 3 });
      for (let i = 0; i < 3; i++) await insertHost(t, over.id);
      await t.db.updateTable('licenses').set({ max_hosts: 1 }).where('id', '=', over.id).execute();
      const big = await adminLicense(t, { clientId: client.id, maxHosts: 1_000_000, maxSessions: 1_000_000, features: ['export'], featureLimits: { export: 1_000_000 } });
      const s = await loginAs(t, 'support');

      const card = (await get(s, `/licenses/${one.id}`)).text;
      expect(card).toContain('<span class="muted">0 of 1 host bound</span>'); // the Bound hosts header
      expect(card).toContain('<dd><span>0 of 1 host bound</span></dd>');
      const overCard = (await get(s, `/licenses/${over.id}`)).text;
      expect(overCard).toContain('<span class="muted">3 of 1 host bound</span>');
      expect(overCard).toContain('<span class="badge warn">3 of 1 host bound</span>');
      const bigCard = (await get(s, `/licenses/${big.id}`)).text;
      expect(bigCard).toContain('<span class="muted">0 of 1,000,000 hosts bound</span>');
      expect(bigCard).toContain('<dd>1,000,000 <span class="muted">(0 open now)</span></dd>');
      expect(bigCard).toContain('at most 1,000,000 at once');
      const list = (await get(s, `/licenses?client=${client.id}`)).text;
      for (const text of ['0 of 1 host bound', '3 of 1 host bound', '0 of 1,000,000 hosts bound']) expect(list).toContain(text);

      const ru = (url: string) => t.request.get(url).set('Cookie', `${s.cookie}; sm_lang=ru`);
      const ruCard = (await ru(`/licenses/${big.id}`)).text;
      expect(ruCard).toContain('привязано: 0 из 1\u00a0000\u00a0000');
      expect(ruCard).toContain('не больше 1\u00a0000\u00a0000 одновременно');
      expect((await ru(`/licenses/${over.id}`)).text).toContain('привязано: 3 из 1');
    });

    it('shows admins Edit and Suspend; an unknown or malformed id is 404', async () => {
      const lic = await adminLicense(t);
      const s = await loginAs(t, 'admin');
      const res = await get(s, `/licenses/${lic.id}`);
      expect(res.text).toContain(`href="/licenses/${lic.id}/edit"`);
      expect(res.text).toContain(`action="/licenses/${lic.id}/suspend"`);
      expect((await get(s, `/licenses/${lic.id + 100}`)).status).toBe(404);
      expect((await get(s, '/licenses/abc')).status).toBe(404);
    });

    it('is not there for client users, and sends the signed-out to the login page', async () => {
      const lic = await adminLicense(t);
      const c = await loginAs(t, 'client', { clientId: lic.clientId });
      expect((await get(c, `/licenses/${lic.id}`)).status).toBe(404);
      expect((await get(c, '/licenses')).status).toBe(404);
      const anon = await t.request.get(`/licenses/${lic.id}`);
      expect(anon.status).toBe(303);
      expect(anon.headers.location).toBe(`/login?next=${encodeURIComponent(`/licenses/${lic.id}`)}`);
    });
  });

  describe('create and edit', () => {
    it('admin creates a license for a preselected client; audited', async () => {
      const client = await adminClient(t, 'Acme Ltd');
      const s = await loginAs(t, 'admin');
      const form = await get(s, `/licenses/new?client=${client.id}`);
      expect(form.status).toBe(200);
      expect(form.text).toContain(`<option value="${client.id}" selected="">Acme Ltd</option>`);
      const res = await post(s, '/licenses', {
        clientId: String(client.id),
        product: 'Payroll',
        features: 'reports\nexport = 2\n',
        maxHosts: '3',
        maxSessions: '',
        expiresAt: '2027-01-01T12:00',
        selfResetQuota: '',
        notes: 'Signed 2026',
      });
      expect(res.status).toBe(303);
      const id = Number(/^\/licenses\/(\d+)\?done=created$/.exec(res.headers.location)?.[1]);
      const row = await licenseRow(id);
      expect(row).toMatchObject({ client_id: client.id, product: 'Payroll', max_hosts: 3, max_sessions: null, self_reset_quota: null, notes: 'Signed 2026' });
      // The test config's zone is the viewer's: no cookie, no preference → the default.
      expect(row.expires_at).toBe(Date.parse('2027-01-01T12:00:00Z') - tzOffset(t.deps.config.defaultTimeZone, Date.parse('2027-01-01T12:00:00Z')));
      const feats = await t.db.selectFrom('license_features').select(['feature', 'max_sessions']).where('license_id', '=', id).orderBy('feature').execute();
      expect(feats).toEqual([
        { feature: 'export', max_sessions: 2 },
        { feature: 'reports', max_sessions: null },
      ]);
      const audit = await auditRows(t, 'license.created');
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({ target_type: 'license', target_id: String(id), client_id: client.id, actor_name: s.user.email });
      const card = await get(s, res.headers.location);
      expect(card.text).toContain('The license was created.');
    });

    it('a feature may be called "__proto__": its limit is kept like any other', async () => {
      const client = await adminClient(t);
      const s = await loginAs(t, 'admin');
      const res = await post(s, '/licenses', { clientId: String(client.id), product: 'P', features: '__proto__ = 2\nconstructor = 1', maxHosts: '1' });
      expect(res.status).toBe(303);
      const id = Number(/^\/licenses\/(\d+)/.exec(res.headers.location)?.[1]);
      const feats = await t.db.selectFrom('license_features').select(['feature', 'max_sessions']).where('license_id', '=', id).orderBy('feature').execute();
      expect(feats).toEqual([
        { feature: '__proto__', max_sessions: 2 },
        { feature: 'constructor', max_sessions: 1 },
      ]);
    });

    it('refuses bad input with 400, naming the fields, and stores nothing', async () => {
      const client = await adminClient(t);
      const s = await loginAs(t, 'admin');
      const before = await auditRows(t, 'license.created');
      const res = await post(s, '/licenses', { clientId: String(client.id), product: '', features: 'export = lots', maxHosts: '0', expiresAt: 'soon' });
      expect(res.status).toBe(400);
      expect(res.text).toContain('Please correct the marked fields.');
      expect(res.text).toContain('The limit of &quot;export&quot; must be a whole number from 1 to 1,000,000.');
      expect(res.text).toContain('Not a valid date and time.');
      const model = await post(s, '/licenses', { clientId: String(client.id), product: '', features: 'export', maxHosts: '0' });
      expect(model.status).toBe(400);
      expect(model.text).toContain('Enter a product name');
      expect(model.text).toContain('Enter a whole number from 1 to 1,000,000.');
      const past = await post(s, '/licenses', { clientId: String(client.id), product: 'X', maxHosts: '1', expiresAt: '2026-11-21T09:00' }); // now is 10:00 UTC
      expect(past.status).toBe(400);
      expect(past.text).toContain('This time has passed: the new license would be expired from the start.');
      const dots = await post(s, '/licenses', { clientId: String(client.id), product: 'X', features: 'reports\n..', maxHosts: '1' });
      expect(dots.status).toBe(400);
      expect(dots.text).toContain('A feature cannot be called &quot;.&quot; or &quot;..&quot;');
      const noClient = await post(s, '/licenses', { clientId: '', product: 'X', maxHosts: '1' });
      expect(noClient.status).toBe(400);
      expect(noClient.text).toContain('Choose a client.');
      expect(await t.db.selectFrom('licenses').selectAll().execute()).toHaveLength(0);
      expect(await auditRows(t, 'license.created')).toHaveLength(before.length);
    });

    it('shows every problem at once beside its field, every bad feature line named, and keeps what was typed', async () => {
      const client = await adminClient(t);
      const s = await loginAs(t, 'admin');
      // What a script or an old browser sends past the inputs' own checks.
      const sent = {
        clientId: String(client.id),
        product: 'Payroll',
        features: 'export = -1\r\nimport = 2.5\r\n= 3\r\nreport=abc\r\nreports',
        maxHosts: '-1',
        maxSessions: '2.5',
        expiresAt: '2020-01-01T10:00',
        selfResetQuota: '-3',
        notes: 'Signed',
      };
      const res = await post(s, '/licenses', sent);
      expect(res.status).toBe(400);
      expect(res.text).toContain('Please correct the marked fields.');
      expect(fieldProblems(res.text, 'f-features')).toEqual([
        'The limit of &quot;export&quot; must be a whole number from 1 to 1,000,000.',
        'The limit of &quot;import&quot; must be a whole number from 1 to 1,000,000.',
        'Cannot read &quot;= 3&quot;: write a name, optionally followed by &quot;= N&quot;.',
        'The limit of &quot;report&quot; must be a whole number from 1 to 1,000,000.',
      ]);
      expect(fieldProblems(res.text, 'f-maxHosts')).toEqual(['Enter a whole number from 1 to 1,000,000.']);
      expect(fieldProblems(res.text, 'f-maxSessions')).toEqual(['Leave empty or enter a whole number from 1 to 1,000,000.']);
      expect(fieldProblems(res.text, 'f-selfResetQuota')).toEqual(['Leave empty or enter a whole number from 0 to 1000.']);
      expect(fieldProblems(res.text, 'f-expiresAt')[0]).toMatch(/^This time has passed/);
      // The fields' hints are still read after their problems.
      expect(res.text).toMatch(/id="f-features"[^>]*aria-describedby="f-features-error f-features-error-2 f-features-error-3 f-features-error-4 f-features-hint"/);
      // Everything as typed, to correct rather than retype.
      const kept = formFields(res.text);
      for (const f of ['maxHosts', 'maxSessions', 'expiresAt', 'selfResetQuota', 'product', 'notes'] as const) expect(kept[f], f).toBe(sent[f]);
      expect(kept.features.replace(/\r\n/g, '\n')).toBe(sent.features.replace(/\r\n/g, '\n'));
      expect(await t.db.selectFrom('licenses').selectAll().execute()).toHaveLength(0);

      // The same on edit.
      const lic = await adminLicense(t, { clientId: client.id });
      const edit = await post(s, `/licenses/${lic.id}`, { ...sent, expiresAt: '' });
      expect(edit.status).toBe(400);
      expect(fieldProblems(edit.text, 'f-features')).toHaveLength(4);
      for (const id of ['f-maxHosts', 'f-maxSessions', 'f-selfResetQuota']) expect(fieldProblems(edit.text, id), id).toHaveLength(1);
      expect(await licenseRow(lic.id)).toMatchObject({ max_hosts: 2, max_sessions: null, self_reset_quota: null });
    });

    it('refuses a feature listed twice (also in another Unicode form), naming it, instead of keeping one of its limits', async () => {
      const client = await adminClient(t);
      const s = await loginAs(t, 'admin');
      const features = 'export = 2\nexport = 5\nreport\nreport\ncaf\u00e9\ncafe\u0301 = 1';
      const res = await post(s, '/licenses', { clientId: String(client.id), product: 'P', maxHosts: '1', features });
      expect(res.status).toBe(400);
      expect(fieldProblems(res.text, 'f-features')).toEqual([
        '&quot;export&quot; is listed more than once: keep one line for it, with the limit it should have.',
        '&quot;report&quot; is listed more than once: keep one line for it, with the limit it should have.',
        '&quot;cafe\u0301&quot; is listed more than once: keep one line for it, with the limit it should have.',
      ]);
      expect(formFields(res.text).features).toBe(features);
      expect(await t.db.selectFrom('licenses').selectAll().execute()).toHaveLength(0);

      const lic = await adminLicense(t, { clientId: client.id, features: ['export'], featureLimits: { export: 2 } });
      const ru = await t.request
        .post(`/licenses/${lic.id}`)
        .set('Cookie', `${s.cookie}; sm_lang=ru`)
        .type('form')
        .send({ _csrf: s.csrf, product: 'Payroll', maxHosts: '2', features: 'export = 2\nexport = 5' });
      expect(ru.status).toBe(400);
      expect(ru.text).toContain('Функция «export» указана больше одного раза');
      const feats = await t.db.selectFrom('license_features').select(['feature', 'max_sessions']).where('license_id', '=', lic.id).execute();
      expect(feats).toEqual([{ feature: 'export', max_sessions: 2 }]);
    });

    it('refuses an edited expiry that has passed, but saves an expired license whose expiry was left as it was', async () => {
      const lic = await adminLicense(t, { expiresAt: Date.parse('2027-01-01T00:00:00Z') });
      const s = await loginAs(t, 'admin');
      const values = formFields((await get(s, `/licenses/${lic.id}/edit`)).text);
      const past = await post(s, `/licenses/${lic.id}`, { ...values, expiresAt: '2026-11-21T09:00' }); // now is 10:00 UTC
      expect(past.status).toBe(400);
      expect(fieldProblems(past.text, 'f-expiresAt')).toEqual([
        'This time has passed: the license would expire at once and refuse new captures. Choose a later date, or leave it empty for no expiry; to stop the license now, suspend it.',
      ]);
      expect(formFields(past.text).expiresAt).toBe('2026-11-21T09:00');
      expect((await licenseRow(lic.id)).expires_at).toBe(Date.parse('2027-01-01T00:00:00Z'));

      const expired = await adminLicense(t, { expiresAt: Date.parse('2025-06-01T00:00:00Z') });
      const form = formFields((await get(s, `/licenses/${expired.id}/edit`)).text);
      const saved = await post(s, `/licenses/${expired.id}`, { ...form, notes: 'Renewal pending' });
      expect(saved.status).toBe(303);
      expect(await licenseRow(expired.id)).toMatchObject({ expires_at: Date.parse('2025-06-01T00:00:00Z'), notes: 'Renewal pending' });
      // Moved to another past time, it is refused like any other.
      expect((await post(s, `/licenses/${expired.id}`, { ...form, expiresAt: '2025-07-01T00:00' })).status).toBe(400);
    });

    it('admin edits features, limits and expiry; audited with what changed', async () => {
      const lic = await adminLicense(t, { features: ['export'], featureLimits: { export: 1 }, maxSessions: 4, expiresAt: Date.parse('2027-01-01T00:00:00Z') });
      const s = await loginAs(t, 'admin');
      const form = await get(s, `/licenses/${lic.id}/edit`);
      expect(form.status).toBe(200);
      expect(form.text).toContain('export = 1</textarea>');
      expect(form.text).toContain('value="4"');
      const res = await post(s, `/licenses/${lic.id}`, {
        product: 'Payroll Pro',
        features: 'export = 3\nreports',
        maxHosts: '5',
        maxSessions: '',
        expiresAt: '',
        selfResetQuota: '0',
        notes: '',
      });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe(`/licenses/${lic.id}?done=updated`);
      expect(await licenseRow(lic.id)).toMatchObject({ product: 'Payroll Pro', max_hosts: 5, max_sessions: null, expires_at: null, self_reset_quota: 0 });
      const feats = await t.db.selectFrom('license_features').select(['feature', 'max_sessions']).where('license_id', '=', lic.id).orderBy('feature').execute();
      expect(feats).toEqual([
        { feature: 'export', max_sessions: 3 },
        { feature: 'reports', max_sessions: null },
      ]);
      const [audit] = await auditRows(t, 'license.updated');
      expect(JSON.parse(audit.details!)).toMatchObject({ product: { from: 'Payroll', to: 'Payroll Pro' }, maxSessions: { from: 4, to: null }, featureLimits: { to: { export: 3 } } });
    });

    it('says after saving that lowered limits left hosts bound and sessions open above them, none freed or closed', async () => {
      const lic = await adminLicense(t, { maxHosts: 3, maxSessions: 5 });
      const hosts = [await insertHost(t, lic.id), await insertHost(t, lic.id), await insertHost(t, lic.id)];
      for (const h of hosts) await insertSession(t, { licenseId: lic.id, hostId: h.id });
      const s = await loginAs(t, 'admin');
      const values = formFields((await get(s, `/licenses/${lic.id}/edit`)).text);
      const res = await post(s, `/licenses/${lic.id}`, { ...values, maxHosts: '1', maxSessions: '2' });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe(`/licenses/${lic.id}?done=updated&over=hosts,sessions`);
      const card = await get(s, res.headers.location);
      expect(card.text).toContain(
        'The license was saved. 3 hosts are bound, 2 above the new limit of 1; none was freed. ' +
          '3 sessions are open, 1 above the new limit of 2; none was closed. ' +
          'A lower limit applies only to new captures: reset bindings or terminate sessions to come within it.',
      );
      expect(card.text).toContain('3 of 1 host bound');
      // Nothing was freed or closed.
      expect(await t.db.selectFrom('hosts').select('id').where('license_id', '=', lic.id).where('reset_at', 'is', null).execute()).toHaveLength(3);
      expect(await t.db.selectFrom('sessions').select('id').where('license_id', '=', lic.id).where('closed_at', 'is', null).execute()).toHaveLength(3);
      const ru = await t.request.get(res.headers.location).set('Cookie', `${s.cookie}; sm_lang=ru`);
      expect(ru.text).toContain('Лицензия сохранена. Привязано 3 хоста — на 2 больше нового лимита (1); ни один не освобождён. Открыто 3 сеанса — на 1 больше нового лимита (2); ни один не закрыт.');

      // Only the limit this save changed is named; a save within the limits is just saved.
      const notes = await post(s, `/licenses/${lic.id}`, { ...values, maxHosts: '1', maxSessions: '4', notes: 'x' });
      expect(notes.headers.location).toBe(`/licenses/${lic.id}?done=updated`);
      // The URL cannot make the card claim what is not so.
      const within = await adminLicense(t, { maxHosts: 3 });
      const forged = await get(s, `/licenses/${within.id}?done=updated&over=hosts,sessions`);
      expect(forged.text).toContain('The license was saved.');
      expect(forged.text).not.toContain('above the new limit');
    });

    it('says so too when a lowered feature limit leaves more sessions holding it', async () => {
      const lic = await adminLicense(t, { features: ['designer', 'reports'], featureLimits: { designer: 3 } });
      const host = await insertHost(t, lic.id);
      for (let i = 0; i < 3; i++) await insertSession(t, { licenseId: lic.id, hostId: host.id, features: ['designer'] });
      const s = await loginAs(t, 'admin');
      const values = formFields((await get(s, `/licenses/${lic.id}/edit`)).text);
      const res = await post(s, `/licenses/${lic.id}`, { ...values, features: 'designer = 1\nreports' });
      expect(res.headers.location).toBe(`/licenses/${lic.id}?done=updated&over=features`);
      const card = await get(s, res.headers.location);
      expect(card.text).toContain('&quot;designer&quot; is held by 3 sessions, 2 above its new limit of 1; none was closed.');
      // A save that leaves that limit as it was names nothing.
      const again = await post(s, `/licenses/${lic.id}`, { ...values, features: 'designer = 1\nreports', notes: 'x' });
      expect(again.headers.location).toBe(`/licenses/${lic.id}?done=updated`);
    });

    it('saving the edit form untouched keeps every stored value exactly and audits nothing', async () => {
      // Seconds and milliseconds the datetime-local field does not show; notes from the API with bare LF.
      const expiresAt = Date.parse('2027-01-01T10:30:45.678Z');
      const lic = await adminLicense(t, { features: ['reports', 'export'], featureLimits: { reports: 2, export: 1 }, maxSessions: 4, expiresAt, notes: 'Line one\nline two' });
      const before = await licenseRow(lic.id);
      const s = await loginAs(t, 'admin');
      for (const tz of ['UTC', 'Europe/Moscow']) {
        const form = await t.request.get(`/licenses/${lic.id}/edit`).set('Cookie', `${s.cookie}; sm_tz=${tz}`);
        const values = formFields(form.text);
        expect(values.expiresAt).toBe(tz === 'UTC' ? '2027-01-01T10:30' : '2027-01-01T13:30');
        // As a browser sends a textarea: line breaks as CRLF.
        values.notes = values.notes.replace(/\n/g, '\r\n');
        const res = await t.request.post(`/licenses/${lic.id}`).set('Cookie', `${s.cookie}; sm_tz=${tz}`).type('form').send({ _csrf: s.csrf, ...values });
        expect(res.status).toBe(303);
        expect(await licenseRow(lic.id)).toEqual(before);
      }
      expect(await auditRows(t, 'license.updated')).toHaveLength(0);

      // A minute typed in is a change, to that minute.
      const values = formFields((await get(s, `/licenses/${lic.id}/edit`)).text);
      expect((await post(s, `/licenses/${lic.id}`, { ...values, expiresAt: '2027-01-01T10:31' })).status).toBe(303);
      expect((await licenseRow(lic.id)).expires_at).toBe(Date.parse('2027-01-01T10:31:00Z'));
      const [audit] = await auditRows(t, 'license.updated');
      expect(JSON.parse(audit.details!)).toEqual({ expiresAt: { from: expiresAt, to: Date.parse('2027-01-01T10:31:00Z') } });
    });

    it('support may look but not create, edit or suspend (403, nothing changes)', async () => {
      const lic = await adminLicense(t);
      const s = await loginAs(t, 'support');
      expect((await get(s, '/licenses/new')).status).toBe(403);
      expect((await get(s, `/licenses/${lic.id}/edit`)).status).toBe(403);
      expect((await post(s, '/licenses', { clientId: String(lic.clientId), product: 'X', maxHosts: '1' })).status).toBe(403);
      expect((await post(s, `/licenses/${lic.id}`, { product: 'Changed', maxHosts: '9' })).status).toBe(403);
      expect((await post(s, `/licenses/${lic.id}/suspend`)).status).toBe(403);
      expect((await post(s, `/licenses/${lic.id}/unsuspend`)).status).toBe(403);
      expect(await licenseRow(lic.id)).toMatchObject({ product: 'Payroll', max_hosts: 2, suspended_at: null });
      expect(await t.db.selectFrom('licenses').selectAll().execute()).toHaveLength(1);
    });
  });

  describe('suspension', () => {
    it('suspends (closing live sessions, agents get 410 license_suspended) and lifts it; both audited', async () => {
      const lic = await adminLicense(t, { maxHosts: 5 });
      const opened = await openOk(t, lic.key);
      const s = await loginAs(t, 'admin');
      const card = await get(s, `/licenses/${lic.id}`);
      expect(card.text).toContain('Suspend license ' + lic.key + '? Its 1 live session will be closed.');
      const res = await post(s, `/licenses/${lic.id}/suspend`, { reason: 'Unpaid invoice' });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe(`/licenses/${lic.id}?done=suspended&n=1`);
      expect((await licenseRow(lic.id)).suspended_at).toBe(t.clock.now());
      const hb = await heartbeat(t, opened);
      expect(hb.status).toBe(410);
      expect(hb.body.error.details.reason).toBe('license_suspended');
      const [audit] = await auditRows(t, 'license.suspended');
      expect(audit).toMatchObject({ target_id: String(lic.id), reason: 'Unpaid invoice' });
      expect(JSON.parse(audit.details!)).toEqual({ closedSessions: 1 });
      const after = await get(s, res.headers.location);
      expect(after.text).toContain('The license is suspended; 1 session was closed.');
      expect(after.text).toContain(`action="/licenses/${lic.id}/unsuspend"`);

      const lift = await post(s, `/licenses/${lic.id}/unsuspend`);
      expect(lift.status).toBe(303);
      expect((await licenseRow(lic.id)).suspended_at).toBeNull();
      expect(await auditRows(t, 'license.unsuspended')).toHaveLength(1);
    });

    it('says a count from the URL only as an action could have given it', async () => {
      const lic = await adminLicense(t);
      const s = await loginAs(t, 'admin');
      const notice = async (query: string) => /<p class="msg ok" role="status"[^>]*>([^<]*)</.exec((await get(s, `/licenses/${lic.id}?${query}`)).text)?.[1] ?? null;
      expect(await notice('done=suspended&n=0')).toBe('The license is suspended; no session was open.');
      for (const n of ['-3', '1.5', 'x', '']) expect(await notice(`done=suspended&n=${n}`), n).toBeNull();
      expect(await notice('done=suspended')).toBeNull();
      expect(await notice('done=reset&n=-1')).toBeNull();
      // Notices without a count do not need one.
      expect(await notice('done=unsuspended&n=-3')).toBe('The suspension was lifted.');
    });
  });

  describe('reset binding', () => {
    it('support resets a host with a reason: slot freed, its sessions get 410 binding_reset, audited, no quota used', async () => {
      const lic = await adminLicense(t, { maxHosts: 2, selfResetQuota: 1 });
      const opened = await openOk(t, lic.key);
      const s = await loginAs(t, 'support');
      const res = await post(s, `/licenses/${lic.id}/hosts/${opened.hostId}/reset`, { reason: 'Server replaced' });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe(`/licenses/${lic.id}?done=reset&n=1#hosts`);
      const host = await t.db.selectFrom('hosts').selectAll().where('id', '=', opened.hostId).executeTakeFirstOrThrow();
      expect(host).toMatchObject({ reset_at: t.clock.now(), reset_reason: 'Server replaced', reset_by: s.user.email, reset_by_client: 0 });
      const hb = await heartbeat(t, opened);
      expect(hb.status).toBe(410);
      expect(hb.body.error.details.reason).toBe('binding_reset');
      const [audit] = await auditRows(t, 'host.reset');
      expect(audit).toMatchObject({ target_type: 'host', target_id: String(opened.hostId), reason: 'Server replaced', client_id: lic.clientId });
      const card = await get(s, `/licenses/${lic.id}?done=reset&n=1`);
      expect(card.text).toContain('The binding was reset; 1 session was closed.');
      expect(card.text).toContain('0 of 2 hosts bound');
      expect(card.text).toContain('0 of 1 used in the last 30 days (1 left)');
    });

    it('requires a reason (400, nothing reset) and answers 404 for a host of another license or one already reset', async () => {
      const lic = await adminLicense(t);
      const other = await adminLicense(t);
      const host = await insertHost(t, lic.id);
      const foreign = await insertHost(t, other.id);
      const s = await loginAs(t, 'admin');
      const empty = await post(s, `/licenses/${lic.id}/hosts/${host.id}/reset`, { reason: '   ' });
      expect(empty.status).toBe(400);
      expect(empty.text).toContain('Give a reason for the reset.');
      expect((await post(s, `/licenses/${lic.id}/hosts/${foreign.id}/reset`, { reason: 'x' })).status).toBe(404);
      const rows = await t.db.selectFrom('hosts').select('reset_at').execute();
      expect(rows.every((r) => r.reset_at === null)).toBe(true);
      await post(s, `/licenses/${lic.id}/hosts/${host.id}/reset`, { reason: 'x' });
      expect((await post(s, `/licenses/${lic.id}/hosts/${host.id}/reset`, { reason: 'again' })).status).toBe(404);
      expect(await auditRows(t, 'host.reset')).toHaveLength(1);
    });
  });

  it('terminates one session from the card (audited); a session of another license is 404', async () => {
    const lic = await adminLicense(t);
    const other = await adminLicense(t);
    const host = await insertHost(t, lic.id);
    const s1 = await insertSession(t, { licenseId: lic.id, hostId: host.id });
    const foreign = await insertSession(t, { licenseId: other.id, hostId: (await insertHost(t, other.id)).id });
    const s = await loginAs(t, 'support');
    const res = await post(s, `/licenses/${lic.id}/sessions/${s1.id}/terminate`, { back: `/licenses/${lic.id}` });
    expect(res.status).toBe(303);
    const row = await t.db.selectFrom('sessions').selectAll().where('id', '=', s1.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ closed_at: t.clock.now(), close_reason: 'terminated' });
    expect(await auditRows(t, 'session.terminate')).toHaveLength(1);
    expect((await post(s, `/licenses/${lic.id}/sessions/${foreign.id}/terminate`)).status).toBe(404);
    expect((await t.db.selectFrom('sessions').select('closed_at').where('id', '=', foreign.id).executeTakeFirstOrThrow()).closed_at).toBeNull();
  });

  describe('history', () => {
    it('marks the binding of rows that would look the same: a computer reset and bound again', async () => {
      const lic = await adminLicense(t, { maxHosts: 2 });
      const first = await insertHost(t, lic.id, { hostname: 'HOST-A', resetAt: t.clock.now() - 2 * HOUR });
      const again = await insertHost(t, lic.id, { hostname: 'HOST-A' });
      const other = await insertHost(t, lic.id, { hostname: 'HOST-B' });
      const now = t.clock.now();
      const ev = (hostId: number, hostname: string, at: number) => insertEvent(t, { licenseId: lic.id, kind: 'capture', at, feature: 'export', user: 'alice', hostId, hostname });
      await ev(first.id, 'HOST-A', now - 3 * HOUR);
      await ev(again.id, 'HOST-A', now - HOUR);
      await ev(other.id, 'HOST-B', now - HOUR);
      const s = await loginAs(t, 'support');
      const res = await get(s, `/licenses/${lic.id}/history`);
      expect(res.text).toContain(`binding #${first.id}</small>`);
      expect(res.text).toContain(`binding #${again.id}</small>`);
      expect(res.text).not.toContain(`binding #${other.id}`);
    });

    it('groups captures by feature × user × computer and refusals the same with their codes, in the period', async () => {
      const lic = await adminLicense(t, { maxHosts: 2, maxSessions: 3 });
      const now = t.clock.now();
      const ev = (e: Omit<Parameters<typeof insertEvent>[1], 'licenseId'>) => insertEvent(t, { licenseId: lic.id, ...e });
      await ev({ kind: 'capture', at: now - 3 * HOUR, feature: 'export', user: 'Ivanov', hostname: 'BUH-PC-1' });
      await ev({ kind: 'capture', at: now - 2 * HOUR, feature: 'export', user: 'Ivanov', hostname: 'BUH-PC-1' });
      await ev({ kind: 'capture', at: now - 30 * 60_000, feature: 'export', user: 'Ivanov', hostname: 'BUH-PC-1' });
      await ev({ kind: 'capture', at: now - 1 * HOUR, feature: 'export', user: 'Petrov', hostname: 'BUH-PC-1' });
      await ev({ kind: 'capture', at: now - 1 * HOUR, feature: 'reports', user: 'Ivanov', hostname: 'BUH-PC-2' });
      await ev({ kind: 'capture', at: now - 30 * HOUR, feature: 'ancient', user: 'Ivanov', hostname: 'BUH-PC-1' });
      await ev({ kind: 'refusal', at: now - 2 * HOUR, code: 'host_limit_reached', user: 'Sidorov', hostname: 'NEW-PC' });
      await ev({ kind: 'refusal', at: now - 10 * 60_000, code: 'host_limit_reached', user: 'Sidorov', hostname: 'NEW-PC' });
      await ev({ kind: 'refusal', at: now - 5 * 60_000, code: 'feature_not_licensed', feature: 'admin', user: 'Ivanov', hostname: 'BUH-PC-1' });
      const s = await loginAs(t, 'support');

      const res = await get(s, `/licenses/${lic.id}/history`);
      expect(res.status).toBe(200);
      const captures = rowsOf(tableOf(res.text, 'captures'));
      expect(captures).toEqual([
        ['export', 'Ivanov', 'BUH-PC-1', '3', time(now - 3 * HOUR), time(now - 30 * 60_000)],
        ['export', 'Petrov', 'BUH-PC-1', '1', time(now - HOUR), time(now - HOUR)],
        ['reports', 'Ivanov', 'BUH-PC-2', '1', time(now - HOUR), time(now - HOUR)],
      ]);
      const refusals = rowsOf(tableOf(res.text, 'refusals'));
      expect(refusals).toEqual([
        ['Feature not licensed feature_not_licensed', 'admin', 'Ivanov', 'BUH-PC-1', '1', time(now - 5 * 60_000), time(now - 5 * 60_000)],
        ['Host limit reached host_limit_reached', '—', 'Sidorov', 'NEW-PC', '2', time(now - 2 * HOUR), time(now - 10 * 60_000)],
      ]);
      expect(res.text).not.toContain('ancient');
      expect(res.text).toContain('<a class="button" href="/licenses/' + lic.id + '/history?period=24h" aria-current="true">');

      const hour = await get(s, `/licenses/${lic.id}/history?period=1h`);
      expect(rowsOf(tableOf(hour.text, 'captures')).map((r) => r.slice(0, 4))).toEqual([['export', 'Ivanov', 'BUH-PC-1', '1']]);
      expect(rowsOf(tableOf(hour.text, 'refusals')).map((r) => r[4])).toEqual(['1', '1']);
      const week = await get(s, `/licenses/${lic.id}/history?period=7d`);
      expect(week.text).toContain('ancient');
    });

    it('draws the concurrency chart with the session limit (not the host limit: sessions are not hosts) and says the peak and the time at the limit in words', async () => {
      const lic = await adminLicense(t, { maxHosts: 2, maxSessions: 2 });
      const host = await insertHost(t, lic.id);
      const now = t.clock.now();
      // Two sessions overlap for 30 minutes: at the limit of 2 for half an hour.
      await insertSession(t, { licenseId: lic.id, hostId: host.id, startedAt: now - 3 * HOUR, closedAt: now - HOUR });
      await insertSession(t, { licenseId: lic.id, hostId: host.id, startedAt: now - 90 * 60_000, closedAt: now - 60 * 60_000 + 1 });
      const s = await loginAs(t, 'support');
      const res = await get(s, `/licenses/${lic.id}/history`);
      expect(res.text).toMatch(/<svg class="chart" viewBox="0 0 640 180"[^>]*role="img"/);
      expect(res.text).not.toContain('chart-limit hosts');
      expect(res.text).toContain('session limit 2');
      expect(res.text).toContain(`Peak: 2 concurrent sessions, first reached ${time(now - 90 * 60_000)}.`);
      expect(res.text).toContain('Time at the session limit (2): 30 min.');
      expect(res.text).not.toContain('style=');
    });

    it('offers only periods within the retention of history', async () => {
      const lic = await adminLicense(t);
      await t.db.updateTable('settings').set({ retention_days: 3 }).execute();
      await insertEvent(t, { licenseId: lic.id, kind: 'capture', at: t.clock.now() - 50 * HOUR, feature: 'old' });
      const s = await loginAs(t, 'support');
      const res = await get(s, `/licenses/${lic.id}/history`);
      expect(res.status).toBe(200);
      expect(res.text).toContain('<span class="button disabled"');
      expect(res.text).not.toContain('period=7d');
      // The last 24 hours by default.
      expect(res.text).not.toContain('<code>old</code>');
      // A period no longer offered (a bookmark from before) is refused with the ones there are, not quietly replaced.
      const old = await get(s, `/licenses/${lic.id}/history?period=7d`);
      expect(old.status).toBe(400);
      expect(old.text).toContain('(period)');
      expect(old.text).toContain('use one of: 1h (1 hour), 24h (24 hours).');
      expect(old.text).not.toContain('<code>old</code>');
    });
  });
});

/** The zone's offset in ms at the instant. */
function tzOffset(timeZone: string, at: number): number {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric' }).formatToParts(at);
  const get = (k: string) => Number(parts.find((p) => p.type === k)!.value);
  return Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute')) - at;
}

/** As the page formats times (test viewers have no zone: UTC unless configured). */
function time(ms: number): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(ms);
}

function tableOf(html: string, cls: string): string {
  return new RegExp(`<table class="history ${cls}">[\\s\\S]*?</table>`).exec(html)?.[0] ?? '';
}

/** The body rows' cell texts. */
function rowsOf(table: string): string[][] {
  const body = /<tbody>([\s\S]*)<\/tbody>/.exec(table)?.[1] ?? '';
  return [...body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) =>
    [...m[1].matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) => c[1].replace(/<[^>]+>/g, '').replace(/\s+/g, ' ').trim()),
  );
}
