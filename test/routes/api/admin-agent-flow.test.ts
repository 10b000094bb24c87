import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeApiToken, makeApp, type TestApp } from '../../helpers/app.js';
import { fingerprint, heartbeat, openOk } from '../../helpers/licensing.js';

// The admin API and the agent protocol together, over HTTP only: what a vendor's billing
// script sets up is what agents meet.
describe('admin API with real agents', () => {
  let t: TestApp;
  let admin: { Authorization: string };
  beforeEach(async () => {
    t = await makeApp();
    admin = { Authorization: `Bearer ${await makeApiToken(t, 'admin')}` };
  });
  afterEach(() => t.close());

  async function setup() {
    const client = (await t.request.post('/api/v1/admin/clients').set(admin).send({ name: 'Acme' })).body;
    const license = (
      await t.request.post('/api/v1/admin/licenses').set(admin).send({ clientId: client.id, product: 'Payroll', features: ['reports'], maxHosts: 1 })
    ).body;
    return { client, license };
  }

  it('an agent captures a created license; the session is listed; suspension answers its next heartbeat with 410', async () => {
    const { license } = await setup();
    const s = await openOk(t, license.key, { features: ['reports'], infobase: { id: 'ib-1', name: 'Accounting' } });
    const hb = await heartbeat(t, s, { metrics: { cpuMs: { current: 5, total: 100 } } });
    expect(hb.status).toBe(200);

    const list = await t.request.get(`/api/v1/admin/sessions?license=${license.id}`).set(admin);
    expect(list.body.items).toHaveLength(1);
    expect(list.body.items[0]).toMatchObject({ id: s.sessionId, features: ['reports'], state: 'alive', infobase: { externalId: 'ib-1', name: 'Accounting' } });
    expect(list.body.items[0].metrics.cpuMs).toMatchObject({ current: 5, total: 100 });

    const detail = await t.request.get(`/api/v1/admin/licenses/${license.id}`).set(admin);
    expect(detail.body.hosts).toHaveLength(1);
    expect(detail.body.hosts[0]).toMatchObject({ id: s.hostId, fingerprint: fingerprint(1), machine: { hostname: 'ACC-SRV-01' } });

    const history = await t.request.get(`/api/v1/admin/licenses/${license.id}/history`).set(admin);
    expect(history.body.captures).toEqual([expect.objectContaining({ feature: 'reports', user: 'Ivanov', hostId: s.hostId, count: 1 })]);

    expect((await t.request.patch(`/api/v1/admin/licenses/${license.id}`).set(admin).send({ suspended: true })).status).toBe(200);
    const after = await heartbeat(t, s);
    expect(after.status).toBe(410);
    expect(after.body.error.details.reason).toBe('license_suspended');
    const refused = await t.request.post('/api/v1/sessions').send({ licenseKey: license.key, fingerprint: fingerprint(1), user: 'Ivanov' });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('license_suspended');
    expect((await t.request.get(`/api/v1/admin/licenses/${license.id}/history`).set(admin)).body.refusals).toEqual([
      expect.objectContaining({ code: 'license_suspended', user: 'Ivanov', count: 1 }),
    ]);
  });

  it('a lock set through the API refuses captures with its message; removing it lets them in', async () => {
    const { client, license } = await setup();
    await openOk(t, license.key, { infobase: { id: 'ib-1', name: 'Accounting' } });
    const ibs = await t.request.get(`/api/v1/admin/infobases?client=${client.id}`).set(admin);
    const ib = ibs.body.items[0];
    const put = await t.request.put(`/api/v1/admin/infobases/${ib.id}/lock`).set(admin).send({ message: 'Year-end closing', permissionCode: 'let-me-in' });
    expect(put.status).toBe(200);
    const locked = await t.request.post('/api/v1/sessions').send({ licenseKey: license.key, fingerprint: fingerprint(1), user: 'Petrov', infobase: { id: 'ib-1' } });
    expect(locked.status).toBe(423);
    expect(locked.body.error.message).toBe('Year-end closing');
    await openOk(t, license.key, { user: 'Maintainer', infobase: { id: 'ib-1' }, permissionCode: 'let-me-in' });
    expect((await t.request.delete(`/api/v1/admin/infobases/${ib.id}/lock`).set(admin)).status).toBe(204);
    await openOk(t, license.key, { user: 'Petrov', infobase: { id: 'ib-1' } });
  });

  it('a binding reset frees the slot for another computer and closes the old sessions with binding_reset', async () => {
    const { license } = await setup();
    const s = await openOk(t, license.key);
    const full = await t.request.post('/api/v1/sessions').send({ licenseKey: license.key, fingerprint: fingerprint(2), user: 'Petrov' });
    expect(full.status).toBe(403);
    expect(full.body.error.code).toBe('host_limit_reached');
    const reset = await t.request.delete(`/api/v1/admin/licenses/${license.id}/hosts/${s.hostId}`).set(admin).send({ reason: 'Replaced the server' });
    expect(reset.status).toBe(204);
    const hb = await heartbeat(t, s);
    expect(hb.status).toBe(410);
    expect(hb.body.error.details.reason).toBe('binding_reset');
    await openOk(t, license.key, { fingerprint: fingerprint(2) });
  });

  it('a session’s features are listed in the order acquired, as the agent was answered', async () => {
    const client = (await t.request.post('/api/v1/admin/clients').set(admin).send({ name: 'Acme' })).body;
    const license = (
      await t.request.post('/api/v1/admin/licenses').set(admin).send({ clientId: client.id, product: 'P', features: ['reports', 'export', 'design'], maxHosts: 1 })
    ).body;
    const s = await openOk(t, license.key, { features: ['reports', 'export'] });
    t.clock.advance(1000);
    const added = await t.request.post(`/api/v1/sessions/${s.sessionId}/features`).set('Authorization', `Bearer ${s.token}`).send({ feature: 'design' });
    expect(added.body.features).toEqual(['reports', 'export', 'design']);
    const list = await t.request.get(`/api/v1/admin/sessions?license=${license.id}`).set(admin);
    expect(list.body.items[0].features).toEqual(['reports', 'export', 'design']);
  });
});
