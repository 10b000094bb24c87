import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

// Row types: the database's shape. Times are epoch milliseconds; booleans are 0/1;
// JSON columns are text. Domain types live in src/models.

export type Role = 'admin' | 'support' | 'client';
export type StaffRole = 'admin' | 'support';

export interface ClientTable {
  id: Generated<number>;
  name: string;
  email: string | null;
  phone: string | null;
  contact_person: string | null;
  notes: string | null;
  created_at: number;
  updated_at: number;
}

export interface UserTable {
  id: Generated<number>;
  email: string;
  name: string | null;
  password_hash: string;
  role: Role;
  client_id: number | null;
  locale: string | null;
  time_zone: string | null;
  monitor_columns: string | null;
  monitor_resolve_names: Generated<number>;
  disabled_at: number | null;
  created_at: number;
  password_changed_at: number;
}

export interface WebSessionTable {
  token_hash: string;
  user_id: number;
  created_at: number;
  last_active_at: number;
  expires_at: number;
  ip: string | null;
  user_agent: string | null;
}

export interface SetupTokenTable {
  token_hash: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export interface ApiTokenTable {
  id: Generated<number>;
  name: string;
  token_hash: string;
  /** The token's first characters, e.g. "smt_77L5" (shown with "…"); null for tokens made before they were kept. */
  display_prefix: string | null;
  role: StaffRole;
  created_by: number | null;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: number;
  actor_type: 'user' | 'token' | 'system' | 'anonymous';
  actor_id: number | null;
  actor_name: string;
  action: string;
  target_type: string | null;
  target_id: string | null;
  target_label: string | null;
  client_id: number | null;
  reason: string | null;
  ip: string | null;
  details: string | null;
}

export interface SettingsTable {
  id: number;
  heartbeat_interval_sec: Generated<number>;
  lease_timeout_sec: Generated<number>;
  pool_size: Generated<number>;
  self_reset_quota_default: Generated<number>;
  retention_days: Generated<number>;
  updated_at: Generated<number>;
  support_contact: string | null;
}

export interface LicenseTable {
  id: Generated<number>;
  client_id: number;
  key: string;
  product: string;
  max_hosts: number;
  max_sessions: number | null;
  expires_at: number | null;
  suspended_at: number | null;
  self_reset_quota: number | null;
  notes: string | null;
  created_at: number;
  updated_at: number;
}

export interface LicenseFeatureTable {
  license_id: number;
  feature: string;
  max_sessions: number | null;
}

export interface HostTable {
  id: Generated<number>;
  license_id: number;
  fingerprint_hash: string;
  components: string;
  machine_hostname: string | null;
  machine_os: string | null;
  machine_ip: string | null;
  bound_at: number;
  last_seen_at: number;
  reset_at: number | null;
  reset_reason: string | null;
  reset_by: string | null;
  reset_by_client: Generated<number>;
}

export interface InfobaseTable {
  id: Generated<number>;
  client_id: number;
  external_id: string;
  name: string;
  created_at: number;
  lock_set_at: number | null;
  lock_set_by: string | null;
  lock_from: number | null;
  lock_to: number | null;
  lock_message: string | null;
  lock_code: string | null;
  lock_deny_sessions: Generated<number>;
  lock_deny_background: Generated<number>;
}

export interface SessionCounterTable {
  scope: string;
  last_number: number;
}

export type ConnectionType = 'client' | 'external' | 'background' | 'webservice';
export type CloseReason = 'terminated' | 'binding_reset' | 'timeout' | 'released' | 'license_suspended';

export interface SessionTable {
  id: string;
  license_id: number;
  client_id: number;
  host_id: number;
  infobase_id: number | null;
  session_number: number;
  client_session_id: string | null;
  token_hash: string;
  user_name: string;
  roles: Generated<string>;
  connection_type: ConnectionType;
  app_name: string | null;
  app_version: string | null;
  machine_hostname: string | null;
  machine_os: string | null;
  machine_ip: string | null;
  client_ip: string | null;
  client_hostname: string | null;
  started_at: number;
  last_seen_at: number;
  last_input_at: number | null;
  sleeping: Generated<number>;
  running: Generated<number>;
  heartbeat_interval_sec: number;
  cpu_current: Generated<number>;
  mem_current: Generated<number>;
  cpu_total: Generated<number>;
  mem_total: Generated<number>;
  data_total: Generated<number>;
  calls_total: Generated<number>;
  dbms_total: Generated<number>;
  cpu_reported: number | null;
  data_reported: number | null;
  calls_reported: number | null;
  dbms_reported: number | null;
  cpu_5m: Generated<number>;
  mem_5m: Generated<number>;
  data_5m: Generated<number>;
  calls_5m: Generated<number>;
  dbms_5m: Generated<number>;
  closed_at: number | null;
  close_reason: CloseReason | null;
  close_message: string | null;
  updated_at: number;
  /** The monitor's search text, set at capture: src/models/session-search.ts (null: searched column by column). */
  search_text: string | null;
}

export interface SessionFeatureTable {
  session_id: string;
  license_id: number;
  feature: string;
  acquired_at: number;
}

export interface MetricSampleTable {
  session_id: string;
  at: number;
  cpu_total: number;
  mem_total: number;
  data_total: number;
  calls_total: number;
  dbms_total: number;
}

export type PackageState = 'running' | 'idle';
export type PackageOrigin = 'interactive' | 'integrator' | 'batch';

export interface PackageTable {
  session_id: string;
  package_id: string;
  path: string | null;
  name: string | null;
  version: string | null;
  created_at: number | null;
  saved_at: number | null;
  state: PackageState;
  progress: number | null;
  node: string | null;
  node_started_at: number | null;
  refs: Generated<string>;
  origin: PackageOrigin;
  opened_at: number;
  seq: Generated<number>;
}

export interface SharedPackageTable {
  host_id: number;
  path: string;
  added_at: number;
}

export interface PoolEntryTable {
  id: Generated<number>;
  host_id: number;
  path: string;
  version: string | null;
  saved_at: number | null;
  refs: Generated<string>;
  lru: number;
  added_at: number;
}

export type CommandType = 'stop' | 'closePackage' | 'clearPool' | 'message';

export interface CommandTable {
  id: string;
  session_id: string;
  seq: number;
  type: CommandType;
  package_id: string | null;
  path: string | null;
  text: string | null;
  created_at: number;
  created_by: string | null;
  acked_at: number | null;
}

export interface LicenseEventTable {
  id: Generated<number>;
  license_id: number;
  at: number;
  kind: 'capture' | 'refusal' | 'open' | 'close';
  code: string | null;
  feature: string | null;
  user_name: string | null;
  host_id: number | null;
  hostname: string | null;
  fingerprint_hash: string | null;
  client_ip: string | null;
  session_id: string | null;
  /** The infobase whose lock refused (infobase_locked refusals only). */
  infobase_id: number | null;
}

/** License history older than the raw window, per hour (migration 60): events with the same key counted. */
export interface LicenseEventHourTable {
  license_id: number;
  /** Start of the hour (epoch ms, a multiple of 3,600,000). */
  hour: number;
  kind: 'capture' | 'refusal' | 'open' | 'close';
  code: string | null;
  feature: string | null;
  user_name: string | null;
  host_id: number | null;
  hostname: string | null;
  infobase_id: number | null;
  count: number;
  first_at: number;
  last_at: number;
}

export interface ServerStateTable {
  id: number;
  change_version: number;
  alive_at: number | null;
}

export interface DB {
  clients: ClientTable;
  users: UserTable;
  web_sessions: WebSessionTable;
  setup_tokens: SetupTokenTable;
  api_tokens: ApiTokenTable;
  audit_log: AuditLogTable;
  settings: SettingsTable;
  licenses: LicenseTable;
  license_features: LicenseFeatureTable;
  hosts: HostTable;
  infobases: InfobaseTable;
  session_counters: SessionCounterTable;
  sessions: SessionTable;
  session_features: SessionFeatureTable;
  metric_samples: MetricSampleTable;
  packages: PackageTable;
  shared_packages: SharedPackageTable;
  pool_entries: PoolEntryTable;
  commands: CommandTable;
  license_events: LicenseEventTable;
  license_event_hours: LicenseEventHourTable;
  server_state: ServerStateTable;
}

export type UserRow = Selectable<UserTable>;
export type NewUser = Insertable<UserTable>;
export type UserUpdate = Updateable<UserTable>;
export type ClientRow = Selectable<ClientTable>;
export type LicenseRow = Selectable<LicenseTable>;
export type HostRow = Selectable<HostTable>;
export type InfobaseRow = Selectable<InfobaseTable>;
export type SessionRow = Selectable<SessionTable>;
export type PackageRow = Selectable<PackageTable>;
export type PoolEntryRow = Selectable<PoolEntryTable>;
export type CommandRow = Selectable<CommandTable>;
export type LicenseEventRow = Selectable<LicenseEventTable>;
export type AuditRow = Selectable<AuditLogTable>;
export type ApiTokenRow = Selectable<ApiTokenTable>;
export type SettingsRow = Selectable<SettingsTable>;
