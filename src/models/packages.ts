import { sql, type RawBuilder } from 'kysely';
import type Database from 'better-sqlite3';
import { preparedStatement, type Db } from '../db/connection.js';
import type { PackageOrigin, PackageRow, PackageState } from '../db/schema.js';
import { AppError } from '../lib/errors.js';
import { sessionOfHost } from './sql-helpers.js';

/** One package of a heartbeat's snapshot, times already in epoch ms and clamped to now. */
export interface SnapshotPackage {
  id: string;
  path: string | null;
  name: string | null;
  version: string | null;
  createdAt: number | null;
  savedAt: number | null;
  state: PackageState;
  progress: number | null;
  node: string | null;
  nodeStartedAt: number | null;
  refs: string[];
  origin: PackageOrigin;
}

/** An instance lying in a host's pool (or about to enter it). */
interface PoolInstance {
  path: string;
  version: string | null;
  saved_at: number | null;
  refs: string;
}

const pooledOrigin = (origin: string) => origin === 'integrator' || origin === 'batch';
const ids = (list: readonly (string | number)[]) => JSON.stringify(list);

/** A session's stored package as the heartbeat reads it (one JSON array per package, see storedPackagesJson). */
export type StoredPackage = Omit<PackageRow, 'session_id' | 'opened_at'>;

const STORED_COLUMNS = [
  'package_id', 'path', 'name', 'version', 'created_at', 'saved_at', 'state', 'progress', 'node', 'node_started_at', 'refs', 'origin', 'seq',
] as const;

/** A scalar subquery (SQL text) giving a session's packages as JSON, so the heartbeat reads them with the session row. */
export const storedPackagesSql = (sessionRef: string) =>
  `(select json_group_array(json_array(${STORED_COLUMNS.join(', ')})) from packages where session_id = ${sessionRef})`;

/** Parses storedPackagesSql's value. */
export function parseStoredPackages(json: string): StoredPackage[] {
  // In STORED_COLUMNS order (a literal object: this runs on every heartbeat with packages).
  return (JSON.parse(json) as unknown[][]).map(
    ([package_id, path, name, version, created_at, saved_at, state, progress, node, node_started_at, refs, origin, seq]) =>
      ({ package_id, path, name, version, created_at, saved_at, state, progress, node, node_started_at, refs, origin, seq }) as StoredPackage,
  );
}

/** What a snapshot changes against the stored packages (see diffSnapshot). */
export interface SnapshotDiff {
  rows: ReturnType<typeof toRow>[];
  added: ReturnType<typeof toRow>[];
  /** Packages opened, closed, or with another path, version, file time, refs or origin: pools and shared lists may change. */
  structural: boolean;
  /** Packages whose state, progress, node or order alone changed. */
  volatile: ReturnType<typeof toRow>[];
}

/**
 * Compares a full package snapshot of a session (PROTOCOL §2 "Packages") with
 * what is stored. An unchanged snapshot writes nothing; a state/progress-only
 * one is writeVolatilePackages (one statement); anything else applyPackageSnapshot.
 */
export function diffSnapshot(sessionId: string, old: StoredPackage[], snapshot: SnapshotPackage[], now: number): SnapshotDiff {
  const oldById = new Map(old.map((p) => [p.package_id, p]));
  const rows = snapshot.map((p, i) => toRow(sessionId, p, i, now));
  let structural = old.length !== snapshot.length;
  const volatile: typeof rows = [];
  const added: typeof rows = [];
  for (const r of rows) {
    const o = oldById.get(r.package_id);
    if (!o) {
      structural = true;
      added.push(r);
    } else if (
      o.path !== r.path || o.name !== r.name || o.version !== r.version || o.created_at !== r.created_at ||
      o.saved_at !== r.saved_at || o.refs !== r.refs || o.origin !== r.origin
    ) {
      structural = true;
    } else if (o.state !== r.state || o.progress !== r.progress || o.node !== r.node || o.node_started_at !== r.node_started_at || o.seq !== r.seq) {
      volatile.push(r);
    }
  }
  return { rows, added, structural, volatile };
}

const UPDATE_VOLATILE = `
  update packages set state = v.value ->> '$[1]', progress = v.value ->> '$[2]', node = v.value ->> '$[3]',
    node_started_at = v.value ->> '$[4]', seq = v.value ->> '$[5]'
  from json_each(?) as v
  where packages.session_id = ? and packages.package_id = v.value ->> '$[0]'`;

const UPDATE_ONE_VOLATILE = 'update packages set state = ?, progress = ?, node = ?, node_started_at = ?, seq = ? where session_id = ? and package_id = ?';

/** Writes a non-structural diff: state, progress, node and order of the packages that changed (synchronous, one statement). */
export function writeVolatilePackages(raw: Database.Database, sessionId: string, diff: SnapshotDiff): void {
  if (diff.structural) throw new Error('writeVolatilePackages: a structural change goes through applyPackageSnapshot');
  if (!diff.volatile.length) return;
  if (diff.volatile.length === 1) {
    // The common case (the running package's progress moved): a point update, no JSON to build and walk.
    const r = diff.volatile[0];
    preparedStatement(raw, UPDATE_ONE_VOLATILE).run(r.state, r.progress, r.node, r.node_started_at, r.seq, sessionId, r.package_id);
    return;
  }
  const changes = JSON.stringify(diff.volatile.map((r) => [r.package_id, r.state, r.progress, r.node, r.node_started_at, r.seq]));
  preparedStatement(raw, UPDATE_VOLATILE).run(changes, sessionId);
}

/**
 * Applies a structural snapshot diff (diffSnapshot): packages rows, the host's
 * shared packages and pool. `old` is what is stored now.
 */
export async function applyPackageSnapshot(
  trx: Db,
  session: { id: string; hostId: number },
  old: StoredPackage[],
  snapshot: SnapshotPackage[],
  diff: SnapshotDiff,
  poolSize: number,
  now: number,
): Promise<void> {
  const { rows, added } = diff;
  const newIds = new Set(rows.map((r) => r.package_id));
  const removed = old.filter((o) => !newIds.has(o.package_id)).sort((a, b) => a.seq - b.seq);
  if (removed.length) {
    await trx
      .deleteFrom('packages')
      .where('session_id', '=', session.id)
      .where(sql<boolean>`package_id in (select value from json_each(${ids(removed.map((r) => r.package_id))}))`)
      .execute();
  }
  for (let i = 0; i < rows.length; i += 200) {
    await trx
      .insertInto('packages')
      .values(rows.slice(i, i + 200))
      .onConflict((oc) =>
        oc.columns(['session_id', 'package_id']).doUpdateSet((eb) => ({
          path: eb.ref('excluded.path'),
          name: eb.ref('excluded.name'),
          version: eb.ref('excluded.version'),
          created_at: eb.ref('excluded.created_at'),
          saved_at: eb.ref('excluded.saved_at'),
          state: eb.ref('excluded.state'),
          progress: eb.ref('excluded.progress'),
          node: eb.ref('excluded.node'),
          node_started_at: eb.ref('excluded.node_started_at'),
          refs: eb.ref('excluded.refs'),
          origin: eb.ref('excluded.origin'),
          seq: eb.ref('excluded.seq'),
        })),
      )
      .execute();
  }

  // Shared packages: every path a package of a live session refers to is listed for the host.
  const oldRefs = new Set(old.flatMap((o) => JSON.parse(o.refs) as string[]));
  const newRefs = [...new Set(snapshot.flatMap((p) => p.refs))].filter((r) => !oldRefs.has(r));
  if (newRefs.length) {
    await trx
      .insertInto('shared_packages')
      .values(newRefs.map((path) => ({ host_id: session.hostId, path, added_at: now })))
      .onConflict((oc) => oc.columns(['host_id', 'path']).doNothing())
      .execute();
  }

  // Pool: packages leaving the snapshot enter, reopened ones are taken back, newer files invalidate.
  let leaving = removed.filter((o) => o.path !== null && pooledOrigin(o.origin));
  if (leaving.length) {
    const closed = await ackedClosePackages(trx, [session.id]);
    leaving = leaving.filter((o) => !closed.some((c) => c.package_id === o.package_id || (c.package_id === null && c.path === o.path)));
  }
  const opened = added.filter((r) => r.path !== null && pooledOrigin(r.origin)).map((r) => r.path!);
  const saved = rows.filter((r) => r.path !== null && r.saved_at !== null) as { path: string; saved_at: number }[];
  if (!leaving.length && !opened.length && !saved.length) return;
  const entering = poolSize > 0 ? leaving.map((o) => ({ path: o.path!, version: o.version, saved_at: o.saved_at, refs: o.refs })) : [];
  await updatePool(trx, session.hostId, entering, opened, saved, poolSize, now);
}

function toRow(sessionId: string, p: SnapshotPackage, seq: number, now: number) {
  return {
    session_id: sessionId,
    package_id: p.id,
    path: p.path,
    name: p.name,
    version: p.version,
    created_at: p.createdAt,
    saved_at: p.savedAt,
    state: p.state,
    progress: p.state === 'running' ? p.progress : null,
    node: p.node,
    node_started_at: p.nodeStartedAt,
    refs: JSON.stringify(p.refs),
    origin: p.origin,
    opened_at: now,
    seq,
  };
}

async function ackedClosePackages(trx: Db, sessionIds: string[]) {
  return trx
    .selectFrom('commands')
    .select(['session_id', 'package_id', 'path'])
    .where(sql<boolean>`session_id in (select value from json_each(${ids(sessionIds)}))`)
    .where('type', '=', 'closePackage')
    .where('acked_at', 'is not', null)
    .execute();
}

/** One host's pool change computed in JS over its (small) pool: enter, take back, invalidate, trim. */
async function updatePool(
  trx: Db,
  hostId: number,
  entering: PoolInstance[],
  opened: string[],
  saved: { path: string; saved_at: number }[],
  poolSize: number,
  now: number,
): Promise<void> {
  const existing = await trx.selectFrom('pool_entries').select(['id', 'path', 'saved_at', 'lru']).where('host_id', '=', hostId).execute();
  if (!existing.length && !entering.length) return;
  let lru = existing.reduce((m, e) => Math.max(m, e.lru), 0);
  type E = { id: number | null; path: string; saved_at: number | null; lru: number; inst?: PoolInstance };
  let pool: E[] = existing.map((e) => ({ ...e }));
  for (const inst of entering) pool.push({ id: null, path: inst.path, saved_at: inst.saved_at, lru: ++lru, inst });
  for (const path of opened) {
    let best: E | null = null;
    for (const e of pool) if (e.path === path && (!best || e.lru > best.lru)) best = e;
    if (best) pool = pool.filter((e) => e !== best);
  }
  for (const s of saved) {
    if (pool.some((e) => e.path === s.path && e.saved_at !== null && e.saved_at < s.saved_at)) {
      pool = pool.filter((e) => e.path !== s.path);
    }
  }
  pool.sort((a, b) => b.lru - a.lru);
  const kept = pool.slice(0, poolSize);
  const keptIds = new Set(kept.map((e) => e.id));
  const gone = existing.filter((e) => !keptIds.has(e.id)).map((e) => e.id);
  if (gone.length) {
    await trx.deleteFrom('pool_entries').where(sql<boolean>`id in (select value from json_each(${ids(gone)}))`).execute();
  }
  const fresh = kept.filter((e) => e.id === null);
  if (fresh.length) {
    await trx
      .insertInto('pool_entries')
      .values(fresh.map((e) => ({ host_id: hostId, path: e.path, version: e.inst!.version, saved_at: e.saved_at, refs: e.inst!.refs, lru: e.lru, added_at: now })))
      .execute();
  }
}

/**
 * Packages leaving with closing sessions enter their hosts' pools (PROTOCOL §2),
 * set-based so that a sweep of many sessions stays fast. Runs before the
 * sessions' packages and commands are deleted.
 */
export async function poolPackagesOfClosingSessions(trx: Db, filter: RawBuilder<boolean>, poolSize: number, now: number): Promise<void> {
  if (poolSize <= 0) return;
  const { rows: leaving } = await sql<{ host_id: number; path: string; version: string | null; saved_at: number | null; refs: string }>`
    select sessions.host_id, p.path, p.version, p.saved_at, p.refs
    from packages p join sessions on sessions.id = p.session_id
    where ${filter} and p.path is not null and p.origin in ('integrator', 'batch')
      and not exists (
        select 1 from commands c
        where c.session_id = p.session_id and c.type = 'closePackage' and c.acked_at is not null
          and (c.package_id = p.package_id or (c.package_id is null and c.path = p.path)))
    order by sessions.host_id, p.session_id, p.seq`.execute(trx);
  if (!leaving.length) return;
  const max = await trx.selectFrom('pool_entries').select((eb) => eb.fn.max('lru').as('m')).executeTakeFirst();
  let lru = Number(max?.m ?? 0);
  const values = leaving.map((p) => ({ host_id: p.host_id, path: p.path, version: p.version, saved_at: p.saved_at, refs: p.refs, lru: ++lru, added_at: now }));
  for (let i = 0; i < values.length; i += 500) await trx.insertInto('pool_entries').values(values.slice(i, i + 500)).execute();
  await trimPools(trx, [...new Set(leaving.map((p) => p.host_id))], poolSize);
}

/** Drops the least recently used pool entries above poolSize on each of the hosts. */
export async function trimPools(trx: Db, hostIds: number[], poolSize: number): Promise<void> {
  if (!hostIds.length) return;
  await sql`
    delete from pool_entries where id in (
      select id from (
        select id, row_number() over (partition by host_id order by lru desc) as rn
        from pool_entries where host_id in (select value from json_each(${ids(hostIds)}))
      ) where rn > ${poolSize}
    )`.execute(trx);
}

/** Trims every host's pool to poolSize (the setting was lowered; 0 empties them all). Answers how many entries it removed. */
export async function trimAllPools(trx: Db, poolSize: number): Promise<number> {
  const res = await sql`
    delete from pool_entries where id in (
      select id from (select id, row_number() over (partition by host_id order by lru desc) as rn from pool_entries) where rn > ${poolSize}
    )`.execute(trx);
  return Number(res.numAffectedRows ?? 0);
}

/** A host's pool, most recently used first. */
export async function hostPool(db: Db, hostId: number) {
  const rows = await db
    .selectFrom('pool_entries')
    .select(['id', 'path', 'version', 'saved_at', 'refs', 'lru', 'added_at'])
    .where('host_id', '=', hostId)
    .orderBy('lru', 'desc')
    .execute();
  return rows.map((r) => ({ id: r.id, path: r.path, version: r.version, savedAt: r.saved_at, refs: JSON.parse(r.refs) as string[], addedAt: r.added_at }));
}

export interface SharedPackage {
  hostId: number;
  path: string;
  addedAt: number;
  /** 1 (the server's own reference) + live sessions with an open package naming it + pooled instances naming it. */
  count: number;
}

/** The shared packages of the hosts with their reference counts (PROTOCOL §2). */
export async function sharedPackagesOfHosts(db: Db, hostIds: number[]): Promise<SharedPackage[]> {
  if (!hostIds.length) return [];
  const rows = await sql<{ host_id: number; path: string; added_at: number; sessions: number; pooled: number }>`
    select sp.host_id, sp.path, sp.added_at,
      (select count(distinct p.session_id) from packages p join sessions s on s.id = p.session_id
        where ${sessionOfHost('s', sql.ref('sp.host_id'))} and s.closed_at is null
          and exists (select 1 from json_each(p.refs) r where r.value = sp.path)) as sessions,
      (select count(*) from pool_entries e
        where e.host_id = sp.host_id and exists (select 1 from json_each(e.refs) r where r.value = sp.path)) as pooled
    from shared_packages sp
    where sp.host_id in (select value from json_each(${ids(hostIds)}))
    order by sp.host_id, sp.path`.execute(db);
  return rows.rows.map((r) => ({ hostId: r.host_id, path: r.path, addedAt: r.added_at, count: 1 + Number(r.sessions) + Number(r.pooled) }));
}

/** Removes a shared package that only the server still references; refuses (409) above count 1. */
export async function removeSharedPackage(trx: Db, hostId: number, path: string): Promise<void> {
  const [row] = (await sharedPackagesOfHosts(trx, [hostId])).filter((s) => s.path === path);
  if (!row) throw new AppError('not_found', 404);
  if (row.count > 1) throw new AppError('shared_package_in_use', 409, { count: row.count });
  await trx.deleteFrom('shared_packages').where('host_id', '=', hostId).where('path', '=', path).execute();
}
