import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';

// Frozen in time: never import application code here.

/**
 * Infobase locks kept their permission code as typed, so a copy of the
 * database (a backup, a stolen disk) handed it out; SECURITY.md says no secret
 * is readable back from the database. From now on the column holds
 * `s1$<salt>$<SHA-256 hex of "<salt>$<code>">` (src/lib/tokens.ts,
 * hashPermissionCode); this turns the codes already set into that form. The
 * codes themselves cannot be brought back: after an older version is put back
 * on this database, locks with a code let nobody in by it until set again.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const rows = await db.selectFrom('infobases').select(['id', 'lock_code']).where('lock_code', 'is not', null).execute();
  for (const r of rows as { id: number; lock_code: string }[]) {
    // Already in that form (the whole shape: a code typed as "s1$…" is a code to hash).
    if (/^s1\$[A-Za-z0-9_-]{22}\$[0-9a-f]{64}$/.test(r.lock_code)) continue;
    const salt = randomBytes(16).toString('base64url');
    const hash = createHash('sha256').update(`${salt}$${r.lock_code}`, 'utf8').digest('hex');
    await db.updateTable('infobases').set({ lock_code: `s1$${salt}$${hash}` }).where('id', '=', r.id).execute();
  }
}

export async function down(): Promise<void> {
  // Nothing to undo: a hash does not give the code back.
}
