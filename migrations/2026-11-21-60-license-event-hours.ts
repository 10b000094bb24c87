import { type Kysely, sql } from 'kysely';

// Frozen in time: never import application code here.

/**
 * License history as per-hour roll-ups. license_events kept every open,
 * close, capture and refusal for the whole retention (~190 B each, ~2.3 per
 * session): under session churn that, not heartbeats, filled the file. The
 * retention job now folds raw events older than a short raw window (48 h)
 * into one row per license × hour × kind × code × feature × user × bound
 * host × hostname (opens and closes without the user and host: nothing shows
 * them), with the count and the first and last time, so the History tab's
 * groups (count, first, last) stay exact over any range that starts on an
 * hour. Kept for the retention like the raw events were.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('license_event_hours')
    .addColumn('license_id', 'integer', (c) => c.notNull().references('licenses.id'))
    .addColumn('hour', 'bigint', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('capture', 'refusal', 'open', 'close')`))
    .addColumn('code', 'text')
    .addColumn('feature', 'text')
    .addColumn('user_name', 'text')
    .addColumn('host_id', 'integer')
    .addColumn('hostname', 'text')
    .addColumn('count', 'integer', (c) => c.notNull())
    .addColumn('first_at', 'bigint', (c) => c.notNull())
    .addColumn('last_at', 'bigint', (c) => c.notNull())
    .execute();
  // Reads: one license over a range of hours. Retention: everything before an hour.
  await db.schema.createIndex('license_event_hours_license_hour').on('license_event_hours').columns(['license_id', 'hour']).execute();
  await db.schema.createIndex('license_event_hours_hour').on('license_event_hours').column('hour').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('license_event_hours').execute();
}
