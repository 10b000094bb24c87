import { CompiledQuery, sql, type RawBuilder } from 'kysely';
import type Database from 'better-sqlite3';
import { preparedStatement, type Db } from '../db/connection.js';
import type { CloseReason } from '../db/schema.js';
import { countInHour } from './history-events.js';
import { poolPackagesOfClosingSessions } from './packages.js';
import { sessionOfHost } from './sql-helpers.js';

const BUMP_MARKER = 'update "server_state" set change_version = change_version + 1 where id = 1';

/** Moves the refresh change marker: call in the same transaction as any change the monitor shows. */
export async function bumpChangeMarker(db: Db): Promise<void> {
  await db.executeQuery(CompiledQuery.raw(BUMP_MARKER));
}

/** bumpChangeMarker with a synchronous statement on the raw handle of the caller's transaction. */
export function bumpChangeMarkerNow(raw: Database.Database): void {
  preparedStatement(raw, BUMP_MARKER).run();
}

/** The current change marker; equal markers mean nothing the monitor shows has changed. */
export async function changeMarker(db: Db): Promise<number> {
  const { rows } = await sql<{ change_version: number }>`select change_version from "server_state" where id = 1`.execute(db);
  if (!rows[0]) throw new Error('server_state has no row');
  return Number(rows[0].change_version);
}

/** Runs fn in the caller's transaction when db is one, else in a new (IMMEDIATE) transaction. */
export function inTransaction<T>(db: Db, fn: (trx: Db) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db) : db.transaction().execute(fn);
}

export interface SessionSelector {
  sessionIds?: string[];
  hostId?: number;
  licenseId?: number;
  infobaseId?: number;
  clientId?: number;
}

/** Ids per statement: one JSON parameter (json_each), so the count is not bound by SQLite's variable limit. */
const CHUNK = 5000;

/**
 * Closes the open sessions matching the selector with a reason, frees their
 * seats and features and drops their pending commands (no longer counted or
 * delivered at once; the rows go with the next pruning). Must run inside the
 * caller's transaction together with the change that caused it. Returns the
 * ids closed. An empty selector closes nothing.
 */
export async function closeSessions(
  trx: Db,
  selector: SessionSelector,
  reason: CloseReason,
  now: number,
  message: string | null = null,
): Promise<string[]> {
  const keys = Object.values(selector).filter((v) => v !== undefined);
  if (keys.length === 0) return [];
  let q = trx.selectFrom('sessions').select('id').where('closed_at', 'is', null);
  if (selector.sessionIds) {
    if (selector.sessionIds.length === 0) return [];
    q = q.where(sql<boolean>`id in (select value from json_each(${JSON.stringify(selector.sessionIds)}))`);
  }
  if (selector.hostId !== undefined) q = q.where(sessionOfHost('sessions', selector.hostId));
  if (selector.licenseId !== undefined) q = q.where('license_id', '=', selector.licenseId);
  if (selector.infobaseId !== undefined) q = q.where('infobase_id', '=', selector.infobaseId);
  if (selector.clientId !== undefined) q = q.where('client_id', '=', selector.clientId);
  const ids = (await q.execute()).map((r) => r.id);
  if (ids.length === 0) return [];
  const poolSize = await currentPoolSize(trx, reason);
  for (let i = 0; i < ids.length; i += CHUNK) await closeOpenSessionsById(trx, ids.slice(i, i + CHUNK), reason, now, message, poolSize);
  await bumpChangeMarker(trx);
  return ids;
}

async function currentPoolSize(trx: Db, reason: CloseReason): Promise<number> {
  if (reason === 'binding_reset') return 0;
  const s = await trx.selectFrom('settings').select('pool_size').where('id', '=', 1).executeTakeFirst();
  return s?.pool_size ?? 0;
}

/**
 * Closes the open sessions with these ids (selected by the caller in this
 * transaction). The caller moves the change marker.
 */
export async function closeOpenSessionsById(
  trx: Db,
  ids: string[],
  reason: CloseReason,
  now: number,
  message: string | null,
  poolSize?: number,
): Promise<void> {
  if (!ids.length) return;
  const selected = sql`select sessions.rowid, sessions.id from sessions where sessions.id in (select value from json_each(${JSON.stringify(ids)})) and sessions.closed_at is null`;
  await closeSelectedSessions(trx, selected, reason, now, message, poolSize ?? (await currentPoolSize(trx, reason)));
}

/** Closing more sessions than this, their packages are found by scanning the packages table. */
const SCAN_PACKAGES_ABOVE = 5000;

/**
 * The set-based close: a handful of statements whatever the count. `selectIds`
 * is a query answering the rowid and id of open sessions to close; they are listed once
 * in a temporary table that every later statement reads (listing them again from
 * sessions was ~0.1 s per 50,000). Answers how many closed; the caller moves the
 * change marker.
 */
export async function closeSelectedSessions(
  trx: Db,
  selectIds: RawBuilder<unknown>,
  reason: CloseReason,
  now: number,
  message: string | null,
  poolSize: number,
): Promise<number> {
  // Keyed by the row's rowid, so the final update walks the table in its own order.
  await sql`create temp table if not exists closing_sessions (rid integer primary key, id text not null)`.execute(trx);
  await sql`delete from temp.closing_sessions`.execute(trx);
  const listed = await sql`insert into temp.closing_sessions (rid, id) ${selectIds}`.execute(trx);
  const count = Number(listed.numAffectedRows ?? 0);
  if (!count) return 0;
  // By rowid, the list's own key (`id in (…)` built a temporary index of every id first): a few sessions
  // are looked up from the list; for a mass close, the packages are scanned and each checked in the list
  // (packages of 100,000 closing sessions: ~0.1 s looked up, ~0.02 s scanned).
  const isClosing = sql<boolean>`sessions.rowid in (select rid from temp.closing_sessions)`;
  const isClosingScanned = sql<boolean>`exists (select 1 from temp.closing_sessions c where c.rid = sessions.rowid)`;
  await onSessionsClosing(trx, count > SCAN_PACKAGES_ABOVE ? isClosingScanned : isClosing, reason, now, poolSize);
  if (reason === 'released') {
    // The license history counts agents' releases in their hour (operators' closes are in the audit log).
    const { rows } = await sql<{ license_id: number; n: number }>`
      select license_id, count(*) as n from sessions where ${isClosing} group by license_id`.execute(trx);
    for (const r of rows) await countInHour(trx, r.license_id, { kind: 'close', code: 'released' }, Number(r.n), now);
  }
  // A closed session's features, packages, commands and metric samples stay behind: every reader
  // takes them of open sessions only (a feature is held while its session is open), and the minute's
  // pruning job removes them (retention.ts pruneClosedSessionRows). Deleting them here was ~0.13 s
  // (features, packages, commands) and ~0.5 s (samples) of a 100,000-session sweep.
  await sql`
    update sessions set closed_at = ${now}, close_reason = ${reason}, close_message = ${message}, running = 0, updated_at = ${now}
    where rowid in (select rid from temp.closing_sessions)`.execute(trx);
  return count;
}

/**
 * Hook run before sessions close: packages leaving with them enter their
 * host's pool (PROTOCOL §2), except on binding_reset (the pool goes with the binding).
 */
async function onSessionsClosing(trx: Db, filter: RawBuilder<boolean>, reason: CloseReason, now: number, poolSize: number): Promise<void> {
  if (reason !== 'binding_reset') await poolPackagesOfClosingSessions(trx, filter, poolSize, now);
}
