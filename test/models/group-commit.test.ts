import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashToken } from '../../src/lib/tokens.js';
import { captureInTransaction, type CaptureRequest } from '../../src/models/capture.js';
import { GroupCommit } from '../../src/models/group-commit.js';
import { heartbeatInTransaction } from '../../src/models/heartbeat.js';
import { changeMarker } from '../../src/models/session-lifecycle.js';
import { enqueueCommand, terminateSession } from '../../src/models/session-actions.js';
import { makeApp, type TestApp } from '../helpers/app.js';
import { fingerprint, makeLicense, openOk, sessionRow, staffActor, type OpenedSession } from '../helpers/licensing.js';

// Writes committed together in one transaction answer exactly as they would one by one.

describe('GroupCommit (agent writes in one transaction per group)', () => {
  let t: TestApp;
  let sessions: OpenedSession[];
  let key: string;
  beforeEach(async () => {
    t = await makeApp();
    const lic = await makeLicense(t, { maxHosts: 5 });
    key = lic.key;
    sessions = [];
    for (let i = 0; i < 4; i++) sessions.push(await openOk(t, lic.key));
  });
  afterEach(() => t.close());

  const metrics = (total: number) => ({ cpuMs: { current: 1, total }, calls: { total } });
  const beat = (g: GroupCommit, s: { sessionId: string }, token: string, hb: object, now: number) =>
    g.run((trx, raw) => heartbeatInTransaction(trx, raw, s.sessionId, hashToken(token), hb, now), { markChange: true });

  it('heartbeats in one group: each answered on its own, refusals leave the others intact, every write lands, the marker moves once', async () => {
    const [a, b, c, d] = sessions;
    await terminateSession(t.db, staffActor(), c.sessionId, 'bye', t.clock.now());
    const cmd = await enqueueCommand(t.db, staffActor(), d.sessionId, { type: 'message', text: 'hello' }, t.clock.now());
    t.clock.advance(10_000);
    const now = t.clock.now();
    const marker = await changeMarker(t.db);
    const g = new GroupCommit(t.db);
    const answers = await Promise.allSettled([
      beat(g, a, a.token, { metrics: metrics(100) }, now),
      beat(g, b, 'wrong token', { metrics: metrics(100) }, now),
      beat(g, c, c.token, {}, now),
      beat(g, d, d.token, { sleeping: true }, now),
      // The same session twice in one group: the second sees the first's writes (counter accumulation).
      beat(g, a, a.token, { metrics: metrics(150) }, now + 1),
    ]);
    expect(g.counts).toEqual({ groups: 1, writes: 5 });
    expect(answers.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled', 'fulfilled']);
    const reason = (i: number) => (answers[i] as PromiseRejectedResult).reason as { status: number; code: string };
    expect([reason(1).status, reason(1).code]).toEqual([401, 'unauthorized']);
    expect([reason(2).status, reason(2).code]).toEqual([410, 'session_closed']);
    expect((answers[3] as PromiseFulfilledResult<{ commands: { id: string }[] }>).value.commands.map((x) => x.id)).toEqual([cmd.id]);

    const rowA = await sessionRow(t, a.sessionId);
    expect([rowA.last_seen_at, Number(rowA.cpu_total), Number(rowA.calls_total)]).toEqual([now + 1, 150, 150]);
    expect((await sessionRow(t, b.sessionId)).last_seen_at).toBeLessThan(now);
    expect((await sessionRow(t, d.sessionId)).sleeping).toBe(1);
    const samples = await t.db.selectFrom('metric_samples').select('at').where('session_id', '=', a.sessionId).orderBy('at').execute();
    expect(samples.map((s) => s.at)).toEqual([now, now + 1]);
    expect(await changeMarker(t.db)).toBe(marker + 1);
  });

  it('captures in one group race for the last seat exactly as apart: one wins, the other is refused and its refusal recorded', async () => {
    const lic = await makeLicense(t, { maxHosts: 2, maxSessions: 1 });
    const req = (n: number): CaptureRequest => ({ licenseKey: lic.key, fingerprint: fingerprint(n), user: `user${n}`, connectionType: 'client' });
    const g = new GroupCommit(t.db);
    const now = t.clock.now();
    const [first, second] = await Promise.all([
      g.run((_trx, raw) => captureInTransaction(raw, req(1), '10.0.0.1', now)),
      g.run((_trx, raw) => captureInTransaction(raw, req(2), '10.0.0.2', now)),
    ]);
    expect(g.counts.groups).toBe(1);
    expect('ok' in first && first.ok.status).toBe(201);
    expect('refused' in second && [second.refused.status, second.refused.code]).toEqual([403, 'session_limit_reached']);
    const open = await t.db.selectFrom('sessions').select('user_name').where('license_id', '=', lic.id).where('closed_at', 'is', null).execute();
    expect(open.map((r) => r.user_name)).toEqual(['user1']);
    // The refused capture bound nothing (all or nothing) but its refusal is in the history.
    const hosts = await t.db.selectFrom('hosts').select('id').where('license_id', '=', lic.id).execute();
    expect(hosts).toHaveLength(1);
    const events = await t.db.selectFrom('license_events').select(['kind', 'code', 'user_name']).where('license_id', '=', lic.id).orderBy('id').execute();
    expect(events).toEqual([{ kind: 'refusal', code: 'session_limit_reached', user_name: 'user2' }]);
    const opens = await t.db.selectFrom('license_event_hours').select(['kind', 'count']).where('license_id', '=', lic.id).execute();
    expect(opens).toEqual([{ kind: 'open', count: 1 }]);
  });

  it('a job that throws after writing is rolled back alone', async () => {
    const [a] = sessions;
    const g = new GroupCommit(t.db);
    t.clock.advance(5_000);
    const now = t.clock.now();
    const [bad, good] = await Promise.allSettled([
      g.run(async (trx) => {
        await trx.updateTable('sessions').set({ user_name: 'changed' }).where('id', '=', a.sessionId).execute();
        throw new Error('boom');
      }),
      beat(g, a, a.token, {}, now),
    ]);
    expect(bad.status).toBe('rejected');
    expect(good.status).toBe('fulfilled');
    const row = await sessionRow(t, a.sessionId);
    expect([row.user_name, row.last_seen_at]).toEqual(['Ivanov', now]);
  });

  it('flush() writes what is queued before it returns (what shutdown relies on)', async () => {
    const [a] = sessions;
    t.clock.advance(5_000);
    const g = new GroupCommit(t.db);
    const pending = beat(g, a, a.token, {}, t.clock.now());
    await g.flush();
    expect((await sessionRow(t, a.sessionId)).last_seen_at).toBe(t.clock.now());
    await expect(pending).resolves.toEqual({ commands: [], heartbeatIntervalSec: 60 });
  });

  it('the agent API answers through it: a capture and heartbeats over HTTP', async () => {
    const s = await openOk(t, key, { fingerprint: fingerprint(9), clientSessionId: 'via-group' });
    const res = await t.request.post(`/api/v1/sessions/${s.sessionId}/heartbeat`).set('Authorization', `Bearer ${s.token}`).send({ sleeping: true });
    expect(res.status).toBe(200);
    expect((await sessionRow(t, s.sessionId)).sleeping).toBe(1);
    expect(t.deps.groupCommit.counts.writes).toBeGreaterThanOrEqual(2);
  });
});
