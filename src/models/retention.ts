import { sql } from 'kysely';
import type { Db } from '../db/connection.js';
import { FIVE_MINUTES_MS } from './heartbeat.js';
import { deleteRolledUpBefore, HOUR_MS, rollUpLicenseEvents } from './history-rollup.js';
import { CLOSED_ANSWER_MS } from './sessions.js';

const DAY_MS = 24 * 3600_000;
const DELETE_BATCH = 5000;
/** Session rowids read per retention statement. */
const SESSION_SCAN = 20_000;

/**
 * How far before (now − 5 min) the pruning still keeps each open session's
 * baseline. A heartbeat reads the clock when it arrives and its baseline when
 * its group is written (models/group-commit.ts), so a pruning that read the
 * clock in between must spare the sample that heartbeat needs: taken away, its
 * last5min would fall back to the session's whole total.
 */
export const SAMPLE_SLACK_MS = 15_000;

/**
 * Deletes metric samples no later heartbeat can need: last5min looks at the
 * latest sample at or before (its time − 5 min), so of the samples up to
 * (now − 5 min − SAMPLE_SLACK_MS) only each session's latest is kept — and
 * none older than 5 minutes of a session no longer open (closing leaves its
 * samples to this job; samples have no foreign key). Returns the count deleted.
 */
export async function pruneMetricSamples(db: Db, now: number): Promise<number> {
  const cut = now - FIVE_MINUTES_MS;
  const r = await sql`
    delete from metric_samples as m
    where m.at <= ${cut}
      and (exists (select 1 from metric_samples n where n.session_id = m.session_id and n.at > m.at and n.at <= ${cut - SAMPLE_SLACK_MS})
        or not exists (select 1 from sessions s where s.id = m.session_id and s.closed_at is null))`.execute(db);
  return Number(r.numAffectedRows ?? 0);
}

/**
 * Deletes what closed sessions leave behind (session-lifecycle.ts closes
 * without it): their features, packages and commands. Nothing reads them —
 * every reader takes them of open sessions — so this only returns the space.
 * Returns the rows deleted.
 */
export async function pruneClosedSessionRows(db: Db): Promise<number> {
  let n = 0;
  for (const table of ['session_features', 'packages', 'commands'] as const) {
    const r = await sql`
      delete from ${sql.table(table)}
      where not exists (select 1 from sessions s where s.id = ${sql.ref(`${table}.session_id`)} and s.closed_at is null)`.execute(db);
    n += Number(r.numAffectedRows ?? 0);
  }
  return n;
}

/** The History tab's longest period (7 d), whose concurrency chart reads closed sessions' start and close times. */
export const LONGEST_CHART_MS = 7 * DAY_MS;

/**
 * How long a closed session row is kept: it answers 410 for CLOSED_ANSWER_MS
 * (PROTOCOL), and the concurrency chart of the longest History period the
 * retention offers (7 d when retentionDays ≥ 7) draws it — that period starts
 * on an hour (historyRange), hence the extra hour. Nothing else reads closed sessions (the monitor,
 * cabinet and cards show open ones; the audit log keeps its own labels), so
 * they no longer stay for the whole retentionDays.
 */
export function closedSessionKeepMs(retentionDays: number): number {
  const chartNeeds = retentionDays * DAY_MS >= LONGEST_CHART_MS ? LONGEST_CHART_MS + HOUR_MS : retentionDays * DAY_MS;
  return Math.max(CLOSED_ANSWER_MS, chartNeeds);
}

/**
 * Retention (settings.retentionDays), in this order: deletes closed sessions
 * after closedSessionKeepMs and raw license events older than the retention,
 * folds the raw events older than the raw window into per-hour roll-ups
 * (rollUpLicenseEvents), and deletes roll-ups older than the retention. Each
 * step is safe to stop anywhere. Returns the sessions and the history events
 * removed (raw rows plus the events deleted roll-ups counted). `maxRollUpHours`
 * bounds the hours folded in one call (the job's runs, see rollUpLicenseEvents).
 */
export async function applyRetention(db: Db, now: number, opts: { maxRollUpHours?: number } = {}): Promise<{ sessions: number; events: number }> {
  const st = await db.selectFrom('settings').select('retention_days').where('id', '=', 1).executeTakeFirstOrThrow();
  const keepMs = st.retention_days * DAY_MS;
  const sessionsBefore = now - closedSessionKeepMs(st.retention_days);
  // No index on closed_at (closing would write it): one pass over the table by rowid, a bounded range per statement.
  let sessions = 0;
  const { rows: span } = await sql<{ lo: number | null; hi: number | null }>`select min(rowid) as lo, max(rowid) as hi from sessions`.execute(db);
  for (let lo = span[0]?.lo ?? 0, hi = span[0]?.hi ?? -1; lo <= hi; lo += SESSION_SCAN) {
    const r = await sql`
      delete from sessions where rowid >= ${lo} and rowid < ${lo + SESSION_SCAN}
        and closed_at is not null and closed_at <= ${sessionsBefore}`.execute(db);
    sessions += Number(r.numAffectedRows ?? 0);
  }
  let events = 0;
  for (;;) {
    const r = await sql`
      delete from license_events where id in (
        select id from license_events where at < ${now - keepMs} order by at limit ${DELETE_BATCH})`.execute(db);
    const n = Number(r.numAffectedRows ?? 0);
    events += n;
    if (n < DELETE_BATCH) break;
    await new Promise((resolve) => setImmediate(resolve)); // writes waiting for the lock go between batches
  }
  await rollUpLicenseEvents(db, now, opts.maxRollUpHours);
  events += await deleteRolledUpBefore(db, now - keepMs);
  return { sessions, events };
}
