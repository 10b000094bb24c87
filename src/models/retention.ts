import { sql } from 'kysely';
import type { Db } from '../db/connection.js';
import { FIVE_MINUTES_MS } from './heartbeat.js';
import { CLOSED_ANSWER_MS } from './sessions.js';

const DAY_MS = 24 * 3600_000;
const DELETE_BATCH = 5000;

/**
 * Deletes metric samples no later heartbeat can need: last5min looks at the
 * latest sample at or before (now − 5 min), so of the samples up to that
 * point only each session's latest is kept — and none of a closed session
 * (closing leaves its samples to this job). Returns the count deleted.
 */
export async function pruneMetricSamples(db: Db, now: number): Promise<number> {
  const cut = now - FIVE_MINUTES_MS;
  const r = await sql`
    delete from metric_samples as m
    where m.at <= ${cut}
      and (exists (select 1 from metric_samples n where n.session_id = m.session_id and n.at > m.at and n.at <= ${cut})
        or exists (select 1 from sessions s where s.id = m.session_id and s.closed_at is not null))`.execute(db);
  return Number(r.numAffectedRows ?? 0);
}

/**
 * Retention (settings.retentionDays): deletes closed sessions (never before
 * they stop answering 410, 7 days) and license history events older than
 * the retention, in batches. Returns the counts.
 */
export async function applyRetention(db: Db, now: number): Promise<{ sessions: number; events: number }> {
  const st = await db.selectFrom('settings').select('retention_days').where('id', '=', 1).executeTakeFirstOrThrow();
  const keepMs = st.retention_days * DAY_MS;
  const sessionsBefore = now - Math.max(keepMs, CLOSED_ANSWER_MS);
  let sessions = 0;
  for (;;) {
    const r = await sql`
      delete from sessions where id in (
        select id from sessions where closed_at is not null and closed_at <= ${sessionsBefore} limit ${DELETE_BATCH})`.execute(db);
    const n = Number(r.numAffectedRows ?? 0);
    sessions += n;
    if (n < DELETE_BATCH) break;
  }
  let events = 0;
  for (;;) {
    const r = await sql`
      delete from license_events where id in (
        select id from license_events where at < ${now - keepMs} order by at limit ${DELETE_BATCH})`.execute(db);
    const n = Number(r.numAffectedRows ?? 0);
    events += n;
    if (n < DELETE_BATCH) break;
  }
  return { sessions, events };
}
