import { type Kysely, sql } from 'kysely';

// Frozen in time: never import application code here.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('licenses')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('client_id', 'integer', (c) => c.notNull().references('clients.id'))
    .addColumn('key', 'text', (c) => c.notNull().unique())
    .addColumn('product', 'text', (c) => c.notNull())
    .addColumn('max_hosts', 'integer', (c) => c.notNull())
    .addColumn('max_sessions', 'integer')
    .addColumn('expires_at', 'bigint')
    .addColumn('suspended_at', 'bigint')
    .addColumn('self_reset_quota', 'integer')
    .addColumn('notes', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('licenses_client').on('licenses').column('client_id').execute();

  // A license's features; max_sessions null = no per-feature limit.
  await db.schema
    .createTable('license_features')
    .addColumn('license_id', 'integer', (c) => c.notNull().references('licenses.id').onDelete('cascade'))
    .addColumn('feature', 'text', (c) => c.notNull())
    .addColumn('max_sessions', 'integer')
    .addPrimaryKeyConstraint('license_features_pk', ['license_id', 'feature'])
    .execute();

  // Bound hosts: license × fingerprint. A reset soft-deletes (reset_at) and frees the slot.
  await db.schema
    .createTable('hosts')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('license_id', 'integer', (c) => c.notNull().references('licenses.id'))
    .addColumn('fingerprint_hash', 'text', (c) => c.notNull())
    .addColumn('components', 'text', (c) => c.notNull())
    .addColumn('machine_hostname', 'text')
    .addColumn('machine_os', 'text')
    .addColumn('machine_ip', 'text')
    .addColumn('bound_at', 'bigint', (c) => c.notNull())
    .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
    .addColumn('reset_at', 'bigint')
    .addColumn('reset_reason', 'text')
    .addColumn('reset_by', 'text')
    .addColumn('reset_by_client', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await sql`create unique index hosts_bound on hosts (license_id, fingerprint_hash) where reset_at is null`.execute(db);
  await db.schema.createIndex('hosts_license_reset').on('hosts').columns(['license_id', 'reset_at']).execute();

  await db.schema
    .createTable('infobases')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('client_id', 'integer', (c) => c.notNull().references('clients.id'))
    .addColumn('external_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    // The lock: lock_set_at null = no lock. Window [lock_from, lock_to), either end open.
    .addColumn('lock_set_at', 'bigint')
    .addColumn('lock_set_by', 'text')
    .addColumn('lock_from', 'bigint')
    .addColumn('lock_to', 'bigint')
    .addColumn('lock_message', 'text')
    .addColumn('lock_code', 'text')
    .addColumn('lock_deny_sessions', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('lock_deny_background', 'integer', (c) => c.notNull().defaultTo(0))
    .addUniqueConstraint('infobases_client_external', ['client_id', 'external_id'])
    .execute();

  // Session numbers: per infobase ('ib:<id>') or per license ('lic:<id>'), never reused.
  await db.schema
    .createTable('session_counters')
    .addColumn('scope', 'text', (c) => c.primaryKey())
    .addColumn('last_number', 'integer', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('license_id', 'integer', (c) => c.notNull().references('licenses.id'))
    .addColumn('client_id', 'integer', (c) => c.notNull().references('clients.id'))
    .addColumn('host_id', 'integer', (c) => c.notNull().references('hosts.id'))
    .addColumn('infobase_id', 'integer', (c) => c.references('infobases.id'))
    .addColumn('session_number', 'integer', (c) => c.notNull())
    .addColumn('client_session_id', 'text')
    .addColumn('token_hash', 'text', (c) => c.notNull())
    .addColumn('user_name', 'text', (c) => c.notNull())
    .addColumn('roles', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('connection_type', 'text', (c) => c.notNull())
    .addColumn('app_name', 'text')
    .addColumn('app_version', 'text')
    .addColumn('machine_hostname', 'text')
    .addColumn('machine_os', 'text')
    .addColumn('machine_ip', 'text')
    .addColumn('client_ip', 'text')
    .addColumn('client_hostname', 'text')
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
    .addColumn('last_input_at', 'bigint')
    .addColumn('sleeping', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('running', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('heartbeat_interval_sec', 'integer', (c) => c.notNull())
    // Metrics: accumulated totals (what the monitor shows as Total), the last
    // reported raw totals (to detect counter restarts), current figures and
    // the last-5-minute figures computed at the latest heartbeat.
    .addColumn('cpu_current', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('mem_current', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('cpu_total', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('mem_total', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('data_total', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('calls_total', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('dbms_total', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('cpu_reported', 'bigint')
    .addColumn('data_reported', 'bigint')
    .addColumn('calls_reported', 'bigint')
    .addColumn('dbms_reported', 'bigint')
    .addColumn('cpu_5m', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('mem_5m', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('data_5m', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('calls_5m', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('dbms_5m', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('closed_at', 'bigint')
    .addColumn('close_reason', 'text')
    .addColumn('close_message', 'text')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await sql`create unique index sessions_client_session on sessions (license_id, client_session_id) where client_session_id is not null`.execute(db);
  await sql`create index sessions_open_license on sessions (license_id) where closed_at is null`.execute(db);
  await sql`create index sessions_open_host on sessions (host_id) where closed_at is null`.execute(db);
  await sql`create index sessions_open_infobase on sessions (infobase_id) where closed_at is null`.execute(db);
  await sql`create index sessions_open_client on sessions (client_id) where closed_at is null`.execute(db);
  await sql`create index sessions_open_last_seen on sessions (last_seen_at) where closed_at is null`.execute(db);
  await db.schema.createIndex('sessions_closed_at').on('sessions').column('closed_at').execute();

  await db.schema
    .createTable('session_features')
    .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
    .addColumn('license_id', 'integer', (c) => c.notNull())
    .addColumn('feature', 'text', (c) => c.notNull())
    .addColumn('acquired_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('session_features_pk', ['session_id', 'feature'])
    .execute();
  await db.schema.createIndex('session_features_license').on('session_features').columns(['license_id', 'feature']).execute();

  // Accumulated totals at each heartbeat, kept only as long as last-5-minute figures need them.
  await db.schema
    .createTable('metric_samples')
    .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('cpu_total', 'bigint', (c) => c.notNull())
    .addColumn('mem_total', 'bigint', (c) => c.notNull())
    .addColumn('data_total', 'bigint', (c) => c.notNull())
    .addColumn('calls_total', 'bigint', (c) => c.notNull())
    .addColumn('dbms_total', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('metric_samples_session_at').on('metric_samples').columns(['session_id', 'at']).execute();
  await db.schema.createIndex('metric_samples_at').on('metric_samples').column('at').execute();

  await db.schema
    .createTable('packages')
    .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
    .addColumn('package_id', 'text', (c) => c.notNull())
    .addColumn('path', 'text')
    .addColumn('name', 'text')
    .addColumn('version', 'text')
    .addColumn('created_at', 'bigint')
    .addColumn('saved_at', 'bigint')
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('progress', 'integer')
    .addColumn('node', 'text')
    .addColumn('node_started_at', 'bigint')
    .addColumn('refs', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('origin', 'text', (c) => c.notNull())
    .addColumn('opened_at', 'bigint', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('packages_pk', ['session_id', 'package_id'])
    .execute();

  await db.schema
    .createTable('shared_packages')
    .addColumn('host_id', 'integer', (c) => c.notNull().references('hosts.id'))
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('added_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('shared_packages_pk', ['host_id', 'path'])
    .execute();

  await db.schema
    .createTable('pool_entries')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('host_id', 'integer', (c) => c.notNull().references('hosts.id'))
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('version', 'text')
    .addColumn('saved_at', 'bigint')
    .addColumn('refs', 'text', (c) => c.notNull().defaultTo('[]'))
    // Larger = more recently used.
    .addColumn('lru', 'integer', (c) => c.notNull())
    .addColumn('added_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('pool_entries_host').on('pool_entries').columns(['host_id', 'lru']).execute();

  await db.schema
    .createTable('commands')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('package_id', 'text')
    .addColumn('path', 'text')
    .addColumn('text', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('acked_at', 'bigint')
    .execute();
  await db.schema.createIndex('commands_session').on('commands').columns(['session_id', 'acked_at', 'seq']).execute();

  // History by key: every feature capture and every refusal of a known license.
  await db.schema
    .createTable('license_events')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('license_id', 'integer', (c) => c.notNull().references('licenses.id'))
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('capture', 'refusal', 'open', 'close')`))
    .addColumn('code', 'text')
    .addColumn('feature', 'text')
    .addColumn('user_name', 'text')
    .addColumn('host_id', 'integer')
    .addColumn('hostname', 'text')
    .addColumn('fingerprint_hash', 'text')
    .addColumn('client_ip', 'text')
    .addColumn('session_id', 'text')
    .execute();
  await db.schema.createIndex('license_events_license_at').on('license_events').columns(['license_id', 'at']).execute();
  await db.schema.createIndex('license_events_at').on('license_events').column('at').execute();

  // change_version: the refresh change marker, moved by every change the monitor shows.
  // alive_at: the server's last sign of life, to forgive its own downtime on restart.
  await db.schema
    .createTable('server_state')
    .addColumn('id', 'integer', (c) => c.primaryKey().check(sql`id = 1`))
    .addColumn('change_version', 'bigint', (c) => c.notNull())
    .addColumn('alive_at', 'bigint')
    .execute();
  await db.insertInto('server_state').values({ id: 1, change_version: 1 }).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of [
    'server_state', 'license_events', 'commands', 'pool_entries', 'shared_packages', 'packages',
    'metric_samples', 'session_features', 'sessions', 'session_counters', 'infobases', 'hosts',
    'license_features', 'licenses',
  ]) {
    await db.schema.dropTable(t).execute();
  }
}
