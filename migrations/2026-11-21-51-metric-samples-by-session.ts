import { type Kysely, sql } from 'kysely';

// Frozen in time: never import application code here.

/**
 * Every heartbeat with metrics inserts a sample. As a rowid table with two
 * indexes (session, at) and (at) and a foreign key, that was four b-tree writes
 * and a parent lookup per heartbeat; clustered on (session_id, at) WITHOUT ROWID
 * it is one, and the heartbeat's baseline read ("latest sample at or before
 * now − 5 min") is a single seek in it. A second sample of a session in the same
 * millisecond replaces the first (the later totals are the ones that count).
 *
 * No foreign key: samples live for minutes, and pruneMetricSamples removes a
 * closed session's samples as well as old ones, so none outlives its session
 * for long; the (at) index goes, the minute's pruning reads the few tens of
 * thousands of samples whole.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table metric_samples_new (
      session_id text not null,
      at bigint not null,
      cpu_total bigint not null,
      mem_total bigint not null,
      data_total bigint not null,
      calls_total bigint not null,
      dbms_total bigint not null,
      primary key (session_id, at)
    ) without rowid`.execute(db);
  await sql`
    insert or replace into metric_samples_new (session_id, at, cpu_total, mem_total, data_total, calls_total, dbms_total)
    select session_id, at, cpu_total, mem_total, data_total, calls_total, dbms_total from metric_samples order by rowid`.execute(db);
  await sql`drop table metric_samples`.execute(db);
  await sql`alter table metric_samples_new rename to metric_samples`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    create table metric_samples_old (
      session_id text not null references sessions (id) on delete cascade,
      at bigint not null,
      cpu_total bigint not null,
      mem_total bigint not null,
      data_total bigint not null,
      calls_total bigint not null,
      dbms_total bigint not null
    )`.execute(db);
  await sql`insert into metric_samples_old select * from metric_samples`.execute(db);
  await sql`drop table metric_samples`.execute(db);
  await sql`alter table metric_samples_old rename to metric_samples`.execute(db);
  await sql`create index metric_samples_session_at on metric_samples (session_id, at)`.execute(db);
  await sql`create index metric_samples_at on metric_samples (at)`.execute(db);
}
