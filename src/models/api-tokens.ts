import type { Db } from '../db/connection.js';
import type { ApiTokenRow, StaffRole } from '../db/schema.js';

/** Stores a new API token's hash and role; the plaintext is shown once by the caller. */
export async function createApiToken(
  db: Db,
  t: { name: string; tokenHash: string; role: StaffRole; createdBy: number | null },
  now: number,
): Promise<ApiTokenRow> {
  return db
    .insertInto('api_tokens')
    .values({ name: t.name, token_hash: t.tokenHash, role: t.role, created_by: t.createdBy, created_at: now })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The live (not revoked) token with this hash. */
export async function apiTokenByHash(db: Db, tokenHash: string): Promise<ApiTokenRow | undefined> {
  return db.selectFrom('api_tokens').selectAll().where('token_hash', '=', tokenHash).where('revoked_at', 'is', null).executeTakeFirst();
}

export async function listApiTokens(db: Db): Promise<ApiTokenRow[]> {
  return db.selectFrom('api_tokens').selectAll().orderBy('revoked_at', 'asc').orderBy('created_at', 'desc').execute();
}

export async function apiTokenById(db: Db, id: number): Promise<ApiTokenRow | undefined> {
  return db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Revokes a token; answers whether it was live. */
export async function revokeApiToken(db: Db, id: number, now: number): Promise<boolean> {
  const res = await db.updateTable('api_tokens').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

/** Notes use, at most once a minute per token to keep API reads from writing. */
export async function touchApiToken(db: Db, id: number, now: number): Promise<void> {
  await db
    .updateTable('api_tokens')
    .set({ last_used_at: now })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', now - 60_000)]))
    .execute();
}
