import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeApiToken, makeApp, type TestApp } from '../../helpers/app.js';
import { auditRows } from '../../helpers/admin.js';

describe('admin API: settings', () => {
  let t: TestApp;
  let admin: { Authorization: string };
  beforeEach(async () => {
    t = await makeApp();
    admin = { Authorization: `Bearer ${await makeApiToken(t, 'admin')}` };
  });
  afterEach(() => t.close());

  const DEFAULTS = { heartbeatIntervalSec: 60, leaseTimeoutSec: 300, poolSize: 10, selfResetQuotaDefault: 3, retentionDays: 30 };

  it('reads and patches the settings, auditing what changed', async () => {
    const res = await t.request.get('/api/v1/admin/settings').set(admin);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(DEFAULTS);
    const patched = await t.request.patch('/api/v1/admin/settings').set(admin).send({ poolSize: 0, heartbeatIntervalSec: 30, extra: true });
    expect(patched.status).toBe(200);
    expect(patched.body).toEqual({ ...DEFAULTS, poolSize: 0, heartbeatIntervalSec: 30 });
    const row = await t.db.selectFrom('settings').selectAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({ pool_size: 0, heartbeat_interval_sec: 30, lease_timeout_sec: 300 });
    const [audit] = await auditRows(t, 'settings.updated');
    expect(audit).toMatchObject({ actor_type: 'token', actor_name: 'test admin' });
    expect(JSON.parse(audit.details!)).toEqual({ poolSize: { from: 10, to: 0 }, heartbeatIntervalSec: { from: 60, to: 30 } });
  });

  it('refuses invalid settings with 400 naming the field and changes nothing', async () => {
    const cases: [object, string][] = [
      [{ leaseTimeoutSec: 100 }, 'leaseTimeoutSec'],
      [{ heartbeatIntervalSec: 200 }, 'leaseTimeoutSec'],
      [{ heartbeatIntervalSec: 1 }, 'heartbeatIntervalSec'],
      [{ poolSize: -1 }, 'poolSize'],
      [{ retentionDays: 0 }, 'retentionDays'],
      [{ retentionDays: 1.5 }, 'retentionDays'],
      [{ selfResetQuotaDefault: 'three' }, 'selfResetQuotaDefault'],
    ];
    for (const [body, field] of cases) {
      const res = await t.request.patch('/api/v1/admin/settings').set(admin).send(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
      expect(res.body.error.details.fields, JSON.stringify(body)).toHaveProperty([field]);
    }
    expect((await t.request.get('/api/v1/admin/settings').set(admin)).body).toEqual(DEFAULTS);
    expect(await auditRows(t, 'settings.updated')).toHaveLength(0);
  });

  it('is admin only', async () => {
    const support = { Authorization: `Bearer ${await makeApiToken(t, 'support')}` };
    expect((await t.request.get('/api/v1/admin/settings').set(support)).status).toBe(403);
    expect((await t.request.patch('/api/v1/admin/settings').set(support).send({ poolSize: 1 })).status).toBe(403);
    expect((await t.request.get('/api/v1/admin/settings')).status).toBe(401);
  });
});
