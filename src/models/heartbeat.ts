import { sql } from 'kysely';
import type { Db } from '../db/connection.js';
import type { Updateable } from 'kysely';
import type { CommandType, SessionTable } from '../db/schema.js';
import { applyPackageSnapshot, type SnapshotPackage } from './packages.js';
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
 */
export async function recordHeartbeat(
  db: Db,
  sessionId: string,
  tokenHash: string,
  hb: HeartbeatRequest,
  now: number,
): Promise<HeartbeatAnswer> {
  return db.transaction().execute(async (trx) => {
    const s = checkAgentAccess(
      await trx
        .selectFrom('sessions')
        .innerJoin('settings', (j) => j.on('settings.id', '=', 1))
        .select([
          'sessions.token_hash', 'sessions.closed_at', 'sessions.close_reason', 'sessions.close_message', 'sessions.host_id',
          'sessions.running', 'sessions.cpu_total', 'sessions.mem_total', 'sessions.data_total', 'sessions.calls_total',
          'sessions.dbms_total', 'sessions.cpu_reported', 'sessions.data_reported', 'sessions.calls_reported', 'sessions.dbms_reported',
          'settings.heartbeat_interval_sec as interval', 'settings.pool_size',
        ])
        .where('sessions.id', '=', sessionId)
        .executeTakeFirst(),
      tokenHash,
      now,
    );

    if (hb.acks?.length) {
      await trx
        .updateTable('commands')
        .set({ acked_at: now })
        .where('session_id', '=', sessionId)
        .where(sql<boolean>`id in (select value from json_each(${JSON.stringify(hb.acks)}))`)
        .where('acked_at', 'is', null)
        .execute();
    }

    const update: Updateable<SessionTable> = {
      last_seen_at: now,
      sleeping: hb.sleeping ? 1 : 0,
      heartbeat_interval_sec: s.interval,
      updated_at: now,
    };
    if (hb.lastInputAt !== undefined) update.last_input_at = Math.min(hb.lastInputAt, now);

    const m = hb.metrics;
    if (m) {
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
      const base = await trx
        .selectFrom('metric_samples')
        .select(['cpu_total', 'mem_total', 'data_total', 'calls_total', 'dbms_total'])
        .where('session_id', '=', sessionId)
        .where('at', '<=', now - FIVE_MINUTES_MS)
        .orderBy('at', 'desc')
        .limit(1)
        .executeTakeFirst();
      Object.assign(update, totals, {
        cpu_5m: totals.cpu_total - (base?.cpu_total ?? 0),
        mem_5m: totals.mem_total - (base?.mem_total ?? 0),
        data_5m: totals.data_total - (base?.data_total ?? 0),
        calls_5m: totals.calls_total - (base?.calls_total ?? 0),
        dbms_5m: totals.dbms_total - (base?.dbms_total ?? 0),
      });
      await trx.insertInto('metric_samples').values({ session_id: sessionId, at: now, ...totals }).execute();
    }

    if (hb.packages) {
      const clamp = (t: number | null) => (t === null ? null : Math.min(t, now));
      const snapshot = hb.packages.map((p) => ({ ...p, createdAt: clamp(p.createdAt), savedAt: clamp(p.savedAt), nodeStartedAt: clamp(p.nodeStartedAt) }));
      await applyPackageSnapshot(trx, { id: sessionId, hostId: s.host_id }, snapshot, s.pool_size, now);
      update.running = snapshot.some((p) => p.state === 'running') ? 1 : 0;
    }

    await trx.updateTable('sessions').set(update).where('id', '=', sessionId).execute();
    const pending = await trx
      .selectFrom('commands')
      .select(['id', 'type', 'package_id', 'path', 'text'])
      .where('session_id', '=', sessionId)
      .where('acked_at', 'is', null)
      .orderBy('seq')
      .execute();
    await bumpChangeMarker(trx);
    return {
      commands: pending.map((c) => {
        const cmd: AgentCommand = { id: c.id, type: c.type };
        if (c.package_id !== null) cmd.packageId = c.package_id;
        if (c.path !== null) cmd.path = c.path;
        if (c.text !== null) cmd.text = c.text;
        return cmd;
      }),
      heartbeatIntervalSec: s.interval,
    };
  });
}
