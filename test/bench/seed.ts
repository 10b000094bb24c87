import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import { seededRandom } from '../../src/agent/simulator.js';
import { openDatabase } from '../../src/db/connection.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { fingerprintOf } from '../../src/models/fingerprint.js';
import { applyRetention } from '../../src/models/retention.js';
import { sessionSearchText } from '../../src/models/session-search.js';

// The benchmark's data, written straight into a fresh database before the
// server starts (one transaction per table, prepared statements): creating
// 10,000 sessions and a million history events through HTTP would take
// longer than the whole benchmark.

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const uuid = (rnd: () => number) => {
  const h = Array.from({ length: 32 }, () => Math.floor(rnd() * 16).toString(16)).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

export const LATIN = ['Ivanov', 'Petrov', 'Sidorova', 'Kuznetsov', 'Smirnova', 'Vasiliev', 'Morozova', 'Novikov', 'Fedorov', 'Volkova', 'alice', 'bob', 'carol', 'dmitry', 'erin', 'farid', 'grace', 'heidi'];
export const CYRILLIC = ['Иванова А.В.', 'Петров С.И.', 'Сидорова Е.Н.', 'Кузнецов Д.А.', 'Смирнова О.П.', 'Васильев И.К.', 'Морозова Т.Г.', 'Бухгалтер'];
const CONNECTIONS = ['client', 'client', 'client', 'external', 'background', 'webservice'] as const;
const ROLES = ['["viewer"]', '["design","viewer"]', '["execute"]', '["admin"]', '[]'];
const VERSIONS = ['8.3.25', '8.3.24', '7.1.0', '3.2.1', '3.2.0'];
const PATHS = ['/projects/sales.lgp', '/projects/churn.lgp', '/projects/stock-forecast.lgp', '/services/scoring.lgp', '/batch/nightly-load.lgp'];
const ORIGINS = ['interactive', 'interactive', 'integrator', 'batch'] as const;

export interface SeededPackage {
  id: string;
  path: string;
  name: string;
  version: string;
  createdAt: number;
  savedAt: number;
  origin: string;
  refs: string[];
}

export interface SeededSession {
  id: string;
  token: string;
  packages: SeededPackage[];
}

export interface SeededHost {
  licenseKey: string;
  fingerprint: Record<string, string>;
  machine: { hostname: string; os: string; ip: string };
  infobase: { id: string; name: string };
}

export interface Seeded {
  sessions: SeededSession[];
  hosts: SeededHost[];
  /** The admin's login cookie value (sm_session). */
  adminCookie: string;
  closedSessions: number;
  events: number;
}

export interface SeedOptions {
  liveSessions: number;
  closedSessions: number;
  events: number;
  now: number;
  seed?: number;
}

/** Licensing data: clients, licenses with features, bound hosts, infobases. */
function seedLicensing(sqlite: Database.Database, now: number, rnd: () => number) {
  const clients = 40;
  const licensesPerClient = 5;
  const hostsPerLicense = 10;
  const insClient = sqlite.prepare('insert into clients (name, email, created_at, updated_at) values (?, ?, ?, ?)');
  const insLicense = sqlite.prepare(
    'insert into licenses (client_id, key, product, max_hosts, max_sessions, expires_at, created_at, updated_at) values (?, ?, ?, ?, null, ?, ?, ?)',
  );
  const insFeature = sqlite.prepare('insert into license_features (license_id, feature, max_sessions) values (?, ?, null)');
  const insHost = sqlite.prepare(
    'insert into hosts (license_id, fingerprint_hash, components, machine_hostname, machine_os, machine_ip, bound_at, last_seen_at) values (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const insIb = sqlite.prepare('insert into infobases (client_id, external_id, name, created_at) values (?, ?, ?, ?)');
  const licenses: { id: number; clientId: number; key: string; hosts: { id: number; host: SeededHost }[]; infobases: { id: number; ext: string; name: string }[] }[] = [];
  sqlite.transaction(() => {
    for (let c = 1; c <= clients; c++) {
      const clientId = Number(insClient.run(`Client ${c} ${c % 3 === 0 ? 'ООО Ромашка' : 'Trading'}`, `it@client${c}.example`, now, now).lastInsertRowid);
      const infobases = [0, 1, 2].map((k) => {
        const ext = uuid(rnd);
        const name = ['Бухгалтерия', 'Accounting', 'Warehouse'][k] + ` ${c}`;
        return { id: Number(insIb.run(clientId, ext, name, now).lastInsertRowid), ext, name };
      });
      for (let l = 0; l < licensesPerClient; l++) {
        const key = `BNCH-${String(c).padStart(4, '0')}-${String(l).padStart(4, '0')}-${sha256(`${c}/${l}`).slice(0, 4).toUpperCase()}`;
        const licenseId = Number(insLicense.run(clientId, key, 'Payroll', hostsPerLicense * 2, now + 365 * 86_400_000, now, now).lastInsertRowid);
        for (const f of ['reports', 'export', 'designer']) insFeature.run(licenseId, f);
        const hosts = [];
        for (let h = 0; h < hostsPerLicense; h++) {
          const fingerprint = { cpu: `BFEBFBFF${sha256(`cpu${c}/${l}/${h}`).slice(0, 8)}`, board: `MB-${c}-${l}-${h}`, disk: `WD-${sha256(`d${c}/${l}/${h}`).slice(0, 10)}` };
          const fp = fingerprintOf(fingerprint);
          const machine = { hostname: `SRV-${c}-${l}-${h}`, os: 'Windows Server 2022', ip: `10.${c}.${l}.${h + 10}` };
          const id = Number(insHost.run(licenseId, fp.hash, fp.components, machine.hostname, machine.os, machine.ip, now, now).lastInsertRowid);
          const ib = infobases[h % 3];
          hosts.push({ id, host: { licenseKey: key, fingerprint, machine, infobase: { id: ib.ext, name: ib.name } } });
        }
        licenses.push({ id: licenseId, clientId, key, hosts, infobases });
      }
    }
  })();
  return licenses;
}

/** Fills a fresh (migrated) database: licensing, live and closed sessions, history events, an admin login. */
export async function seedDatabase(file: string, o: SeedOptions): Promise<Seeded> {
  const { db, sqlite } = openDatabase(file);
  await migrateToLatest(db);
  const rnd = seededRandom(o.seed ?? 42);
  const pick = <T>(list: readonly T[]) => list[Math.floor(rnd() * list.length)];
  const now = o.now;
  const licenses = seedLicensing(sqlite, now, rnd);

  // An admin and a login for the monitor figures (the password is never used).
  const adminCookie = `bench-admin-${sha256(String(now)).slice(0, 32)}`;
  sqlite.transaction(() => {
    const userId = Number(
      sqlite
        .prepare("insert into users (email, name, password_hash, role, created_at, password_changed_at) values ('bench@bench.local', 'Bench admin', 'x', 'admin', ?, ?)")
        .run(now, now).lastInsertRowid,
    );
    sqlite
      .prepare('insert into web_sessions (token_hash, user_id, created_at, last_active_at, expires_at, ip, user_agent) values (?, ?, ?, ?, ?, null, null)')
      .run(sha256(adminCookie), userId, now, now, now + 7 * 86_400_000);
  })();

  const insSession = sqlite.prepare(`insert into sessions (id, license_id, client_id, host_id, infobase_id, session_number, client_session_id, token_hash, user_name,
      roles, connection_type, app_name, app_version, machine_hostname, machine_os, machine_ip, client_ip, client_hostname,
      started_at, last_seen_at, heartbeat_interval_sec, cpu_total, mem_total, data_total, calls_total, dbms_total, closed_at, close_reason, updated_at, search_text)
    values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 60, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const insFeature = sqlite.prepare('insert into session_features (session_id, license_id, feature, acquired_at) values (?, ?, ?, ?)');
  const insPackage = sqlite.prepare(`insert into packages (session_id, package_id, path, name, version, created_at, saved_at, state, progress, node, node_started_at, refs, origin, opened_at, seq)
    values (?, ?, ?, ?, ?, ?, ?, 'idle', null, null, null, ?, ?, ?, ?)`);
  const insCommand = sqlite.prepare(`insert into commands (id, session_id, seq, type, text, created_at, created_by) values (?, ?, 1, 'message', 'Please save your work', ?, 'bench')`);
  const insCounter = sqlite.prepare('insert into session_counters (scope, last_number) values (?, ?) on conflict (scope) do update set last_number = excluded.last_number');
  const insEvent = sqlite.prepare(`insert into license_events (license_id, at, kind, code, feature, user_name, host_id, hostname, fingerprint_hash, client_ip, session_id)
    values (?, ?, ?, ?, ?, ?, ?, ?, null, ?, ?)`);

  const sessions: SeededSession[] = [];
  let number = 0;
  let events = 0;
  const total = o.liveSessions + o.closedSessions;
  sqlite.transaction(() => {
    for (let i = 0; i < total; i++) {
      const live = i >= o.closedSessions; // closed ones first: older session numbers
      const lic = licenses[i % licenses.length];
      const h = lic.hosts[Math.floor(rnd() * lic.hosts.length)];
      const ib = rnd() < 0.7 ? lic.infobases[Math.floor(rnd() * 3)] : null;
      const id = uuid(rnd);
      const token = `bench-${i}-${sha256(id).slice(0, 24)}`;
      const user = rnd() < 0.3 ? pick(CYRILLIC) : `${pick(LATIN)}${Math.floor(rnd() * 50)}`;
      const started = live ? now - Math.floor(rnd() * 8 * 3600_000) : now - Math.floor(rnd() * 6 * 86_400_000) - 3600_000;
      const closedAt = live ? null : started + Math.floor(rnd() * 3600_000);
      number++;
      const row = [
        id, lic.id, lic.clientId, h.id, ib?.id ?? null, number, rnd() < 0.5 ? uuid(rnd) : null, sha256(token), user,
        pick(ROLES), pick(CONNECTIONS), pick(['1C:Enterprise', 'Analytics Server', 'Payroll']), pick(VERSIONS),
        h.host.machine.hostname, h.host.machine.os, h.host.machine.ip, `10.200.${Math.floor(rnd() * 250)}.${Math.floor(rnd() * 250)}`, `PC-${Math.floor(rnd() * 5000)}`,
        started, live ? now : closedAt, Math.floor(rnd() * 1e6), Math.floor(rnd() * 1e9), Math.floor(rnd() * 1e9), Math.floor(rnd() * 1e5), Math.floor(rnd() * 1e9),
        closedAt, live ? null : pick(['released', 'timeout', 'terminated']), live ? now : closedAt,
      ] as const;
      // What a capture stores for the monitor's search (src/models/capture.ts).
      insSession.run(...row, sessionSearchText({ user_name: user, client_session_id: row[6], machine_hostname: row[13], client_hostname: row[17], machine_ip: row[15], client_ip: row[16] }));
      insEvent.run(lic.id, started, 'open', null, null, user, h.id, h.host.machine.hostname, '10.200.0.1', id);
      events++;
      if (!live) {
        insEvent.run(lic.id, closedAt, 'close', 'released', null, user, h.id, h.host.machine.hostname, '10.200.0.1', id);
        events++;
        continue;
      }
      if (rnd() < 0.3) insFeature.run(id, lic.id, 'reports', started);
      // 60% of the live sessions have one package open, 20% two: every heartbeat carries a snapshot.
      const r = rnd();
      const pkgs: SeededPackage[] = [];
      for (let p = 0; p < (r < 0.6 ? 1 : r < 0.8 ? 2 : 0); p++) {
        const path = pick(PATHS);
        const pkg: SeededPackage = {
          id: `p-${p + 1}`,
          path,
          name: path.replace(/^.*\/|\.lgp$/g, ''),
          version: '1.4.0',
          createdAt: now - 30 * 86_400_000,
          savedAt: now - 86_400_000,
          origin: pick(ORIGINS),
          refs: rnd() < 0.5 ? ['/shared/lib/common.lgp'] : [],
        };
        insPackage.run(id, pkg.id, pkg.path, pkg.name, pkg.version, pkg.createdAt, pkg.savedAt, JSON.stringify(pkg.refs), pkg.origin, started, p);
        pkgs.push(pkg);
      }
      if (rnd() < 0.01) insCommand.run(uuid(rnd), id, now);
      sessions.push({ id, token, packages: pkgs });
    }
    for (const lic of licenses) insCounter.run(`lic:${lic.id}`, number);
    for (const lic of licenses) for (const ib of lic.infobases) insCounter.run(`ib:${ib.id}`, number);
  })();

  // The rest of the history: feature captures and refusals over the retention window (30 days).
  const codes = ['host_limit_reached', 'session_limit_reached', 'license_expired', 'feature_limit_reached', 'infobase_locked'];
  const chunk = 100_000;
  while (events < o.events) {
    sqlite.transaction(() => {
      for (let k = 0; k < chunk && events < o.events; k++, events++) {
        const lic = licenses[Math.floor(rnd() * licenses.length)];
        const h = lic.hosts[Math.floor(rnd() * lic.hosts.length)];
        const refusal = rnd() < 0.2;
        insEvent.run(
          lic.id, now - Math.floor(rnd() * 30 * 86_400_000), refusal ? 'refusal' : 'capture', refusal ? pick(codes) : null,
          refusal && rnd() < 0.5 ? null : pick(['reports', 'export', 'designer']), `${pick(LATIN)}${Math.floor(rnd() * 50)}`, h.id, h.host.machine.hostname, '10.200.0.1', null,
        );
      }
    })();
  }
  // As a running server keeps its history: events older than the raw window folded into per-hour
  // roll-ups by the retention job. Left raw, the server's first retention run (a minute after start)
  // would fold the whole month during the measurements.
  await applyRetention(db, now);
  sqlite.pragma('wal_checkpoint(TRUNCATE)');
  await db.destroy();
  return { sessions, hosts: licenses.flatMap((l) => l.hosts.map((h) => h.host)), adminCookie, closedSessions: o.closedSessions, events };
}

/** Marks every open session as seen at `now` (just before the server starts, so none is late or reaped). */
export async function touchOpenSessions(file: string, now: number): Promise<void> {
  const { db, sqlite } = openDatabase(file);
  sqlite.prepare('update sessions set last_seen_at = ?, updated_at = ? where closed_at is null').run(now, now);
  sqlite.pragma('wal_checkpoint(TRUNCATE)');
  await db.destroy();
}
