import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { serve, type ServerType } from '@hono/node-server';
import Database from 'better-sqlite3';
import { AdminClient } from '../agent/admin-client.js';
import { MonitorAgent } from '../agent/client.js';
import { Simulator, simulatedHostName, type SimAttempt, type SimHost, type SimProfile } from '../agent/simulator.js';
import { createApp } from '../app.js';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { openDatabase } from '../db/connection.js';
import { migrateToLatest } from '../db/migrate.js';
import { startJobs } from '../jobs/index.js';
import { systemClock } from '../lib/clock.js';
import { createLogger } from '../lib/logger.js';
import { hashToken, newToken } from '../lib/tokens.js';
import { apiTokenDisplayPrefix, createApiToken } from '../models/api-tokens.js';
import { createUser } from '../models/users.js';
import { UsageError } from './errors.js';

// `npm run demo`: the real server on a fresh demo database, demo accounts,
// three clients with licenses made through the admin API, and simulated agents
// driving the agent API through the SDK over loopback. Nothing leaves 127.0.0.1.

export const DEMO_LOGINS = [
  { role: 'admin', email: 'admin@demo.local', password: 'demo-admin-pass' },
  { role: 'support', email: 'support@demo.local', password: 'demo-support-pass' },
  { role: 'client', email: 'client@demo.local', password: 'demo-client-pass' },
] as const;

const USAGE = `npm run demo [-- options]

  --db FILE       demo database (default ./data/demo.db), recreated at every start;
                  an existing FILE is deleted only if the demo created it
  --port N        port (default PORT or 3000; 0 picks a free one)
  --host ADDR     address to listen on (default 127.0.0.1)
  --agents N      concurrent simulated sessions (default 24)
  --seed N        seed of the simulation (default: the time)
  --quiet         do not print the simulated activity
`;

export interface DemoOptions {
  dbPath: string;
  host: string;
  port: number;
  agents: number;
  seed?: number;
  config: Readonly<Config>;
  out: (line: string) => void;
  quiet: boolean;
}

export interface RunningDemo {
  url: string;
  apiToken: string;
  simulator: Simulator;
  stop(): Promise<void>;
}

const DAY = 86_400_000;

function fingerprint(seed: string): Record<string, string> {
  const hex = (n: number) => createHash('sha256').update(`${seed}/${n}`).digest('hex').toUpperCase().slice(0, 16);
  return { cpu: `BFEBFBFF${hex(1).slice(0, 8)}`, board: `MB-${hex(2)}`, disk: `WD-${hex(3)}`, mac: hex(4).slice(0, 12).replace(/(..)(?!$)/g, '$1:') };
}

function host(hostname: string, os: string, ip: string): SimHost {
  return { hostname, os, ip, fingerprint: fingerprint(hostname) };
}

const range = (prefix: string, from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `${prefix}${from + i}`);

/** The application_id ("SMdm") the demo stamps on its database: the mark that lets its next start delete the file. */
export const DEMO_APPLICATION_ID = 0x534d646d;

const DEMO_ADMIN = "select 1 from users where email = 'admin@demo.local'";

function madeByDemo(file: string): boolean {
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      // A demo database from before the stamp is known by its demo admin.
      return db.pragma('application_id', { simple: true }) === DEMO_APPLICATION_ID || db.prepare(DEMO_ADMIN).get() !== undefined;
    } finally {
      db.close();
    }
  } catch {
    return false; // not a database, or one without users
  }
}

/**
 * Refuses a --db the demo must not delete: the production file, and any existing file the
 * demo did not create (a mistyped path, a copy of real data) — only the demo's own is recreated.
 */
function refuseForeignDatabase(dbPath: string, config: Readonly<Config>): void {
  const protectedFiles = new Set([path.resolve('./data/monitor.db'), config.databasePath]);
  if (protectedFiles.has(dbPath)) {
    throw new UsageError(`refusing to use ${dbPath} as the demo database: the demo deletes its database at every start`);
  }
  if (fs.existsSync(dbPath) && !madeByDemo(dbPath)) {
    throw new UsageError(`--db ${dbPath} exists and was not created by the demo, which deletes its database at every start; choose another --db or delete the file yourself`);
  }
}

/** Deletes the demo database and its WAL companions. */
function deleteDatabaseFiles(dbPath: string): void {
  for (const suffix of ['', '-wal', '-shm', '-journal']) fs.rmSync(dbPath + suffix, { force: true });
}

function listen(server: ServerType): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', () => resolve(server.address() as AddressInfo));
  });
}

/** Starts the server, creates the demo data and the simulated agents. */
export async function startDemo(o: DemoOptions): Promise<RunningDemo> {
  refuseForeignDatabase(o.dbPath, o.config);
  // The port before the database: a demo already running on it keeps its database.
  let app: ReturnType<typeof createApp>['app'] | null = null;
  const server = serve({ fetch: (req, env) => (app ? app.fetch(req, env) : new Response('The demo is starting.', { status: 503 })), port: o.port, hostname: o.host });
  const address = await listen(server);
  deleteDatabaseFiles(o.dbPath);

  const config: Readonly<Config> = Object.freeze({ ...o.config, databasePath: o.dbPath, host: o.host, port: address.port });
  const logger = createLogger(config.logLevel === 'debug' ? 'debug' : 'warn');
  const { db, sqlite } = openDatabase(o.dbPath);
  sqlite.pragma(`application_id = ${DEMO_APPLICATION_ID}`);
  await migrateToLatest(db);
  // "Resolve names by IP" must not touch DNS in a demo: the simulated addresses have invented names.
  const created = createApp({ db, config, clock: systemClock, logger, resolveName: simulatedHostName });
  const { deps } = created;
  app = created.app;
  const jobs = await startJobs(deps, sqlite);
  const url = `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${address.port}`;
  // The agents and the admin client always talk over loopback.
  const loopback = `http://127.0.0.1:${address.port}`;

  const now = Date.now();
  const users: Record<string, number> = {};
  for (const login of DEMO_LOGINS.filter((l) => l.role !== 'client')) {
    const u = await createUser(db, { email: login.email, name: `Demo ${login.role}`, passwordHash: await deps.hasher.hash(login.password), role: login.role }, now);
    users[login.role] = u.id;
  }
  const apiToken = newToken('smt_');
  await createApiToken(db, { name: 'demo simulator', tokenHash: hashToken(apiToken), displayPrefix: apiTokenDisplayPrefix(apiToken), role: 'admin', createdBy: users.admin }, now);
  const api = new AdminClient(loopback, apiToken);

  await api.patch('/settings', { heartbeatIntervalSec: 5, leaseTimeoutSec: 20, poolSize: 6 });

  // ---- clients and licenses, as a vendor's billing would create them ----
  const iso = (ms: number) => new Date(ms).toISOString();
  const romashka = await api.post('/clients', { name: 'Romashka LLC', email: 'it@romashka.example', notes: '1C accounting on two application servers' });
  const vector = await api.post('/clients', { name: 'Vector Analytics', email: 'ops@vector.example', notes: 'Analytics server with integrator and batch jobs' });
  const sever = await api.post('/clients', { name: 'Sever Trade', email: 'admin@sever.example', notes: 'Unpaid invoice: accounting license suspended' });

  const accounting = await api.post('/licenses', {
    clientId: romashka.id,
    product: 'Accounting Suite',
    features: ['reports', 'export', 'payroll'],
    featureLimits: { payroll: 2, export: 4 },
    maxHosts: 4,
    expiresAt: iso(now + 365 * DAY),
    selfResetQuota: 2,
  });
  // Nearly full: every host slot bound and the session limit close to the load the simulator puts on it.
  const analytics = await api.post('/licenses', {
    clientId: vector.id,
    product: 'Analytics Server',
    features: ['designer', 'export'],
    featureLimits: { designer: 3 },
    maxHosts: 3,
    maxSessions: 12,
    expiresAt: iso(now + 90 * DAY),
  });
  const analyticsOld = await api.post('/licenses', {
    clientId: vector.id,
    product: 'Analytics Server 2025',
    features: ['designer'],
    maxHosts: 2,
    expiresAt: iso(now - 30 * DAY),
  });
  const warehouse = await api.post('/licenses', {
    clientId: sever.id,
    product: 'Warehouse',
    features: ['reports'],
    maxHosts: 2,
    expiresAt: iso(now + 180 * DAY),
  });
  const severAccounting = await api.post('/licenses', { clientId: sever.id, product: 'Accounting Suite', features: ['reports'], maxHosts: 2 });
  await api.patch(`/licenses/${severAccounting.id}`, { suspended: true });

  const clientUser = DEMO_LOGINS.find((l) => l.role === 'client')!;
  await createUser(
    db,
    { email: clientUser.email, name: 'Romashka IT', passwordHash: await deps.hasher.hash(clientUser.password), role: 'client', clientId: romashka.id },
    now,
  );

  // ---- machines and infobases ----
  const romashkaHosts = [host('1C-APP-01', 'Windows Server 2022', '10.0.0.11'), host('1C-APP-02', 'Windows Server 2022', '10.0.0.12'), host('RDP-FARM-01', 'Windows Server 2019', '10.0.0.21')];
  const vectorHosts = [host('LGM-SRV-01', 'Ubuntu 22.04', '10.0.0.31'), host('LGM-SRV-02', 'Ubuntu 22.04', '10.0.0.32'), host('LGM-DEV', 'Windows 11', '10.0.0.33')];
  const severHosts = [host('SKLAD-SRV', 'Windows Server 2016', '10.0.0.41')];
  const ib = {
    acc: { id: '5f0c2a9e-1c01-4a53-9d1e-acc000000001', name: 'Бухгалтерия предприятия' },
    trade: { id: '5f0c2a9e-1c01-4a53-9d1e-ut0000000002', name: 'Управление торговлей' },
    zup: { id: '5f0c2a9e-1c01-4a53-9d1e-zup000000003', name: 'Зарплата и управление персоналом' },
    sklad: { id: '8a41d7c2-77b0-4f0e-b2a4-sk0000000001', name: 'Склад' },
  };

  // Bind all of Vector's hosts up front, so the "new server" attempt always meets a full list.
  for (const h of vectorHosts) {
    const a = new MonitorAgent({ baseUrl: loopback, licenseKey: analytics.key, fingerprint: h.fingerprint, machine: h, user: 'setup', app: { name: 'Analytics Server', version: '7.1.0' } });
    await a.open();
    await a.close();
  }
  // A payroll background job already running when the infobase gets locked: open sessions stay.
  const payrollJob = new MonitorAgent({
    baseUrl: loopback,
    licenseKey: accounting.key,
    fingerprint: romashkaHosts[0].fingerprint,
    machine: romashkaHosts[0],
    user: 'Регламентное задание',
    app: { name: '1C:Enterprise', version: '8.3.25' },
    infobase: ib.zup,
    connectionType: 'background',
  });
  await payrollJob.open();
  payrollJob.report({ metrics: { cpuMs: { total: 1_200_000 }, calls: { total: 5400 }, dbmsBytes: { total: 1_800_000_000 } } });
  const infobases = await api.get(`/infobases?client=${romashka.id}`);
  const zup = infobases.items.find((x: { externalId: string }) => x.externalId === ib.zup.id);
  const permissionCode = 'close-2026';
  await api.put(`/infobases/${zup.id}/lock`, {
    // No clock time in the text: the window ends 8 h after the demo starts, whatever the hour.
    message: 'Закрытие месяца: база ЗУП заблокирована на 8 часов. Срочно — звоните в ИТ, доб. 1234.',
    permissionCode,
    to: iso(now + 8 * 3600_000),
    denySessions: true,
    denyBackgroundJobs: false,
  });

  // ---- the simulated population ----
  const profiles: SimProfile[] = [
    {
      name: 'Romashka',
      licenseKey: accounting.key,
      app: { name: '1C:Enterprise', version: '8.3.25' },
      hosts: romashkaHosts,
      users: ['Иванова А.В.', 'Петров С.И.', 'Сидорова Е.Н.', 'Кузнецов Д.А.', 'Смирнова О.П.', 'Васильев И.К.', 'Морозова Т.Г.', 'Бухгалтер-стажёр'],
      clientIps: range('10.1.1.', 21, 44),
      infobases: [ib.acc, ib.trade],
      features: ['export', 'payroll'],
      openFeatures: ['reports'],
      mix: [
        { kind: 'client', weight: 6 },
        { kind: 'background', weight: 2 },
        { kind: 'webservice', weight: 1 },
        { kind: 'external', weight: 1 },
      ],
      weight: 4,
    },
    {
      name: 'Vector',
      licenseKey: analytics.key,
      app: { name: 'Analytics Server', version: '7.1.0' },
      hosts: vectorHosts,
      users: ['alice', 'bob', 'carol', 'dmitry', 'erin', 'farid', 'grace'],
      clientIps: range('10.2.5.', 10, 30),
      features: ['designer', 'export'],
      mix: [
        { kind: 'designer', weight: 3 },
        { kind: 'viewer', weight: 2 },
        { kind: 'integrator', weight: 2 },
        { kind: 'batch', weight: 1 },
      ],
      weight: 5,
    },
    {
      name: 'Sever',
      licenseKey: warehouse.key,
      app: { name: '1C:Enterprise', version: '8.3.24' },
      hosts: severHosts,
      users: ['Кладовщик 1', 'Кладовщик 2', 'Орлова М.С.'],
      clientIps: range('10.3.2.', 50, 60),
      infobases: [ib.sklad],
      features: ['reports'],
      mix: [
        { kind: 'client', weight: 3 },
        { kind: 'background', weight: 1 },
      ],
      weight: 1,
    },
  ];
  const attempts: SimAttempt[] = [
    { name: 'Vector: a new server on the full license', licenseKey: analytics.key, host: host('LGM-SRV-NEW', 'Ubuntu 24.04', '10.0.0.34'), user: 'alice' },
    { name: 'Romashka: Petrov opens the locked payroll base', licenseKey: accounting.key, host: romashkaHosts[1], user: 'Петров С.И.', infobase: ib.zup, app: { name: '1C:Enterprise', version: '8.3.25' } },
    { name: 'Vector: the expired 2025 license', licenseKey: analyticsOld.key, host: host('LGM-OLD', 'Ubuntu 20.04', '10.0.0.35'), user: 'bob' },
    { name: 'Sever: the suspended accounting license', licenseKey: severAccounting.key, host: host('SEVER-BUH', 'Windows Server 2019', '10.0.0.42'), user: 'Орлова М.С.' },
    {
      name: 'Romashka: the payroll admin with the permission code',
      licenseKey: accounting.key,
      host: romashkaHosts[0],
      user: 'Администратор ЗУП',
      infobase: ib.zup,
      permissionCode,
      app: { name: '1C:Enterprise', version: '8.3.25' },
      keepMs: 40_000,
    },
    { name: 'Romashka: a feature the license lacks', licenseKey: accounting.key, host: romashkaHosts[2], user: 'Кузнецов Д.А.', features: ['forecasting'], infobase: ib.acc },
    { name: 'A mistyped license key', licenseKey: 'ABCD-EFGH-JKMN-PQRS-TVWX', host: host('UNKNOWN-PC', 'Windows 10', '10.9.9.9'), user: 'guest' },
  ];

  const time = () => new Date().toLocaleTimeString('en-GB');
  const simulator = new Simulator({
    baseUrl: loopback,
    profiles,
    agents: o.agents,
    attempts,
    seed: o.seed,
    lifetimeMs: [40_000, 150_000],
    onEvent: o.quiet ? undefined : (type, text) => o.out(`${time()}  ${type.padEnd(8)} ${text}`),
  });
  simulator.start();

  let stopped: Promise<void> | null = null;
  const stop = () =>
    (stopped ??= (async () => {
      await Promise.race([Promise.allSettled([simulator.stop(), payrollJob.close()]), new Promise((r) => setTimeout(r, 5000))]);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as unknown as { closeIdleConnections?: () => void }).closeIdleConnections?.();
      });
      await jobs.stop();
      await db.destroy();
    })());

  return { url, apiToken, simulator, stop };
}

function banner(demo: RunningDemo, dbPath: string): string {
  const pad = (s: string, n: number) => s.padEnd(n);
  return [
    '',
    '  Session Monitor demo',
    '',
    `  Open ${demo.url}/ and sign in:`,
    '',
    ...DEMO_LOGINS.map((l) => `    ${pad(l.role, 8)} ${pad(l.email, 22)} password: ${l.password}${l.role === 'client' ? '   (Romashka LLC)' : ''}`),
    '',
    `  Admin API token (role admin): ${demo.apiToken}`,
    `    curl -H 'Authorization: Bearer ${demo.apiToken}' ${demo.url}/api/v1/admin/sessions`,
    '',
    `  Demo database: ${dbPath} (recreated at every start)`,
    '  Heartbeat every 5 s, lease timeout 20 s. Press Ctrl+C to stop.',
    '',
  ].join('\n');
}

/**
 * "--agents -1" as "--agents=-1": parseArgs calls a value starting with "-" ambiguous and says so
 * in its own words; a negative number is a value of a numeric option here, refused below by name.
 */
function joinNegativeNumbers(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (/^--(port|agents|seed)$/.test(argv[i]) && /^-\d/.test(argv[i + 1] ?? '')) out.push(`${argv[i]}=${argv[++i]}`);
    else out.push(argv[i]);
  }
  return out;
}

async function main(argv: string[]): Promise<void> {
  let args;
  try {
    args = parseArgs({
      args: joinNegativeNumbers(argv),
      options: {
        db: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        agents: { type: 'string' },
        seed: { type: 'string' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean' },
      },
    }).values;
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n\n${USAGE}`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return;
  }
  const whole = (name: string, v: string | undefined, def: number, max: number) => {
    if (v === undefined) return def;
    if (!/^\d+$/.test(v) || Number(v) > max) {
      process.stderr.write(`--${name} must be a whole number from 0 to ${max}\n`);
      process.exit(2);
    }
    return Number(v);
  };
  let config: Readonly<Config>;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`Configuration error: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const dbPath = path.resolve(args.db ?? './data/demo.db');
  const out = (line: string) => process.stdout.write(line + '\n');
  let demo: RunningDemo;
  try {
    demo = await startDemo({
      dbPath,
      host: args.host ?? '127.0.0.1',
      port: whole('port', args.port, config.port, 65535),
      agents: whole('agents', args.agents, 24, 100_000),
      seed: args.seed === undefined ? undefined : whole('seed', args.seed, 0, 2 ** 32 - 1),
      config,
      out,
      quiet: !!args.quiet,
    });
  } catch (e) {
    const code = (e as { code?: string }).code;
    process.stderr.write(`The demo could not start: ${code === 'EADDRINUSE' ? 'the port is in use (try --port 0 or PORT=…)' : e instanceof Error ? e.message : String(e)}\n`);
    process.exit(e instanceof UsageError ? 2 : 1);
  }
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    out('\nStopping: releasing the simulated sessions…');
    const force = setTimeout(() => {
      process.stderr.write('The demo did not stop within 10 s; exiting anyway.\n');
      process.exit(1);
    }, 10_000);
    force.unref();
    demo.stop().then(
      () => {
        out('Stopped.');
        process.exit(0);
      },
      (e) => {
        process.stderr.write(`Stopping failed: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  // Printed once Ctrl+C is ours: whoever reads the banner may stop the demo at once (a test does).
  out(banner(demo, dbPath));
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`Fatal: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  });
}
