import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loginAs, makeApp, makeUser, type TestApp } from '../../helpers/app.js';
import { adminClient, adminLicense, auditRows, insertInfobase } from '../../helpers/admin.js';

describe('client pages', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.close());

  const get = (s: { cookie: string }, url: string) => t.request.get(url).set('Cookie', s.cookie);
  const post = (s: { cookie: string; csrf: string }, url: string, body: Record<string, string> = {}) =>
    t.request.post(url).set('Cookie', s.cookie).type('form').send({ _csrf: s.csrf, ...body });
  const clientRow = (id: number) => t.db.selectFrom('clients').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  it('lists clients with a search and a "show current sessions" icon each', async () => {
    const acme = await adminClient(t, 'Acme Ltd');
    const globex = await adminClient(t, 'Globex');
    await adminLicense(t, { clientId: acme.id });
    const s = await loginAs(t, 'support');
    const all = await get(s, '/clients');
    expect(all.status).toBe(200);
    expect(all.text).toContain(`href="/clients/${acme.id}">Acme Ltd</a>`);
    expect(all.text).toContain(`href="/clients/${globex.id}">Globex</a>`);
    expect(all.text).toContain(`href="/monitor?client=${acme.id}" title="Show current sessions" aria-label="Show current sessions"`);
    expect(all.text).not.toContain('href="/clients/new"');
    const found = await get(s, '/clients?q=glob');
    expect(found.text).toContain('Globex');
    expect(found.text).not.toContain('Acme Ltd');
  });

  it('searches Cyrillic names in any case', async () => {
    const romashka = await adminClient(t, 'ООО Ромашка');
    await adminClient(t, 'Globex');
    const s = await loginAs(t, 'support');
    for (const q of ['ромашка', 'РОМАШКА', 'Ромашка', 'ооо']) {
      const found = await get(s, `/clients?q=${encodeURIComponent(q)}`);
      expect(found.text, q).toContain(`href="/clients/${romashka.id}">ООО Ромашка</a>`);
      expect(found.text, q).not.toContain('Globex');
    }
    expect((await get(s, `/clients?q=${encodeURIComponent('лютик')}`)).text).not.toContain('Ромашка');
  });

  it('shows a card: contacts, notes, licenses, infobases, users, the monitor icon and the audit link', async () => {
    const admin = await loginAs(t, 'admin');
    await post(admin, '/clients', { name: 'Acme Ltd', contactPerson: 'Anna Petrova', email: 'ops@acme.example', phone: '+7 495 000-00-00', notes: 'VIP\nCalls before 10' });
    const client = await t.db.selectFrom('clients').selectAll().executeTakeFirstOrThrow();
    const lic = await adminLicense(t, { clientId: client.id, product: 'Payroll' });
    const ib = await insertInfobase(t, client.id, 'Accounting');
    const user = await makeUser(t, 'client', { clientId: client.id, email: 'buh@acme.example' });
    const other = await adminLicense(t);

    const s = await loginAs(t, 'support');
    const res = await get(s, `/clients/${client.id}`);
    expect(res.status).toBe(200);
    for (const text of ['Anna Petrova', 'mailto:ops@acme.example', '+7 495 000-00-00', 'VIP\nCalls before 10', lic.key, 'Accounting', 'buh@acme.example']) {
      expect(res.text).toContain(text);
    }
    expect(res.text).not.toContain(other.key);
    expect(res.text).toContain(`href="/infobases/${ib.id}"`);
    expect(res.text).toContain(`href="/monitor?client=${client.id}"`);
    expect(res.text).toContain(`href="/audit?client=${client.id}"`);
    // Support: no user management link, no edit, no new license.
    expect(res.text).not.toContain(`href="/users/${user.id}"`);
    expect(res.text).not.toContain(`/clients/${client.id}/edit`);
    expect(res.text).not.toContain('/licenses/new');

    const asAdmin = await get(admin, `/clients/${client.id}`);
    expect(asAdmin.text).toContain(`href="/users/${user.id}"`);
    expect(asAdmin.text).toContain('href="/users"');
    expect(asAdmin.text).toContain(`href="/licenses/new?client=${client.id}"`);
    expect(asAdmin.text).toContain(`href="/clients/${client.id}/edit"`);
    expect((await get(s, `/clients/${client.id + 99}`)).status).toBe(404);
  });

  it('admin creates a client (audited) and bad input is a 400 that stores nothing', async () => {
    const s = await loginAs(t, 'admin');
    expect((await get(s, '/clients/new')).status).toBe(200);
    const bad = await post(s, '/clients', { name: '  ', email: 'not-an-email' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('Enter a name');
    expect(bad.text).toContain('Enter a valid e-mail address');
    expect(await t.db.selectFrom('clients').selectAll().execute()).toHaveLength(0);

    const res = await post(s, '/clients', { name: 'Acme Ltd', email: 'ops@acme.example', contactPerson: '', phone: '', notes: '' });
    expect(res.status).toBe(303);
    const id = Number(/^\/clients\/(\d+)\?done=created$/.exec(res.headers.location)?.[1]);
    expect(await clientRow(id)).toMatchObject({ name: 'Acme Ltd', email: 'ops@acme.example', contact_person: null, phone: null, notes: null });
    const [audit] = await auditRows(t, 'client.created');
    expect(audit).toMatchObject({ target_type: 'client', target_id: String(id), actor_name: s.user.email });
    expect((await get(s, res.headers.location)).text).toContain('The client was created.');
  });

  it('admin edits a client (audited with what changed)', async () => {
    const client = await adminClient(t, 'Acme');
    const s = await loginAs(t, 'admin');
    const form = await get(s, `/clients/${client.id}/edit`);
    expect(form.status).toBe(200);
    expect(form.text).toContain('value="Acme"');
    const res = await post(s, `/clients/${client.id}`, { name: 'Acme Ltd', email: '', contactPerson: 'Anna', phone: '', notes: 'New notes' });
    expect(res.status).toBe(303);
    expect(await clientRow(client.id)).toMatchObject({ name: 'Acme Ltd', email: null, contact_person: 'Anna', notes: 'New notes' });
    const [audit] = await auditRows(t, 'client.updated');
    expect(JSON.parse(audit.details!)).toMatchObject({ name: { from: 'Acme', to: 'Acme Ltd' }, contact_person: { from: null, to: 'Anna' } });
    const bad = await post(s, `/clients/${client.id}`, { name: '' });
    expect(bad.status).toBe(400);
    expect((await clientRow(client.id)).name).toBe('Acme Ltd');
  });

  it('support may look but not create or edit (403); client users get 404', async () => {
    const client = await adminClient(t, 'Acme');
    const s = await loginAs(t, 'support');
    expect((await get(s, '/clients/new')).status).toBe(403);
    expect((await get(s, `/clients/${client.id}/edit`)).status).toBe(403);
    expect((await post(s, '/clients', { name: 'Sneaky' })).status).toBe(403);
    expect((await post(s, `/clients/${client.id}`, { name: 'Renamed' })).status).toBe(403);
    const c = await loginAs(t, 'client', { clientId: client.id });
    expect((await get(c, '/clients')).status).toBe(404);
    expect((await get(c, `/clients/${client.id}`)).status).toBe(404);
    expect((await post(c, `/clients/${client.id}`, { name: 'Renamed' })).status).toBe(404);
    expect(await t.db.selectFrom('clients').select('name').execute()).toEqual([{ name: 'Acme' }]);
    expect(await auditRows(t, 'client.created')).toHaveLength(1);
  });
});
