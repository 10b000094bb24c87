import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeApp, type TestApp } from '../helpers/app.js';
import { captureBody, fingerprint, heartbeat, makeLicense, openOk, sessionRow } from '../helpers/licensing.js';
import { forgiveRestart, leaseTick, reapExpiredSessions, sessionState } from '../../src/models/reaper.js';
import { applyRetention, pruneClosedSessionRows } from '../../src/models/retention.js';
import { changeMarker } from '../../src/models/session-lifecycle.js';
import { FIRST_RUN_AFTER_MS, startJobs } from '../../src/jobs/index.js';
import { hostPool } from '../../src/models/packages.js';

const MIN = 60_000;

describe('leases: reaper, late state, restart forgiveness, clock jumps', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.close());

  const aliveAt = (ms: number) => t.db.updateTable('server_state').set({ alive_at: ms }).execute();

  it('closes sessions with now − lastSeenAt ≥ lease timeout as timeout, frees the seat, keeps the binding', async () => {
    const lic = await makeLicense(t, { maxSessions: 1 });
    const s = await openOk(t, lic.key);
    t.clock.advance(5 * MIN - 1);
    expect(await reapExpiredSessions(t.db, t.clock.now())).toBe(0);
    expect((await t.request.post('/api/v1/sessions').send(captureBody(lic.key))).body.error.code).toBe('session_limit_reached');
    t.clock.advance(1);
    const marker = await changeMarker(t.db);
    expect(await reapExpiredSessions(t.db, t.clock.now())).toBe(1);
    expect(await changeMarker(t.db)).toBeGreaterThan(marker);
    const row = await sessionRow(t, s.sessionId);
    expect([row.close_reason, row.closed_at]).toEqual(['timeout', t.clock.now()]);
    const host = await t.db.selectFrom('hosts').select('reset_at').where('id', '=', s.hostId).executeTakeFirstOrThrow();
    expect(host.reset_at).toBeNull();
    const again = await openOk(t, lic.key);
    expect(again.hostId).toBe(s.hostId);
  });

  it('a shorter lease setting applies to the next sweep, once a session has heard the interval that goes with it', async () => {
    const lic = await makeLicense(t, { maxHosts: 3 });
    const a = await openOk(t, lic.key);
    const b = await openOk(t, lic.key, { fingerprint: fingerprint(2) });
    const c = await openOk(t, lic.key, { fingerprint: fingerprint(3) });
    // Told 60 s at capture; the settings now say every 10 s, timeout 30 s.
    await t.db.updateTable('settings').set({ heartbeat_interval_sec: 10, lease_timeout_sec: 30 }).execute();
    t.clock.advance(50_000);
    // c heartbeats on its old schedule and learns the new interval; b and a say nothing yet.
    const answer = await heartbeat(t, c).expect(200);
    expect(answer.body.heartbeatIntervalSec).toBe(10);
    expect(await reapExpiredSessions(t.db, t.clock.now())).toBe(0); // 50 s ≥ 30 s, but b and a were told 60 s: 3 × 60 s
    for (let i = 0; i < 5; i++) {
      t.clock.advance(10_000);
      await heartbeat(t, a).expect(200);
      await reapExpiredSessions(t.db, t.clock.now());
    }
    // 100 s after capture: b still has its three 60-second chances; c (told 10 s) has used its 30 s.
    expect((await sessionRow(t, a.sessionId)).closed_at).toBeNull();
    expect((await sessionRow(t, b.sessionId)).closed_at).toBeNull();
    expect((await sessionRow(t, c.sessionId)).close_reason).toBe('timeout');
    t.clock.advance(3 * MIN - 100_000 - 1);
    await heartbeat(t, a).expect(200);
    expect(await reapExpiredSessions(t.db, t.clock.now())).toBe(0);
    t.clock.advance(1);
    expect(await reapExpiredSessions(t.db, t.clock.now())).toBe(1);
    expect((await sessionRow(t, b.sessionId)).close_reason).toBe('timeout');
  });

  it('late after two missed intervals (the interval last sent to the session), sleeping when said, else alive', async () => {
    const lic = await makeLicense(t);
    const s = await openOk(t, lic.key);
    await heartbeat(t, s, { sleeping: true });
    expect(sessionState(await sessionRow(t, s.sessionId), t.clock.now())).toBe('sleeping');
    t.clock.advance(2 * MIN);
    expect(sessionState(await sessionRow(t, s.sessionId), t.clock.now())).toBe('sleeping');
    t.clock.advance(1);
    expect(sessionState(await sessionRow(t, s.sessionId), t.clock.now())).toBe('late');
    await heartbeat(t, s);
    expect(sessionState(await sessionRow(t, s.sessionId), t.clock.now())).toBe('alive');
  });

  it('restart: open leases move forward by the downtime, so nobody is evicted by it', async () => {
    const lic = await makeLicense(t, { maxHosts: 3 });
    const s = await openOk(t, lic.key);
    t.clock.advance(50_000);
    await aliveAt(t.clock.now()); // the server's last sign of life
    t.clock.advance(4 * MIN); // down for four minutes
    const marker = await changeMarker(t.db);
    expect(await forgiveRestart(t.db, t.clock.now())).toBe(4 * MIN);
    expect((await sessionRow(t, s.sessionId)).last_seen_at).toBe(t.clock.now() - 50_000);
    // The session shown late before is alive again: the monitor's poll must not answer "unchanged".
    expect(await changeMarker(t.db)).toBeGreaterThan(marker);
    t.clock.advance(4 * MIN);
    expect(await reapExpiredSessions(t.db, t.clock.now())).toBe(0);
    t.clock.advance(10_000);
    expect(await reapExpiredSessions(t.db, t.clock.now())).toBe(1);
  });

  it('restart after a crash: a session seen after the last sign of life (within the tick before the crash) is forgiven too', async () => {
    const lic = await makeLicense(t, { maxHosts: 3 });
    await t.db.updateTable('settings').set({ heartbeat_interval_sec: 5, lease_timeout_sec: 15 }).execute();
    const older = await openOk(t, lic.key);
    await aliveAt(t.clock.now()); // the lease job's last tick
    t.clock.advance(4_000);
    const fresh = await openOk(t, lic.key, { fingerprint: fingerprint('second') }); // captured, then kill -9
    t.clock.advance(16_000); // down for 16 s, more than the 15 s lease
    expect(await forgiveRestart(t.db, t.clock.now(), 15_000)).toBe(15_000);
    expect(await reapExpiredSessions(t.db, t.clock.now())).toBe(0);
    // Each has a full lease less its own downtime beyond one lease: the fresh one 14 s, the older one 10 s.
    expect((await sessionRow(t, fresh.sessionId)).last_seen_at).toBe(t.clock.now() - 1_000);
    expect((await sessionRow(t, older.sessionId)).last_seen_at).toBe(t.clock.now() - 5_000);
    expect((await heartbeat(t, fresh)).status).toBe(200);
    expect((await heartbeat(t, older)).status).toBe(200);
  });

  it('a second process starting while the first ticks moves no lease (its sign of life is recent)', async () => {
    const lic = await makeLicense(t);
    const s = await openOk(t, lic.key);
    t.clock.advance(60_000);
    await aliveAt(t.clock.now() - 4_000); // the running process ticked 4 s ago
    const marker = await changeMarker(t.db);
    expect(await forgiveRestart(t.db, t.clock.now(), 15_000)).toBe(0);
    expect(await changeMarker(t.db)).toBe(marker); // nothing moved, nothing to refresh
    expect((await sessionRow(t, s.sessionId)).last_seen_at).toBe(t.clock.now() - 60_000);
    // A real downtime beyond a few ticks is still forgiven.
    await aliveAt(t.clock.now() - 20_000);
    expect(await forgiveRestart(t.db, t.clock.now(), 15_000)).toBe(20_000);
  });

  it('restart: the extension is at most one lease timeout', async () => {
    const lic = await makeLicense(t);
    const s = await openOk(t, lic.key);
    await aliveAt(t.clock.now());
    t.clock.advance(120 * MIN);
    expect(await forgiveRestart(t.db, t.clock.now())).toBe(5 * MIN);
    expect((await sessionRow(t, s.sessionId)).last_seen_at).toBe(t.clock.now() - 115 * MIN);
    const state = await t.db.selectFrom('server_state').select('alive_at').executeTakeFirstOrThrow();
    expect(state.alive_at).toBe(t.clock.now());
  });

  it('restart with the clock set back: nothing is closed and leases continue on the new timeline', async () => {
    const lic = await makeLicense(t);
    const s = await openOk(t, lic.key);
    t.clock.advance(60_000);
    await aliveAt(t.clock.now());
    t.clock.advance(-2 * 3600_000);
    expect(await forgiveRestart(t.db, t.clock.now())).toBe(0);
    expect(await reapExpiredSessions(t.db, t.clock.now())).toBe(0);
    expect((await sessionRow(t, s.sessionId)).last_seen_at).toBe(t.clock.now() - 60_000);
    t.clock.advance(4 * MIN);
    expect(await reapExpiredSessions(t.db, t.clock.now())).toBe(1);
  });

  it('a clock jumping forward does not mass-expire; one jumping backwards closes nothing and keeps expiry honest', async () => {
    const lic = await makeLicense(t, { maxHosts: 3 });
    const live = await openOk(t, lic.key);
    const dead = await openOk(t, lic.key, { fingerprint: fingerprint(2) });
    t.clock.advance(3 * MIN);
    await heartbeat(t, live);
    await aliveAt(t.clock.now()); // the job ticked every 5 s until now

    t.clock.advance(3 * 3600_000); // forward jump of three hours
    const marker = await changeMarker(t.db);
    let r = await leaseTick(t.db, t.clock.now(), 5000);
    expect(r.closed).toBe(0);
    expect(r.shiftedMs).toBe(3 * 3600_000 - 5000);
    expect(await changeMarker(t.db)).toBeGreaterThan(marker);
    await heartbeat(t, live);
    // From here the sweep runs as usual (the job ticks every 5 s; a bare sweep stands for those ticks).
    t.clock.advance(2 * MIN);
    expect(await reapExpiredSessions(t.db, t.clock.now())).toBe(1); // the dead one, which had 2 of its 5 minutes left
    expect((await sessionRow(t, dead.sessionId)).close_reason).toBe('timeout');

    const dead2 = await openOk(t, lic.key, { fingerprint: fingerprint(3) });
    await heartbeat(t, live);
    await aliveAt(t.clock.now());
    t.clock.advance(-3600_000); // backward jump of an hour
    r = await leaseTick(t.db, t.clock.now(), 5000);
    expect(r.closed).toBe(0);
    expect(r.shiftedMs).toBe(-3600_000);
    expect((await sessionRow(t, dead2.sessionId)).last_seen_at).toBe(t.clock.now());
    t.clock.advance(4 * MIN);
    await heartbeat(t, live);
    expect(await reapExpiredSessions(t.db, t.clock.now())).toBe(0);
    t.clock.advance(MIN);
    expect(await reapExpiredSessions(t.db, t.clock.now())).toBe(1); // dead2, five minutes after it was last seen on the new timeline
    expect((await sessionRow(t, live.sessionId)).closed_at).toBeNull();
  });

  it('a clock jumping backwards takes the metric samples along: last5min stays a 5-minute figure', async () => {
    const lic = await makeLicense(t);
    const s = await openOk(t, lic.key);
    for (let i = 1; i <= 10; i++) {
      t.clock.advance(MIN);
      await heartbeat(t, s, { metrics: { cpuMs: { total: i * 1000 } } }).expect(200);
    }
    expect((await sessionRow(t, s.sessionId)).cpu_5m).toBe(5000); // 10 s total, 5 s in the last 5 minutes
    await aliveAt(t.clock.now());
    t.clock.advance(-3600_000); // backward jump of an hour
    expect((await leaseTick(t.db, t.clock.now(), 5000)).shiftedMs).toBe(-3600_000);
    t.clock.advance(MIN);
    await heartbeat(t, s, { metrics: { cpuMs: { total: 11_000 } } }).expect(200);
    const row = await sessionRow(t, s.sessionId);
    expect(row.cpu_total).toBe(11_000);
    expect(row.cpu_5m).toBe(5000); // not the whole 11 s
  });

  it('sweeps many sessions in set-based batches', async () => {
    const lic = await makeLicense(t);
    const s = await openOk(t, lic.key);
    const base = await sessionRow(t, s.sessionId);
    const rows = Array.from({ length: 12_345 }, (_, i) => ({ ...base, id: `bulk-${i}`, session_number: i + 2, token_hash: `h${i}`, client_session_id: null }));
    for (let i = 0; i < rows.length; i += 500) await t.db.insertInto('sessions').values(rows.slice(i, i + 500)).execute();
    await t.db.insertInto('session_features').values({ session_id: 'bulk-1', license_id: lic.id, feature: 'f', acquired_at: 0 }).execute();
    // Packages leaving with a mass close enter the pool as with a single one (found by scanning the packages).
    const pkg = (session_id: string, package_id: string, origin: 'integrator' | 'interactive', seq = 0) =>
      ({ session_id, package_id, path: `/p/${package_id}.lgp`, state: 'idle', refs: '[]', origin, opened_at: 0, seq }) as const;
    await t.db.insertInto('packages').values([pkg('bulk-7', 'a', 'integrator'), pkg('bulk-7', 'b', 'integrator', 1), pkg('bulk-9', 'i', 'interactive'), pkg('bulk-11', 'c', 'integrator')]).execute();
    await t.db.insertInto('commands').values({ id: 'cmd-c', session_id: 'bulk-11', type: 'closePackage', package_id: 'c', path: '/p/c.lgp', created_at: 0, acked_at: 1, seq: 1 }).execute();
    t.clock.advance(5 * MIN - 1);
    await heartbeat(t, s, { packages: [{ id: 'live', path: '/p/live.lgp', origin: 'integrator' }] }).expect(200);
    t.clock.advance(1);
    expect(await reapExpiredSessions(t.db, t.clock.now())).toBe(12_345);
    expect((await hostPool(t.db, s.hostId)).map((e) => e.path)).toEqual(['/p/b.lgp', '/p/a.lgp']);
    t.clock.advance(5 * MIN);
    expect(await reapExpiredSessions(t.db, t.clock.now())).toBe(1);
    expect((await hostPool(t.db, s.hostId)).map((e) => e.path)).toEqual(['/p/live.lgp', '/p/b.lgp', '/p/a.lgp']);
    const open = await t.db.selectFrom('sessions').select('id').where('closed_at', 'is', null).execute();
    expect(open).toEqual([]);
    // The closed sessions' rows (here a feature) go with the minute's pruning, not in the sweep.
    expect(await pruneClosedSessionRows(t.db)).toBe(7); // the feature, 5 packages, the command
    expect(await t.db.selectFrom('session_features').selectAll().execute()).toEqual([]);
  });

  it('startJobs forgives the downtime once at start and records the server’s sign of life', async () => {
    const lic = await makeLicense(t);
    const s = await openOk(t, lic.key);
    await aliveAt(t.clock.now());
    t.clock.advance(2 * MIN);
    const jobs = await startJobs(t.deps, t.sqlite);
    await jobs.stop();
    expect((await sessionRow(t, s.sessionId)).last_seen_at).toBe(t.clock.now());
    expect((await t.db.selectFrom('server_state').select('alive_at').executeTakeFirstOrThrow()).alive_at).toBe(t.clock.now());
  });

  it('startJobs applies retention a minute after start, not only after its 10-minute period (a server restarted often)', async () => {
    const lic = await makeLicense(t);
    const s = await openOk(t, lic.key);
    await t.request.delete(`/api/v1/sessions/${s.sessionId}`).set('Authorization', `Bearer ${s.token}`).expect(204);
    t.clock.advance(8 * 24 * 3600_000); // past the 7 d + 1 h a closed session is kept
    await aliveAt(t.clock.now());
    vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval', 'clearTimeout', 'clearInterval'] });
    try {
      const jobs = await startJobs(t.deps, t.sqlite);
      await vi.advanceTimersByTimeAsync(FIRST_RUN_AFTER_MS - 1000);
      expect(await sessionRow(t, s.sessionId)).toBeDefined();
      await vi.advanceTimersByTimeAsync(2000);
      await vi.waitFor(async () => expect(await t.db.selectFrom('sessions').select('id').where('id', '=', s.sessionId).executeTakeFirst()).toBeUndefined());
      await jobs.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('retention deletes closed sessions after max(7 days, retentionDays) and history after retentionDays', async () => {
    await t.db.updateTable('settings').set({ retention_days: 1 }).execute();
    const lic = await makeLicense(t);
    const s = await openOk(t, lic.key);
    await t.request.delete(`/api/v1/sessions/${s.sessionId}`).set('Authorization', `Bearer ${s.token}`).expect(204);
    t.clock.advance(2 * 24 * 3600_000);
    expect(await applyRetention(t.db, t.clock.now())).toEqual({ sessions: 0, events: 2 });
    t.clock.advance(5 * 24 * 3600_000);
    expect(await applyRetention(t.db, t.clock.now())).toEqual({ sessions: 1, events: 0 });
    expect((await heartbeat(t, s)).status).toBe(401);
  });
});
