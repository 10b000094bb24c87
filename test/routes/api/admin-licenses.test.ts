import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeApiToken, makeApp, type TestApp } from '../../helpers/app.js';
import { adminClient, adminLicense, auditRows, insertHost, insertSession } from '../../helpers/admin.js';

describe('admin API: licenses', () => {
  let t: TestApp;
  let admin: { Authorization: string };
  let support: { Authorization: string };
  beforeEach(async () => {
    t = await makeApp();
    admin = { Authorization: `Bearer ${await makeApiToken(t, 'admin')}` };
    support = { Authorization: `Bearer ${await makeApiToken(t, 'support')}` };
  });
  afterEach(() => t.close());

  it('creates a license with a readable unique key, features and limits (201) and audits it', async () => {
    const client = await adminClient(t);
    const res = await t.request
      .post('/api/v1/admin/licenses')
      .set(admin)
      .send({
        clientId: client.id,
        product: 'Payroll',
        features: ['reports', 'export'],
        featureLimits: { export: 2 },
        maxHosts: 3,
        maxSessions: 10,
        expiresAt: '2027-01-01T00:00:00+03:00',
        selfResetQuota: 0,
      });
    expect(res.status).toBe(201);
    expect(res.body.key).toMatch(/^[2-9A-HJKMNP-TV-Z]{4}(-[2-9A-HJKMNP-TV-Z]{4}){4}$/);
    expect(res.body).toMatchObject({
      clientId: client.id,
      clientName: client.name,
      product: 'Payroll',
      features: ['export', 'reports'],
      featureLimits: { export: 2 },
      maxHosts: 3,
      maxSessions: 10,
      expiresAt: '2026-12-31T21:00:00.000Z',
      suspended: false,
      selfResetQuota: 0,
      selfResets: { quota: 0, used: 0, remaining: 0 },
      hosts: [],
    });
    const feats = await t.db.selectFrom('license_features').selectAll().where('license_id', '=', res.body.id).orderBy('feature').execute();
    expect(feats).toEqual([
      { license_id: res.body.id, feature: 'export', max_sessions: 2 },
      { license_id: res.body.id, feature: 'reports', max_sessions: null },
    ]);
    const [audit] = await auditRows(t, 'license.created');
    expect(audit).toMatchObject({ actor_type: 'token', actor_name: 'test admin', target_id: String(res.body.id), target_label: res.body.key, client_id: client.id });

    // A feature may be called "__proto__" (the body as sent: a JSON key, not a prototype).
    const proto = await t.request
      .post('/api/v1/admin/licenses')
      .set(admin)
      .set('Content-Type', 'application/json')
      .send(`{"clientId":${client.id},"product":"P","maxHosts":1,"features":["__proto__"],"featureLimits":{"__proto__":1}}`);
    expect(proto.status).toBe(201);
    expect(Object.entries(proto.body.featureLimits)).toEqual([['__proto__', 1]]);
    const read = await t.request.get(`/api/v1/admin/licenses/${proto.body.id}`).set(admin);
    expect(Object.entries(read.body.featureLimits)).toEqual([['__proto__', 1]]);

    const second = await t.request.post('/api/v1/admin/licenses').set(admin).send({ clientId: client.id, product: 'Payroll', maxHosts: 1 });
    expect(second.status).toBe(201);
    expect(second.body.key).not.toBe(res.body.key);
    expect(second.body).toMatchObject({ features: [], featureLimits: {}, maxSessions: null, expiresAt: null, selfResetQuota: null, selfResets: { quota: 3 } });
  });

  it('rejects bad licenses with 400 naming the field and stores nothing', async () => {
    const client = await adminClient(t);
    const cases: [object, string][] = [
      [{ product: 'P', maxHosts: 1 }, 'clientId'],
      [{ clientId: client.id, maxHosts: 1 }, 'product'],
      [{ clientId: client.id, product: 'P' }, 'maxHosts'],
      [{ clientId: client.id, product: 'P', maxHosts: 0 }, 'maxHosts'],
      [{ clientId: client.id, product: 'P', maxHosts: -1 }, 'maxHosts'],
      [{ clientId: client.id, product: 'P', maxHosts: 1.5 }, 'maxHosts'],
      [{ clientId: client.id, product: 'P', maxHosts: 1, maxSessions: 0 }, 'maxSessions'],
      [{ clientId: client.id, product: 'P', maxHosts: 1, features: ['a'], featureLimits: { b: 1 } }, 'featureLimits.b'],
      [{ clientId: client.id, product: 'P', maxHosts: 1, featureLimits: { a: 1 } }, 'featureLimits.a'],
      [{ clientId: client.id, product: 'P', maxHosts: 1, features: [''] }, 'features.0'],
      [{ clientId: client.id, product: 'P', maxHosts: 1, expiresAt: 'tomorrow' }, 'expiresAt'],
      [{ clientId: client.id, product: 'P', maxHosts: 1, selfResetQuota: -1 }, 'selfResetQuota'],
      [{ clientId: 9999, product: 'P', maxHosts: 1 }, 'clientId'],
    ];
    for (const [body, field] of cases) {
      const res = await t.request.post('/api/v1/admin/licenses').set(admin).send(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
      expect(res.body.error.details.fields, JSON.stringify(body)).toHaveProperty([field]);
    }
    expect(await t.db.selectFrom('licenses').selectAll().execute()).toHaveLength(0);
    expect(await t.db.selectFrom('license_features').selectAll().execute()).toHaveLength(0);
  });

  it('refuses a feature named twice (after NFC) on create and edit with 400 naming it, rather than merging', async () => {
    const client = await adminClient(t);
    const lic = await adminLicense(t, { clientId: client.id, features: ['export'], featureLimits: { export: 2 } });
    const cafe = 'caf\u00e9';
    const cafeNfd = 'cafe\u0301';
    const requests = [
      () => t.request.post('/api/v1/admin/licenses').set(admin).send({ clientId: client.id, product: 'P', maxHosts: 1, features: ['export', 'report', 'report'] }),
      () => t.request.post('/api/v1/admin/licenses').set(admin).send({ clientId: client.id, product: 'P', maxHosts: 1, features: [cafe, 'export', cafeNfd] }),
      () => t.request.patch(`/api/v1/admin/licenses/${lic.id}`).set(admin).send({ features: ['export', 'report', 'report'] }),
      () => t.request.patch(`/api/v1/admin/licenses/${lic.id}`).set(admin).send({ features: [cafe, 'export', cafeNfd], featureLimits: { export: 5 } }),
    ];
    const fields = ['features.2', 'features.2', 'features.2', 'features.2'];
    for (const [i, send] of requests.entries()) {
      const res = await send();
      expect(res.status, String(i)).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
      expect(res.body.error.details.fields, String(i)).toEqual({ [fields[i]]: 'names the same feature as an earlier one (after Unicode NFC normalisation); give each feature once' });
    }
    // Two limits for one feature (the same name in two Unicode forms) are refused the same way.
    const limits = await t.request
      .post('/api/v1/admin/licenses')
      .set(admin)
      .send({ clientId: client.id, product: 'P', maxHosts: 1, features: [cafe], featureLimits: { [cafe]: 2, [cafeNfd]: 5 } });
    expect(limits.status).toBe(400);
    expect(limits.body.error.details.fields).toHaveProperty([`featureLimits.${cafeNfd}`]);
    expect(await t.db.selectFrom('licenses').selectAll().execute()).toHaveLength(1);
    const feats = await t.db.selectFrom('license_features').select(['feature', 'max_sessions']).where('license_id', '=', lic.id).execute();
    expect(feats).toEqual([{ feature: 'export', max_sessions: 2 }]);
    expect(await auditRows(t, 'license.updated')).toHaveLength(0);
  });

  it('lists with filters by client, key and product, and pages; support may read', async () => {
    const a = await adminClient(t, 'Alpha');
    const b = await adminClient(t, 'Beta');
    const l1 = await adminLicense(t, { clientId: a.id, product: 'Payroll' });
    const l2 = await adminLicense(t, { clientId: a.id, product: 'Stock' });
    const l3 = await adminLicense(t, { clientId: b.id, product: 'Payroll' });
    const ids = (res: { body: { items: { id: number }[] } }) => res.body.items.map((x) => x.id);

    expect(ids(await t.request.get('/api/v1/admin/licenses').set(support))).toEqual([l3.id, l2.id, l1.id]);
    expect(ids(await t.request.get(`/api/v1/admin/licenses?client=${a.id}`).set(support))).toEqual([l2.id, l1.id]);
    expect(ids(await t.request.get(`/api/v1/admin/licenses?key=${l2.key.toLowerCase()}`).set(support))).toEqual([l2.id]);
    expect(ids(await t.request.get('/api/v1/admin/licenses?product=Payroll').set(support))).toEqual([l3.id, l1.id]);
    expect(ids(await t.request.get('/api/v1/admin/licenses?q=beta').set(support))).toEqual([l3.id]);
    const p1 = await t.request.get('/api/v1/admin/licenses?limit=2').set(support);
    expect(ids(p1)).toEqual([l3.id, l2.id]);
    const p2 = await t.request.get(`/api/v1/admin/licenses?limit=2&cursor=${p1.body.nextCursor}`).set(support);
    expect(ids(p2)).toEqual([l1.id]);
    expect(p2.body.nextCursor).toBeNull();
    expect((await t.request.get('/api/v1/admin/licenses?client=abc').set(support)).status).toBe(400);
  });

  it('shows one license with its bound hosts only; unknown ids are 404', async () => {
    const lic = await adminLicense(t, { maxHosts: 3 });
    const bound = await insertHost(t, lic.id, { hostname: 'ACC-SRV-01' });
    await insertHost(t, lic.id, { hostname: 'OLD', resetAt: t.clock.now() - 1000 });
    await insertSession(t, { licenseId: lic.id, hostId: bound.id });
    const res = await t.request.get(`/api/v1/admin/licenses/${lic.id}`).set(support);
    expect(res.status).toBe(200);
    expect(res.body.boundHosts).toBe(1);
    expect(res.body.liveSessions).toBe(1);
    expect(res.body.hosts).toEqual([
      {
        id: bound.id,
        fingerprint: JSON.parse(bound.components),
        fingerprintHash: bound.fingerprint_hash,
        machine: { hostname: 'ACC-SRV-01', os: 'Windows Server 2022', ip: '10.0.0.5' },
        boundAt: '2026-11-21T10:00:00.000Z',
        lastSeenAt: '2026-11-21T10:00:00.000Z',
        liveSessions: 1,
      },
    ]);
    expect((await t.request.get('/api/v1/admin/licenses/9999').set(support)).status).toBe(404);
    expect((await t.request.get('/api/v1/admin/licenses/x1').set(support)).body.error.code).toBe('not_found');
  });

  it('PATCH changes only what is sent, null clears optional fields, and audits the change', async () => {
    const lic = await adminLicense(t, { features: ['a', 'b'], featureLimits: { a: 2, b: 3 }, maxSessions: 5, expiresAt: Date.parse('2027-01-01T00:00:00Z'), selfResetQuota: 1 });
    const res = await t.request
      .patch(`/api/v1/admin/licenses/${lic.id}`)
      .set(admin)
      .send({ maxSessions: null, expiresAt: null, selfResetQuota: null, maxHosts: 4 });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ maxSessions: null, expiresAt: null, selfResetQuota: null, maxHosts: 4, product: 'Payroll', features: ['a', 'b'], featureLimits: { a: 2, b: 3 } });
    const row = await t.db.selectFrom('licenses').selectAll().where('id', '=', lic.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ max_sessions: null, expires_at: null, self_reset_quota: null, max_hosts: 4 });
    const [audit] = await auditRows(t, 'license.updated');
    expect(audit.actor_name).toBe('test admin');
    expect(JSON.parse(audit.details!)).toMatchObject({ maxSessions: { from: 5, to: null }, maxHosts: { from: 2, to: 4 } });

    // Dropping a feature drops its limit; the others keep theirs.
    const dropped = await t.request.patch(`/api/v1/admin/licenses/${lic.id}`).set(admin).send({ features: ['b', 'c'] });
    expect(dropped.body).toMatchObject({ features: ['b', 'c'], featureLimits: { b: 3 } });
    // featureLimits replaces the map; null clears every limit.
    const replaced = await t.request.patch(`/api/v1/admin/licenses/${lic.id}`).set(admin).send({ featureLimits: { c: 1 } });
    expect(replaced.body.featureLimits).toEqual({ c: 1 });
    const cleared = await t.request.patch(`/api/v1/admin/licenses/${lic.id}`).set(admin).send({ featureLimits: null });
    expect(cleared.body.featureLimits).toEqual({});
    const none = await t.request.patch(`/api/v1/admin/licenses/${lic.id}`).set(admin).send({ features: null });
    expect(none.body.features).toEqual([]);
  });

  it('PATCH refuses bad values with 400 and changes nothing', async () => {
    const lic = await adminLicense(t, { features: ['a'] });
    const cases: [object, string][] = [
      [{ product: null }, 'product'],
      [{ product: '' }, 'product'],
      [{ maxHosts: null }, 'maxHosts'],
      [{ maxHosts: 0 }, 'maxHosts'],
      [{ suspended: 'yes' }, 'suspended'],
      [{ featureLimits: { z: 1 } }, 'featureLimits.z'],
      [{ features: ['b'], featureLimits: { a: 1 } }, 'featureLimits.a'],
    ];
    for (const [body, field] of cases) {
      const res = await t.request.patch(`/api/v1/admin/licenses/${lic.id}`).set(admin).send(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.details.fields).toHaveProperty([field]);
    }
    const row = await t.db.selectFrom('licenses').selectAll().where('id', '=', lic.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ product: 'Payroll', max_hosts: 2, suspended_at: null });
    expect(await auditRows(t, 'license.updated')).toHaveLength(0);
    expect((await t.request.patch('/api/v1/admin/licenses/9999').set(admin).send({ maxHosts: 1 })).status).toBe(404);
  });

  it('suspending closes every live session with license_suspended in the same step; lifting reopens nothing', async () => {
    const lic = await adminLicense(t);
    const other = await adminLicense(t);
    const host = await insertHost(t, lic.id);
    const otherHost = await insertHost(t, other.id);
    const s1 = await insertSession(t, { licenseId: lic.id, hostId: host.id, features: [] });
    const s2 = await insertSession(t, { licenseId: lic.id, hostId: host.id });
    const keep = await insertSession(t, { licenseId: other.id, hostId: otherHost.id });
    const marker = (await t.db.selectFrom('server_state').select('change_version').executeTakeFirstOrThrow()).change_version;
    t.clock.advance(5000);

    const res = await t.request.patch(`/api/v1/admin/licenses/${lic.id}`).set(admin).send({ suspended: true });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ suspended: true, suspendedAt: '2026-11-21T10:00:05.000Z', liveSessions: 0 });
    const rows = await t.db.selectFrom('sessions').selectAll().orderBy('started_at').execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const s of [s1, s2]) expect(byId.get(s.id)).toMatchObject({ close_reason: 'license_suspended', closed_at: t.clock.now() });
    expect(byId.get(keep.id)!.closed_at).toBeNull();
    const [audit] = await auditRows(t, 'license.suspended');
    expect(audit).toMatchObject({ actor_type: 'token', actor_name: 'test admin', target_id: String(lic.id) });
    expect(JSON.parse(audit.details!)).toEqual({ closedSessions: 2 });
    const after = (await t.db.selectFrom('server_state').select('change_version').executeTakeFirstOrThrow()).change_version;
    expect(Number(after)).toBeGreaterThan(Number(marker));

    const lifted = await t.request.patch(`/api/v1/admin/licenses/${lic.id}`).set(admin).send({ suspended: false });
    expect(lifted.body).toMatchObject({ suspended: false, suspendedAt: null, liveSessions: 0 });
    expect(await auditRows(t, 'license.unsuspended')).toHaveLength(1);
    const still = await t.db.selectFrom('sessions').select('closed_at').where('id', 'in', [s1.id, s2.id]).execute();
    expect(still.every((r) => r.closed_at !== null)).toBe(true);
  });

  it('support may not create, edit or suspend', async () => {
    const lic = await adminLicense(t);
    const res = await t.request.patch(`/api/v1/admin/licenses/${lic.id}`).set(support).send({ suspended: true });
    expect(res.status).toBe(403);
    const row = await t.db.selectFrom('licenses').select('suspended_at').where('id', '=', lic.id).executeTakeFirstOrThrow();
    expect(row.suspended_at).toBeNull();
  });
});
