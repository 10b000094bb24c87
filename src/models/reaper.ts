import { sql } from 'kysely';
import type { Db } from '../db/connection.js';
import { bumpChangeMarker, closeSelectedSessions } from './session-lifecycle.js';

export { isLate, sessionState } from './sessions.js';

/**
 * Sessions closed per transaction: keeps the write lock bounded while heartbeats wait.
 * Each batch rewrites pages spread over the whole sessions table and its indexes and
 * reads the open sessions once, so fewer, larger batches cost less: closing 100,000
 * took 5.3 s in batches of 10,000, 2.5 s in batches of 50,000 with the indexes of
 * the time; now about 0.5 s in one batch (npm run bench, lease sweep) — the write lock
 * heartbeats wait for during a mass expiry.
 */
const REAP_BATCH = 100_000;

/** A session's lease is at least this many of the heartbeat intervals last sent to it (as the settings require of the timeout). */
export const LEASE_INTERVALS = 3;

/**
 * Closes every open session not heard from within its lease with reason
 * 'timeout', in set-based batches: now − lastSeenAt ≥ the lease timeout, or 3 ×
 * the heartbeat interval last sent to that session when that is longer. The
 * settings keep the timeout at 3 × the interval or more; a session still told
 * an older, longer interval gets the same three chances, so shortening both
 * settings does not time out every session before it hears of the change. A
 * clock that went backwards closes nothing. Returns the count.
 */
export async function reapExpiredSessions(db: Db, now: number): Promise<number> {
  let total = 0;
  for (;;) {
    const batch = await db.transaction().execute(async (trx) => {
      const st = await trx.selectFrom('settings').select(['lease_timeout_sec', 'pool_size']).where('id', '=', 1).executeTakeFirstOrThrow();
      // Any order: every expired session closes in this sweep. One pass over the open sessions (no index on
      // last_seen_at: a heartbeat would move its entry every time).
      const expired = sql`
        select rowid, id from sessions
        where closed_at is null and last_seen_at <= ${now} - max(${st.lease_timeout_sec * 1000}, heartbeat_interval_sec * ${LEASE_INTERVALS * 1000})
        limit ${REAP_BATCH}`;
      const closed = await closeSelectedSessions(trx, expired, 'timeout', now, null, st.pool_size);
      if (closed) await bumpChangeMarker(trx);
      return { closed, more: closed === REAP_BATCH };
    });
    total += batch.closed;
    if (!batch.more) return total;
  }
}

/**
 * Moves the open sessions seen at or before `seenUpTo` (every open session
 * when null) forward by `shiftMs`: the server's own gap must not count against
 * anyone's lease. Clamped to now so no session is seen in the future.
 */
async function shiftLastSeen(trx: Db, seenUpTo: number | null, shiftMs: number, now: number): Promise<number> {
  let q = trx
    .updateTable('sessions')
    .set({ last_seen_at: sql`min(last_seen_at + ${shiftMs}, ${now})` })
    .where('closed_at', 'is', null);
  if (seenUpTo !== null) q = q.where('last_seen_at', '<=', seenUpTo);
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/**
 * The clock went back by -jumpMs: sessions seen before the jump look seen in
 * the future; they move onto the new timeline so that they expire neither
 * early (nothing is closed by the jump) nor an hour late. Their metric samples
 * move with them: a heartbeat's 5-minute baseline is the latest sample at or
 * before its time − 5 min, and with every sample in the future there would be
 * none, so last5min would show each session's whole total for 5 minutes.
 */
async function moveToEarlierTimeline(trx: Db, jumpMs: number, now: number): Promise<void> {
  await trx
    .updateTable('sessions')
    .set({ last_seen_at: sql`min(last_seen_at + ${jumpMs}, ${now})` })
    .where('closed_at', 'is', null)
    .where('last_seen_at', '>', now)
    .execute();
  // Samples keep their order; one landing on a time its session already has replaces it.
  await sql`update or replace metric_samples set at = min(at + ${jumpMs}, ${now}) where at > ${now}`.execute(trx);
}

/**
 * Restart forgiveness, run once at start before the first sweep: open
 * sessions' lastSeenAt move forward by the server's downtime (now − the last
 * alive_at), at most one lease timeout. A sign of life within `aliveWithinMs`
 * is no downtime: another process is running (a second one starting, a CLI
 * job), or the restart was quicker than a few ticks. Returns the shift applied.
 */
export async function forgiveRestart(db: Db, now: number, aliveWithinMs = 0): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const state = await trx.selectFrom('server_state').select('alive_at').where('id', '=', 1).executeTakeFirstOrThrow();
    const st = await trx.selectFrom('settings').select('lease_timeout_sec').where('id', '=', 1).executeTakeFirstOrThrow();
    let shift = 0;
    if (state.alive_at !== null && now - state.alive_at > aliveWithinMs) {
      shift = Math.min(now - state.alive_at, st.lease_timeout_sec * 1000);
      // Every open session, also those seen after alive_at: the process died up to a tick after it last
      // wrote alive_at, and a session captured or heartbeated in that tick was down as long as the rest
      // (shifted by a little more than its own gap, clamped to now). Nobody was seen while no process ran.
      // A late row shown before the restart may be alive again: the monitor's refresh must see a change.
      if (await shiftLastSeen(trx, null, shift, now)) await bumpChangeMarker(trx);
    } else if (state.alive_at !== null && now < state.alive_at) {
      await moveToEarlierTimeline(trx, now - state.alive_at, now);
      await bumpChangeMarker(trx);
    }
    await trx.updateTable('server_state').set({ alive_at: now }).where('id', '=', 1).execute();
    return shift;
  });
}

/**
 * One tick of the lease job, every `tickMs`: notices a gap since the last
 * sign of life (alive_at) much larger than the tick — the process was
 * suspended or the clock jumped — and shifts the leases of sessions seen
 * before it by the gap, so a forward jump does not mass-expire sessions and a
 * backward one does not keep dead ones alive; then sweeps and records alive_at.
 * alive_at is shared, so with several processes the shift happens once.
 */
export async function leaseTick(db: Db, now: number, tickMs: number): Promise<{ shiftedMs: number; closed: number }> {
  const shiftedMs = await db.transaction().execute(async (trx) => {
    const state = await trx.selectFrom('server_state').select('alive_at').where('id', '=', 1).executeTakeFirstOrThrow();
    const last = state.alive_at;
    let shift = 0;
    if (last !== null) {
      const gap = now - last;
      if (gap > 3 * tickMs) {
        shift = gap - tickMs;
        if (await shiftLastSeen(trx, last + tickMs, shift, now)) await bumpChangeMarker(trx);
      } else if (gap < -tickMs) {
        shift = gap;
        await moveToEarlierTimeline(trx, gap, now);
        await bumpChangeMarker(trx);
      }
    }
    await trx.updateTable('server_state').set({ alive_at: now }).where('id', '=', 1).execute();
    return shift;
  });
  const closed = await reapExpiredSessions(db, now);
  return { shiftedMs, closed };
}
