import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeApiToken, makeApp, type TestApp } from '../../helpers/app.js';
import { adminLicense, insertHost, insertInfobase, insertSession } from '../../helpers/admin.js';
import { adminRoutes } from '../../../src/routes/api/admin.js';

// PROTOCOL "Conventions": the size is checked before parsing, then validation, then
// authentication. Every admin route: a valid request without a token is a 401 that
// changes nothing; an invalid one is a 400 whoever sends it; a support token on an
// admin-only route is a 403 once the request is valid.

describe('admin API: order of checks on every route', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.close());

  async function world() {
    const lic = await adminLicense(t, { features: ['reports'] });
    const host = await insertHost(t, lic.id);
    const session = await insertSession(t, { licenseId: lic.id, hostId: host.id, packages: [{ id: 'p-1', path: '/a.lgp', state: 'running' }] });
    const ib = await insertInfobase(t, lic.clientId);
    return { lic, host, session, ib };
  }

  type Case = { path: string; body?: object; bad: { body?: object; query?: string } | null; adminOnly?: boolean };
  /** A valid request for every route, and an invalid variant where the route reads input. */
  function cases(w: Awaited<ReturnType<typeof world>>): Record<string, Case> {
    return {
      'POST /clients': { path: '/clients', body: { name: 'New' }, bad: { body: { name: 5 } }, adminOnly: true },
      'GET /clients': { path: '/clients', bad: { query: 'limit=0' } },
      'GET /clients/:id': { path: `/clients/${w.lic.clientId}`, bad: null },
      'PATCH /clients/:id': { path: `/clients/${w.lic.clientId}`, body: { notes: 'x' }, bad: { body: { name: '' } }, adminOnly: true },
      'POST /licenses': { path: '/licenses', body: { clientId: w.lic.clientId, product: 'P', maxHosts: 1 }, bad: { body: { clientId: w.lic.clientId, product: 'P', maxHosts: 0 } }, adminOnly: true },
      'GET /licenses': { path: '/licenses', bad: { query: 'client=x' } },
      'GET /licenses/:id': { path: `/licenses/${w.lic.id}`, bad: null },
      'PATCH /licenses/:id': { path: `/licenses/${w.lic.id}`, body: { maxHosts: 2 }, bad: { body: { maxHosts: -1 } }, adminOnly: true },
      'GET /licenses/:id/history': { path: `/licenses/${w.lic.id}/history`, bad: { query: 'hours=0' } },
      'DELETE /licenses/:id/hosts/:hostId': { path: `/licenses/${w.lic.id}/hosts/${w.host.id}`, body: { reason: 'New PC' }, bad: { body: {} } },
      'GET /sessions': { path: '/sessions', bad: { query: 'licence=1' } },
      'DELETE /sessions/:id': { path: `/sessions/${w.session.id}`, body: {}, bad: { body: { message: 3 } } },
      'POST /sessions/:id/commands': { path: `/sessions/${w.session.id}/commands`, body: { type: 'stop' }, bad: { body: { type: 'explode' } } },
      'POST /hosts/:hostId/pool/clear': { path: `/hosts/${w.host.id}/pool/clear`, bad: null },
      'GET /infobases': { path: '/infobases', bad: { query: 'client=0' } },
      'GET /infobases/:id': { path: `/infobases/${w.ib.id}`, bad: null },
      'PUT /infobases/:id/lock': { path: `/infobases/${w.ib.id}/lock`, body: { message: 'Closed' }, bad: { body: { message: '' } } },
      'DELETE /infobases/:id/lock': { path: `/infobases/${w.ib.id}/lock`, bad: null },
      'GET /settings': { path: '/settings', bad: null, adminOnly: true },
      'PATCH /settings': { path: '/settings', body: { poolSize: 5 }, bad: { body: { poolSize: 'many' } }, adminOnly: true },
    };
  }

  const send = (method: string, path: string, body: object | undefined, token?: string) => {
    const req = t.request[method.toLowerCase() as 'get'](`/api/v1/admin${path}`);
    if (token) req.set('Authorization', `Bearer ${token}`);
    return body === undefined ? req : req.send(body);
  };
  /** Everything a request could have changed. */
  const state = async () =>
    JSON.stringify(
      await Promise.all(['clients', 'licenses', 'hosts', 'sessions', 'commands', 'infobases', 'settings', 'audit_log'].map((table) => t.db.selectFrom(table as 'clients').selectAll().execute())),
    );

  it('covers every route the admin API has', async () => {
    const w = await world();
    const routes = new Set(adminRoutes.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path}`));
    expect([...routes].sort()).toEqual(Object.keys(cases(w)).sort());
  });

  it('a valid request without a token is 401 and changes nothing; an invalid one is 400 before that', async () => {
    const w = await world();
    const before = await state();
    for (const [route, c] of Object.entries(cases(w))) {
      const method = route.split(' ')[0];
      const none = await send(method, c.path, c.body);
      expect(none.status, route).toBe(401);
      if (c.bad) {
        const path = c.bad.query ? `${c.path}?${c.bad.query}` : c.path;
        const invalid = await send(method, path, c.bad.body);
        expect(invalid.status, `${route} invalid, no token`).toBe(400);
        expect(invalid.body.error.code).toBe('invalid_request');
      }
    }
    expect(await state()).toBe(before);
  });

  it('a support token: 400 for an invalid request, 403 for a valid one on admin-only routes, nothing changed', async () => {
    const w = await world();
    const support = await makeApiToken(t, 'support');
    const before = await state();
    for (const [route, c] of Object.entries(cases(w))) {
      if (!c.adminOnly) continue;
      const method = route.split(' ')[0];
      if (c.bad) expect((await send(method, c.bad.query ? `${c.path}?${c.bad.query}` : c.path, c.bad.body, support)).status, route).toBe(400);
      const res = await send(method, c.path, c.body, support);
      expect(res.status, route).toBe(403);
      expect(res.body.error.code).toBe('forbidden');
    }
    expect(await state()).toBe(before);
  });

  it('a body with thousands of bad entries, sent without a token, gets a short answer', async () => {
    // Checked before the token (the contract's order): the answer must not cost or weigh what the body does.
    const featureLimits = Object.fromEntries(Array.from({ length: 6500 }, (_, i) => [String(i), '']));
    const many = await send('POST', '/licenses', { clientId: 1, product: 'x', maxHosts: 1, featureLimits });
    expect(many.status).toBe(400);
    expect(many.body.error.details.fields).toEqual({ featureLimits: 'may name at most 200 features' });
    expect(many.text.length).toBeLessThan(500);
    // Many bad items of a list: the first 20 named, the rest counted.
    const list = await send('POST', '/licenses', { clientId: 1, product: 'x', maxHosts: 1, features: Array.from({ length: 150 }, () => '   ') });
    expect(list.status).toBe(400);
    expect(Object.keys(list.body.error.details.fields)).toHaveLength(20);
    expect(list.body.error.details.moreFields).toBe(130);
    expect(list.body.error.message).toMatch(/ \(and 130 more\)$/);
    expect(list.text.length).toBeLessThan(3000);
  });

  it('what the path names is looked up after the token: 401 for an unknown id without one, 404 with one', async () => {
    const admin = await makeApiToken(t, 'admin');
    expect((await send('DELETE', '/licenses/9999/hosts/9999', { reason: 'x' })).status).toBe(401);
    expect((await send('DELETE', '/licenses/9999/hosts/9999', { reason: 5 })).status).toBe(400);
    expect((await send('DELETE', '/licenses/9999/hosts/9999', { reason: 'x' }, admin)).status).toBe(404);
    expect((await send('GET', '/clients/9999', undefined)).status).toBe(401);
    expect((await send('GET', '/clients/9999', undefined, admin)).status).toBe(404);
  });
});
