import { CompiledQuery, sql } from 'kysely';
import { preparedStatement, rawHandleOf, type Db } from '../db/connection.js';
import type { UserRow } from '../db/schema.js';

export interface WebSessionWithUser {
  tokenHash: string;
  createdAt: number;
  lastActiveAt: number;
  expiresAt: number;
  user: UserRow;
}

/** Starts a login: stores only the token's hash; expires_at is the absolute end. */
export async function createWebSession(
  db: Db,
  s: { tokenHash: string; userId: number; now: number; maxAgeMs: number; ip: string | null; userAgent: string | null },
): Promise<void> {
  await db
    .insertInto('web_sessions')
    .values({
      token_hash: s.tokenHash,
      user_id: s.userId,
      created_at: s.now,
      last_active_at: s.now,
      expires_at: s.now + s.maxAgeMs,
      ip: s.ip,
      user_agent: s.userAgent?.slice(0, 300) ?? null,
    })
    .execute();
}

type WebSessionJoinRow = UserRow & { ws_token_hash: string; ws_created_at: number; ws_last_active_at: number; ws_expires_at: number };

/** The user and the login, as fromJoinRow reads them (w = web_sessions, u = users). */
const LOGIN_COLUMNS_TEXT = 'u.*, w.token_hash as ws_token_hash, w.created_at as ws_created_at, w.last_active_at as ws_last_active_at, w.expires_at as ws_expires_at';
const LOGIN_COLUMNS = sql.raw(LOGIN_COLUMNS_TEXT);

function fromJoinRow(row: WebSessionJoinRow): WebSessionWithUser {
  const { ws_token_hash, ws_created_at, ws_last_active_at, ws_expires_at, ...user } = row;
  return { tokenHash: ws_token_hash, createdAt: ws_created_at, lastActiveAt: ws_last_active_at, expiresAt: ws_expires_at, user };
}

/** The web session and its user, if the token is known (expiry is judged by the caller). */
export async function webSessionByTokenHash(db: Db, tokenHash: string): Promise<WebSessionWithUser | undefined> {
  // Every signed-in request runs this: a template compiles in a third of the query builder's
  // time (the statement itself is prepared once).
  const { rows } = await sql<WebSessionJoinRow>`
    select ${LOGIN_COLUMNS}
    from "web_sessions" w join "users" u on u.id = w.user_id
    where w.token_hash = ${tokenHash}`.execute(db);
  return rows[0] && fromJoinRow(rows[0]);
}

/** The login, its user and the change marker in one statement (webSessionAndChangeMarker). */
const LOGIN_AND_MARKER = `select ${LOGIN_COLUMNS_TEXT}, s.change_version as ss_change_version
  from "web_sessions" w join "users" u on u.id = w.user_id join "server_state" s on s.id = 1
  where w.token_hash = ?`;

/**
 * The web session and its user as webSessionByTokenHash reads them, with the monitor's change marker
 * (changeMarker) read in the same statement: the 5-second poll needs both, and each statement
 * through Kysely costs more than the SQLite work of both.
 *
 * Every open monitor runs this every 5 seconds, and Kysely's asynchronous path (its connection lock,
 * the promises around a synchronous call) cost 15–22 µs more per poll under load than the statement
 * (alternating runs of a probe server; npm run bench --quick: 0.109–0.117 → 0.094–0.098 ms). So when no transaction is open on the connection, the statement runs at once on
 * it: one read in autocommit sees what it would have seen through Kysely. While a transaction is
 * open (a group of agent writes awaiting one of them), it waits its turn through Kysely and never
 * reads what that transaction has not committed.
 */
export async function webSessionAndChangeMarker(db: Db, tokenHash: string): Promise<{ ws: WebSessionWithUser; changeMarker: number } | undefined> {
  type Row = WebSessionJoinRow & { ss_change_version: number };
  const raw = db.isTransaction ? null : rawHandleOf(db);
  const row =
    raw && !raw.inTransaction
      ? (preparedStatement(raw, LOGIN_AND_MARKER).get(tokenHash) as Row | undefined)
      : (await db.executeQuery<Row>(CompiledQuery.raw(LOGIN_AND_MARKER, [tokenHash]))).rows[0];
  if (!row) return undefined;
  const { ss_change_version, ...rest } = row;
  return { ws: fromJoinRow(rest), changeMarker: Number(ss_change_version) };
}

/** Records real activity (not automatic refreshes) for the idle timeout. */
export async function touchWebSession(db: Db, tokenHash: string, now: number): Promise<void> {
  await db.updateTable('web_sessions').set({ last_active_at: now }).where('token_hash', '=', tokenHash).execute();
}

export async function deleteWebSession(db: Db, tokenHash: string): Promise<void> {
  await db.deleteFrom('web_sessions').where('token_hash', '=', tokenHash).execute();
}

/** Removes web sessions past their absolute or idle end. */
export async function deleteExpiredWebSessions(db: Db, now: number, idleMs: number): Promise<void> {
  await db
    .deleteFrom('web_sessions')
    .where((eb) => eb.or([eb('expires_at', '<=', now), eb('last_active_at', '<=', now - idleMs)]))
    .execute();
}
