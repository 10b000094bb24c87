import { hashPermissionCode, permissionCodeMatches } from '../../../src/lib/tokens.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeApiToken, makeApp, type TestApp } from '../../helpers/app.js';
import { adminClient, adminLicense, auditRows, insertHost, insertInfobase, insertSession } from '../../helpers/admin.js';

const HOUR = 3600_000;
const iso = (ms: number) => new Date(ms).toISOString();

describe('admin API: infobases and locks', () => {
  let t: TestApp;
  let support: { Authorization: string };
  beforeEach(async () => {
    t = await makeApp();
    support = { Authorization: `Bearer ${await makeApiToken(t, 'support')}` };
  });
  afterEach(() => t.close());

  const lockRow = (id: number) => t.db.selectFrom('infobases').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  it('lists infobases per client with live sessions and lock state', async () => {
    const a = await adminClient(t, 'Alpha');
    const b = await adminClient(t, 'Beta');
    const ibA = await insertInfobase(t, a.id, 'Accounting');
    const ibB = await insertInfobase(t, b.id, 'Warehouse');
    const lic = await adminLicense(t, { clientId: a.id });
    const host = await insertHost(t, lic.id);
    await insertSession(t, { licenseId: lic.id, hostId: host.id, infobaseId: ibA.id });

    const all = await t.request.get('/api/v1/admin/infobases').set(support);
    expect(all.status).toBe(200);
    expect(all.body.items.map((x: { id: number }) => x.id)).toEqual([ibA.id, ibB.id]);
    expect(all.body.items[0]).toMatchObject({ clientId: a.id, clientName: 'Alpha', externalId: ibA.external_id, name: 'Accounting', liveSessions: 1, lock: null });
    const onlyB = await t.request.get(`/api/v1/admin/infobases?client=${b.id}`).set(support);
    expect(onlyB.body.items.map((x: { id: number }) => x.id)).toEqual([ibB.id]);
    const paged = await t.request.get('/api/v1/admin/infobases?limit=1').set(support);
    const next = await t.request.get(`/api/v1/admin/infobases?limit=1&cursor=${paged.body.nextCursor}`).set(support);
    expect(next.body.items.map((x: { id: number }) => x.id)).toEqual([ibB.id]);
  });

  it('PUT sets a lock (support may), shows its state but never the code, and audits it', async () => {
    const c = await adminClient(t);
    const ib = await insertInfobase(t, c.id, 'Accounting');
    const now = t.clock.now();
    const res = await t.request
      .put(`/api/v1/admin/infobases/${ib.id}/lock`)
      .set(support)
      .send({ from: iso(now + HOUR), to: iso(now + 2 * HOUR), message: 'Update in progress', permissionCode: 's3cret-code', denyBackgroundJobs: true });
    expect(res.status).toBe(200);
    expect(res.body.lock).toEqual({
      state: 'scheduled',
      from: iso(now + HOUR),
      to: iso(now + 2 * HOUR),
      message: 'Update in progress',
      hasPermissionCode: true,
      denySessions: true,
      denyBackgroundJobs: true,
      setAt: iso(now),
      setBy: 'test support',
    });
    expect(JSON.stringify(res.body)).not.toContain('s3cret-code');
    expect(await lockRow(ib.id)).toMatchObject({ lock_from: now + HOUR, lock_to: now + 2 * HOUR, lock_deny_sessions: 1, lock_deny_background: 1 });
    // The code is kept only as a salted hash: a copy of the database does not hand it out.
    const stored = (await lockRow(ib.id)).lock_code!;
    expect(stored).toMatch(/^s1\$[\w-]{22}\$[0-9a-f]{64}$/);
    expect(stored).not.toContain('s3cret-code');
    expect(permissionCodeMatches('s3cret-code', stored)).toBe(true);
    expect(permissionCodeMatches('s3cret-cod', stored)).toBe(false);
    // A code typed in the stored form's style is a code like any other, never taken for a hash.
    expect(permissionCodeMatches('s1$x$y', 's1$x$y')).toBe(false);
    const [audit] = await auditRows(t, 'infobase.locked');
    expect(audit).toMatchObject({ actor_type: 'token', actor_name: 'test support', target_type: 'infobase', target_id: String(ib.id), client_id: c.id });
    expect(audit.details).not.toContain('s3cret-code');

    const list = await t.request.get('/api/v1/admin/infobases').set(support);
    expect(JSON.stringify(list.body)).not.toContain('s3cret-code');
    t.clock.advance(HOUR);
    expect((await t.request.get(`/api/v1/admin/infobases/${ib.id}`).set(support)).body.lock.state).toBe('active');
    t.clock.advance(HOUR);
    expect((await t.request.get(`/api/v1/admin/infobases/${ib.id}`).set(support)).body.lock.state).toBe('expired');
  });

  it('PUT replaces the whole lock: omitted fields go back to their defaults', async () => {
    const c = await adminClient(t);
    const ib = await insertInfobase(t, c.id);
    const now = t.clock.now();
    await t.request
      .put(`/api/v1/admin/infobases/${ib.id}/lock`)
      .set(support)
      .send({ from: iso(now + HOUR), to: iso(now + 2 * HOUR), message: 'first', denySessions: false, denyBackgroundJobs: true });
    // A code as one set before codes were refused on such a lock.
    await t.db.updateTable('infobases').set({ lock_code: hashPermissionCode('code') }).where('id', '=', ib.id).execute();
    const res = await t.request.put(`/api/v1/admin/infobases/${ib.id}/lock`).set(support).send({ message: 'second' });
    expect(res.status).toBe(200);
    expect(res.body.lock).toMatchObject({ state: 'active', from: null, to: null, message: 'second', hasPermissionCode: false, denySessions: true, denyBackgroundJobs: false });
    expect(await lockRow(ib.id)).toMatchObject({ lock_from: null, lock_to: null, lock_code: null, lock_deny_sessions: 1, lock_deny_background: 0 });
  });

  it('refuses a bad lock with 400 naming the field and stores nothing', async () => {
    const c = await adminClient(t);
    const ib = await insertInfobase(t, c.id);
    const now = t.clock.now();
    const cases: [object, string][] = [
      [{ from: iso(now + 2 * HOUR), to: iso(now + HOUR), message: 'm' }, 'to'],
      [{ from: iso(now + HOUR), to: iso(now + HOUR), message: 'm' }, 'to'],
      [{ to: iso(now - 1000), message: 'm' }, 'to'],
      [{ from: iso(now - 2 * HOUR), to: iso(now - HOUR), message: 'm' }, 'to'],
      [{ message: '' }, 'message'],
      [{ message: '   ' }, 'message'],
      [{}, 'message'],
      [{ message: 'm', from: 'soon' }, 'from'],
      [{ message: 'm', denySessions: 'no' }, 'denySessions'],
      // A lock that refuses nothing would show "Locked" and let everyone in.
      [{ message: 'm', denySessions: false }, 'denySessions'],
      [{ message: 'm', denySessions: false, denyBackgroundJobs: false }, 'denySessions'],
      // A code lets sessions through a refusal of new sessions; it never lifts a background-job refusal.
      [{ message: 'm', permissionCode: 'code', denySessions: false, denyBackgroundJobs: true }, 'permissionCode'],
    ];
    for (const [body, field] of cases) {
      const res = await t.request.put(`/api/v1/admin/infobases/${ib.id}/lock`).set(support).send(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
      expect(res.body.error.details.fields, JSON.stringify(body)).toHaveProperty([field]);
    }
    expect(await lockRow(ib.id)).toMatchObject({ lock_set_at: null, lock_message: null });
    expect(await auditRows(t, 'infobase.locked')).toHaveLength(0);
  });

  it('DELETE removes the lock (204) and audits it; unknown infobases are 404', async () => {
    const c = await adminClient(t);
    const ib = await insertInfobase(t, c.id);
    await t.request.put(`/api/v1/admin/infobases/${ib.id}/lock`).set(support).send({ message: 'maintenance', permissionCode: 'x' });
    const res = await t.request.delete(`/api/v1/admin/infobases/${ib.id}/lock`).set(support);
    expect(res.status).toBe(204);
    expect(await lockRow(ib.id)).toMatchObject({ lock_set_at: null, lock_code: null, lock_message: null });
    expect(await auditRows(t, 'infobase.unlocked')).toHaveLength(1);
    expect((await t.request.get(`/api/v1/admin/infobases/${ib.id}`).set(support)).body.lock).toBeNull();

    expect((await t.request.put('/api/v1/admin/infobases/9999/lock').set(support).send({ message: 'm' })).status).toBe(404);
    expect((await t.request.delete('/api/v1/admin/infobases/9999/lock').set(support)).status).toBe(404);
    expect((await t.request.get('/api/v1/admin/infobases/9999').set(support)).status).toBe(404);
    expect((await t.request.delete(`/api/v1/admin/infobases/${ib.id}/lock`)).status).toBe(401);
  });
});
