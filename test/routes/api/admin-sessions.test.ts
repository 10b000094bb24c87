import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeApiToken, makeApp, type TestApp } from '../../helpers/app.js';
import { adminClient, adminLicense, auditRows, insertHost, insertInfobase, insertSession } from '../../helpers/admin.js';

describe('admin API: sessions, bindings and pools', () => {
  let t: TestApp;
  let support: { Authorization: string };
  beforeEach(async () => {
    t = await makeApp();
    support = { Authorization: `Bearer ${await makeApiToken(t, 'support')}` };
  });
  afterEach(() => t.close());

  async function world() {
    const a = await adminClient(t, 'Alpha');
    const b = await adminClient(t, 'Beta');
    const licA = await adminLicense(t, { clientId: a.id, features: ['reports'] });
    const licB = await adminLicense(t, { clientId: b.id });
    const hostA = await insertHost(t, licA.id, { hostname: 'ACC-SRV-01' });
    const hostB = await insertHost(t, licB.id);
    const ib = await insertInfobase(t, a.id, 'Accounting');
    return { a, b, licA, licB, hostA, hostB, ib };
  }

  it('lists live sessions with their columns, metrics, packages, features, state and running', async () => {
    const w = await world();
    const s1 = await insertSession(t, {
      licenseId: w.licA.id,
      hostId: w.hostA.id,
      infobaseId: w.ib.id,
      user: 'Ivanov',
      features: ['reports'],
      packages: [{ id: 'p-1', path: '/projects/sales.lgp', state: 'running', progress: 42 }],
    });
    t.clock.advance(1000);
    const s2 = await insertSession(t, { licenseId: w.licB.id, hostId: w.hostB.id, user: 'Petrov', sleeping: true });
    await insertSession(t, { licenseId: w.licB.id, hostId: w.hostB.id, user: 'Gone', closedAt: t.clock.now() });

    const res = await t.request.get('/api/v1/admin/sessions').set(support);
    expect(res.status).toBe(200);
    expect(res.body.items.map((x: { id: string }) => x.id)).toEqual([s2.id, s1.id]);
    const first = res.body.items[1];
    expect(first).toMatchObject({
      id: s1.id,
      sessionNumber: s1.session_number,
      clientSessionId: s1.client_session_id,
      licenseId: w.licA.id,
      licenseKey: w.licA.key,
      clientId: w.a.id,
      clientName: 'Alpha',
      hostId: w.hostA.id,
      user: 'Ivanov',
      roles: ['viewer'],
      infobase: { id: w.ib.id, externalId: w.ib.external_id, name: 'Accounting' },
      connectionType: 'client',
      app: { name: 'Payroll', version: '3.2.1' },
      client: { ip: '10.0.0.77', hostname: 'BUH-PC-3' },
      startedAt: '2026-11-21T10:00:00.000Z',
      sleeping: false,
      state: 'alive',
      running: true,
      features: ['reports'],
      metrics: {
        cpuMs: { current: 120, last5min: 1200, total: 98000 },
        memoryBytes: { current: 0, last5min: 0, total: 0 },
        dataBytes: { last5min: 0, total: 5242880 },
        calls: { last5min: 0, total: 0 },
        dbmsBytes: { last5min: 0, total: 0 },
      },
    });
    expect(first.packages).toEqual([
      expect.objectContaining({ id: 'p-1', path: '/projects/sales.lgp', state: 'running', progress: 42, refs: [], origin: 'interactive' }),
    ]);
    expect(res.body.items[0]).toMatchObject({ user: 'Petrov', state: 'sleeping', running: false, infobase: null });

    t.clock.advance(3 * 60_000);
    const late = await t.request.get('/api/v1/admin/sessions').set(support);
    expect(late.body.items.map((x: { state: string }) => x.state)).toEqual(['late', 'late']);
  });

  it('filters by license, client, infobase and search text, and pages', async () => {
    const w = await world();
    const s1 = await insertSession(t, { licenseId: w.licA.id, hostId: w.hostA.id, infobaseId: w.ib.id, user: 'Ivanov' });
    t.clock.advance(1000);
    const s2 = await insertSession(t, { licenseId: w.licA.id, hostId: w.hostA.id, user: 'Sidorov' });
    t.clock.advance(1000);
    const s3 = await insertSession(t, { licenseId: w.licB.id, hostId: w.hostB.id, user: 'Petrov' });
    const ids = async (qs: string) => (await t.request.get(`/api/v1/admin/sessions?${qs}`).set(support)).body.items.map((x: { id: string }) => x.id);
    expect(await ids(`license=${w.licA.id}`)).toEqual([s2.id, s1.id]);
    expect(await ids(`client=${w.b.id}`)).toEqual([s3.id]);
    expect(await ids(`infobase=${w.ib.id}`)).toEqual([s1.id]);
    expect(await ids('q=petr')).toEqual([s3.id]);
    expect(await ids('q=accounting')).toEqual([s1.id]);
    expect(await ids(`q=${w.ib.external_id}`)).toEqual([s1.id]);
    expect(await ids(`q=${w.licB.key}`)).toEqual([s3.id]);
    // Every word matches somewhere, as in the monitor: the user and the infobase.
    expect(await ids('q=ivanov%20accounting')).toEqual([s1.id]);
    expect(await ids('q=sidorov%20accounting')).toEqual([]);
    expect(await ids('q=%00')).toEqual([]);
    expect(await ids(`q=${encodeURIComponent('петр')}`)).toEqual([]);
    // Escapes that are not UTF-8 name nothing: a 400 naming the part of the address, in the caller's language.
    for (const [url, field] of [
      ['/api/v1/admin/sessions?q=%ZZ', 'query'],
      ['/api/v1/admin/sessions?q=%ED%A0%80', 'query'],
      ['/api/v1/admin/sessions/%E0%A4%A', 'path'],
    ] as const) {
      const res = await t.request.get(url).set(support);
      expect([url, res.status, res.body.error.details.fields]).toEqual([url, 400, { [field]: 'malformed percent-encoding (an escape that is not UTF-8)' }]);
    }
    const ru = await t.request.get('/api/v1/admin/sessions?q=%ZZ').set(support).set('Accept-Language', 'ru');
    expect(ru.body.error.details.fields).toEqual({ query: 'некорректное %-кодирование (не UTF-8)' });
    const p1 = await t.request.get('/api/v1/admin/sessions?limit=2').set(support);
    expect(p1.body.items.map((x: { id: string }) => x.id)).toEqual([s3.id, s2.id]);
    const p2 = await t.request.get(`/api/v1/admin/sessions?limit=2&cursor=${p1.body.nextCursor}`).set(support);
    expect(p2.body.items.map((x: { id: string }) => x.id)).toEqual([s1.id]);
    expect(p2.body.nextCursor).toBeNull();
    for (const qs of ['license=x', 'limit=5000', 'cursor=zzz']) {
      expect((await t.request.get(`/api/v1/admin/sessions?${qs}`).set(support)).status, qs).toBe(400);
    }
  });

  it('terminates a session (204) with the message, audited with the token; unknown ids are 404', async () => {
    const w = await world();
    const s = await insertSession(t, { licenseId: w.licA.id, hostId: w.hostA.id });
    const res = await t.request.delete(`/api/v1/admin/sessions/${s.id}`).set(support).send({ message: 'Please save your work' });
    expect(res.status).toBe(204);
    const row = await t.db.selectFrom('sessions').selectAll().where('id', '=', s.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ close_reason: 'terminated', close_message: 'Please save your work', closed_at: t.clock.now() });
    const [audit] = await auditRows(t, 'session.terminate');
    expect(audit).toMatchObject({ actor_type: 'token', actor_name: 'test support', target_id: s.id });
    // Without a body too.
    const s2 = await insertSession(t, { licenseId: w.licA.id, hostId: w.hostA.id });
    expect((await t.request.delete(`/api/v1/admin/sessions/${s2.id}`).set(support)).status).toBe(204);
    expect((await t.request.delete('/api/v1/admin/sessions/no-such-session').set(support)).status).toBe(404);
    expect((await t.request.delete(`/api/v1/admin/sessions/${s.id}`).set(support).send({ message: 5 })).status).toBe(400);
    expect((await t.request.delete(`/api/v1/admin/sessions/${s2.id}`)).status).toBe(401);
  });

  it('queues commands (202 {id}); a stop with nothing running is 409 not_running', async () => {
    const w = await world();
    const running = await insertSession(t, { licenseId: w.licA.id, hostId: w.hostA.id, packages: [{ id: 'p-1', path: '/a.lgp', state: 'running' }] });
    const idle = await insertSession(t, {
      licenseId: w.licA.id,
      hostId: w.hostA.id,
      packages: [{ id: 'p-2', path: '/b.lgp' }, { id: 'draft' }],
    });
    const stop = await t.request.post(`/api/v1/admin/sessions/${running.id}/commands`).set(support).send({ type: 'stop' });
    expect(stop.status).toBe(202);
    expect(typeof stop.body.id).toBe('string');
    const msg = await t.request.post(`/api/v1/admin/sessions/${idle.id}/commands`).set(support).send({ type: 'message', text: 'Hello' });
    expect(msg.status).toBe(202);
    const close = await t.request.post(`/api/v1/admin/sessions/${idle.id}/commands`).set(support).send({ type: 'closePackage', packageId: 'p-2' });
    expect(close.status).toBe(202);
    const cmds = await t.db.selectFrom('commands').selectAll().orderBy('seq').execute();
    expect(cmds.map((c) => [c.id, c.session_id, c.type, c.path, c.text])).toEqual([
      [stop.body.id, running.id, 'stop', null, null],
      [msg.body.id, idle.id, 'message', null, 'Hello'],
      [close.body.id, idle.id, 'closePackage', '/b.lgp', null],
    ]);
    expect(cmds.every((c) => c.created_by === 'test support')).toBe(true);

    const refused = await t.request.post(`/api/v1/admin/sessions/${idle.id}/commands`).set(support).send({ type: 'stop' });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('not_running');
    expect(refused.body.error.message).toBe('Nothing is running in this session.');
    // A stop by the path of a package that is open but idle: that package is not running (whatever else may be).
    const idlePath = await t.request.post(`/api/v1/admin/sessions/${idle.id}/commands`).set(support).send({ type: 'stop', path: '/b.lgp' });
    expect(idlePath.status).toBe(409);
    expect(idlePath.body.error.code).toBe('not_running');
    expect(idlePath.body.error.message).toBe('Package /b.lgp is not running in this session.');
    for (const body of [{ type: 'explode' }, {}, { type: 'message' }, { type: 'message', text: '  ' }]) {
      const res = await t.request.post(`/api/v1/admin/sessions/${idle.id}/commands`).set(support).send(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    // closePackage reaches the agent with a path (PROTOCOL §2): not for a package the session lacks, nor a draft without one.
    for (const [body, field, message] of [
      [{ type: 'closePackage' }, 'path', 'a path or a packageId is required'],
      [{ type: 'closePackage', packageId: 'ghost' }, 'packageId', 'the session has no package with this id'],
      [{ type: 'stop', packageId: 'ghost' }, 'packageId', 'the session has no package with this id'],
      // A path no package of the session has is a mistake in the request too (it said "nothing is running").
      [{ type: 'stop', path: '/nope.lgp' }, 'path', 'the session has no package with this path'],
      [{ type: 'closePackage', packageId: 'draft' }, 'packageId', 'this package has no path (a draft); closePackage needs one'],
    ] as const) {
      const res = await t.request.post(`/api/v1/admin/sessions/${idle.id}/commands`).set(support).send(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.details.fields).toEqual({ [field]: message });
    }
    const ru = await t.request.post(`/api/v1/admin/sessions/${idle.id}/commands`).set(support).set('Accept-Language', 'ru').send({ type: 'closePackage', packageId: 'ghost' });
    expect(ru.body.error.message).toBe('Некорректный запрос: packageId: в сеансе нет пакета с таким id');
    const missing = await t.request.post('/api/v1/admin/sessions/nope/commands').set(support).send({ type: 'message', text: 'x' });
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ code: 'not_found', message: 'There is no such object: its id is wrong, or it was deleted.' });
    expect(await t.db.selectFrom('commands').selectAll().execute()).toHaveLength(3);
  });

  it('resets a binding (204): sessions close with binding_reset, the host is kept as reset, audited', async () => {
    const w = await world();
    const s = await insertSession(t, { licenseId: w.licA.id, hostId: w.hostA.id });
    const noReason = await t.request.delete(`/api/v1/admin/licenses/${w.licA.id}/hosts/${w.hostA.id}`).set(support).send({ reason: ' ' });
    expect(noReason.status).toBe(400);
    expect(noReason.body.error.details.fields).toHaveProperty('reason');
    expect((await t.request.delete(`/api/v1/admin/licenses/${w.licA.id}/hosts/${w.hostA.id}`).set(support).send({})).status).toBe(400);
    expect((await t.request.delete(`/api/v1/admin/licenses/${w.licB.id}/hosts/${w.hostA.id}`).set(support).send({ reason: 'x' })).status).toBe(404);
    expect((await t.request.delete(`/api/v1/admin/licenses/${w.licA.id}/hosts/99999`).set(support).send({ reason: 'x' })).status).toBe(404);
    expect((await t.db.selectFrom('hosts').select('reset_at').where('id', '=', w.hostA.id).executeTakeFirstOrThrow()).reset_at).toBeNull();

    const res = await t.request.delete(`/api/v1/admin/licenses/${w.licA.id}/hosts/${w.hostA.id}`).set(support).send({ reason: 'New PC' });
    expect(res.status).toBe(204);
    const host = await t.db.selectFrom('hosts').selectAll().where('id', '=', w.hostA.id).executeTakeFirstOrThrow();
    expect(host).toMatchObject({ reset_at: t.clock.now(), reset_reason: 'New PC', reset_by: 'test support', reset_by_client: 0 });
    const row = await t.db.selectFrom('sessions').select(['close_reason']).where('id', '=', s.id).executeTakeFirstOrThrow();
    expect(row.close_reason).toBe('binding_reset');
    const [audit] = await auditRows(t, 'host.reset');
    expect(audit).toMatchObject({ actor_type: 'token', actor_name: 'test support', reason: 'New PC' });
    const detail = await t.request.get(`/api/v1/admin/licenses/${w.licA.id}`).set(support);
    expect(detail.body.hosts).toEqual([]);
    expect((await t.request.delete(`/api/v1/admin/licenses/${w.licA.id}/hosts/${w.hostA.id}`).set(support).send({ reason: 'again' })).status).toBe(404);
  });

  it('clears a host pool (204) and tells its live sessions', async () => {
    const w = await world();
    const s = await insertSession(t, { licenseId: w.licA.id, hostId: w.hostA.id });
    await t.db.insertInto('pool_entries').values({ host_id: w.hostA.id, path: '/p.lgp', lru: 1, added_at: t.clock.now() }).execute();
    const res = await t.request.post(`/api/v1/admin/hosts/${w.hostA.id}/pool/clear`).set(support);
    expect(res.status).toBe(204);
    expect(await t.db.selectFrom('pool_entries').selectAll().execute()).toHaveLength(0);
    const cmds = await t.db.selectFrom('commands').selectAll().execute();
    expect(cmds.map((c) => [c.session_id, c.type])).toEqual([[s.id, 'clearPool']]);
    expect(await auditRows(t, 'host.pool_clear')).toHaveLength(1);
    expect((await t.request.post('/api/v1/admin/hosts/99999/pool/clear').set(support)).status).toBe(404);
    expect((await t.request.post(`/api/v1/admin/hosts/${w.hostA.id}/pool/clear`)).status).toBe(401);
  });
});
