import type Database from 'better-sqlite3';
import type { Updateable } from 'kysely';
import { preparedStatement, rawHandleOf, type Db } from '../db/connection.js';
import type { CloseReason, CommandType, SessionTable } from '../db/schema.js';
import { applyPackageSnapshot, diffSnapshot, parseStoredPackages, storedPackagesSql, writeVolatilePackages, type SnapshotPackage } from './packages.js';
import { bumpChangeMarker } from './session-lifecycle.js';
import { checkAgentAccess } from './sessions.js';

export interface HeartbeatMetrics {
  cpuMs?: { current?: number; total?: number };
  memoryBytes?: { current?: number; total?: number };
  dataBytes?: { total?: number };
  calls?: { total?: number };
  dbmsBytes?: { total?: number };
}

/** A validated heartbeat (PROTOCOL §2); agent times are epoch ms, not yet clamped. */
export interface HeartbeatRequest {
  sleeping?: boolean;
  lastInputAt?: number;
  metrics?: HeartbeatMetrics;
  packages?: SnapshotPackage[];
  acks?: string[];
}

export interface AgentCommand {
  id: string;
  type: CommandType;
  packageId?: string;
  path?: string;
  text?: string;
}

export interface HeartbeatAnswer {
  commands: AgentCommand[];
  heartbeatIntervalSec: number;
}

/** How far back last5min looks. */
export const FIVE_MINUTES_MS = 300_000;

/** A bound host's lastSeenAt follows its sessions' heartbeats to this resolution (one write per host per period, not per heartbeat). */
export const HOST_SEEN_RESOLUTION_MS = 300_000;

/**
 * Accumulates a cumulative counter: growth is the difference to the previous
 * report, or the whole report when it went down (a counter restart).
 */
export function accumulate(accumulated: number, previousReport: number | null, report: number): number {
  const growth = previousReport === null || report < previousReport ? report : report - previousReport;
  return Math.min(Number.MAX_SAFE_INTEGER, accumulated + growth);
}

/**
 * Records a heartbeat (PROTOCOL §2) in its own transaction and moves the
 * change marker (the agent route runs heartbeatInTransaction in a group instead).
 */
export function recordHeartbeat(db: Db, sessionId: string, tokenHash: string, hb: HeartbeatRequest, now: number): Promise<HeartbeatAnswer> {
  const raw = rawHandleOf(db);
  return db.transaction().execute(async (trx) => {
    const answer = await heartbeatInTransaction(trx, raw, sessionId, tokenHash, hb, now);
    await bumpChangeMarker(trx);
    return answer;
  });
}

/**
 * Records a heartbeat inside the caller's transaction, which holds `raw`'s
 * connection (models/group-commit.ts): renews the lease (lastSeenAt = server
 * receipt time), applies acks, metrics and the package snapshot, and answers
 * the unacknowledged commands oldest first; 401/410 as the contract says. The
 * caller moves the change marker. Synchronous statements on the raw handle,
 * except a snapshot that opens or closes packages (pools and shared lists),
 * which returns a promise.
 */
export function heartbeatInTransaction(
  trx: Db,
  raw: Database.Database,
  sessionId: string,
  tokenHash: string,
  hb: HeartbeatRequest,
  now: number,
): HeartbeatAnswer | Promise<HeartbeatAnswer> {
  // One read: the session, the settings, its pending commands, the 5-minute baseline, and what packages need.
  const row = preparedStatement(raw, readText(hb.packages !== undefined)).get(now - FIVE_MINUTES_MS, sessionId) as HeartbeatRead | undefined;
  const s = checkAgentAccess(row, tokenHash, now);

  let pending = (JSON.parse(s.commands) as [number, string, CommandType, string | null, string | null, string | null][]).sort((a, b) => a[0] - b[0]);
  if (hb.acks?.length) {
    const acks = new Set(hb.acks);
    const known = pending.filter((c) => acks.has(c[1])).map((c) => c[1]);
    if (known.length) {
      preparedStatement(raw, ACK_COMMANDS).run(now, sessionId, JSON.stringify(known));
      pending = pending.filter((c) => !acks.has(c[1]));
    }
  }

  const update: Updateable<SessionTable> = {
    last_seen_at: now,
    sleeping: hb.sleeping ? 1 : 0,
    heartbeat_interval_sec: s.interval,
    updated_at: now,
  };
  if (hb.lastInputAt !== undefined) update.last_input_at = Math.min(hb.lastInputAt, now);
  // Without metrics the totals stand, but the 5-minute window still moves on: last5min is as of this heartbeat.
  Object.assign(update, hb.metrics ? applyMetrics(raw, sessionId, s, hb.metrics, now) : lastFiveMinutes(s, s.baseline));

  let structural: Promise<void> | null = null;
  if (hb.packages) {
    const clamp = (t: number | null) => (t === null ? null : Math.min(t, now));
    const snapshot = hb.packages.map((p) => ({ ...p, createdAt: clamp(p.createdAt), savedAt: clamp(p.savedAt), nodeStartedAt: clamp(p.nodeStartedAt) }));
    const old = parseStoredPackages(s.packages!);
    const diff = diffSnapshot(sessionId, old, snapshot, now);
    if (diff.structural) structural = applyPackageSnapshot(trx, { id: sessionId, hostId: s.host_id }, old, snapshot, diff, s.pool_size, now);
    else writeVolatilePackages(raw, sessionId, diff);
    update.running = snapshot.some((p) => p.state === 'running') ? 1 : 0;
  }

  updateSession(raw, sessionId, update);
  if (now - s.host_seen_at >= HOST_SEEN_RESOLUTION_MS) preparedStatement(raw, HOST_SEEN).run(now, s.host_id);
  const answer: HeartbeatAnswer = {
    commands: pending.map(([, id, type, packageId, path, text]) => {
      const cmd: AgentCommand = { id, type };
      if (packageId !== null) cmd.packageId = packageId;
      if (path !== null) cmd.path = path;
      if (text !== null) cmd.text = text;
      return cmd;
    }),
    heartbeatIntervalSec: s.interval,
  };
  return structural ? structural.then(() => answer) : answer;
}

const readTexts = new Map<string, string>();

/** The heartbeat's one read; parameters: the baseline's time, the session id. */
function readText(packages: boolean): string {
  const key = String(packages);
  let text = readTexts.get(key);
  if (text === undefined) {
    text = `select s.token_hash, s.closed_at, s.close_reason, s.close_message, s.host_id,
        s.cpu_total, s.mem_total, s.data_total, s.calls_total, s.dbms_total,
        s.cpu_reported, s.data_reported, s.calls_reported, s.dbms_reported,
        st.heartbeat_interval_sec as interval, st.pool_size,
        (select h.last_seen_at from hosts h where h.id = s.host_id) as host_seen_at,
        (select json_group_array(json_array(c.seq, c.id, c.type, c.package_id, c.path, c.text))
          from commands c where c.session_id = s.id and c.acked_at is null) as commands,
        ${BASELINE} as baseline,
        ${packages ? storedPackagesSql('s.id') : 'null'} as packages
      from sessions s join settings st on st.id = 1
      where s.id = ?`;
    readTexts.set(key, text);
  }
  return text;
}

/** The accumulated totals at the latest sample at or before the bound time, as a JSON array (null when none). */
const BASELINE = `(
  select json_array(m.cpu_total, m.mem_total, m.data_total, m.calls_total, m.dbms_total)
  from metric_samples m where m.session_id = s.id and m.at <= ? order by m.at desc limit 1)`;

const ACK_COMMANDS = 'update commands set acked_at = ? where session_id = ? and acked_at is null and id in (select value from json_each(?))';
const HOST_SEEN = 'update hosts set last_seen_at = ? where id = ?';

interface HeartbeatRead {
  token_hash: string;
  closed_at: number | null;
  close_reason: CloseReason | null;
  close_message: string | null;
  host_id: number;
  cpu_total: number;
  mem_total: number;
  data_total: number;
  calls_total: number;
  dbms_total: number;
  cpu_reported: number | null;
  data_reported: number | null;
  calls_reported: number | null;
  dbms_reported: number | null;
  interval: number;
  pool_size: number;
  host_seen_at: number;
  commands: string;
  baseline: string | null;
  packages: string | null;
}

// The two writes of every heartbeat are compiled once (the query builder took 8–12 µs per call to compile them).
const INSERT_SAMPLE =
  'insert or replace into "metric_samples" ("session_id", "at", "cpu_total", "mem_total", "data_total", "calls_total", "dbms_total") values (?, ?, ?, ?, ?, ?, ?)';
const updateTexts = new Map<string, string>();

/** Sets the session's columns named in `update` (keys are ours, never input); one SQL text per set of columns. */
function updateSession(raw: Database.Database, sessionId: string, update: Updateable<SessionTable>): void {
  const keys = Object.keys(update);
  const key = keys.join(',');
  let text = updateTexts.get(key);
  if (text === undefined) {
    text = `update "sessions" set ${keys.map((k) => `"${k}" = ?`).join(', ')} where "id" = ?`;
    updateTexts.set(key, text);
  }
  preparedStatement(raw, text).run(...Object.values(update), sessionId);
}

/** Accumulates the reported metrics, stores this heartbeat's sample and answers the session columns to set. */
function applyMetrics(raw: Database.Database, sessionId: string, s: HeartbeatRead, m: HeartbeatMetrics, now: number): Updateable<SessionTable> {
  const update: Updateable<SessionTable> = {};
  const totals = {
    cpu_total: s.cpu_total,
    mem_total: m.memoryBytes?.total ?? s.mem_total,
    data_total: s.data_total,
    calls_total: s.calls_total,
    dbms_total: s.dbms_total,
  };
  if (m.cpuMs) {
    update.cpu_current = m.cpuMs.current ?? 0;
    if (m.cpuMs.total !== undefined) {
      totals.cpu_total = accumulate(s.cpu_total, s.cpu_reported, m.cpuMs.total);
      update.cpu_reported = m.cpuMs.total;
    }
  }
  if (m.memoryBytes) update.mem_current = m.memoryBytes.current ?? 0;
  if (m.dataBytes?.total !== undefined) {
    totals.data_total = accumulate(s.data_total, s.data_reported, m.dataBytes.total);
    update.data_reported = m.dataBytes.total;
  }
  if (m.calls?.total !== undefined) {
    totals.calls_total = accumulate(s.calls_total, s.calls_reported, m.calls.total);
    update.calls_reported = m.calls.total;
  }
  if (m.dbmsBytes?.total !== undefined) {
    totals.dbms_total = accumulate(s.dbms_total, s.dbms_reported, m.dbmsBytes.total);
    update.dbms_reported = m.dbmsBytes.total;
  }
  preparedStatement(raw, INSERT_SAMPLE).run(sessionId, now, totals.cpu_total, totals.mem_total, totals.data_total, totals.calls_total, totals.dbms_total);
  return { ...update, ...totals, ...lastFiveMinutes(totals, s.baseline) };
}

type Totals = Pick<HeartbeatRead, 'cpu_total' | 'mem_total' | 'data_total' | 'calls_total' | 'dbms_total'>;

/** The last5min figures: the accumulated totals less the baseline sample's (the session starts from 0: without a sample 5 minutes old, the baseline is zero). */
function lastFiveMinutes(totals: Totals, baseline: string | null): Updateable<SessionTable> {
  const [cpu, mem, data, calls, dbms] = baseline ? (JSON.parse(baseline) as number[]) : [0, 0, 0, 0, 0];
  return {
    cpu_5m: totals.cpu_total - cpu,
    mem_5m: totals.mem_total - mem,
    data_5m: totals.data_total - data,
    calls_5m: totals.calls_total - calls,
    dbms_5m: totals.dbms_total - dbms,
  };
}
