import { type Kysely, sql } from 'kysely';

// Frozen in time: never import application code here.

/**
 * The monitor's as-you-type search LIKEd six columns of every open session, and
 * each of them three times for a Cyrillic term (lower, upper and capitalised
 * forms: SQLite folds ASCII only), then looked each open session's row up in
 * the order of the default sort — most of the search's time (issue 6).
 *
 * - A session's user, client session id, host names and IPs never change after
 *   the capture, so the capture stores them once as one lowercased text
 *   (JavaScript's full Unicode lowercasing), one column per line: the search is
 *   one instr() per session. Open sessions are filled here; rows without it
 *   (closed before this migration) are searched column by column as before.
 * - The default sort's index (open sessions by start) also carries that text
 *   and the ids the search matches in other tables (license, client, infobase)
 *   and the session number: a search in the default order reads that index
 *   alone and looks up only the rows it shows. Same number of index entries at
 *   capture and close, each wider.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('sessions').addColumn('search_text', 'text').execute();
  const open = await sql<{
    id: string;
    user_name: string;
    client_session_id: string | null;
    machine_hostname: string | null;
    client_hostname: string | null;
    machine_ip: string | null;
    client_ip: string | null;
  }>`select id, user_name, client_session_id, machine_hostname, client_hostname, machine_ip, client_ip from sessions where closed_at is null`.execute(db);
  for (const r of open.rows) {
    const text = [r.user_name, r.client_session_id, r.machine_hostname, r.client_hostname, r.machine_ip, r.client_ip]
      .map((v) => v ?? '')
      .join('\n')
      .toLowerCase();
    await sql`update sessions set search_text = ${text} where id = ${r.id}`.execute(db);
  }
  await sql`drop index if exists sessions_open_started`.execute(db);
  await sql`create index sessions_open_started on sessions (started_at, id, search_text, license_id, client_id, infobase_id, session_number)
    where closed_at is null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists sessions_open_started`.execute(db);
  await sql`create index sessions_open_started on sessions (started_at, id) where closed_at is null`.execute(db);
  await db.schema.alterTable('sessions').dropColumn('search_text').execute();
}
