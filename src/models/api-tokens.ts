import type { Db } from '../db/connection.js';
import type { ApiTokenRow, StaffRole } from '../db/schema.js';
import { notFound } from '../lib/errors.js';
import { hashToken, newToken } from '../lib/tokens.js';
import { recordAudit, type AuditActor } from './audit.js';

/** Prefix of every API token, so a leaked one is recognisable (and greppable by secret scanners). */
export const API_TOKEN_PREFIX = 'smt_';

/** How many characters after the prefix are kept to tell tokens apart: 24 of the 256 random bits, nothing to guess with. */
const DISPLAY_CHARS = 4;

/** What is kept of a token to name it: its prefix and first random characters, e.g. "smt_77L5". */
export function apiTokenDisplayPrefix(token: string): string {
  return token.slice(0, API_TOKEN_PREFIX.length + DISPLAY_CHARS);
}

/** Stores a new API token's hash, display prefix and role; the plaintext is shown once by the caller. */
export async function createApiToken(
  db: Db,
  t: { name: string; tokenHash: string; displayPrefix?: string; role: StaffRole; createdBy: number | null },
  now: number,
): Promise<ApiTokenRow> {
  return db
    .insertInto('api_tokens')
    .values({ name: t.name, token_hash: t.tokenHash, display_prefix: t.displayPrefix ?? null, role: t.role, created_by: t.createdBy, created_at: now })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The live (not revoked) token with this hash. */
export async function apiTokenByHash(db: Db, tokenHash: string): Promise<ApiTokenRow | undefined> {
  return db.selectFrom('api_tokens').selectAll().where('token_hash', '=', tokenHash).where('revoked_at', 'is', null).executeTakeFirst();
}

export interface ApiTokenListItem extends ApiTokenRow {
  created_by_email: string | null;
}

/** Every token with its creator's e-mail: live ones first, newest first. */
export async function listApiTokens(db: Db): Promise<ApiTokenListItem[]> {
  return db
    .selectFrom('api_tokens')
    .leftJoin('users', 'users.id', 'api_tokens.created_by')
    .selectAll('api_tokens')
    .select('users.email as created_by_email')
    .orderBy('api_tokens.revoked_at', 'asc')
    .orderBy('api_tokens.created_at', 'desc')
    .orderBy('api_tokens.id', 'desc')
    .execute();
}

/** The token with this id (live or revoked), or undefined. */
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

/**
 * Issues a new API token for the actor: only its SHA-256 is stored and the
 * plaintext is returned once, for the caller to show. Audited atomically.
 */
export async function issueApiToken(
  db: Db,
  actor: AuditActor,
  input: { name: string; role: StaffRole },
  now: number,
): Promise<{ token: string; row: ApiTokenRow }> {
  const token = newToken(API_TOKEN_PREFIX);
  const createdBy = actor.type === 'user' ? actor.id : null;
  const row = await db.transaction().execute(async (trx) => {
    const row = await createApiToken(trx, { name: input.name.trim(), tokenHash: hashToken(token), displayPrefix: apiTokenDisplayPrefix(token), role: input.role, createdBy }, now);
    await recordAudit(trx, actor, { action: 'token.created', targetType: 'api_token', targetId: row.id, targetLabel: row.name, details: { role: row.role } }, now);
    return row;
  });
  return { token, row };
}

/** Revokes a token on the actor's behalf (audited); revoking a revoked token changes nothing. */
export async function revokeApiTokenAs(db: Db, actor: AuditActor, id: number, now: number): Promise<ApiTokenRow> {
  return db.transaction().execute(async (trx) => {
    const row = await apiTokenById(trx, id);
    if (!row) throw notFound();
    if (!(await revokeApiToken(trx, id, now))) return row;
    await recordAudit(trx, actor, { action: 'token.revoked', targetType: 'api_token', targetId: row.id, targetLabel: row.name }, now);
    return { ...row, revoked_at: now };
  });
}
