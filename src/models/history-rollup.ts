import { sql } from 'kysely';
import type { Db } from '../db/connection.js';

// License history is kept raw for RAW_WINDOW_MS, then as per-hour roll-ups
// (license_event_hours) until the retention removes it. Why and how:
// * The 1 h and 24 h views read raw events only (exact to the millisecond);
//   a range that starts earlier than the raw window starts on an hour
//   (historyRange), so its rolled-up hours are whole and every count, first
//   and last time is the same before and after a roll-up.
// * One transaction per hour: the hour's raw events are inserted as groups
//   and deleted together, so a crash leaves the hour either raw or rolled up,
//   and running the job twice finds nothing left to count.
// * Captures and refusals keep what the History tab and the admin API group
//   by (feature, user, bound host, hostname, code); opens and closes, which
//   nothing shows, keep only their count per license and hour — under churn
//   they were most of the events. Fingerprint hash, client IP and session id
//   (shown nowhere) stay in the raw events only.
// * Opens and releases are counted in their hour's row when they happen
//   (history-events.ts countInHourNow); raw 'open' and 'close' events are
//   those an older version wrote, folded here beside that row (the reads sum
//   the rows).

export const HOUR_MS = 3600_000;
const DELETE_BATCH = 5000;
/** How long events stay raw: longer than the 24 h view, with a day of slack for a job that did not run. */
export const RAW_WINDOW_MS = 48 * HOUR_MS;

/** The start of the (UTC) hour `t` falls in. */
export const hourStart = (t: number) => Math.floor(t / HOUR_MS) * HOUR_MS;

/**
 * The range a history read covers for "from up to `to`": (from, to] when it
 * lies within the raw window, else [start of from's hour, to] so that it
 * holds whole rolled-up hours. `inclusive` says whether `from` itself counts.
 */
export function historyRange(from: number, to: number): { from: number; to: number; inclusive: boolean } {
  if (from >= to - RAW_WINDOW_MS) return { from, to, inclusive: false };
  return { from: hourStart(from), to, inclusive: true };
}

/**
 * Folds raw license events of whole hours before (now − RAW_WINDOW_MS) into
 * license_event_hours, oldest hour first, one IMMEDIATE transaction per hour
 * (its groups inserted, its raw events deleted). Idempotent: a second run
 * finds no raw events left in those hours; a late event in an hour already
 * rolled up just adds a row the reads sum. At most `maxHours` per call, the
 * event loop let through between hours (each holds the write lock ~30 ms): a
 * backlog (the first run after an upgrade, a long downtime) is worked off over
 * several runs of the job instead of stalling captures for seconds; reads are
 * the same meanwhile (raw and rolled-up hours are read alike). Returns the
 * hours and events folded.
 */
export async function rollUpLicenseEvents(db: Db, now: number, maxHours = Infinity): Promise<{ hours: number; events: number }> {
  const cut = hourStart(now - RAW_WINDOW_MS);
  let hours = 0;
  let events = 0;
  while (hours < maxHours) {
    if (hours > 0) await new Promise((resolve) => setImmediate(resolve));
    const n = await db.transaction().execute(async (trx) => {
      const oldest = await trx.selectFrom('license_events').select((eb) => eb.fn.min('at').as('at')).where('at', '<', cut).executeTakeFirst();
      if (oldest?.at === null || oldest?.at === undefined) return -1;
      const h = hourStart(Number(oldest.at));
      const end = h + HOUR_MS;
      // Opens and closes lose the user and the host (nothing shows them); captures and refusals keep them.
      const keep = (col: string) => sql.raw(`case when kind in ('capture', 'refusal') then ${col} end`);
      await sql`
        insert into license_event_hours (license_id, hour, kind, code, feature, user_name, host_id, hostname, infobase_id, count, first_at, last_at)
        select license_id, ${h}, kind, code, feature, u, hid, hn, infobase_id, count(*), min(at), max(at)
        from (select license_id, kind, code, feature, infobase_id, at,
                     ${keep('user_name')} as u, ${keep('host_id')} as hid, ${keep('hostname')} as hn
              from license_events where at >= ${h} and at < ${end})
        group by license_id, kind, code, feature, u, hid, hn, infobase_id`.execute(trx);
      const del = await trx.deleteFrom('license_events').where('at', '>=', h).where('at', '<', end).executeTakeFirst();
      return Number(del.numDeletedRows);
    });
    if (n < 0) break;
    hours++;
    events += n;
  }
  return { hours, events };
}

/**
 * Deletes roll-ups whose whole hour is before `before` (so none holds
 * anything the retention would have kept), in batches. Returns the events they counted.
 */
export async function deleteRolledUpBefore(db: Db, before: number): Promise<number> {
  let events = 0;
  for (;;) {
    const r = await sql<{ count: number }>`
      delete from license_event_hours where rowid in (
        select rowid from license_event_hours where hour <= ${before - HOUR_MS} order by hour limit ${DELETE_BATCH})
      returning count`.execute(db);
    for (const row of r.rows) events += Number(row.count);
    if (r.rows.length < DELETE_BATCH) break;
  }
  return events;
}
