import { type Kysely, sql } from 'kysely';

// Frozen in time: never import application code here.

/**
 * sessions_open_host was written at every capture and at every close: closing
 * 100,000 expired sessions spent ~45 ms of ~470 ms removing their entries
 * (npm run bench, lease sweep; issue 6). Nothing on the agent's path reads it
 * (a capture counts its license's open sessions, not its host's). Its readers —
 * a binding reset, the monitor's host filter, the license page's per-host
 * counts, a host's shared packages — name the host's license too: a host is
 * bound within one license, so its open sessions are found in
 * sessions_open_license, among that license's open sessions only.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists sessions_open_host`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`create index sessions_open_host on sessions (host_id) where closed_at is null`.execute(db);
}
