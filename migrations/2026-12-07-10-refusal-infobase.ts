import { type Kysely, sql } from 'kysely';

// Frozen in time: never import application code here.

/**
 * A refusal by an infobase lock names the infobase: a client with several
 * bases on one license could not tell which of them refused. Kept in the
 * per-hour roll-ups too. No foreign key: infobases are never deleted, and an
 * event outlives nothing it refers to.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table license_events add column infobase_id integer`.execute(db);
  await sql`alter table license_event_hours add column infobase_id integer`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table license_event_hours drop column infobase_id`.execute(db);
  await sql`alter table license_events drop column infobase_id`.execute(db);
}
