import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loginAs, makeApiToken, makeApp, type TestApp } from '../../helpers/app.js';
import { auditRows } from '../../helpers/admin.js';

describe('admin API authentication and roles', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.close());

  it('answers 401 without a token, with a wrong one and with a revoked one', async () => {
    const none = await t.request.get('/api/v1/admin/licenses');
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('unauthorized');
    expect(none.headers['www-authenticate']).toBe('Bearer'); // RFC 6750: the scheme it wants
    const wrong = await t.request.get('/api/v1/admin/licenses').set('Authorization', 'Bearer smt_not-a-real-token-value');
    expect(wrong.status).toBe(401);
    const token = await makeApiToken(t, 'admin');
    await t.db.updateTable('api_tokens').set({ revoked_at: t.clock.now() }).execute();
    const revoked = await t.request.get('/api/v1/admin/licenses').set('Authorization', `Bearer ${token}`);
    expect(revoked.status).toBe(401);
  });

  it('never accepts a web login cookie instead of a token', async () => {
    const s = await loginAs(t, 'admin');
    const res = await t.request.get('/api/v1/admin/clients').set('Cookie', s.cookie).set('X-CSRF-Token', s.csrf);
    expect(res.status).toBe(401);
    const post = await t.request
      .post('/api/v1/admin/clients')
      .set('Cookie', s.cookie)
      .set('X-CSRF-Token', s.csrf)
      .send({ name: 'Via cookie' });
    expect(post.status).toBe(401);
    expect(await t.db.selectFrom('clients').selectAll().execute()).toHaveLength(0);
  });

  it('checks the token before reading a body, and no token writes nothing', async () => {
    const res = await t.request.post('/api/v1/admin/clients').send({ name: 'X' });
    expect(res.status).toBe(401);
    expect(await auditRows(t, 'client.created')).toHaveLength(0);
  });

  it('accepts a valid token, notes its use and answers unknown admin paths with 404', async () => {
    const token = await makeApiToken(t, 'support');
    const ok = await t.request.get('/api/v1/admin/licenses').set('Authorization', `Bearer ${token}`);
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ items: [], nextCursor: null });
    const row = await t.db.selectFrom('api_tokens').select('last_used_at').executeTakeFirstOrThrow();
    expect(row.last_used_at).toBe(t.clock.now());
    const unknown = await t.request.get('/api/v1/admin/nothing-here').set('Authorization', `Bearer ${token}`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('not_found');
  });

  it('gives a support token 403 on every admin-only endpoint and changes nothing', async () => {
    const token = await makeApiToken(t, 'support');
    const auth = { Authorization: `Bearer ${token}` };
    const cases: [string, string, object?][] = [
      ['post', '/api/v1/admin/clients', { name: 'Nope' }],
      ['patch', '/api/v1/admin/clients/1', { name: 'Nope' }],
      ['post', '/api/v1/admin/licenses', { clientId: 1, product: 'P', maxHosts: 1 }],
      ['patch', '/api/v1/admin/licenses/1', { suspended: true }],
      ['get', '/api/v1/admin/settings'],
      ['patch', '/api/v1/admin/settings', { poolSize: 3 }],
    ];
    for (const [method, path, body] of cases) {
      const req = (t.request as any)[method](path).set(auth);
      const res = body ? await req.send(body) : await req;
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body.error.code).toBe('forbidden');
    }
    expect(await t.db.selectFrom('clients').selectAll().execute()).toHaveLength(0);
    expect(await t.db.selectFrom('audit_log').selectAll().execute()).toHaveLength(0);
  });

  it('lets a support token read clients, as support does in the web UI', async () => {
    const admin = { Authorization: `Bearer ${await makeApiToken(t, 'admin')}` };
    const support = { Authorization: `Bearer ${await makeApiToken(t, 'support')}` };
    const created = await t.request.post('/api/v1/admin/clients').set(admin).send({ name: 'Romashka', phone: '+7 495 000-00-00' });
    expect(created.status).toBe(201);
    const list = await t.request.get('/api/v1/admin/clients').set(support);
    expect(list.status).toBe(200);
    expect(list.body.items.map((x: { name: string }) => x.name)).toEqual(['Romashka']);
    const one = await t.request.get(`/api/v1/admin/clients/${created.body.id}`).set(support);
    expect(one.body).toMatchObject({ name: 'Romashka', phone: '+7 495 000-00-00' });
  });

  it('translates the error message but not the code', async () => {
    const res = await t.request.get('/api/v1/admin/licenses').set('Accept-Language', 'ru');
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthorized');
    expect(res.body.error.message).toBe('Токен не указан, неверен или отозван.');
  });
});
