import { createHash } from 'node:crypto';
import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../db/connection.js';
import { packagesOf } from './session-queries.js';
import type { CommandType, ConnectionType, PackageRow, UserRow } from '../db/schema.js';
import { cleanColumns, parseColumns, type ColumnId, type FilterKey, type MonitorQuery } from '../lib/monitor-query.js';
import type { Actor } from './actor.js';
import { recordAudit } from './audit.js';
import { shortHash } from './fingerprint.js';
import { lockState, type LockState } from './infobases.js';
import { sharedPackagesOfHosts, type SharedPackage } from './packages.js';
import { sessionState, type SessionState } from './session-actions.js';
import { SEARCH_SEPARATOR } from './session-search.js';
import { contains as like, likeContains, searchWords, sessionOfHost } from './sql-helpers.js';
import { setUserPreferences } from './users.js';

/** Who is looking: staff see every client (null), a client user only their own client. */
export interface MonitorScope {
  clientId: number | null;
}

export type Role = 'admin' | 'design' | 'viewer' | 'execute';
const ROLE_ORDER: readonly Role[] = ['admin', 'design', 'viewer', 'execute'];

export interface Figures {
  cur?: number;
  '5m': number;
  total: number;
}

/** One row of the sessions table. */
export interface MonitorSession {
  id: string;
  hostId: number;
  licenseId: number;
  clientId: number;
  number: number;
  clientSessionId: string | null;
  user: string;
  topRole: Role | null;
  connection: ConnectionType;
  appName: string | null;
  appVersion: string | null;
  machineHostname: string | null;
  machineIp: string | null;
  clientIp: string | null;
  clientHostname: string | null;
  startedAt: number;
  lastSeenAt: number;
  /** Last activity: the agent's last real input when sent, else the last heartbeat. */
  activityAt: number;
  sleeping: boolean;
  running: boolean;
  state: SessionState;
  licenseKey: string;
  clientName: string;
  infobase: { id: number; name: string; externalId: string } | null;
  metrics: { cpu: Figures; memory: Figures; data: Figures; calls: Figures; dbms: Figures };
  features: string[];
  /** Open packages and how many of them run. */
  packageCount: number;
  /** Commands sent and not yet acknowledged: "stop" for the whole session, and per package. */
  pending: { session: CommandType[]; packages: Record<string, CommandType[]> };
  /** The packages, only for expanded rows. */
  packages: PackageRow[] | null;
}

export interface HostLabel {
  hostId: number;
  hostname: string | null;
  ip: string | null;
  licenseKey: string;
}

export interface PoolItem {
  id: number;
  path: string;
  version: string | null;
  savedAt: number | null;
  addedAt: number;
}

export interface MonitorPage {
  rows: MonitorSession[];
  total: number;
  pages: number;
  /** Hosts of the rows shown (and the host filter), with their shared packages and pools. */
  hosts: HostLabel[];
  shared: SharedPackage[];
  pool: (PoolItem & { hostId: number })[];
  info: SessionInfo | null;
  /** Names of the entry filters (license key, client, infobase, host) for their chips. */
  labels: Partial<Record<'license' | 'client' | 'infobase' | 'host', string>>;
  /** Filtered by an infobase: its lock state now (a lock window opens and closes by time alone, see staleAt). */
  infobaseLock?: LockState;
  /** That lock refuses only background jobs (ordinary users get in): its badge says so. */
  infobaseLockJobsOnly?: boolean;
  /** When a row shown turns late without anything written: the refresh must not answer "unchanged" after it. */
  staleAt: number | null;
}

// ---------------------------------------------------------------------------
// Filters and sorts as SQL over sessions s. Names that live in other tables
// (license key, client, infobase) are matched there first ("s.client_id in
// (select …)"), so counting and paging never join: with 10,000 open sessions a
// join per row costs more than everything else together.

const ref = (col: string) => sql.ref(col);
const lateSql = (now: number) => sql<boolean>`(${now} - s.last_seen_at > 2000 * s.heartbeat_interval_sec)`;

const anyLike = (columns: string[], term: string) => sql<boolean>`(${sql.join(columns.map((c) => like(c, term)), sql` or `)})`;
/**
 * The global search on the session's own columns: one LIKE of the lowercased
 * term on the stored lowercased search text (src/models/session-search.ts;
 * both sides lowercased, so LIKE's ASCII folding adds nothing, and it is
 * cheaper than instr() here), read from the default sort's index; column by
 * column, as before, on rows without it (closed before it existed) and for a
 * term holding the text's column separator (it could match across two columns).
 */
function ownColumnsMatch(term: string, ascii: boolean): RawBuilder<boolean> {
  const columns = ['s.user_name', 's.client_session_id', 's.machine_hostname', 's.client_hostname', ...(ascii ? ['s.machine_ip', 's.client_ip'] : [])];
  const byColumn = anyLike(columns, term);
  if (term.includes(SEARCH_SEPARATOR)) return byColumn;
  return sql<boolean>`(case when s.search_text is null then ${byColumn} else ${likeContains('s.search_text', term.toLowerCase())} end)`;
}
const asNumber = (term: string) => (/^\d{1,12}$/.test(term) ? Number(term) : null);

const licenseLike = (v: string) => sql<boolean>`s.license_id in (select id from licenses where ${like('key', v)})`;
const clientLike = (v: string) => sql<boolean>`s.client_id in (select id from clients where ${like('name', v)})`;
const infobaseLike = (v: string) => sql<boolean>`s.infobase_id in (select id from infobases where ${anyLike(['name', 'external_id'], v)})`;

function roleSql(role: string): RawBuilder<boolean> {
  const idx = ROLE_ORDER.indexOf(role as Role);
  const has = (r: string) => sql`s.roles like ${`%"${r}"%`}`;
  const higher = ROLE_ORDER.slice(0, idx).map((r) => sql`not ${has(r)}`);
  return sql<boolean>`(${sql.join([has(role), ...higher], sql` and `)})`;
}

function filterSql(key: FilterKey, v: string, now: number): RawBuilder<boolean> {
  switch (key) {
    case 'session': {
      const n = asNumber(v);
      return n === null ? anyLike(['s.user_name', 's.client_session_id'], v) : sql<boolean>`(${anyLike(['s.user_name', 's.client_session_id'], v)} or s.session_number = ${n})`;
    }
    case 'user':
      return like('s.user_name', v);
    case 'host':
      return anyLike(['s.machine_hostname', 's.machine_ip'], v);
    case 'role':
      return roleSql(v);
    case 'version':
      return anyLike(['s.app_version', 's.app_name'], v);
    case 'path':
      return sql<boolean>`s.id in (select session_id from packages where ${like('path', v)})`;
    case 'license':
      return licenseLike(v);
    case 'client':
      return clientLike(v);
    case 'infobase':
      return infobaseLike(v);
    case 'connection':
      return sql<boolean>`s.connection_type = ${v}`;
    case 'state':
      if (v === 'running') return sql<boolean>`s.running = 1`;
      if (v === 'late') return lateSql(now);
      return sql<boolean>`(not ${lateSql(now)} and s.sleeping = ${v === 'sleeping' ? 1 : 0})`;
    case 'sleeping':
      return sql<boolean>`s.sleeping = ${v === 'yes' ? 1 : 0}`;
    case 'number':
      return sql<boolean>`s.session_number = ${asNumber(v) ?? -1}`;
    case 'clientIp':
      return anyLike(['s.client_ip', 's.client_hostname'], v);
    case 'features':
      return sql<boolean>`s.id in (select session_id from session_features where ${like('feature', v)})`;
  }
}

/** Every condition of the query (not the open/closed condition, which callers add). */
function conditions(scope: MonitorScope, q: MonitorQuery, now: number): RawBuilder<boolean>[] {
  const out: RawBuilder<boolean>[] = [];
  if (scope.clientId !== null) out.push(sql<boolean>`s.client_id = ${scope.clientId}`);
  if (q.license !== null) out.push(sql<boolean>`s.license_id = ${q.license}`);
  if (q.client !== null) out.push(sql<boolean>`s.client_id = ${q.client}`);
  if (q.infobase !== null) out.push(sql<boolean>`s.infobase_id = ${q.infobase}`);
  if (q.host !== null) out.push(sessionOfHost('s', q.host));
  // Every word of the search matches a column of the session, its license, client or infobase.
  for (const word of q.q ? searchWords(q.q) : []) {
    // IP addresses and license keys are ASCII: a term with other letters cannot be in them (and costs three LIKEs a column).
    const ascii = !/[^\x00-\x7f]/.test(word);
    const own = ownColumnsMatch(word, ascii);
    const n = asNumber(word);
    const parts = [own, ...(ascii ? [licenseLike(word)] : []), clientLike(word), infobaseLike(word), ...(n === null ? [] : [sql<boolean>`s.session_number = ${n}`])];
    out.push(sql<boolean>`(${sql.join(parts, sql` or `)})`);
  }
  for (const [k, v] of Object.entries(q.f) as [FilterKey, string][]) out.push(filterSql(k, v, now));
  return out;
}

const METRIC_COLUMNS: Record<string, string> = {
  cpu_cur: 's.cpu_current', cpu_5m: 's.cpu_5m', cpu_total: 's.cpu_total',
  memory_cur: 's.mem_current', memory_5m: 's.mem_5m', memory_total: 's.mem_total',
  data_5m: 's.data_5m', data_total: 's.data_total', calls_5m: 's.calls_5m', calls_total: 's.calls_total',
  dbms_5m: 's.dbms_5m', dbms_total: 's.dbms_total',
};

function sortSql(sort: string, now: number): RawBuilder<unknown> {
  if (METRIC_COLUMNS[sort]) return sql`${ref(METRIC_COLUMNS[sort])}`;
  switch (sort) {
    case 'session':
    case 'user':
      // The stored search text starts with the lowercased user name (session-search.ts): an order by
      // user that ignores case in every script ("alice" beside "Alice", not after "Zed"), read from the
      // default sort's index. Rows stored without it (none since its migration) fall back to the name.
      return sql`coalesce(s.search_text, s.user_name)`;
    case 'state':
      return sql`(case when ${lateSql(now)} then 2 when s.sleeping = 1 then 1 else 0 end)`;
    case 'activity':
      return sql`coalesce(s.last_input_at, s.last_seen_at)`;
    case 'host':
      return sql`s.machine_ip`;
    case 'role':
      return sql`(case ${sql.join(ROLE_ORDER.map((r, i) => sql`when s.roles like ${`%"${r}"%`} then ${i}`), sql` `)} else 9 end)`;
    case 'version':
      return sql`s.app_version`;
    case 'saved':
      return sql`(select max(p.saved_at) from packages p where p.session_id = s.id)`;
    case 'path':
      return sql`(select min(p.path) from packages p where p.session_id = s.id)`;
    case 'features':
      return sql`(select min(sf.feature) from session_features sf where sf.session_id = s.id)`;
    case 'license':
      return sql`(select key from licenses where id = s.license_id)`;
    case 'client':
      return sql`(select name from clients where id = s.client_id)`;
    case 'infobase':
      return sql`(select name from infobases where id = s.infobase_id)`;
    case 'connection':
      return sql`s.connection_type`;
    case 'sleeping':
      return sql`s.sleeping`;
    case 'number':
      return sql`s.session_number`;
    case 'clientIp':
      return sql`s.client_ip`;
    default: // started, created
      return sql`s.started_at`;
  }
}

/** Open sessions matching the query: sessions alone, no join. */
function matching(db: Db, scope: MonitorScope, q: MonitorQuery, now: number) {
  let b = db.selectFrom('sessions as s').where('s.closed_at', 'is', null);
  for (const cond of conditions(scope, q, now)) b = b.where(cond);
  return b;
}

/** Sessions with the names the table shows from other tables. */
function baseQuery(db: Db) {
  return db
    .selectFrom('sessions as s')
    .innerJoin('licenses as l', 'l.id', 's.license_id')
    .innerJoin('clients as c', 'c.id', 's.client_id')
    .leftJoin('infobases as i', 'i.id', 's.infobase_id');
}

// ---------------------------------------------------------------------------

const roleOf = (rolesJson: string): Role | null => {
  try {
    const roles = JSON.parse(rolesJson) as unknown;
    return Array.isArray(roles) ? ROLE_ORDER.find((r) => roles.includes(r)) ?? null : null;
  } catch {
    return null;
  }
};

const jsonIds = (list: readonly (string | number)[]) => JSON.stringify(list);

const ROW_COLUMNS = [
  's.id', 's.host_id', 's.license_id', 's.client_id', 's.infobase_id', 's.session_number', 's.client_session_id', 's.user_name', 's.roles',
  's.connection_type', 's.app_name', 's.app_version', 's.machine_hostname', 's.machine_ip', 's.client_ip', 's.client_hostname',
  's.started_at', 's.last_seen_at', 's.last_input_at', 's.sleeping', 's.running', 's.heartbeat_interval_sec',
  's.cpu_current', 's.mem_current', 's.cpu_5m', 's.mem_5m', 's.data_5m', 's.calls_5m', 's.dbms_5m',
  's.cpu_total', 's.mem_total', 's.data_total', 's.calls_total', 's.dbms_total',
  'l.key as license_key', 'c.name as client_name', 'i.name as ib_name', 'i.external_id as ib_external_id',
] as const;

type RawRow = Awaited<ReturnType<ReturnType<typeof rowQuery>['executeTakeFirstOrThrow']>>;
const rowQuery = (db: Db) => baseQuery(db).select(ROW_COLUMNS);

function toSession(r: RawRow, now: number, ex: Extras | undefined, packages: PackageRow[] | null): MonitorSession {
  return {
    id: r.id,
    hostId: r.host_id,
    licenseId: r.license_id,
    clientId: r.client_id,
    number: r.session_number,
    clientSessionId: r.client_session_id,
    user: r.user_name,
    topRole: roleOf(r.roles),
    connection: r.connection_type,
    appName: r.app_name,
    appVersion: r.app_version,
    machineHostname: r.machine_hostname,
    machineIp: r.machine_ip,
    clientIp: r.client_ip,
    clientHostname: r.client_hostname,
    startedAt: r.started_at,
    lastSeenAt: r.last_seen_at,
    activityAt: r.last_input_at ?? r.last_seen_at,
    sleeping: r.sleeping === 1,
    running: r.running === 1,
    state: sessionState(r, now),
    licenseKey: r.license_key,
    clientName: r.client_name,
    infobase: r.infobase_id !== null ? { id: r.infobase_id, name: r.ib_name ?? '', externalId: r.ib_external_id ?? '' } : null,
    metrics: {
      cpu: { cur: Number(r.cpu_current), '5m': Number(r.cpu_5m), total: Number(r.cpu_total) },
      memory: { cur: Number(r.mem_current), '5m': Number(r.mem_5m), total: Number(r.mem_total) },
      data: { '5m': Number(r.data_5m), total: Number(r.data_total) },
      calls: { '5m': Number(r.calls_5m), total: Number(r.calls_total) },
      dbms: { '5m': Number(r.dbms_5m), total: Number(r.dbms_total) },
    },
    features: ex?.features ?? [],
    packageCount: ex?.packageCount ?? 0,
    pending: ex?.pending ?? { session: [], packages: {} },
    packages,
  };
}

/**
 * The monitor's sessions page for a viewer: open sessions matching the query,
 * sorted and paged, each with its features, package count and pending
 * commands (one extra query), the packages of expanded rows (one more), the
 * shared packages and pools of the hosts shown, and the info panel if open.
 */
export async function monitorPage(db: Db, scope: MonitorScope, q: MonitorQuery, now: number): Promise<MonitorPage> {
  const { ids, total } = await pageIdsOf(db, scope, q, now);
  const pages = Math.max(1, Math.ceil(total / q.size));
  const byId = new Map((ids.length ? await rowQuery(db).where('s.id', 'in', ids).execute() : []).map((r) => [r.id, r]));
  const raw = ids.map((id) => byId.get(id)).filter((r) => r !== undefined);

  const extras = await rowExtras(db, ids);
  const openIds = q.open.filter((id) => ids.includes(id));
  const packages = await packagesOf(db, openIds);

  // A filter or sort on the state picks rows by lateness, which time alone changes: never "unchanged".
  let staleAt: number | null = q.f.state || q.sort === 'state' ? now + 1 : null;
  const rows = raw.map((r) => {
    const lateAt = r.last_seen_at + 2000 * r.heartbeat_interval_sec;
    if (lateAt >= now && (staleAt === null || lateAt < staleAt)) staleAt = lateAt + 1;
    return toSession(r, now, extras.get(r.id), openIds.includes(r.id) ? packages.get(r.id) ?? [] : null);
  });

  const hostIds = [...new Set([...rows.map((r) => r.hostId), ...(q.host !== null ? [q.host] : [])])];
  const hosts = await hostLabels(db, scope, hostIds);
  const visibleHosts = hosts.map((h) => h.hostId);
  const [shared, pool] = await Promise.all([sharedPackagesOfHosts(db, visibleHosts), poolsOf(db, visibleHosts)]);
  const info = q.info ? await sessionInfo(db, scope, q.info, now) : null;
  const { labels, infobaseLock, infobaseLockJobsOnly, lockChangesAt } = await filterLabels(db, scope, q, now);
  if (lockChangesAt !== null && (staleAt === null || lockChangesAt < staleAt)) staleAt = lockChangesAt;
  return { rows, total, pages, hosts, shared, pool, info, labels, infobaseLock, ...(infobaseLockJobsOnly ? { infobaseLockJobsOnly } : {}), staleAt };
}

/**
 * Whether a client user's query names something that is not their client's: a license, client,
 * infobase, host (bound or reset) or session of another client, or none at all. Such a page is a
 * 404 for them (PRODUCT "Who may do what"), not an empty list. Staff: a license, client, infobase or
 * host that does not exist, likewise a 404 rather than a filter chip "#999" over an empty list
 * (an info panel's session may have been purged since: that panel just does not show).
 */
export async function namesOthers(db: Db, scope: MonitorScope, q: MonitorQuery): Promise<boolean> {
  const own = scope.clientId;
  if (own === null) {
    const missing = async (table: 'licenses' | 'infobases' | 'clients' | 'hosts', id: number | null) =>
      id !== null && !(await db.selectFrom(table).select('id').where('id', '=', id).executeTakeFirst());
    return (await missing('licenses', q.license)) || (await missing('clients', q.client)) || (await missing('infobases', q.infobase)) || (await missing('hosts', q.host));
  }
  if (q.client !== null && q.client !== own) return true;
  const owner = async (table: 'licenses' | 'infobases' | 'sessions', id: number | string) =>
    (await db.selectFrom(table).select('client_id').where('id', '=', id as never).executeTakeFirst())?.client_id;
  if (q.license !== null && (await owner('licenses', q.license)) !== own) return true;
  if (q.infobase !== null && (await owner('infobases', q.infobase)) !== own) return true;
  if (q.info !== null && (await owner('sessions', q.info)) !== own) return true;
  if (q.host !== null) {
    const h = await db.selectFrom('hosts as h').innerJoin('licenses as l', 'l.id', 'h.license_id').select('l.client_id').where('h.id', '=', q.host).executeTakeFirst();
    if (h?.client_id !== own) return true;
  }
  return false;
}

/**
 * What the entry filters name, as the viewer may see it (nothing for another client's ids), and the
 * filtered infobase's lock state with the next moment it changes by time alone (its from or to).
 */
async function filterLabels(db: Db, scope: MonitorScope, q: MonitorQuery, now: number) {
  const out: MonitorPage['labels'] = {};
  let infobaseLock: LockState | undefined;
  let infobaseLockJobsOnly = false;
  let lockChangesAt: number | null = null;
  const own = scope.clientId;
  if (q.license !== null) {
    let b = db.selectFrom('licenses').select('key').where('id', '=', q.license);
    if (own !== null) b = b.where('client_id', '=', own);
    out.license = (await b.executeTakeFirst())?.key;
  }
  if (q.client !== null && (own === null || own === q.client)) {
    out.client = (await db.selectFrom('clients').select('name').where('id', '=', q.client).executeTakeFirst())?.name;
  }
  if (q.infobase !== null) {
    let b = db.selectFrom('infobases').select(['name', 'lock_set_at', 'lock_from', 'lock_to', 'lock_deny_sessions']).where('id', '=', q.infobase);
    if (own !== null) b = b.where('client_id', '=', own);
    const ib = await b.executeTakeFirst();
    out.infobase = ib?.name;
    if (ib) {
      infobaseLock = lockState(ib, now);
      infobaseLockJobsOnly = ib.lock_set_at !== null && ib.lock_deny_sessions === 0;
      if (ib.lock_set_at !== null) lockChangesAt = [ib.lock_from, ib.lock_to].find((at) => at !== null && at > now) ?? null;
    }
  }
  if (q.host !== null) {
    const [h] = await hostLabels(db, scope, [q.host]);
    if (h) out.host = h.hostname ?? h.ip ?? undefined;
  }
  return { labels: out, infobaseLock, infobaseLockJobsOnly, lockChangesAt };
}

/**
 * The ids of the page asked for and the number of matches. Unfiltered, a
 * count and a walk of the sort's index up to the page; filtered (a scan of
 * every open session either way), one scan that sorts all matches and pages
 * them here, rather than scanning twice.
 */
async function pageIdsOf(db: Db, scope: MonitorScope, q: MonitorQuery, now: number): Promise<{ ids: string[]; total: number }> {
  const sorted = () => matching(db, scope, q, now).select('s.id').orderBy(sortSql(q.sort, now), q.dir).orderBy('s.id', q.dir);
  if (q.q || Object.keys(q.f).length) {
    const all = (await sorted().execute()).map((r) => r.id);
    const page = Math.min(q.page, Math.max(1, Math.ceil(all.length / q.size)));
    return { ids: all.slice((page - 1) * q.size, page * q.size), total: all.length };
  }
  const totalRow = await matching(db, scope, q, now).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  const total = Number(totalRow.n);
  const page = Math.min(q.page, Math.max(1, Math.ceil(total / q.size)));
  const rows = await sorted().limit(q.size).offset((page - 1) * q.size).execute();
  return { ids: rows.map((r) => r.id), total };
}

interface Extras {
  features: string[];
  packageCount: number;
  pending: MonitorSession['pending'];
}

/** Features, package counts and pending commands of the rows shown, in one query. */
async function rowExtras(db: Db, ids: string[]): Promise<Map<string, Extras>> {
  const out = new Map<string, Extras>();
  if (!ids.length) return out;
  const list = jsonIds(ids);
  const res = await sql<{ sid: string; kind: 'f' | 'c' | 'p'; a: string | number; b: string | null }>`
    select session_id as sid, 'f' as kind, feature as a, null as b from session_features
      where session_id in (select value from json_each(${list}))
    union all
    select session_id, 'c', type, package_id from commands
      where session_id in (select value from json_each(${list})) and acked_at is null
    union all
    select session_id, 'p', count(*), null from packages
      where session_id in (select value from json_each(${list})) group by session_id`.execute(db);
  for (const r of res.rows) {
    let e = out.get(r.sid);
    if (!e) out.set(r.sid, (e = { features: [], packageCount: 0, pending: { session: [], packages: {} } }));
    if (r.kind === 'f') e.features.push(String(r.a));
    else if (r.kind === 'p') e.packageCount = Number(r.a);
    else if (r.b === null) e.pending.session.push(r.a as CommandType);
    else (e.pending.packages[r.b] ??= []).push(r.a as CommandType);
  }
  for (const e of out.values()) e.features.sort();
  return out;
}

/** Bound hosts by id with what names them, confined to the viewer's client. */
async function hostLabels(db: Db, scope: MonitorScope, hostIds: number[]): Promise<HostLabel[]> {
  if (!hostIds.length) return [];
  let q = db
    .selectFrom('hosts as h')
    .innerJoin('licenses as l', 'l.id', 'h.license_id')
    .select(['h.id', 'h.machine_hostname', 'h.machine_ip', 'l.key'])
    .where('h.id', 'in', hostIds)
    .where('h.reset_at', 'is', null);
  if (scope.clientId !== null) q = q.where('l.client_id', '=', scope.clientId);
  const rows = await q.orderBy('h.machine_hostname').orderBy('h.id').execute();
  return rows.map((r) => ({ hostId: r.id, hostname: r.machine_hostname, ip: r.machine_ip, licenseKey: r.key }));
}

/** The pools of several hosts, each most recently used first. */
async function poolsOf(db: Db, hostIds: number[]): Promise<MonitorPage['pool']> {
  if (!hostIds.length) return [];
  const rows = await db
    .selectFrom('pool_entries')
    .select(['id', 'host_id', 'path', 'version', 'saved_at', 'added_at'])
    .where('host_id', 'in', hostIds)
    .orderBy('host_id')
    .orderBy('lru', 'desc')
    .execute();
  return rows.map((r) => ({ id: r.id, hostId: r.host_id, path: r.path, version: r.version, savedAt: r.saved_at, addedAt: r.added_at }));
}

// ---------------------------------------------------------------------------
// The info panel.

export interface SessionInfo {
  session: MonitorSession;
  machineOs: string | null;
  /** The binding the session uses. */
  binding: { hostId: number; boundAt: number; fingerprintShort: string; hostname: string | null; ip: string | null; os: string | null };
  /** Fingerprint components; null for client users, who see the hostname and short hash only. */
  components: [string, string][] | null;
}

/** Everything the info panel shows about one open session the viewer may see, or null. */
export async function sessionInfo(db: Db, scope: MonitorScope, id: string, now: number): Promise<SessionInfo | null> {
  let q = rowQuery(db)
    .innerJoin('hosts as h', 'h.id', 's.host_id')
    .select(['s.machine_os', 'h.bound_at', 'h.fingerprint_hash', 'h.components', 'h.machine_hostname as h_hostname', 'h.machine_ip as h_ip', 'h.machine_os as h_os'])
    .where('s.id', '=', id)
    .where('s.closed_at', 'is', null);
  if (scope.clientId !== null) q = q.where('s.client_id', '=', scope.clientId);
  const r = await q.executeTakeFirst();
  if (!r) return null;
  const [extras, packages] = await Promise.all([rowExtras(db, [id]), packagesOf(db, [id])]);
  let components: [string, string][] | null = null;
  if (scope.clientId === null) {
    try {
      components = Object.entries(JSON.parse(r.components) as Record<string, string>).map(([k, v]) => [k, String(v)]);
    } catch {
      components = [];
    }
  }
  return {
    session: toSession(r, now, extras.get(id), packages.get(id) ?? []),
    machineOs: r.machine_os,
    binding: { hostId: r.host_id, boundAt: r.bound_at, fingerprintShort: shortHash(r.fingerprint_hash), hostname: r.h_hostname, ip: r.h_ip, os: r.h_os },
    components,
  };
}

// ---------------------------------------------------------------------------
// What an action names, looked up within the viewer's scope (anything else is "not found").

export interface ActionSession {
  id: string;
  hostId: number;
  clientId: number;
  label: string;
  running: boolean;
}

const sessionLabel = (r: { user_name: string; client_session_id: string | null; session_number: number }) =>
  `${r.user_name} ${r.client_session_id ?? `#${r.session_number}`}`;

/** An open session the viewer may act on, or undefined. */
export async function actionSession(db: Db, scope: MonitorScope, id: string): Promise<ActionSession | undefined> {
  let q = db
    .selectFrom('sessions')
    .select(['id', 'host_id', 'client_id', 'user_name', 'client_session_id', 'session_number', 'running'])
    .where('id', '=', id)
    .where('closed_at', 'is', null);
  if (scope.clientId !== null) q = q.where('client_id', '=', scope.clientId);
  const r = await q.executeTakeFirst();
  return r && { id: r.id, hostId: r.host_id, clientId: r.client_id, label: sessionLabel(r), running: r.running === 1 };
}

/** A package open in a session the viewer may act on, or undefined. */
export async function actionPackage(db: Db, scope: MonitorScope, sessionId: string, packageId: string) {
  const session = await actionSession(db, scope, sessionId);
  if (!session) return undefined;
  const pkg = await db.selectFrom('packages').selectAll().where('session_id', '=', sessionId).where('package_id', '=', packageId).executeTakeFirst();
  return pkg && { session, pkg, label: pkg.name ?? pkg.path ?? pkg.package_id };
}

/** A bound host the viewer may act on with its open session count, or undefined. */
export async function actionHost(db: Db, scope: MonitorScope, hostId: number) {
  const [host] = await hostLabels(db, scope, [hostId]);
  if (!host) return undefined;
  const row = await db
    .selectFrom('sessions')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where(sessionOfHost('sessions', hostId))
    .where('closed_at', 'is', null)
    .executeTakeFirstOrThrow();
  const poolRow = await db.selectFrom('pool_entries').select((eb) => eb.fn.countAll<number>().as('n')).where('host_id', '=', hostId).executeTakeFirstOrThrow();
  return { ...host, openSessions: Number(row.n), pooled: Number(poolRow.n) };
}

/** A shared package of a host the viewer may act on, with its reference count, or undefined. */
export async function actionShared(db: Db, scope: MonitorScope, hostId: number, path: string) {
  const host = await actionHost(db, scope, hostId);
  if (!host) return undefined;
  const shared = (await sharedPackagesOfHosts(db, [hostId])).find((s) => s.path === path);
  return shared && { host, shared };
}

// ---------------------------------------------------------------------------
// Terminate all: the confirm dialog counts the sessions the filter shows at a
// moment; the action terminates exactly those (the ones still open), checked
// by a digest of their ids, so sessions opened in between are never touched.

/** Ids of the sessions matching the query that were open at `asOf`, sorted. */
export async function sessionIdsOpenAt(db: Db, scope: MonitorScope, q: MonitorQuery, asOf: number): Promise<string[]> {
  let b = db
    .selectFrom('sessions as s')
    .where('s.started_at', '<=', asOf)
    .where((eb) => eb.or([eb('s.closed_at', 'is', null), eb('s.closed_at', '>', asOf)]));
  for (const cond of conditions(scope, q, asOf)) b = b.where(cond);
  const rows = await b.select('s.id').orderBy('s.id').execute();
  return rows.map((r) => r.id);
}

/** A short digest of a set of ids, to check that a confirmed set is still the same set. */
export function idsDigest(ids: readonly string[]): string {
  return createHash('sha256').update(ids.join('\n')).digest('base64url').slice(0, 22);
}

// ---------------------------------------------------------------------------
// Per-user preferences of the monitor.

export interface MonitorPrefs {
  columns: ColumnId[];
  resolveNames: boolean;
}

/** The user's monitor preferences: the chosen columns (or the default set) and name resolution. */
export function monitorPrefs(user: Pick<UserRow, 'monitor_columns' | 'monitor_resolve_names' | 'role'>): MonitorPrefs {
  return { columns: parseColumns(user.monitor_columns, user.role), resolveNames: user.monitor_resolve_names === 1 };
}

/** Remembers the columns the user shows (unknown ones dropped, the first always kept). */
export async function saveMonitorColumns(db: Db, userId: number, columns: readonly string[]): Promise<ColumnId[]> {
  const clean = cleanColumns(columns);
  await setUserPreferences(db, userId, { monitorColumns: clean });
  return clean;
}

/** Turns "Resolve names by IP" on or off for the acting user, audited. */
export async function setResolveNames(db: Db, actor: Extract<Actor, { type: 'user' }>, on: boolean, now: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('users').set({ monitor_resolve_names: on ? 1 : 0 }).where('id', '=', actor.id).execute();
    await recordAudit(trx, actor, { action: 'monitor.resolve_names', targetType: 'user', targetId: actor.id, targetLabel: actor.name, details: { on } }, now);
  });
}

/** How many pooled package instances, on how many hosts, "Clear all pools" would drop for this viewer. */
export async function poolTotals(db: Db, scope: MonitorScope): Promise<{ hosts: number; instances: number }> {
  let q = db
    .selectFrom('pool_entries')
    .innerJoin('hosts', 'hosts.id', 'pool_entries.host_id')
    .innerJoin('licenses', 'licenses.id', 'hosts.license_id')
    .select((eb) => [eb.fn.countAll<number>().as('instances'), eb.fn.count<number>('pool_entries.host_id').distinct().as('hosts')])
    .where('hosts.reset_at', 'is', null);
  if (scope.clientId !== null) q = q.where('licenses.client_id', '=', scope.clientId);
  const row = await q.executeTakeFirstOrThrow();
  return { hosts: Number(row.hosts), instances: Number(row.instances) };
}
