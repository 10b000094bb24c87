import { type Kysely, sql } from 'kysely';

// Frozen in time: never import application code here.

/**
 * sessions_closed_at indexed every open session under NULL. Without table
 * statistics SQLite's planner then answered "closed_at is null" by that index
 * (an equality it guesses to be selective) and sorted all open sessions,
 * instead of walking a partial "open" index already in the requested order:
 * the monitor's first page sorted 10,000 rows (~5 ms) to keep 100, and the
 * reaper did the same. Indexing closed sessions only serves what the index is
 * for (retention deletes by closed_at), costs nothing at capture and only an
 * insert at close, and leaves "open" queries to the partial indexes.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`drop index sessions_closed_at`.execute(db);
  await sql`create index sessions_closed_at on sessions (closed_at) where closed_at is not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index sessions_closed_at`.execute(db);
  await db.schema.createIndex('sessions_closed_at').on('sessions').column('closed_at').execute();
}
