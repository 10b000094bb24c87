import { type Kysely, sql } from 'kysely';

// Frozen in time: never import application code here.

/**
 * Every capture writes a license event. With AUTOINCREMENT each insert also
 * read and rewrote the table's row in sqlite_sequence: a quarter of the
 * event's cost and one more page for the capture's commit. A plain integer
 * key still grows with every insert; it could only take a number again if the
 * newest events were deleted, and events are only ever deleted oldest first
 * (retention, hourly roll-ups). Nothing refers to an event by its id.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await rebuild(db, 'integer primary key');
}

export async function down(db: Kysely<any>): Promise<void> {
  await rebuild(db, 'integer primary key autoincrement');
}

async function rebuild(db: Kysely<any>, key: 'integer primary key' | 'integer primary key autoincrement'): Promise<void> {
  await sql`
    create table license_events_new (
      "id" ${sql.raw(key)},
      "license_id" integer not null references "licenses" ("id"),
      "at" bigint not null,
      "kind" text not null check (kind in ('capture', 'refusal', 'open', 'close')),
      "code" text, "feature" text, "user_name" text, "host_id" integer, "hostname" text,
      "fingerprint_hash" text, "client_ip" text, "session_id" text)`.execute(db);
  await sql`insert into license_events_new select * from license_events order by id`.execute(db);
  await sql`drop table license_events`.execute(db);
  await sql`alter table license_events_new rename to license_events`.execute(db);
  await sql`create index "license_events_license_at" on "license_events" ("license_id", "at")`.execute(db);
  await sql`create index "license_events_at" on "license_events" ("at")`.execute(db);
}
