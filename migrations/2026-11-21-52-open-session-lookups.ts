import { type Kysely, sql } from 'kysely';

// Frozen in time: never import application code here.

/**
 * Since 2026-11-21-40, sessions_open_started carries the client and infobase
 * ids of every open session: a filter or a close by client or by infobase reads
 * that index whole (≤ tens of thousands of narrow entries, ~1 ms for 10,000)
 * instead of seeking in an index of its own. The two own indexes were written
 * at every capture and every close: closing 100,000 expired sessions removed
 * each from both. The license and host lookups stay — every capture counts its
 * license's and host's open sessions.
 */
const DROPPED: [string, string][] = [
  ['sessions_open_client', 'client_id'],
  ['sessions_open_infobase', 'infobase_id'],
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const [name] of DROPPED) await sql`drop index if exists ${sql.raw(name)}`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const [name, columns] of DROPPED) {
    await sql`create index ${sql.raw(name)} on sessions (${sql.raw(columns)}) where closed_at is null`.execute(db);
  }
}
