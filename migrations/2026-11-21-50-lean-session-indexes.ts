import { type Kysely, sql } from 'kysely';

// Frozen in time: never import application code here.

/**
 * Fewer indexes on sessions, measured (npm run bench, issue 6). Every partial
 * "open" index is written when a session opens and again when it closes, and
 * sessions_open_last_seen on every heartbeat too; closing 100,000 expired
 * sessions spent most of its time removing them from 12 such indexes, and a
 * capture wrote 15 index entries.
 *
 * - Six of the seven monitor sort indexes of 2026-11-21-10 go: the monitor only
 *   ever sorts open sessions (≤ tens of thousands), and SQLite's bounded sorter
 *   over 10,000 of them adds 2–6 ms to a page (the metric sorts never had an
 *   index). The default sort (started, newest first), which every monitor opens
 *   with and refreshes every 5 seconds, keeps its index.
 * - sessions_open_last_seen goes: the lease job reads the open sessions once a
 *   tick, and a heartbeat no longer moves an index entry.
 *
 * The lookups that keep limits and filters exact (license, host, infobase,
 * client) stay.
 */
const DROPPED: [string, string][] = [
  ['sessions_open_user', 'user_name, id'],
  ['sessions_open_number', 'session_number, id'],
  ['sessions_open_connection', 'connection_type, id'],
  ['sessions_open_machine_ip', 'machine_ip, id'],
  ['sessions_open_client_ip', 'client_ip, id'],
  ['sessions_open_app_version', 'app_version, id'],
  ['sessions_open_last_seen', 'last_seen_at'],
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const [name] of DROPPED) await sql`drop index if exists ${sql.raw(name)}`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const [name, columns] of DROPPED) {
    await sql`create index ${sql.raw(name)} on sessions (${sql.raw(columns)}) where closed_at is null`.execute(db);
  }
}
