import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeApiToken, makeApp, type TestApp } from '../../helpers/app.js';
import {
  agentTableCounts,
  captureBody,
  fingerprint,
  heartbeat,
  makeInfobase,
  makeLicense,
  openOk,
  sessionRow,
} from '../../helpers/licensing.js';

const capture = (t: TestApp, body: Record<string, unknown>) => t.request.post('/api/v1/sessions').send(body);
const events = (t: TestApp) => t.db.selectFrom('license_events').selectAll().orderBy('id').execute();

describe('POST /api/v1/sessions (capture)', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.close());

  it('201: binds the host, opens the session and answers the contract fields', async () => {
    const lic = await makeLicense(t, { features: { reports: null, export: 2 } });
    const res = await capture(
      t,
      captureBody(lic.key, {
        clientSessionId: 'app-42',
        roles: ['viewer', 'design'],
        connectionType: 'external',
        features: ['reports', 'export', 'reports'],
        infobase: { id: '5f0c', name: 'Accounting' },
        client: { ip: '10.0.0.77', hostname: 'BUH-PC-3' },
      }),
    );
    expect(res.status).toBe(201);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(Object.keys(res.body).sort()).toEqual(
      ['features', 'heartbeatIntervalSec', 'hostId', 'leaseTimeoutSec', 'sessionId', 'sessionNumber', 'token'].sort(),
    );
    expect(res.body).toMatchObject({ sessionNumber: 1, heartbeatIntervalSec: 60, leaseTimeoutSec: 300, features: ['reports', 'export'] });
    expect(res.body.token.length).toBeGreaterThanOrEqual(22); // ≥ 128 bits in base64url

    const host = await t.db.selectFrom('hosts').selectAll().where('id', '=', res.body.hostId).executeTakeFirstOrThrow();
    expect(JSON.parse(host.components)).toEqual(fingerprint(1));
    expect(host.fingerprint_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(host).toMatchObject({ license_id: lic.id, machine_hostname: 'ACC-SRV-01', reset_at: null });

    const s = await sessionRow(t, res.body.sessionId);
    expect(s).toMatchObject({
      license_id: lic.id,
      client_id: lic.clientId,
      user_name: 'Ivanov',
      connection_type: 'external',
      client_ip: '10.0.0.77',
      client_hostname: 'BUH-PC-3',
      app_name: 'Payroll',
      app_version: '3.2.1',
      client_session_id: 'app-42',
      started_at: t.clock.now(),
      last_seen_at: t.clock.now(),
      closed_at: null,
    });
    expect(JSON.parse(s.roles)).toEqual(['viewer', 'design']);
    const ib = await t.db.selectFrom('infobases').selectAll().executeTakeFirstOrThrow();
    expect(ib).toMatchObject({ client_id: lic.clientId, external_id: '5f0c', name: 'Accounting' });
    expect(s.infobase_id).toBe(ib.id);

    const ev = await events(t);
    expect(ev.map((e) => [e.kind, e.feature, e.user_name, e.host_id, e.session_id])).toEqual([
      ['capture', 'reports', 'Ivanov', host.id, s.id],
      ['capture', 'export', 'Ivanov', host.id, s.id],
    ]);
    // The open itself is counted in its license's hour (test/routes/api/agent-history-counts.test.ts).
    const opens = await t.db.selectFrom('license_event_hours').select(['license_id', 'kind', 'count']).execute();
    expect(opens).toEqual([{ license_id: lic.id, kind: 'open', count: 1 }]);
  });

  it('a capture and an idempotent repeat move the monitor’s change marker; a refusal does not', async () => {
    const lic = await makeLicense(t, { maxSessions: 1 });
    const marker = async () => (await agentTableCounts(t.db)).change_version;
    const m0 = await marker();
    await capture(t, captureBody(lic.key, { clientSessionId: 'm-1' })).expect(201);
    const m1 = await marker();
    expect(m1).toBeGreaterThan(m0);
    await capture(t, captureBody(lic.key, { clientSessionId: 'm-1' })).expect(200);
    const m2 = await marker();
    expect(m2).toBeGreaterThan(m1);
    await capture(t, captureBody(lic.key, { clientSessionId: 'm-2', fingerprint: fingerprint('other') })).expect(403);
    expect(await marker()).toBe(m2);
  });

  it('defaults: connectionType client, no features, client IP from the connection', async () => {
    const lic = await makeLicense(t);
    const s = await openOk(t, lic.key);
    expect(s.features).toEqual([]);
    const row = await sessionRow(t, s.sessionId);
    expect(row.connection_type).toBe('client');
    expect(row.client_ip).toMatch(/127\.0\.0\.1|::1/);
  });

  it('X-Forwarded-For is believed only from a proxy listed in TRUST_PROXY', async () => {
    const lic = await makeLicense(t);
    const a = await t.request.post('/api/v1/sessions').set('X-Forwarded-For', '203.0.113.9').send(captureBody(lic.key));
    expect((await sessionRow(t, a.body.sessionId)).client_ip).not.toBe('203.0.113.9');
    const proxied = await makeApp({ trustProxy: ['127.0.0.1', '::1'] });
    try {
      const lic2 = await makeLicense(proxied);
      const b = await proxied.request.post('/api/v1/sessions').set('X-Forwarded-For', '203.0.113.9').send(captureBody(lic2.key));
      expect((await sessionRow(proxied, b.body.sessionId)).client_ip).toBe('203.0.113.9');
    } finally {
      await proxied.close();
    }
  });

  it('session numbers count per infobase (per license without one) in commit order and are never reused', async () => {
    const lic = await makeLicense(t, { maxHosts: 5 });
    const ib = { infobase: { id: 'ib-1', name: 'Acc' } };
    const a = await openOk(t, lic.key, ib);
    const b = await openOk(t, lic.key, ib);
    const c = await openOk(t, lic.key);
    expect([a.sessionNumber, b.sessionNumber, c.sessionNumber]).toEqual([1, 2, 1]);
    await t.request.delete(`/api/v1/sessions/${b.sessionId}`).set('Authorization', `Bearer ${b.token}`).expect(204);
    const d = await openOk(t, lic.key, { infobase: { id: 'ib-1', name: 'Accounting 2' } });
    expect(d.sessionNumber).toBe(3);
    // A later capture with another name renames the infobase.
    expect((await t.db.selectFrom('infobases').select('name').executeTakeFirstOrThrow()).name).toBe('Accounting 2');
    // A blank name is no name: the base keeps its own; a new base is named by its id.
    await openOk(t, lic.key, { infobase: { id: 'ib-1', name: ' ' } });
    await openOk(t, lic.key, { infobase: { id: 'ib-2', name: '' } });
    expect(await t.db.selectFrom('infobases').select(['external_id', 'name']).orderBy('id').execute()).toEqual([
      { external_id: 'ib-1', name: 'Accounting 2' },
      { external_id: 'ib-2', name: 'ib-2' },
    ]);
    // Another license of the same client shares the infobase and its numbering.
    const lic2 = await makeLicense(t, { clientId: lic.clientId });
    expect((await openOk(t, lic2.key, ib)).sessionNumber).toBe(5);
  });

  it('404 license_not_found stores nothing', async () => {
    await makeLicense(t);
    const before = await agentTableCounts(t.db);
    const res = await capture(t, captureBody('NOPE-NOPE-NOPE-NOPE'));
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('license_not_found');
    expect(res.body.error.message).toBe('There is no license with this key.');
    expect(await agentTableCounts(t.db)).toEqual(before);
  });

  it('403 license_suspended and license_expired (now ≥ expiresAt) record a refusal event and nothing else', async () => {
    const suspended = await makeLicense(t, { suspended: true });
    const expired = await makeLicense(t, { expiresAt: t.clock.now() });
    const before = await agentTableCounts(t.db);
    const a = await capture(t, captureBody(suspended.key, { client: { ip: '10.0.0.77' } }));
    expect(a.status).toBe(403);
    expect(a.body.error.code).toBe('license_suspended');
    const b = await capture(t, captureBody(expired.key));
    expect(b.status).toBe(403);
    expect(b.body.error.code).toBe('license_expired');
    const after = await agentTableCounts(t.db);
    expect(after).toEqual({ ...before, license_events: before.license_events + 2 });
    const ev = await events(t);
    expect(ev[0]).toMatchObject({
      license_id: suspended.id,
      kind: 'refusal',
      code: 'license_suspended',
      feature: null,
      user_name: 'Ivanov',
      hostname: 'ACC-SRV-01',
      client_ip: '10.0.0.77',
      at: t.clock.now(),
      session_id: null,
    });
    expect(ev[0].fingerprint_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(ev[1]).toMatchObject({ license_id: expired.id, code: 'license_expired' });
    // One millisecond before expiry the license still works.
    const later = await makeLicense(t, { expiresAt: t.clock.now() + 1 });
    await openOk(t, later.key);
  });

  describe('infobase locks (423)', () => {
    it('refuses new sessions inside the window with the lock’s own message; open sessions go on', async () => {
      const lic = await makeLicense(t);
      const open = await openOk(t, lic.key, { infobase: { id: 'ib', name: 'Acc' } });
      await t.db
        .updateTable('infobases')
        .set({ lock_set_at: t.clock.now(), lock_from: t.clock.now() + 60_000, lock_to: t.clock.now() + 120_000, lock_message: 'Year-end closing until 11:00' })
        .execute();
      await openOk(t, lic.key, { infobase: { id: 'ib' } }); // before `from`
      t.clock.advance(60_000);
      const before = await agentTableCounts(t.db);
      const res = await capture(t, captureBody(lic.key, { infobase: { id: 'ib' } }));
      expect(res.status).toBe(423);
      expect(res.body.error).toEqual({ code: 'infobase_locked', message: 'Year-end closing until 11:00' });
      const ru = await capture(t, captureBody(lic.key, { infobase: { id: 'ib' } })).set('Accept-Language', 'ru');
      expect(ru.body.error.message).toBe('Year-end closing until 11:00');
      expect(await agentTableCounts(t.db)).toEqual({ ...before, license_events: before.license_events + 2 });
      expect((await events(t)).at(-1)).toMatchObject({ kind: 'refusal', code: 'infobase_locked', feature: null });
      expect((await heartbeat(t, open)).status).toBe(200);
      await openOk(t, lic.key, { infobase: { id: 'other' } }); // other infobases are not locked
      t.clock.advance(60_000); // `to` is exclusive
      await openOk(t, lic.key, { infobase: { id: 'ib' } });
    });

    it('the permission code passes (exact match only); background jobs pass unless denied, and the code does not lift that', async () => {
      const lic = await makeLicense(t, { maxHosts: 9 });
      await makeInfobase(t, lic.clientId, 'ib', 'Acc', { code: 'letmein', message: 'Update' });
      const ib = { infobase: { id: 'ib' } };
      await openOk(t, lic.key, { ...ib, permissionCode: 'letmein' });
      for (const code of ['LETMEIN', 'letmein ', '']) {
        expect((await capture(t, captureBody(lic.key, { ...ib, permissionCode: code }))).status).toBe(423);
      }
      expect((await capture(t, captureBody(lic.key, ib))).status).toBe(423);
      await openOk(t, lic.key, { ...ib, connectionType: 'background' });
      await openOk(t, lic.key, { ...ib, connectionType: 'webservice', permissionCode: 'letmein' });

      await makeInfobase(t, lic.clientId, 'ib2', 'Acc2', { code: 'letmein', denyBackground: true });
      const ib2 = { infobase: { id: 'ib2' } };
      const bg = await capture(t, captureBody(lic.key, { ...ib2, connectionType: 'background', permissionCode: 'letmein' }));
      expect(bg.status).toBe(423);
      await openOk(t, lic.key, { ...ib2, permissionCode: 'letmein' });

      await makeInfobase(t, lic.clientId, 'ib3', 'Acc3', { denySessions: false, denyBackground: true });
      await openOk(t, lic.key, { infobase: { id: 'ib3' } });
      expect((await capture(t, captureBody(lic.key, { infobase: { id: 'ib3' }, connectionType: 'background' }))).status).toBe(423);
    });

    it('a lock without a message answers the catalogue message', async () => {
      const lic = await makeLicense(t);
      const id = await makeInfobase(t, lic.clientId, 'ib', 'Acc', {});
      await t.db.updateTable('infobases').set({ lock_message: null }).where('id', '=', id).execute();
      const res = await capture(t, captureBody(lic.key, { infobase: { id: 'ib' } })).set('Accept-Language', 'ru');
      expect(res.body.error.message).toBe('Информационная база заблокирована.');
    });
  });

  it('a key as a person types it (lower case, spaces around) and feature names in another Unicode form are the license\'s', async () => {
    const lic = await makeLicense(t, { features: { 'caf\u00e9': 1 } });
    const res = await capture(t, captureBody(`  ${lic.key.toLowerCase()} `, { features: ['cafe\u0301'] }));
    expect(res.status).toBe(201);
    expect(res.body.features).toEqual(['caf\u00e9']);
    // The per-feature limit counts both spellings as one feature.
    const other = await capture(t, captureBody(lic.key, { fingerprint: fingerprint(2), features: ['caf\u00e9'] }));
    expect(other.body.error).toMatchObject({ code: 'feature_limit_reached', details: { feature: 'caf\u00e9', limit: 1 } });
  });

  it('403 feature_not_licensed names the first refused feature; nothing is bound', async () => {
    const lic = await makeLicense(t, { features: { reports: null } });
    const before = await agentTableCounts(t.db);
    const res = await capture(t, captureBody(lic.key, { features: ['reports', 'export', 'payroll'] }));
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('feature_not_licensed');
    expect(res.body.error.details).toEqual({ feature: 'export' });
    expect(res.body.error.message).toContain('export');
    expect(await agentTableCounts(t.db)).toEqual({ ...before, license_events: before.license_events + 1 });
    expect((await events(t))[0]).toMatchObject({ kind: 'refusal', code: 'feature_not_licensed', feature: 'export', host_id: null });
    // The default feature list is empty: any feature of a license without features is refused.
    const bare = await makeLicense(t);
    expect((await capture(t, captureBody(bare.key, { features: ['reports'] }))).body.error.code).toBe('feature_not_licensed');
  });

  it('binding: the same fingerprint (any key order, NFC-equal) reuses the host; 403 host_limit_reached when full', async () => {
    const lic = await makeLicense(t, { maxHosts: 2 });
    const a = await openOk(t, lic.key, { fingerprint: { mac: 'x', cpu: 'Caf\u00e9' } });
    const b = await openOk(t, lic.key, { fingerprint: { cpu: 'Cafe\u0301', mac: 'x' } });
    expect(b.hostId).toBe(a.hostId);
    const c = await openOk(t, lic.key, { fingerprint: { cpu: 'Caf\u00e9', mac: 'x', disk: 'd' } }); // another key set: another machine
    expect(c.hostId).not.toBe(a.hostId);
    const before = await agentTableCounts(t.db);
    const res = await capture(t, captureBody(lic.key, { fingerprint: { cpu: 'caf\u00e9', mac: 'x' } })); // no case folding
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('host_limit_reached');
    expect(res.body.error.details).toEqual({ maxHosts: 2, boundHosts: 2 });
    expect(res.body.error.message).toMatch(/2 of 2.*Reset a binding in your personal cabinet.*support/);
    expect(await agentTableCounts(t.db)).toEqual({ ...before, license_events: before.license_events + 1 });
    const ru = await capture(t, captureBody(lic.key, { fingerprint: { other: '1' } })).set('Accept-Language', 'ru-RU,ru;q=0.9');
    expect(ru.body.error.message).toBe(
      'Лимит компьютеров лицензии исчерпан: привязано 2 из 2. Сбросьте привязку в личном кабинете или обратитесь в техподдержку вендора.',
    );
    // Bound machines still capture.
    await openOk(t, lic.key, { fingerprint: { mac: 'x', cpu: 'Caf\u00e9' } });
  });

  it('a bound machine: its name, OS and IP follow each capture; lastSeenAt to a 5-minute resolution', async () => {
    const lic = await makeLicense(t);
    const a = await openOk(t, lic.key);
    const host = () => t.db.selectFrom('hosts').select(['last_seen_at', 'machine_hostname', 'machine_os', 'machine_ip']).where('id', '=', a.hostId).executeTakeFirstOrThrow();
    const boundAt = t.clock.now();
    t.clock.advance(60_000);
    await openOk(t, lic.key);
    expect(await host()).toEqual({ last_seen_at: boundAt, machine_hostname: 'ACC-SRV-01', machine_os: 'Windows Server 2022', machine_ip: '10.0.0.5' });
    t.clock.advance(60_000);
    await openOk(t, lic.key, { machine: { hostname: 'ACC-SRV-01', os: 'Windows Server 2025', ip: '10.0.0.6' } });
    expect(await host()).toEqual({ last_seen_at: t.clock.now(), machine_hostname: 'ACC-SRV-01', machine_os: 'Windows Server 2025', machine_ip: '10.0.0.6' });
    const renamedAt = t.clock.now();
    t.clock.advance(299_999);
    await openOk(t, lic.key, { machine: { hostname: 'ACC-SRV-01', os: 'Windows Server 2025', ip: '10.0.0.6' } });
    expect((await host()).last_seen_at).toBe(renamedAt);
    t.clock.advance(1);
    await openOk(t, lic.key, { machine: { hostname: 'ACC-SRV-01', os: 'Windows Server 2025', ip: '10.0.0.6' } });
    expect((await host()).last_seen_at).toBe(t.clock.now());
    // A capture without machine details keeps the known ones; one that sends some changes those only.
    await openOk(t, lic.key, { machine: undefined });
    expect(await host()).toMatchObject({ machine_hostname: 'ACC-SRV-01', machine_os: 'Windows Server 2025', machine_ip: '10.0.0.6' });
    await openOk(t, lic.key, { machine: { ip: '10.0.0.9' } });
    expect(await host()).toMatchObject({ machine_hostname: 'ACC-SRV-01', machine_os: 'Windows Server 2025', machine_ip: '10.0.0.9' });
    const admin = await t.request.get(`/api/v1/admin/licenses/${lic.id}`).set('Authorization', `Bearer ${await makeApiToken(t, 'support')}`);
    expect(admin.body.hosts[0].machine).toEqual({ hostname: 'ACC-SRV-01', os: 'Windows Server 2025', ip: '10.0.0.9' });
    // Shown, a host's lastSeenAt is its open sessions' latest heartbeat (its row follows to 5 minutes).
    const rowSeen = (await host()).last_seen_at;
    t.clock.advance(60_000);
    expect((await heartbeat(t, a)).status).toBe(200);
    expect((await host()).last_seen_at).toBe(rowSeen);
    const seen = await t.request.get(`/api/v1/admin/licenses/${lic.id}`).set('Authorization', `Bearer ${await makeApiToken(t, 'support')}`);
    expect(seen.body.hosts[0].lastSeenAt).toBe(new Date(t.clock.now()).toISOString());
  });

  it('session ids are UUIDs in the order the sessions were opened', async () => {
    const lic = await makeLicense(t, { maxHosts: 10 });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await openOk(t, lic.key, { fingerprint: fingerprint(i + 1) })).sessionId);
      t.clock.advance(1);
    }
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(5);
  });

  it('403 session_limit_reached counts every open session; a release frees the seat at once', async () => {
    const lic = await makeLicense(t, { maxSessions: 2 });
    const a = await openOk(t, lic.key);
    await openOk(t, lic.key, { connectionType: 'background' });
    const before = await agentTableCounts(t.db);
    const res = await capture(t, captureBody(lic.key, { fingerprint: fingerprint(2) }));
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('session_limit_reached');
    expect(res.body.error.details).toEqual({ maxSessions: 2 });
    // Nothing was bound for the new machine, and the session counter did not move.
    expect(await agentTableCounts(t.db)).toEqual({ ...before, license_events: before.license_events + 1 });
    await t.request.delete(`/api/v1/sessions/${a.sessionId}`).set('Authorization', `Bearer ${a.token}`).expect(204);
    const c = await openOk(t, lic.key, { fingerprint: fingerprint(2) });
    expect(c.sessionNumber).toBe(3);
  });

  it('403 feature_limit_reached: all or nothing, the limit counts open sessions holding the feature', async () => {
    const lic = await makeLicense(t, { maxHosts: 5, features: { reports: null, export: 1 } });
    const a = await openOk(t, lic.key, { features: ['export'] });
    const before = await agentTableCounts(t.db);
    const res = await capture(t, captureBody(lic.key, { fingerprint: fingerprint(7), features: ['reports', 'export'] }));
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('feature_limit_reached');
    expect(res.body.error.details).toEqual({ feature: 'export', limit: 1 });
    expect(await agentTableCounts(t.db)).toEqual({ ...before, license_events: before.license_events + 1 });
    expect((await events(t)).at(-1)).toMatchObject({ kind: 'refusal', code: 'feature_limit_reached', feature: 'export' });
    await openOk(t, lic.key, { features: ['reports'] });
    await t.request.delete(`/api/v1/sessions/${a.sessionId}`).set('Authorization', `Bearer ${a.token}`).expect(204);
    expect((await openOk(t, lic.key, { features: ['export'] })).features).toEqual(['export']);
  });

  it('checks in the contract’s order: the first failure answers', async () => {
    const now = t.clock.now();
    const both = await makeLicense(t, { suspended: true, expiresAt: now - 1 });
    expect((await capture(t, captureBody(both.key))).body.error.code).toBe('license_suspended');

    const expiredLocked = await makeLicense(t, { expiresAt: now - 1 });
    await makeInfobase(t, expiredLocked.clientId, 'ib', 'x', {});
    expect((await capture(t, captureBody(expiredLocked.key, { infobase: { id: 'ib' } }))).body.error.code).toBe('license_expired');

    const lockedFull = await makeLicense(t, { maxHosts: 0, maxSessions: 0 });
    await makeInfobase(t, lockedFull.clientId, 'ib', 'x', {});
    const r1 = await capture(t, captureBody(lockedFull.key, { infobase: { id: 'ib' }, features: ['nope'] }));
    expect(r1.body.error.code).toBe('infobase_locked');
    expect((await capture(t, captureBody(lockedFull.key, { features: ['nope'] }))).body.error.code).toBe('feature_not_licensed');
    expect((await capture(t, captureBody(lockedFull.key))).body.error.code).toBe('host_limit_reached');

    const sessionsFull = await makeLicense(t, { maxHosts: 1, maxSessions: 0, features: { f: 0 } });
    expect((await capture(t, captureBody(sessionsFull.key, { features: ['f'] }))).body.error.code).toBe('session_limit_reached');
  });

  describe('idempotent open with clientSessionId', () => {
    it('a repeat answers 200 with the same ids and features and a new token; the old token stops working', async () => {
      const lic = await makeLicense(t, { features: { reports: 1 } });
      const body = captureBody(lic.key, { clientSessionId: 'run-1', features: ['reports'] });
      const first = await capture(t, body);
      expect(first.status).toBe(201);
      t.clock.advance(5_000);
      const again = await capture(t, { ...body, fingerprint: { mac: '00:11:22:33:44:55', disk: 'WD-1', board: 'BOARD-1', cpu: 'BFEBFBFF-1' } });
      expect(again.status).toBe(200);
      for (const k of ['sessionId', 'sessionNumber', 'hostId', 'features', 'heartbeatIntervalSec', 'leaseTimeoutSec']) {
        expect(again.body[k]).toEqual(first.body[k]);
      }
      expect(again.body.token).not.toBe(first.body.token);
      expect((await heartbeat(t, { sessionId: first.body.sessionId, token: first.body.token })).status).toBe(401);
      expect((await heartbeat(t, again.body)).status).toBe(200);
      // Nothing counted twice: one session, one feature seat, one number.
      const counts = await agentTableCounts(t.db);
      expect([counts.sessions, counts.session_features]).toEqual([1, 1]);
      expect(await t.db.selectFrom('session_counters').select('last_number').executeTakeFirstOrThrow()).toEqual({ last_number: 1 });
    });

    it('after expiry a repeat for a session still open answers 200 (expiry closes nothing); anything else is license_expired', async () => {
      const lic = await makeLicense(t, { maxHosts: 3, expiresAt: t.clock.now() + 60_000 });
      const body = captureBody(lic.key, { clientSessionId: 'run-1' });
      const first = await capture(t, body);
      const released = await openOk(t, lic.key, { clientSessionId: 'run-2' });
      await t.request.delete(`/api/v1/sessions/${released.sessionId}`).set('Authorization', `Bearer ${released.token}`).expect(204);
      t.clock.advance(60_000);
      const again = await capture(t, body);
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ sessionId: first.body.sessionId, sessionNumber: first.body.sessionNumber, hostId: first.body.hostId });
      expect((await heartbeat(t, again.body)).status).toBe(200);
      const before = await agentTableCounts(t.db);
      // A new session, a closed one, another machine: refused as expired, each recorded as a refusal.
      for (const refused of [
        captureBody(lic.key, { clientSessionId: 'run-3' }),
        captureBody(lic.key, { clientSessionId: 'run-2' }),
        captureBody(lic.key, { clientSessionId: 'run-1', fingerprint: fingerprint(2) }),
      ]) {
        const res = await capture(t, refused);
        expect([res.status, res.body.error.code]).toEqual([403, 'license_expired']);
      }
      expect(await agentTableCounts(t.db)).toEqual({ ...before, license_events: before.license_events + 3 });
    });

    it('409 client_session_conflict for another fingerprint; 410 session_closed with the reason after close', async () => {
      const lic = await makeLicense(t, { maxHosts: 3 });
      const s = await openOk(t, lic.key, { clientSessionId: 'run-1' });
      const conflict = await capture(t, captureBody(lic.key, { clientSessionId: 'run-1', fingerprint: fingerprint(2) }));
      expect(conflict.status).toBe(409);
      expect(conflict.body.error.code).toBe('client_session_conflict');
      expect(await t.db.selectFrom('hosts').selectAll().execute()).toHaveLength(1);
      await t.request.delete(`/api/v1/sessions/${s.sessionId}`).set('Authorization', `Bearer ${s.token}`).expect(204);
      const closed = await capture(t, captureBody(lic.key, { clientSessionId: 'run-1' }));
      expect(closed.status).toBe(410);
      expect(closed.body.error.code).toBe('session_closed');
      expect(closed.body.error.details).toEqual({ reason: 'released', message: null });
      // The same id in another license is another session.
      const other = await makeLicense(t);
      expect((await capture(t, captureBody(other.key, { clientSessionId: 'run-1' }))).status).toBe(201);
    });
  });

  describe('429 rate_limited', () => {
    it('per license key, with Retry-After and details.retryAfterSec', async () => {
      const limited = await makeApp({ captureRatePerKey: 3, captureRateWindowSeconds: 60 });
      try {
        const lic = await makeLicense(limited, { maxHosts: 9 });
        for (let i = 0; i < 3; i++) await openOk(limited, lic.key, { fingerprint: fingerprint(i) });
        const before = await agentTableCounts(limited.db);
        const res = await limited.request.post('/api/v1/sessions').send(captureBody(lic.key));
        expect(res.status).toBe(429);
        expect(res.body.error.code).toBe('rate_limited');
        expect(res.headers['retry-after']).toBe('60');
        expect(res.body.error.details).toEqual({ retryAfterSec: 60 });
        expect(await agentTableCounts(limited.db)).toEqual(before);
        // Bad requests are refused before the limit (400 first) and do not count.
        expect((await limited.request.post('/api/v1/sessions').send({ licenseKey: lic.key })).status).toBe(400);
        limited.clock.advance(60_000);
        await openOk(limited, lic.key);
      } finally {
        await limited.close();
      }
    });

    it('per IP, before the license lookup; wrong permission codes weigh heavily', async () => {
      const limited = await makeApp({ captureRatePerIp: 12 });
      try {
        const lic = await makeLicense(limited);
        await makeInfobase(limited, lic.clientId, 'ib', 'Acc', { code: 'secret' });
        // An empty code is no code: refused, counted once.
        const empty = captureBody(lic.key, { infobase: { id: 'ib' }, permissionCode: '' });
        expect((await limited.request.post('/api/v1/sessions').send(empty)).status).toBe(423);
        const wrong = captureBody(lic.key, { infobase: { id: 'ib' }, permissionCode: 'guess' });
        expect((await limited.request.post('/api/v1/sessions').send(wrong)).status).toBe(423);
        const unknown = await limited.request.post('/api/v1/sessions').send(captureBody('UNKNOWN-KEY'));
        expect(unknown.status).toBe(404);
        const blocked = await limited.request.post('/api/v1/sessions').send(captureBody('UNKNOWN-KEY'));
        expect(blocked.status).toBe(429);
        expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
      } finally {
        await limited.close();
      }
    });

    it('a code that could not have let anyone in is no guess: a lock without a code, a background job', async () => {
      const limited = await makeApp({ captureRatePerIp: 4 });
      try {
        const lic = await makeLicense(limited);
        await makeInfobase(limited, lic.clientId, 'nocode', 'Acc', {});
        await makeInfobase(limited, lic.clientId, 'jobs', 'Pay', { code: 'secret', denyBackground: true });
        const send = (body: object) => limited.request.post('/api/v1/sessions').send(body);
        // Each counts once: a code sent to a lock that has none, and the right code from a background job
        // (a background refusal is not lifted by any code, PROTOCOL §1).
        expect((await send(captureBody(lic.key, { infobase: { id: 'nocode' }, permissionCode: 'whatever' }))).status).toBe(423);
        expect((await send(captureBody(lic.key, { infobase: { id: 'jobs' }, permissionCode: 'secret', connectionType: 'background' }))).status).toBe(423);
        expect((await send(captureBody(lic.key, { infobase: { id: 'jobs' }, connectionType: 'background' }))).status).toBe(423);
        expect((await send(captureBody(lic.key))).status).toBe(201); // the 4th of 4
        expect((await send(captureBody(lic.key, { fingerprint: fingerprint(9) }))).status).toBe(429);
      } finally {
        await limited.close();
      }
    });
  });
});
