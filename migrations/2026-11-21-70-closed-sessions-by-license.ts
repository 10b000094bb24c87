import { type Kysely, sql } from 'kysely';

// Frozen in time: never import application code here.

/**
 * sessions_closed_at was written at every close (closing 100,000 expired
 * sessions spent ~60 ms inserting into it) for two readers: retention, which
 * now walks the table once by rowid, and the license History tab's concurrency
 * chart (one license's sessions overlapping the period), which now reads
 * (license_id, started_at) — written once at capture and never at close.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists sessions_closed_at`.execute(db);
  await sql`create index sessions_license_started on sessions (license_id, started_at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists sessions_license_started`.execute(db);
  await sql`create index sessions_closed_at on sessions (closed_at) where closed_at is not null`.execute(db);
}
