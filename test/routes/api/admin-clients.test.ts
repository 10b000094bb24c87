import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeApiToken, makeApp, type TestApp } from '../../helpers/app.js';
import { auditRows } from '../../helpers/admin.js';

describe('admin API: clients', () => {
  let t: TestApp;
  let auth: { Authorization: string };
  beforeEach(async () => {
    t = await makeApp();
    auth = { Authorization: `Bearer ${await makeApiToken(t, 'admin')}` };
  });
  afterEach(() => t.close());

  it('creates a client (201), audits it naming the token, and lists it', async () => {
    const res = await t.request
      .post('/api/v1/admin/clients')
      .set(auth)
      .send({ name: '  Acme Ltd ', email: 'ops@acme.example', notes: 'VIP', unknownField: 42 });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'Acme Ltd', email: 'ops@acme.example', notes: 'VIP', phone: null, licenseCount: 0 });
    expect(res.body.createdAt).toBe('2026-11-21T10:00:00.000Z');
    const row = await t.db.selectFrom('clients').selectAll().where('id', '=', res.body.id).executeTakeFirstOrThrow();
    expect(row.name).toBe('Acme Ltd');
    const [audit] = await auditRows(t, 'client.created');
    expect(audit).toMatchObject({ actor_type: 'token', actor_name: 'test admin', target_type: 'client', target_id: String(res.body.id) });

    const list = await t.request.get('/api/v1/admin/clients').set(auth);
    expect(list.status).toBe(200);
    expect(list.body.items.map((c: { name: string }) => c.name)).toEqual(['Acme Ltd']);
    expect(list.body.nextCursor).toBeNull();
  });

  it('rejects bad input with 400 naming the fields and stores nothing', async () => {
    for (const body of [{}, { name: '' }, { name: '   ' }, { name: 5 }, { name: 'x'.repeat(513) }, { name: 'A', email: 'not-an-email' }]) {
      const res = await t.request.post('/api/v1/admin/clients').set(auth).send(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
      expect(Object.keys(res.body.error.details.fields).length).toBeGreaterThan(0);
    }
    const bad = await t.request.post('/api/v1/admin/clients').set(auth).send({ name: 'A', email: 'nope' });
    expect(bad.body.error.details.fields).toHaveProperty('email');
    const notJson = await t.request.post('/api/v1/admin/clients').set(auth).set('Content-Type', 'application/json').send('{oops');
    expect(notJson.status).toBe(400);
    const wrongType = await t.request.post('/api/v1/admin/clients').set(auth).set('Content-Type', 'text/plain').send('name=A');
    expect(wrongType.status).toBe(415);
    expect(await t.db.selectFrom('clients').selectAll().execute()).toHaveLength(0);
    expect(await auditRows(t, 'client.created')).toHaveLength(0);
  });

  it('searches by name or e-mail and pages with a cursor', async () => {
    for (const name of ['Delta', 'alpha', 'Charlie', 'Bravo', 'echo']) {
      await t.request.post('/api/v1/admin/clients').set(auth).send({ name, email: `${name.toLowerCase()}@x.example` });
    }
    const first = await t.request.get('/api/v1/admin/clients?limit=2').set(auth);
    expect(first.body.items.map((c: { name: string }) => c.name)).toEqual(['alpha', 'Bravo']);
    expect(first.body.nextCursor).toBeTruthy();
    const second = await t.request.get(`/api/v1/admin/clients?limit=2&cursor=${first.body.nextCursor}`).set(auth);
    expect(second.body.items.map((c: { name: string }) => c.name)).toEqual(['Charlie', 'Delta']);
    const third = await t.request.get(`/api/v1/admin/clients?limit=2&cursor=${second.body.nextCursor}`).set(auth);
    expect(third.body.items.map((c: { name: string }) => c.name)).toEqual(['echo']);
    expect(third.body.nextCursor).toBeNull();

    const byMail = await t.request.get('/api/v1/admin/clients?q=CHARLIE@').set(auth);
    expect(byMail.body.items.map((c: { name: string }) => c.name)).toEqual(['Charlie']);

    for (const q of ['limit=0', 'limit=1001', 'limit=abc', 'cursor=garbage']) {
      const res = await t.request.get(`/api/v1/admin/clients?${q}`).set(auth);
      expect(res.status, q).toBe(400);
      expect(Object.keys(res.body.error.details.fields)).toEqual([q.split('=')[0]]);
    }
  });

  it('reads and edits one client; unknown ids are 404', async () => {
    const created = await t.request.post('/api/v1/admin/clients').set(auth).send({ name: 'Acme', phone: '+7 495 000' });
    const id = created.body.id;
    expect((await t.request.get(`/api/v1/admin/clients/${id}`).set(auth)).body.phone).toBe('+7 495 000');
    const patched = await t.request.patch(`/api/v1/admin/clients/${id}`).set(auth).send({ phone: null, contactPerson: 'Petrov' });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ name: 'Acme', phone: null, contactPerson: 'Petrov' });
    const [audit] = await auditRows(t, 'client.updated');
    expect(JSON.parse(audit.details!)).toEqual({ phone: { from: '+7 495 000', to: null }, contact_person: { from: null, to: 'Petrov' } });
    expect((await t.request.get('/api/v1/admin/clients/9999').set(auth)).status).toBe(404);
    expect((await t.request.get('/api/v1/admin/clients/abc').set(auth)).status).toBe(404);
    expect((await t.request.patch('/api/v1/admin/clients/9999').set(auth).send({ name: 'X' })).status).toBe(404);
  });
});
