import { CompiledQuery, sql } from 'kysely';
import type { Db } from '../db/connection.js';
import type { Updateable } from 'kysely';
import type { CloseReason, CommandType, SessionTable } from '../db/schema.js';
import { applyPackageSnapshot, parseStoredPackages, storedPackagesJson, type SnapshotPackage } from './packages.js';
import { bumpChangeMarker, inTransaction } from './session-lifecycle.js';
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
 * Records a heartbeat (PROTOCOL §2): renews the lease (lastSeenAt = server
 * receipt time), applies acks, metrics and the package snapshot, and answers
 * the unacknowledged commands oldest first. 401/410 as the contract says.
 * Runs in the caller's transaction when given one (so heartbeats can be grouped);
 * `markChange: false` leaves moving the change marker to the caller (once per group).
 */
export async function recordHeartbeat(
  db: Db,
  sessionId: string,
  tokenHash: string,
  hb: HeartbeatRequest,
  now: number,
  opts: { markChange?: boolean } = {},
): Promise<HeartbeatAnswer> {
  return inTransaction(db, async (trx) => {
    // One read: the session, the settings, its pending commands, and what metrics and packages need.
    const { rows } = await sql<HeartbeatRead>`
      select s.token_hash, s.closed_at, s.close_reason, s.close_message, s.host_id,
        s.cpu_total, s.mem_total, s.data_total, s.calls_total, s.dbms_total,
        s.cpu_reported, s.data_reported, s.calls_reported, s.dbms_reported,
        st.heartbeat_interval_sec as interval, st.pool_size,
        (select h.last_seen_at from hosts h where h.id = s.host_id) as host_seen_at,
        (select json_group_array(json_array(c.seq, c.id, c.type, c.package_id, c.path, c.text))
          from commands c where c.session_id = s.id and c.acked_at is null) as commands,
        ${hb.metrics ? baselineJson(now - FIVE_MINUTES_MS) : sql`null`} as baseline,
        ${hb.packages ? storedPackagesJson('s.id') : sql`null`} as packages
      from sessions s join settings st on st.id = 1
      where s.id = ${sessionId}`.execute(trx);
    const s = checkAgentAccess(rows[0], tokenHash, now);

    let pending = (JSON.parse(s.commands) as [number, string, CommandType, string | null, string | null, string | null][]).sort((a, b) => a[0] - b[0]);
    if (hb.acks?.length) {
      const acks = new Set(hb.acks);
      const known = pending.filter((c) => acks.has(c[1])).map((c) => c[1]);
      if (known.length) {
        await trx
          .updateTable('commands')
          .set({ acked_at: now })
          .where('session_id', '=', sessionId)
          .where(sql<boolean>`id in (select value from json_each(${JSON.stringify(known)}))`)
          .execute();
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
    if (hb.metrics) Object.assign(update, await applyMetrics(trx, sessionId, s, hb.metrics, now));

    if (hb.packages) {
      const clamp = (t: number | null) => (t === null ? null : Math.min(t, now));
      const snapshot = hb.packages.map((p) => ({ ...p, createdAt: clamp(p.createdAt), savedAt: clamp(p.savedAt), nodeStartedAt: clamp(p.nodeStartedAt) }));
      await applyPackageSnapshot(trx, { id: sessionId, hostId: s.host_id }, parseStoredPackages(s.packages!), snapshot, s.pool_size, now);
      update.running = snapshot.some((p) => p.state === 'running') ? 1 : 0;
    }

    await updateSession(trx, sessionId, update);
    if (now - s.host_seen_at >= HOST_SEEN_RESOLUTION_MS) {
      await trx.updateTable('hosts').set({ last_seen_at: now }).where('id', '=', s.host_id).execute();
    }
    if (opts.markChange !== false) await bumpChangeMarker(trx);
    return {
      commands: pending.map(([, id, type, packageId, path, text]) => {
        const cmd: AgentCommand = { id, type };
        if (packageId !== null) cmd.packageId = packageId;
        if (path !== null) cmd.path = path;
        if (text !== null) cmd.text = text;
        return cmd;
      }),
      heartbeatIntervalSec: s.interval,
    };
  });
}

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

/** The accumulated totals at the latest sample at or before `at`, as a JSON array (null when none). */
const baselineJson = (at: number) => sql<string>`(
  select json_array(m.cpu_total, m.mem_total, m.data_total, m.calls_total, m.dbms_total)
  from metric_samples m where m.session_id = s.id and m.at <= ${at} order by m.at desc limit 1)`;

// The two writes of every heartbeat are compiled once (the query builder took 8–12 µs per call to compile them).
const INSERT_SAMPLE =
  'insert into "metric_samples" ("session_id", "at", "cpu_total", "mem_total", "data_total", "calls_total", "dbms_total") values (?, ?, ?, ?, ?, ?, ?)';
const updateTexts = new Map<string, string>();

/** Sets the session's columns named in `update` (keys are ours, never input); one SQL text per set of columns. */
function updateSession(trx: Db, sessionId: string, update: Updateable<SessionTable>) {
  const keys = Object.keys(update);
  const key = keys.join(',');
  let text = updateTexts.get(key);
  if (text === undefined) {
    text = `update "sessions" set ${keys.map((k) => `"${k}" = ?`).join(', ')} where "id" = ?`;
    updateTexts.set(key, text);
  }
  return trx.executeQuery(CompiledQuery.raw(text, [...Object.values(update), sessionId]));
}

/** Accumulates the reported metrics, stores this heartbeat's sample and answers the session columns to set. */
async function applyMetrics(trx: Db, sessionId: string, s: HeartbeatRead, m: HeartbeatMetrics, now: number): Promise<Updateable<SessionTable>> {
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
  // The session starts from 0: without a sample 5 minutes old, the baseline is zero.
  const [cpu, mem, data, calls, dbms] = s.baseline ? (JSON.parse(s.baseline) as number[]) : [0, 0, 0, 0, 0];
  await trx.executeQuery(
    CompiledQuery.raw(INSERT_SAMPLE, [sessionId, now, totals.cpu_total, totals.mem_total, totals.data_total, totals.calls_total, totals.dbms_total]),
  );
  return {
    ...update,
    ...totals,
    cpu_5m: totals.cpu_total - cpu,
    mem_5m: totals.mem_total - mem,
    data_5m: totals.data_total - data,
    calls_5m: totals.calls_total - calls,
    dbms_5m: totals.dbms_total - dbms,
  };
}
