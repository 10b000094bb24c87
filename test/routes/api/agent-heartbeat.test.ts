import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeApiToken, makeApp, type TestApp } from '../../helpers/app.js';
import { fingerprint, heartbeat, makeLicense, openOk, sessionRow, staffActor, type OpenedSession } from '../../helpers/licensing.js';
import { closeSessions } from '../../../src/models/session-lifecycle.js';
import { enqueueCommand, resetBinding, terminateSession } from '../../../src/models/session-actions.js';
import { reapExpiredSessions } from '../../../src/models/reaper.js';
import { hostPool, sharedPackagesOfHosts } from '../../../src/models/packages.js';
import { pruneClosedSessionRows } from '../../../src/models/retention.js';

const iso = (ms: number) => new Date(ms).toISOString();

describe('POST /api/v1/sessions/{id}/heartbeat', () => {
  let t: TestApp;
  let s: OpenedSession;
  let licenseId: number;
  beforeEach(async () => {
    t = await makeApp();
    const lic = await makeLicense(t, { maxHosts: 3 });
    licenseId = lic.id;
    s = await openOk(t, lic.key);
  });
  afterEach(() => t.close());

  it('200 with commands and the interval; {} and an empty body are valid; lastSeenAt is the server’s receipt time', async () => {
    t.clock.advance(30_000);
    const res = await heartbeat(t, s, {});
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ commands: [], heartbeatIntervalSec: 60 });
    expect((await sessionRow(t, s.sessionId)).last_seen_at).toBe(t.clock.now());
    t.clock.advance(30_000);
    const bare = await t.request.post(`/api/v1/sessions/${s.sessionId}/heartbeat`).set('Authorization', `Bearer ${s.token}`);
    expect(bare.status).toBe(200);
    expect((await sessionRow(t, s.sessionId)).last_seen_at).toBe(t.clock.now());
  });

  it('sleeping defaults to false; lastInputAt is stored, clamped to now when in the future', async () => {
    await heartbeat(t, s, { sleeping: true, lastInputAt: iso(t.clock.now() - 10_000) });
    let row = await sessionRow(t, s.sessionId);
    expect([row.sleeping, row.last_input_at]).toEqual([1, t.clock.now() - 10_000]);
    await heartbeat(t, s, { lastInputAt: iso(t.clock.now() + 3_600_000) });
    row = await sessionRow(t, s.sessionId);
    expect([row.sleeping, row.last_input_at]).toEqual([0, t.clock.now()]);
  });

  it('the interval sent is the one stored for the late rule', async () => {
    await t.db.updateTable('settings').set({ heartbeat_interval_sec: 20 }).execute();
    expect((await heartbeat(t, s)).body.heartbeatIntervalSec).toBe(20);
    expect((await sessionRow(t, s.sessionId)).heartbeat_interval_sec).toBe(20);
  });

  it('the bound host’s lastSeenAt follows the heartbeats to a 5-minute resolution', async () => {
    const hostSeen = async () => (await t.db.selectFrom('hosts').select('last_seen_at').where('id', '=', s.hostId).executeTakeFirstOrThrow()).last_seen_at;
    const bound = await hostSeen();
    t.clock.advance(4 * 60_000);
    await heartbeat(t, s).expect(200);
    expect(await hostSeen()).toBe(bound);
    t.clock.advance(60_000);
    await heartbeat(t, s).expect(200);
    expect(await hostSeen()).toBe(t.clock.now());
  });

  it('401 unauthorized for a wrong or missing token or an unknown session; nothing renewed', async () => {
    t.clock.advance(10_000);
    const wrong = await heartbeat(t, { sessionId: s.sessionId, token: s.token + 'x' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('unauthorized');
    expect(wrong.headers['www-authenticate']).toBe('Bearer');
    const missing = await t.request.post(`/api/v1/sessions/${s.sessionId}/heartbeat`).send({});
    expect(missing.status).toBe(401);
    const basic = await t.request.post(`/api/v1/sessions/${s.sessionId}/heartbeat`).set('Authorization', `Basic ${s.token}`).send({});
    expect(basic.status).toBe(401);
    const unknown = await heartbeat(t, { sessionId: '00000000-0000-4000-8000-000000000000', token: s.token });
    expect(unknown.status).toBe(401);
    expect((await sessionRow(t, s.sessionId)).last_seen_at).toBe(t.clock.now() - 10_000);
  });

  it('a heartbeat refused with 400 does not renew the lease', async () => {
    t.clock.advance(10_000);
    const res = await heartbeat(t, s, { sleeping: 'no' });
    expect(res.status).toBe(400);
    expect((await sessionRow(t, s.sessionId)).last_seen_at).toBe(t.clock.now() - 10_000);
  });

  describe('410 session_closed with the reason', () => {
    it('terminated (with the operator’s message), released, license_suspended, timeout, binding_reset', async () => {
      const lic = await makeLicense(t, { maxHosts: 9 });
      const open = () => openOk(t, lic.key, { fingerprint: fingerprint(Math.random()) });
      const [a, b, c, d, e] = [await open(), await open(), await open(), await open(), await open()];
      await terminateSession(t.db, staffActor(), a.sessionId, 'Maintenance at 12:00', t.clock.now());
      await t.request.delete(`/api/v1/sessions/${b.sessionId}`).set('Authorization', `Bearer ${b.token}`).expect(204);
      await resetBinding(t.db, staffActor(), c.hostId, 'Disk replaced', t.clock.now());
      const expected: [OpenedSession, string, string | null][] = [
        [a, 'terminated', 'Maintenance at 12:00'],
        [b, 'released', null],
        [c, 'binding_reset', null],
      ];
      for (const [x, reason, message] of expected) {
        const res = await heartbeat(t, x);
        expect(res.status).toBe(410);
        expect(res.body.error.code).toBe('session_closed');
        expect(res.body.error.details).toEqual({ reason, message });
      }
      // Keep d alive, let e (and the session of the outer setup) time out.
      t.clock.advance(240_000);
      await heartbeat(t, d).expect(200);
      t.clock.advance(60_000);
      expect(await reapExpiredSessions(t.db, t.clock.now())).toBe(2);
      expect((await heartbeat(t, e)).body.error.details).toEqual({ reason: 'timeout', message: null });
      await heartbeat(t, d).expect(200);
      await t.db.transaction().execute((trx) => closeSessions(trx, { licenseId: lic.id }, 'license_suspended', t.clock.now()));
      const susp = await heartbeat(t, d).set('Accept-Language', 'ru');
      expect(susp.status).toBe(410);
      expect(susp.body.error.details.reason).toBe('license_suspended');
      expect(susp.body.error.message).toBe('Сеанс закрыт: лицензия приостановлена.');
    });

    it('for 7 days after closing, then 401', async () => {
      await t.request.delete(`/api/v1/sessions/${s.sessionId}`).set('Authorization', `Bearer ${s.token}`).expect(204);
      t.clock.advance(7 * 24 * 3600_000 - 1);
      expect((await heartbeat(t, s)).status).toBe(410);
      t.clock.advance(1);
      expect((await heartbeat(t, s)).status).toBe(401);
    });
  });

  describe('metrics', () => {
    const totals = async () => {
      const r = await sessionRow(t, s.sessionId);
      return { cpu: [r.cpu_current, r.cpu_5m, r.cpu_total], mem: [r.mem_current, r.mem_5m, r.mem_total], calls: [r.calls_5m, r.calls_total] };
    };

    it('last5min = accumulated total now − at the latest sample ≤ now−300 s; a counter going down restarts it', async () => {
      await heartbeat(t, s, { metrics: { cpuMs: { current: 5, total: 1000 }, calls: { total: 10 } } });
      expect(await totals()).toMatchObject({ cpu: [5, 1000, 1000], calls: [10, 10] }); // the session starts from 0
      t.clock.advance(60_000);
      await heartbeat(t, s, { metrics: { cpuMs: { total: 1600 }, calls: { total: 16 } } });
      expect(await totals()).toMatchObject({ cpu: [0, 1600, 1600] });
      t.clock.advance(240_000); // exactly 300 s after the first sample
      await heartbeat(t, s, { metrics: { cpuMs: { total: 3000 }, calls: { total: 30 } } });
      expect(await totals()).toMatchObject({ cpu: [0, 2000, 3000], calls: [20, 30] });
      t.clock.advance(60_000); // the application restarted its counters
      await heartbeat(t, s, { metrics: { cpuMs: { total: 200 }, calls: { total: 2 } } });
      expect(await totals()).toMatchObject({ cpu: [0, 1600, 3200], calls: [16, 32] });
      t.clock.advance(60_000);
      await heartbeat(t, s, { metrics: { cpuMs: { total: 500 } } });
      expect(await totals()).toMatchObject({ cpu: [0, 500 + 3200 - 200 - 1600, 3500], calls: [32 - 16, 32] });
      // A heartbeat without metrics keeps the totals (and the current call); its last5min is as of that heartbeat.
      t.clock.advance(60_000);
      await heartbeat(t, s, {});
      expect(await totals()).toMatchObject({ cpu: [0, 1900, 3500] });
    });

    it('a session that stops sending metrics: last5min falls to 0 five minutes after its last report, everywhere it is served', async () => {
      const admin = { Authorization: `Bearer ${await makeApiToken(t, 'support')}` };
      const served = async () => (await t.request.get('/api/v1/admin/sessions').set(admin)).body.items[0].metrics;
      await heartbeat(t, s, { metrics: { cpuMs: { current: 5, total: 9000 }, memoryBytes: { total: 4096 }, dataBytes: { total: 700 }, calls: { total: 12 }, dbmsBytes: { total: 300 } } });
      t.clock.advance(240_000);
      await heartbeat(t, s, { packages: [] }); // the baseline (none before now−300 s) is the session's start
      expect(await totals()).toMatchObject({ cpu: [5, 9000, 9000], calls: [12, 12] });
      t.clock.advance(60_000); // the report is now 300 s old: the baseline
      await heartbeat(t, s, {});
      expect(await totals()).toMatchObject({ cpu: [5, 0, 9000], mem: [0, 0, 4096], calls: [0, 12] });
      expect(await served()).toEqual({
        cpuMs: { current: 5, last5min: 0, total: 9000 },
        memoryBytes: { current: 0, last5min: 0, total: 4096 },
        dataBytes: { last5min: 0, total: 700 },
        calls: { last5min: 0, total: 12 },
        dbmsBytes: { last5min: 0, total: 300 },
      });
      // Reporting again: the growth since the last report.
      t.clock.advance(60_000);
      await heartbeat(t, s, { metrics: { cpuMs: { total: 9500 } } });
      expect(await totals()).toMatchObject({ cpu: [0, 500, 9500], calls: [0, 12] });
    });

    it('memory is net: may be negative and has no counter restarts', async () => {
      await heartbeat(t, s, { metrics: { memoryBytes: { current: -4096, total: 1_000_000 } } });
      t.clock.advance(300_000);
      await heartbeat(t, s, { metrics: { memoryBytes: { current: 100, total: -500 } } });
      expect((await totals()).mem).toEqual([100, -1_000_500, -500]);
    });

    it('keeps only the samples later heartbeats can need', async () => {
      const { pruneMetricSamples } = await import('../../../src/models/retention.js');
      for (let i = 0; i < 12; i++) {
        await heartbeat(t, s, { metrics: { cpuMs: { total: i * 100 } } });
        t.clock.advance(60_000);
      }
      // 0…6 min are at or before now − 5 min − the slack: only 6 min stays of them; 7 min (now − 5 min) too.
      expect(await pruneMetricSamples(t.db, t.clock.now())).toBe(6);
      await heartbeat(t, s, { metrics: { cpuMs: { total: 1200 } } });
      // Baseline: the sample at now−300 s (total 700).
      expect((await totals()).cpu).toEqual([0, 500, 1200]);
    });

    it('the pruning keeps the baseline of a heartbeat that arrived before it and is written after it', async () => {
      const { pruneMetricSamples } = await import('../../../src/models/retention.js');
      for (let i = 0; i <= 60; i++) {
        await heartbeat(t, s, { metrics: { cpuMs: { total: 1000 + i * 100 } } }).expect(200); // every 5 s, 0…300 s
        t.clock.advance(5000);
      }
      t.clock.advance(-1); // a heartbeat arrives at 304.999 s (its baseline: the sample at 0 s, total 1000) and waits for its group,
      await pruneMetricSamples(t.db, t.clock.now() + 1); // while the minute's pruning runs at 305 s
      await heartbeat(t, s, { metrics: { cpuMs: { total: 7200 } } }).expect(200);
      expect((await totals()).cpu).toEqual([0, 6200, 7200]);
    });

    it("a closed session's samples go with the first pruning after they are 5 minutes old", async () => {
      const { pruneMetricSamples } = await import('../../../src/models/retention.js');
      const samples = () => t.db.selectFrom('metric_samples').select('at').where('session_id', '=', s.sessionId).execute();
      await heartbeat(t, s, { metrics: { cpuMs: { total: 100 } } }).expect(200);
      t.clock.advance(60_000);
      await heartbeat(t, s, { metrics: { cpuMs: { total: 200 } } }).expect(200);
      await t.db.transaction().execute((trx) => closeSessions(trx, { sessionIds: [s.sessionId] }, 'terminated', t.clock.now()));
      t.clock.advance(300_000);
      await pruneMetricSamples(t.db, t.clock.now());
      expect(await samples()).toEqual([]); // an open session would keep its latest
    });

    it('samples of a session that no longer exists go too (samples have no foreign key)', async () => {
      const { pruneMetricSamples } = await import('../../../src/models/retention.js');
      t.sqlite.prepare('insert into metric_samples (session_id, at, cpu_total, mem_total, data_total, calls_total, dbms_total) values (?, ?, 1, 1, 1, 1, 1)').run('gone', t.clock.now());
      await heartbeat(t, s, { metrics: { cpuMs: { total: 100 } } }).expect(200);
      t.clock.advance(300_000);
      expect(await pruneMetricSamples(t.db, t.clock.now())).toBe(1);
      const left = await t.db.selectFrom('metric_samples').select('session_id').execute();
      expect(left.map((r) => r.session_id)).toEqual([s.sessionId]); // the open session keeps its latest
    });
  });

  describe('packages', () => {
    const pkg = (id: string, extra: Record<string, unknown> = {}) => ({ id, path: `/p/${id}.lgp`, name: id, version: '1.0.0', origin: 'integrator', ...extra });
    const packages = () => t.db.selectFrom('packages').selectAll().where('session_id', '=', s.sessionId).orderBy('seq').execute();
    const pool = () => hostPool(t.db, s.hostId).then((p) => p.map((e) => e.path));

    it('a snapshot replaces the packages; absent = unchanged; running while one runs; progress only while running', async () => {
      const saved = t.clock.now() - 1000;
      await heartbeat(t, s, {
        packages: [
          pkg('a', { state: 'running', progress: 42, node: 'Join', nodeStartedAt: iso(t.clock.now() + 99_999), savedAt: iso(saved), createdAt: iso(saved - 5000) }),
          pkg('b', { state: 'idle', progress: 10, path: undefined, origin: 'interactive' }),
        ],
      }).expect(200);
      let rows = await packages();
      expect(rows.map((r) => [r.package_id, r.state, r.progress, r.path, r.node])).toEqual([
        ['a', 'running', 42, '/p/a.lgp', 'Join'],
        ['b', 'idle', null, null, null],
      ]);
      expect(rows[0]).toMatchObject({ saved_at: saved, created_at: saved - 5000, node_started_at: t.clock.now() });
      expect((await sessionRow(t, s.sessionId)).running).toBe(1);
      await heartbeat(t, s, {});
      expect(await packages()).toHaveLength(2);
      await heartbeat(t, s, { packages: [pkg('a', { state: 'running', progress: 43, node: 'Join', nodeStartedAt: iso(t.clock.now()), savedAt: iso(saved), createdAt: iso(saved - 5000) })] });
      rows = await packages();
      expect(rows.map((r) => [r.package_id, r.progress])).toEqual([['a', 43]]);
      await heartbeat(t, s, { packages: [pkg('a', { state: 'idle', savedAt: iso(saved), createdAt: iso(saved - 5000) })] });
      expect((await sessionRow(t, s.sessionId)).running).toBe(0);
      await heartbeat(t, s, { packages: [] });
      expect(await packages()).toEqual([]);
    });

    it('pool: integrator/batch packages leaving enter as most recently used, LRU above poolSize leave first', async () => {
      await t.db.updateTable('settings').set({ pool_size: 2 }).execute();
      await heartbeat(t, s, { packages: [pkg('a'), pkg('b', { origin: 'batch' }), pkg('c', { origin: 'interactive' }), pkg('d', { path: undefined })] });
      await heartbeat(t, s, { packages: [pkg('e')] });
      // a and b left in snapshot order (b most recent); the interactive one and the draft never enter.
      expect(await pool()).toEqual(['/p/b.lgp', '/p/a.lgp']);
      await heartbeat(t, s, { packages: [] });
      expect(await pool()).toEqual(['/p/e.lgp', '/p/b.lgp']);
    });

    it('pool: reopening takes back the most recent instance; a later savedAt drops every instance of the path', async () => {
      const v1 = t.clock.now() - 10_000;
      const other = await openOk(t, (await t.db.selectFrom('licenses').select('key').where('id', '=', licenseId).executeTakeFirstOrThrow()).key);
      await heartbeat(t, s, { packages: [pkg('a', { savedAt: iso(v1), version: '1' }), pkg('x')] });
      await heartbeat(t, other, { packages: [pkg('a2', { path: '/p/a.lgp', savedAt: iso(v1), version: '2' })] });
      await heartbeat(t, s, { packages: [] });
      await heartbeat(t, other, { packages: [] });
      expect((await hostPool(t.db, s.hostId)).map((e) => [e.path, e.version])).toEqual([['/p/a.lgp', '2'], ['/p/x.lgp', '1.0.0'], ['/p/a.lgp', '1']]);
      await heartbeat(t, s, { packages: [pkg('again', { path: '/p/a.lgp', savedAt: iso(v1) })] });
      expect((await hostPool(t.db, s.hostId)).map((e) => [e.path, e.version])).toEqual([['/p/x.lgp', '1.0.0'], ['/p/a.lgp', '1']]);
      // Interactive opens do not take back.
      await heartbeat(t, other, { packages: [pkg('i', { path: '/p/x.lgp', origin: 'interactive' })] });
      expect(await pool()).toEqual(['/p/x.lgp', '/p/a.lgp']);
      // The file was saved again: every pooled instance of it goes.
      await heartbeat(t, other, { packages: [pkg('i', { path: '/p/x.lgp', origin: 'interactive' }), pkg('n', { path: '/p/a.lgp', origin: 'interactive', savedAt: iso(v1 + 1) })] });
      expect(await pool()).toEqual(['/p/x.lgp']);
    });

    it('pool: size 0 turns it off; a package leaving after an acknowledged closePackage does not enter', async () => {
      await heartbeat(t, s, { packages: [pkg('a'), pkg('b')] });
      const cmd = await enqueueCommand(t.db, staffActor(), s.sessionId, { type: 'closePackage', packageId: 'a' }, t.clock.now());
      expect((await heartbeat(t, s)).body.commands).toEqual([{ id: cmd.id, type: 'closePackage', packageId: 'a', path: '/p/a.lgp' }]);
      const res = await heartbeat(t, s, { acks: [cmd.id], packages: [pkg('b')] });
      expect(res.body.commands).toEqual([]);
      expect(await pool()).toEqual([]);
      await t.db.updateTable('settings').set({ pool_size: 0 }).execute();
      await heartbeat(t, s, { packages: [] });
      expect(await pool()).toEqual([]);
    });

    it('pool: packages of a closing session enter (released, timeout), not on binding_reset', async () => {
      await heartbeat(t, s, { packages: [pkg('a'), pkg('b', { origin: 'interactive' })] });
      await t.request.delete(`/api/v1/sessions/${s.sessionId}`).set('Authorization', `Bearer ${s.token}`).expect(204);
      expect(await pool()).toEqual(['/p/a.lgp']);
      await pruneClosedSessionRows(t.db);
      expect(await packages()).toEqual([]);
      const key = (await t.db.selectFrom('licenses').select('key').where('id', '=', licenseId).executeTakeFirstOrThrow()).key;
      const s2 = await openOk(t, key);
      await heartbeat(t, s2, { packages: [pkg('c', { origin: 'batch' })] });
      t.clock.advance(300_000);
      await reapExpiredSessions(t.db, t.clock.now());
      expect(await pool()).toEqual(['/p/c.lgp', '/p/a.lgp']);
    });

    it('shared packages: 1 + live sessions with an open package naming it + pooled instances naming it', async () => {
      const key = (await t.db.selectFrom('licenses').select('key').where('id', '=', licenseId).executeTakeFirstOrThrow()).key;
      const s2 = await openOk(t, key);
      const elsewhere = await openOk(t, key, { fingerprint: fingerprint(9) });
      await heartbeat(t, s, { packages: [pkg('a', { refs: ['/lib/x.lgp', '/lib/y.lgp'] }), pkg('b', { origin: 'interactive', refs: ['/lib/x.lgp'] })] });
      await heartbeat(t, s2, { packages: [pkg('c', { origin: 'interactive', refs: ['/lib/x.lgp'] })] });
      await heartbeat(t, elsewhere, { packages: [pkg('d', { refs: ['/lib/x.lgp'] })] });
      const counts = async (hostId: number) => Object.fromEntries((await sharedPackagesOfHosts(t.db, [hostId])).map((p) => [p.path, p.count]));
      expect(await counts(s.hostId)).toEqual({ '/lib/x.lgp': 3, '/lib/y.lgp': 2 });
      expect(await counts(elsewhere.hostId)).toEqual({ '/lib/x.lgp': 2 });
      await heartbeat(t, s, { packages: [pkg('b', { origin: 'interactive', refs: ['/lib/x.lgp'] })] }); // a goes to the pool
      expect(await counts(s.hostId)).toEqual({ '/lib/x.lgp': 4, '/lib/y.lgp': 2 });
      await heartbeat(t, s, { packages: [] });
      await heartbeat(t, s2, { packages: [] });
      expect(await counts(s.hostId)).toEqual({ '/lib/x.lgp': 2, '/lib/y.lgp': 2 });
      await t.db.deleteFrom('pool_entries').execute();
      expect(await counts(s.hostId)).toEqual({ '/lib/x.lgp': 1, '/lib/y.lgp': 1 });
    });
  });

  describe('commands', () => {
    it('lists every unacknowledged command oldest first; acks are applied before the answer; unknown ids are ignored; closing drops them', async () => {
      const a = await enqueueCommand(t.db, staffActor(), s.sessionId, { type: 'message', text: 'one' }, t.clock.now());
      const b = await enqueueCommand(t.db, staffActor(), s.sessionId, { type: 'message', text: 'two' }, t.clock.now());
      expect((await heartbeat(t, s)).body.commands.map((c: { id: string }) => c.id)).toEqual([a.id, b.id]);
      expect((await heartbeat(t, s)).body.commands.map((c: { id: string }) => c.id)).toEqual([a.id, b.id]); // at-least-once
      const res = await heartbeat(t, s, { acks: [a.id, 'nope', a.id] });
      expect(res.body.commands).toEqual([{ id: b.id, type: 'message', text: 'two' }]);
      const acked = await t.db.selectFrom('commands').select('acked_at').where('id', '=', a.id).executeTakeFirstOrThrow();
      expect(acked.acked_at).toBe(t.clock.now());
      await t.request.delete(`/api/v1/sessions/${s.sessionId}`).set('Authorization', `Bearer ${s.token}`).expect(204);
      // Dropped: a closed session answers 410, never its commands; the rows go with the minute's pruning.
      expect((await heartbeat(t, s)).status).toBe(410);
      await pruneClosedSessionRows(t.db);
      expect(await t.db.selectFrom('commands').selectAll().execute()).toEqual([]);
    });

    it('acks of another session’s commands are ignored', async () => {
      const key = (await t.db.selectFrom('licenses').select('key').where('id', '=', licenseId).executeTakeFirstOrThrow()).key;
      const other = await openOk(t, key);
      const cmd = await enqueueCommand(t.db, staffActor(), other.sessionId, { type: 'message', text: 'hi' }, t.clock.now());
      await heartbeat(t, s, { acks: [cmd.id] });
      expect((await heartbeat(t, other)).body.commands).toEqual([{ id: cmd.id, type: 'message', text: 'hi' }]);
    });
  });
});
