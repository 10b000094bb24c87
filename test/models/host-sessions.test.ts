import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseMonitorQuery } from '../../src/lib/monitor-query.js';
import type { Actor } from '../../src/models/actor.js';
import { boundHosts } from '../../src/models/licenses.js';
import { actionHost, monitorPage } from '../../src/models/monitor.js';
import { sharedPackagesOfHosts } from '../../src/models/packages.js';
import { clearHostPool, resetBinding } from '../../src/models/session-actions.js';
import { liveSessionIdsOfHost } from '../../src/models/sessions.js';
import { makeApp, type TestApp } from '../helpers/app.js';
import { seedHost, seedLicense, seedPackage, seedSession, seedShared } from '../helpers/monitor-data.js';
import { plansDuring, type PlannedStatement } from '../helpers/statements.js';

// Open sessions are indexed by license, not by host (migration 2026-12-07-20): every reader of
// a host's sessions goes through the host's license. These tests pin the answers and that none
// of them walks the sessions table or one of its open-session indexes whole (SCAN): each looks up
// (SEARCH) the license's sessions.

const admin: Actor = { type: 'user', id: 1, name: 'admin@test', role: 'admin', clientId: null, ip: null };

/** Statements reading sessions by host that walk the table or an index of it whole instead of looking up a license's part. */
const scans = (planned: PlannedStatement[]) =>
  planned.filter((p) => /\bsessions\b/.test(p.sql) && /host_id/.test(p.sql) && p.plan.some((line) => /^SCAN (sessions|s)\b/.test(line)));

describe("a host's sessions, found through its license", () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.close());

  async function world() {
    const a = await seedLicense(t, { clientName: 'Acme' });
    const b = await seedLicense(t, { clientName: 'Globex' });
    const a1 = await seedHost(t, a.licenseId);
    const a2 = await seedHost(t, a.licenseId);
    const b1 = await seedHost(t, b.licenseId);
    const onA1 = [await seedSession(t, { ...a, hostId: a1 }), await seedSession(t, { ...a, hostId: a1 })];
    const closedOnA1 = await seedSession(t, { ...a, hostId: a1 });
    await t.db.updateTable('sessions').set({ closed_at: t.clock.now(), close_reason: 'released' }).where('id', '=', closedOnA1).execute();
    const onA2 = await seedSession(t, { ...a, hostId: a2 });
    const onB1 = await seedSession(t, { ...b, hostId: b1 });
    return { a, b, a1, a2, b1, onA1, closedOnA1, onA2, onB1 };
  }

  it('lists, counts and filters the open sessions of one host only', async () => {
    const w = await world();
    const planned = await plansDuring(t.sqlite, async () => {
      expect((await liveSessionIdsOfHost(t.db, w.a1)).sort()).toEqual([...w.onA1].sort());
      expect(await liveSessionIdsOfHost(t.db, w.b1)).toEqual([w.onB1]);
      expect((await actionHost(t.db, { clientId: null }, w.a1))?.openSessions).toBe(2);
      expect((await actionHost(t.db, { clientId: null }, w.a2))?.openSessions).toBe(1);
      const page = await monitorPage(t.db, { clientId: null }, parseMonitorQuery({ host: String(w.a1) }), t.clock.now());
      expect(page.rows.map((r) => r.id).sort()).toEqual([...w.onA1].sort());
      expect(page.total).toBe(2);
      const hosts = await boundHosts(t.db, w.a.licenseId);
      expect(hosts.map((h) => [h.id, h.liveSessions])).toEqual([
        [w.a1, 2],
        [w.a2, 1],
      ]);
    });
    expect(planned.filter((p) => /host_id/.test(p.sql)).length).toBeGreaterThanOrEqual(4);
    expect(scans(planned)).toEqual([]);
  });

  it("counts a shared package's references among its own host's open sessions", async () => {
    const w = await world();
    await seedShared(t, w.a1, '/shared/common.lgp');
    await seedPackage(t, w.onA1[0], { refs: ['/shared/common.lgp'] });
    // Same path referenced on another host of the license, and from a closed session: not counted.
    await seedPackage(t, w.onA2, { refs: ['/shared/common.lgp'] });
    await seedPackage(t, w.closedOnA1, { refs: ['/shared/common.lgp'] });
    const planned = await plansDuring(t.sqlite, async () => {
      const [shared] = await sharedPackagesOfHosts(t.db, [w.a1]);
      expect(shared).toMatchObject({ hostId: w.a1, path: '/shared/common.lgp', count: 2 });
    });
    expect(scans(planned)).toEqual([]);
  });

  it('a binding reset closes that host’s open sessions and no others; a pool clear commands them', async () => {
    const w = await world();
    const planned = await plansDuring(t.sqlite, async () => {
      await clearHostPool(t.db, admin, w.a2, t.clock.now());
      expect(await resetBinding(t.db, admin, w.a1, 'replaced the server', t.clock.now())).toEqual({ closedSessions: 2 });
    });
    const sessions = await t.db.selectFrom('sessions').select(['id', 'close_reason']).execute();
    const reason = Object.fromEntries(sessions.map((s) => [s.id, s.close_reason]));
    expect(w.onA1.map((id) => reason[id])).toEqual(['binding_reset', 'binding_reset']);
    expect(reason[w.closedOnA1]).toBe('released');
    expect(reason[w.onA2]).toBeNull();
    expect(reason[w.onB1]).toBeNull();
    const commands = await t.db.selectFrom('commands').select(['session_id', 'type']).execute();
    expect(commands).toEqual([{ session_id: w.onA2, type: 'clearPool' }]);
    expect(scans(planned)).toEqual([]);
  });
});
