import { randomUUID, timingSafeEqual } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../db/connection.js';
import type { CloseReason, CommandType, SessionRow } from '../db/schema.js';
import { AppError, unauthorized } from '../lib/errors.js';
import { sessionOfHost } from './sql-helpers.js';

export type SessionState = 'alive' | 'late' | 'sleeping';

/** A closed session answers 410 for this long after closing (PROTOCOL "Session lifecycle"), then 401. */
export const CLOSED_ANSWER_MS = 7 * 24 * 3600_000;

/** Late: now − lastSeenAt > 2 × the heartbeat interval last sent to that session. */
export function isLate(row: Pick<SessionRow, 'last_seen_at' | 'heartbeat_interval_sec'>, now: number): boolean {
  return now - row.last_seen_at > 2 * row.heartbeat_interval_sec * 1000;
}

/** Admin state of an open session: late if late, else sleeping if the last heartbeat said so, else alive. */
export function sessionState(row: Pick<SessionRow, 'last_seen_at' | 'heartbeat_interval_sec' | 'sleeping'>, now: number): SessionState {
  if (isLate(row, now)) return 'late';
  return row.sleeping ? 'sleeping' : 'alive';
}

/** The 410 an agent gets for a closed session: the reason and the operator's message. */
export function sessionClosedError(row: { close_reason: CloseReason | null; close_message: string | null }): AppError {
  return new AppError('session_closed', 410, { reason: row.close_reason ?? 'terminated', message: row.close_message });
}

/** Compares a presented token's hash with the stored one in constant time. */
export function tokenMatches(storedHash: string, presentedHash: string): boolean {
  const a = Buffer.from(storedHash, 'hex');
  const b = Buffer.from(presentedHash, 'hex');
  return a.length === b.length && a.length > 0 && timingSafeEqual(a, b);
}

/**
 * The agent's view of its session: 401 for an unknown id or a wrong token,
 * 410 (or, after CLOSED_ANSWER_MS, 401) once closed unless `closedOk`.
 */
export function checkAgentAccess<R extends Pick<SessionRow, 'token_hash' | 'closed_at' | 'close_reason' | 'close_message'>>(
  row: R | undefined,
  tokenHash: string,
  now: number,
): R {
  if (!row || !tokenMatches(row.token_hash, tokenHash)) throw unauthorized();
  if (row.closed_at !== null) {
    if (now - row.closed_at >= CLOSED_ANSWER_MS) throw unauthorized();
    throw sessionClosedError(row);
  }
  return row;
}

/** Features a session holds, in the order it acquired them. */
export async function sessionFeatures(db: Db, sessionId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('session_features')
    .select('feature')
    .where('session_id', '=', sessionId)
    .orderBy('acquired_at')
    .orderBy(sql`rowid`)
    .execute();
  return rows.map((r) => r.feature);
}

export interface NewCommand {
  sessionId: string;
  type: CommandType;
  packageId?: string | null;
  path?: string | null;
  text?: string | null;
}

/** Queues commands (ids made here) after each session's existing ones; returns the ids in input order. */
export async function insertCommands(trx: Db, commands: NewCommand[], createdBy: string | null, now: number): Promise<string[]> {
  if (!commands.length) return [];
  const sessionIds = [...new Set(commands.map((c) => c.sessionId))];
  const seqRows = await trx
    .selectFrom('commands')
    .select(['session_id', (eb) => eb.fn.max('seq').as('seq')])
    .where(sql<boolean>`session_id in (select value from json_each(${JSON.stringify(sessionIds)}))`)
    .groupBy('session_id')
    .execute();
  const seq = new Map(seqRows.map((r) => [r.session_id, Number(r.seq)]));
  const rows = commands.map((c) => {
    const next = (seq.get(c.sessionId) ?? 0) + 1;
    seq.set(c.sessionId, next);
    return {
      id: randomUUID(),
      session_id: c.sessionId,
      seq: next,
      type: c.type,
      package_id: c.packageId ?? null,
      path: c.path ?? null,
      text: c.text ?? null,
      created_at: now,
      created_by: createdBy,
      acked_at: null,
    };
  });
  for (let i = 0; i < rows.length; i += 500) await trx.insertInto('commands').values(rows.slice(i, i + 500)).execute();
  return rows.map((r) => r.id);
}

/** Ids of the open sessions of a bound host. */
export async function liveSessionIdsOfHost(db: Db, hostId: number): Promise<string[]> {
  const rows = await db.selectFrom('sessions').select('id').where(sessionOfHost('sessions', hostId)).where('closed_at', 'is', null).execute();
  return rows.map((r) => r.id);
}
