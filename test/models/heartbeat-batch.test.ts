import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashToken } from '../../src/lib/tokens.js';
import { HeartbeatBatcher } from '../../src/models/heartbeat-batch.js';
import { enqueueCommand, terminateSession } from '../../src/models/session-actions.js';
import { makeApp, type TestApp } from '../helpers/app.js';
import { makeLicense, openOk, sessionRow, staffActor, type OpenedSession } from '../helpers/licensing.js';

// Heartbeats recorded together in one transaction answer exactly as they would one by one.

describe('HeartbeatBatcher (group commit of heartbeats)', () => {
  let t: TestApp;
  let sessions: OpenedSession[];
  beforeEach(async () => {
    t = await makeApp();
    const lic = await makeLicense(t, { maxHosts: 5 });
    sessions = [];
    for (let i = 0; i < 4; i++) sessions.push(await openOk(t, lic.key));
  });
  afterEach(() => t.close());

  const metrics = (total: number) => ({ cpuMs: { current: 1, total }, calls: { total } });

  it('one group: each heartbeat gets its own answer, refusals do not disturb the others, every write lands', async () => {
    const [a, b, c, d] = sessions;
    await terminateSession(t.db, staffActor(), c.sessionId, 'bye', t.clock.now());
    const cmd = await enqueueCommand(t.db, staffActor(), d.sessionId, { type: 'message', text: 'hello' }, t.clock.now());
    t.clock.advance(10_000);
    const now = t.clock.now();
    const batcher = new HeartbeatBatcher(t.db);
    const answers = await Promise.allSettled([
      batcher.record(a.sessionId, hashToken(a.token), { metrics: metrics(100) }, now),
      batcher.record(b.sessionId, hashToken('wrong token'), { metrics: metrics(100) }, now),
      batcher.record(c.sessionId, hashToken(c.token), {}, now),
      batcher.record(d.sessionId, hashToken(d.token), { sleeping: true }, now),
      // The same session twice in one group: the second sees the first's writes (counter accumulation).
      batcher.record(a.sessionId, hashToken(a.token), { metrics: metrics(150) }, now + 1),
    ]);
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
  });

  it('flush() writes what is queued before it returns (what shutdown relies on)', async () => {
    const [a] = sessions;
    t.clock.advance(5_000);
    const batcher = new HeartbeatBatcher(t.db);
    const pending = batcher.record(a.sessionId, hashToken(a.token), {}, t.clock.now());
    await batcher.flush();
    expect((await sessionRow(t, a.sessionId)).last_seen_at).toBe(t.clock.now());
    await expect(pending).resolves.toEqual({ commands: [], heartbeatIntervalSec: 60 });
  });
});
