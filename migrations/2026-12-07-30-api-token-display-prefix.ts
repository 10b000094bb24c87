import type { Kysely } from 'kysely';

// Frozen in time: never import application code here.

/**
 * The first characters of each API token (e.g. "smt_77L5"), kept at creation so the
 * tokens page can tell two tokens of the same name apart and their holders can find
 * which one they have. 4 characters are 24 of the token's 256 random bits. Tokens
 * created before this have none: only their hash was ever stored.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('api_tokens').addColumn('display_prefix', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('api_tokens').dropColumn('display_prefix').execute();
}
