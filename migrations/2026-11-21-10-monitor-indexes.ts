import { type Kysely, sql } from 'kysely';

// Frozen in time: never import application code here.

/**
 * The monitor sorts open sessions by any column and pages them. Indexes cover
 * the sorts on columns that never change after capture (each ends with the
 * tie-breaker id, so a page is read in index order and the scan stops at
 * the page). Columns a heartbeat rewrites (activity, metrics, sleeping) get
 * no index: it would tax every heartbeat for a sort someone rarely picks.
 * Filtering by license, client, infobase and host already has its indexes.
 */
const SORTS: [string, string][] = [
  ['sessions_open_started', 'started_at, id'],
  ['sessions_open_user', 'user_name, id'],
  ['sessions_open_number', 'session_number, id'],
  ['sessions_open_connection', 'connection_type, id'],
  ['sessions_open_machine_ip', 'machine_ip, id'],
  ['sessions_open_client_ip', 'client_ip, id'],
  ['sessions_open_app_version', 'app_version, id'],
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const [name, columns] of SORTS) {
    await sql`create index ${sql.raw(name)} on sessions (${sql.raw(columns)}) where closed_at is null`.execute(db);
  }
  // The "Resolve names by IP" toggle of the monitor, remembered per user.
  await db.schema.alterTable('users').addColumn('monitor_resolve_names', 'integer', (c) => c.notNull().defaultTo(0)).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('monitor_resolve_names').execute();
  for (const [name] of SORTS) await db.schema.dropIndex(name).execute();
}
