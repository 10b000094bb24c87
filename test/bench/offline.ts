import fs from 'node:fs';
import path from 'node:path';
import { startCheckpointer } from '../../src/db/checkpointer.js';
import { openDatabase } from '../../src/db/connection.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { hashToken } from '../../src/lib/tokens.js';
import { openSession } from '../../src/models/capture.js';
import { recordHeartbeat, type HeartbeatRequest } from '../../src/models/heartbeat.js';
import { refreshPlannerStatistics } from '../../src/models/maintenance.js';
import { reapExpiredSessions } from '../../src/models/reaper.js';
import { releaseSession } from '../../src/models/release.js';
import { HOUR_MS, RAW_WINDOW_MS } from '../../src/models/history-rollup.js';
import { applyRetention, closedSessionKeepMs, pruneMetricSamples } from '../../src/models/retention.js';
import { fingerprintOf } from '../../src/models/fingerprint.js';
import { sessionSearchText } from '../../src/models/session-search.js';
import type { SnapshotPackage } from '../../src/models/packages.js';
import { seededRandom } from '../../src/agent/simulator.js';

// Figures measured in this process by calling the model functions with an
// injected clock: the lease sweep and the database growth over simulated time.

const count = (sqlite: ReturnType<typeof openDatabase>['sqlite'], table: string) =>
  Number((sqlite.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n);

const fileSize = (f: string) => {
  try {
    return fs.statSync(f).size;
  } catch {
    return 0;
  }
};

async function freshDb(file: string) {
  for (const s of ['', '-wal', '-shm']) fs.rmSync(file + s, { force: true });
  const o = openDatabase(file);
  await migrateToLatest(o.db);
  return o;
}

/** One client with `licenses` licenses of `hostsPerLicense` bound hosts each, inserted directly. */
function licensing(sqlite: ReturnType<typeof openDatabase>['sqlite'], now: number, licenses: number, hostsPerLicense: number) {
  const clientId = Number(sqlite.prepare("insert into clients (name, created_at, updated_at) values ('Bench', ?, ?)").run(now, now).lastInsertRowid);
  const out: { licenseId: number; key: string; hosts: { id: number; fingerprint: Record<string, string> }[] }[] = [];
  sqlite.transaction(() => {
    for (let l = 0; l < licenses; l++) {
      const key = `SIM-${l}-KEY`;
      const licenseId = Number(
        sqlite.prepare("insert into licenses (client_id, key, product, max_hosts, created_at, updated_at) values (?, ?, 'Payroll', ?, ?, ?)").run(clientId, key, hostsPerLicense, now, now).lastInsertRowid,
      );
      sqlite.prepare("insert into license_features (license_id, feature, max_sessions) values (?, 'reports', null)").run(licenseId);
      const hosts = [];
      for (let h = 0; h < hostsPerLicense; h++) {
        const fingerprint = { cpu: `CPU-${l}-${h}`, board: `BOARD-${l}-${h}` };
        const fp = fingerprintOf(fingerprint);
        const id = Number(
          sqlite
            .prepare("insert into hosts (license_id, fingerprint_hash, components, machine_hostname, machine_os, machine_ip, bound_at, last_seen_at) values (?, ?, ?, ?, 'Linux', '10.0.0.1', ?, ?)")
            .run(licenseId, fp.hash, fp.components, `SIM-${l}-${h}`, now, now).lastInsertRowid,
        );
        hosts.push({ id, fingerprint });
      }
      out.push({ licenseId, key, hosts });
    }
  })();
  return { clientId, licenses: out };
}

export interface SweepResult {
  expired: number;
  closed: number;
  ms: number;
  live: number;
}

/**
 * Lease sweep: `expired` open sessions past their lease (30% holding a
 * feature, 20% with a package, half of those pooled on close, 3 metric samples
 * each) beside `live` fresh ones; times reapExpiredSessions (the job's sweep).
 * The table is laid out as captures lay it out: rows in the order the sessions
 * started (a capture appends its row, so rowid order is start order), over
 * two days, with the search text a capture stores; the expired ones are a
 * random ~91% of them, of every age (a site's network gone, not just the
 * oldest sessions).
 */
export async function leaseSweep(dir: string, expired: number, live: number): Promise<SweepResult> {
  const file = path.join(dir, 'sweep.db');
  const { db, sqlite } = await freshDb(file);
  const now = Date.parse('2026-11-21T10:00:00.000Z');
  const lic = licensing(sqlite, now, 100, 10);
  const rnd = seededRandom(7);
  const insS = sqlite.prepare(`insert into sessions (id, license_id, client_id, host_id, session_number, token_hash, user_name, connection_type, machine_hostname, machine_ip,
      started_at, last_seen_at, heartbeat_interval_sec, updated_at, search_text)
    values (?, ?, ?, ?, ?, ?, ?, 'client', ?, '10.0.0.1', ?, ?, 60, ?, ?)`);
  const insF = sqlite.prepare("insert into session_features (session_id, license_id, feature, acquired_at) values (?, ?, 'reports', ?)");
  const insP = sqlite.prepare(`insert into packages (session_id, package_id, path, name, state, refs, origin, opened_at, seq) values (?, 'p-1', ?, 'pkg', 'idle', '[]', ?, ?, 0)`);
  const insM = sqlite.prepare('insert into metric_samples (session_id, at, cpu_total, mem_total, data_total, calls_total, dbms_total) values (?, ?, 1, 2, 3, 4, 5)');
  sqlite.transaction(() => {
    const total = expired + live;
    let toExpire = expired;
    for (let i = 0; i < total; i++) {
      const l = lic.licenses[i % lic.licenses.length];
      const host = l.hosts[i % l.hosts.length];
      const id = `s-${i}`;
      // Exactly `expired` of them, spread at random over the start order.
      const isExpired = rnd() * (total - i) < toExpire;
      if (isExpired) toExpire--;
      const started = now - 2 * 86_400_000 + Math.floor((i * 86_400_000) / total);
      const seen = isExpired ? now - 400_000 - Math.floor(rnd() * 3600_000) : now - Math.floor(rnd() * 60_000);
      const user = `user${i % 500}`;
      const hostname = `SIM-${i % 1000}`;
      const search = sessionSearchText({ user_name: user, client_session_id: id, machine_hostname: hostname, client_hostname: null, machine_ip: '10.0.0.1', client_ip: null });
      insS.run(id, l.licenseId, lic.clientId, host.id, i + 1, hashToken(id), user, hostname, started, seen, seen, search);
      if (rnd() < 0.3) insF.run(id, l.licenseId, seen);
      const r = rnd();
      if (r < 0.2) insP.run(id, `/services/job${i % 20}.lgp`, r < 0.1 ? 'integrator' : 'interactive', seen);
      for (let k = 0; k < 3; k++) insM.run(id, seen - k * 60_000);
    }
  })();
  sqlite.pragma('wal_checkpoint(TRUNCATE)');
  // As on a running server: statistics gathered at open and hourly, WAL checkpoints in their worker (src/jobs).
  await refreshPlannerStatistics(db);
  const checkpointer = await startCheckpointer(sqlite);
  const t0 = process.hrtime.bigint();
  const closed = await reapExpiredSessions(db, now);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  await checkpointer.stop();
  const stillOpen = Number((sqlite.prepare('select count(*) as n from sessions where closed_at is null').get() as { n: number }).n);
  await db.destroy();
  for (const s of ['', '-wal', '-shm']) fs.rmSync(file + s, { force: true });
  return { expired, closed, ms, live: stillOpen };
}

export interface GrowthResult {
  sessions: number;
  simulatedMinutes: number;
  heartbeats: number;
  /** File size right after the sessions opened (before any heartbeat). */
  startBytes: number;
  /** File size at each checkpoint of simulated time. */
  trace: { minute: number; dbBytes: number; walBytes: number; samples: number }[];
  endBytes: number;
  maxWalBytes: number;
  /** The migrated database with licensing data only. */
  emptyBytes: number;
  bytesPerSession: number;
  /** Extrapolated to `target` sessions: empty + target × bytesPerSession. */
  extrapolated: number;
  target: number;
  /**
   * What a session that opened and closed leaves behind until retention removes it, averaged over
   * retentionDays: (row × its days + raw events × their days + roll-up share × retentionDays) / retentionDays,
   * so that closed sessions a day × retentionDays × this is the steady-state size. Parts in closedLife.
   */
  bytesPerClosedSession: number;
  bytesPerEvent: number;
  eventsPerClosedSession: number;
  /** A closed session's parts: its row (kept rowDays), its raw events (rawDays), its share of the per-hour roll-ups (retentionDays). */
  closedLife?: { rowBytes: number; rowDays: number; rawEventBytes: number; rawDays: number; rolledBytes: number; rolledRowsPerSession: number; rolledRowBytes: number; retentionDays: number };
  wallMs: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Database growth: `sessions` sessions opened through the capture model, then
 * heartbeating every 60 s (the default interval) with metrics and a package
 * snapshot for `minutes` simulated minutes through recordHeartbeat, with the
 * jobs' sample pruning (every minute) and retention (every 10 minutes) run on
 * the same simulated clock. The size per session at the end, times 10,000, is
 * the extrapolation; the trace shows the size stops growing once the
 * 5-minute sample window is full.
 */
export async function databaseGrowth(dir: string, sessions: number, minutes: number, target: number): Promise<GrowthResult> {
  const wall = Date.now();
  const file = path.join(dir, 'growth.db');
  const { db, sqlite } = await freshDb(file);
  const t0 = Date.parse('2026-11-21T06:00:00.000Z');
  const lic = licensing(sqlite, t0, 20, 10);
  sqlite.pragma('wal_checkpoint(TRUNCATE)');
  const emptyBytes = fileSize(file);
  const open: { id: string; hash: string; pkgs: SnapshotPackage[] }[] = [];
  for (let i = 0; i < sessions; i++) {
    const l = lic.licenses[i % lic.licenses.length];
    const h = l.hosts[i % l.hosts.length];
    const a = await openSession(
      db,
      { licenseKey: l.key, fingerprint: h.fingerprint, user: `user${i}`, connectionType: 'client', app: { name: 'Payroll', version: '3.2.1' }, clientSessionId: `sim-${i}`, features: i % 3 === 0 ? ['reports'] : [] },
      '10.0.0.2',
      t0 + i,
    );
    const pkgs: SnapshotPackage[] =
      i % 5 === 4
        ? []
        : [{ id: 'p-1', path: `/projects/p${i % 7}.lgp`, name: `p${i % 7}`, version: '1.0.0', createdAt: t0 - 86_400_000, savedAt: t0 - 3600_000, state: 'idle', progress: null, node: null, nodeStartedAt: null, refs: [], origin: 'interactive' }];
    open.push({ id: a.sessionId, hash: hashToken(a.token), pkgs });
  }
  sqlite.pragma('wal_checkpoint(TRUNCATE)');
  const startBytes = fileSize(file);
  const trace: GrowthResult['trace'] = [];
  let maxWal = 0;
  let heartbeats = 0;
  const step = Math.max(1, Math.floor(minutes / 12));
  for (let m = 1; m <= minutes; m++) {
    const minuteStart = t0 + m * 60_000;
    for (let i = 0; i < open.length; i++) {
      const s = open[i];
      const now = minuteStart + Math.floor((i * 60_000) / open.length);
      const running = m % 3 !== 0;
      const hb: HeartbeatRequest = {
        sleeping: false,
        lastInputAt: now - 2000,
        metrics: { cpuMs: { current: 5, total: m * 1000 }, memoryBytes: { current: 1 << 20, total: 700_000_000 + m }, dataBytes: { total: m * 4096 }, calls: { total: m * 3 }, dbmsBytes: { total: m * 2048 } },
        packages: s.pkgs.map((p) => ({ ...p, state: running ? 'running' : 'idle', progress: running ? (m * 7) % 100 : null, node: running ? 'Join' : null, nodeStartedAt: running ? now - 1000 : null })),
      };
      await recordHeartbeat(db, s.id, s.hash, hb, now);
      heartbeats++;
    }
    await pruneMetricSamples(db, minuteStart + 60_000);
    if (m % 10 === 0) await applyRetention(db, minuteStart + 60_000);
    maxWal = Math.max(maxWal, fileSize(file + '-wal'));
    if (m % step === 0 || m === minutes) {
      const samples = Number((sqlite.prepare('select count(*) as n from metric_samples').get() as { n: number }).n);
      trace.push({ minute: m, dbBytes: fileSize(file), walBytes: fileSize(file + '-wal'), samples });
    }
  }
  sqlite.pragma('wal_checkpoint(TRUNCATE)');
  const endBytes = fileSize(file);
  const bytesPerSession = (endBytes - emptyBytes) / sessions;

  // Churn: what a closed session costs until retention, under the retention model (src/models/retention.ts):
  // its row for closedSessionKeepMs (7 d + 1 h), its raw history events for the raw window (48 h, then
  // whole hours), then its share of the per-hour roll-ups for retentionDays. Every seat is reopened
  // 4 times over one simulated day (each release and reopen spread over the day, as real churn is),
  // sizes from dbstat; then the job rolls that day up and the roll-ups are measured too.
  const eventsBefore = count(sqlite, 'license_events');
  const tEnd = t0 + (minutes + 1) * 60_000;
  const DAY_MS = 24 * HOUR_MS;
  const rounds = 4;
  const gap = DAY_MS / rounds;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < open.length; i++) {
      const at = tEnd + r * gap + Math.floor((i * gap) / open.length);
      await releaseSession(db, open[i].id, open[i].hash, at);
      const l = lic.licenses[i % lic.licenses.length];
      const h = l.hosts[i % l.hosts.length];
      const a = await openSession(db, { licenseKey: l.key, fingerprint: h.fingerprint, user: `user${i}`, connectionType: 'client', clientSessionId: `sim${r + 2}-${i}`, features: i % 3 === 0 ? ['reports'] : [] }, '10.0.0.2', at);
      open[i] = { ...open[i], id: a.sessionId, hash: hashToken(a.token) };
    }
  }
  const closed = rounds * open.length;
  sqlite.pragma('wal_checkpoint(TRUNCATE)');
  const bytesOf = (table: string) =>
    Number(
      (sqlite.prepare(`select sum(pgsize) as b from dbstat where name = ? or name in (select name from sqlite_schema where type = 'index' and tbl_name = ?)`).get(table, table) as { b: number }).b,
    );
  const perSessionRow = bytesOf('sessions') / count(sqlite, 'sessions');
  const perEvent = bytesOf('license_events') / count(sqlite, 'license_events');
  const eventsPerSession = (count(sqlite, 'license_events') - eventsBefore) / closed;
  // The job, once the churn day is past the raw window: its events become per-hour rows.
  const retentionDays = Number((sqlite.prepare('select retention_days as d from settings').get() as { d: number }).d);
  await applyRetention(db, tEnd + DAY_MS + RAW_WINDOW_MS + 2 * HOUR_MS);
  sqlite.pragma('wal_checkpoint(TRUNCATE)');
  const rolledRows = Number((sqlite.prepare('select count(*) as n from license_event_hours where hour >= ?').get(Math.floor(tEnd / HOUR_MS) * HOUR_MS) as { n: number }).n);
  const perRolledRow = bytesOf('license_event_hours') / count(sqlite, 'license_event_hours');
  const rolledPerSession = (rolledRows * perRolledRow) / closed;
  const rowDays = closedSessionKeepMs(retentionDays) / DAY_MS;
  const rawDays = (RAW_WINDOW_MS + HOUR_MS) / DAY_MS; // raw until the whole hour is past the window
  // Averaged over the retention, so that (closed sessions a day × retentionDays × this) is the steady state.
  const bytesPerClosedSession = (perSessionRow * rowDays + eventsPerSession * perEvent * rawDays + rolledPerSession * retentionDays) / retentionDays;
  await db.destroy();
  for (const s of ['', '-wal', '-shm']) fs.rmSync(file + s, { force: true });
  return {
    sessions,
    simulatedMinutes: minutes,
    heartbeats,
    startBytes,
    trace,
    endBytes,
    maxWalBytes: maxWal,
    emptyBytes,
    bytesPerSession,
    extrapolated: emptyBytes + target * bytesPerSession,
    target,
    bytesPerClosedSession,
    bytesPerEvent: perEvent,
    eventsPerClosedSession: eventsPerSession,
    closedLife: { rowBytes: perSessionRow, rowDays, rawEventBytes: eventsPerSession * perEvent, rawDays, rolledBytes: rolledPerSession, rolledRowsPerSession: rolledRows / closed, rolledRowBytes: perRolledRow, retentionDays },
    wallMs: Date.now() - wall,
  };
}

