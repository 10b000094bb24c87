import type { Kysely } from 'kysely';

// Frozen in time: never import application code here.

// How clients reach the vendor's support, shown where self-service ends.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('settings').addColumn('support_contact', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('settings').dropColumn('support_contact').execute();
}
