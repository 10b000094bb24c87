import type { Db } from '../db/connection.js';
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

/** The web session and its user, if the token is known (expiry is judged by the caller). */
export async function webSessionByTokenHash(db: Db, tokenHash: string): Promise<WebSessionWithUser | undefined> {
  const row = await db
    .selectFrom('web_sessions')
    .innerJoin('users', 'users.id', 'web_sessions.user_id')
    .selectAll('users')
    .select([
      'web_sessions.token_hash',
      'web_sessions.created_at as ws_created_at',
      'web_sessions.last_active_at as ws_last_active_at',
      'web_sessions.expires_at as ws_expires_at',
    ])
    .where('web_sessions.token_hash', '=', tokenHash)
    .executeTakeFirst();
  if (!row) return undefined;
  const { token_hash, ws_created_at, ws_last_active_at, ws_expires_at, ...user } = row;
  return { tokenHash: token_hash, createdAt: ws_created_at, lastActiveAt: ws_last_active_at, expiresAt: ws_expires_at, user };
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
