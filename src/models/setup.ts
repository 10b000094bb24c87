import type { Db } from '../db/connection.js';

/** Stores a fresh one-time setup token (hash only), replacing any unused ones. */
export async function createSetupToken(db: Db, tokenHash: string, now: number, ttlMs: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('setup_tokens').where('used_at', 'is', null).execute();
    await trx.insertInto('setup_tokens').values({ token_hash: tokenHash, created_at: now, expires_at: now + ttlMs }).execute();
  });
}

/** True when the token exists, is unused and not expired. */
export async function setupTokenValid(db: Db, tokenHash: string, now: number): Promise<boolean> {
  const row = await db
    .selectFrom('setup_tokens')
    .select('token_hash')
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Marks the token used inside the caller's transaction; false if someone used it first,
 * so two racing submissions of one link cannot both create an admin.
 */
export async function consumeSetupToken(db: Db, tokenHash: string, now: number): Promise<boolean> {
  const res = await db
    .updateTable('setup_tokens')
    .set({ used_at: now })
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}
