import { createHash, randomUUID } from 'node:crypto';
import type { ConnectionType, PackageOrigin, PackageState } from '../../src/db/schema.js';
import { bumpChangeMarker } from '../../src/models/session-lifecycle.js';
import { sessionSearchText } from '../../src/models/session-search.js';
import type { TestApp } from './app.js';

// Monitor test data written straight into the tables, so the monitor's tests do
// not depend on the capture and heartbeat paths.

let seq = 0;

/** A client, a license of it, and a bound host of that license. */
export async function seedLicense(t: TestApp, opts: { clientId?: number; clientName?: string; key?: string } = {}) {
  const now = t.clock.now();
  const n = ++seq;
  const clientId =
    opts.clientId ??
    (await t.db.insertInto('clients').values({ name: opts.clientName ?? `Client ${n}`, created_at: now, updated_at: now }).returning('id').executeTakeFirstOrThrow()).id;
  const key = opts.key ?? `KEY${n}-AAAA-BBBB-CCCC`;
  const license = await t.db
    .insertInto('licenses')
    .values({ client_id: clientId, key, product: 'Payroll', max_hosts: 5, created_at: now, updated_at: now })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { clientId, licenseId: license.id, key };
}

/** A bound host of a license with fingerprint components. */
export async function seedHost(
  t: TestApp,
  licenseId: number,
  opts: { hostname?: string | null; ip?: string | null; components?: Record<string, string> } = {},
) {
  const now = t.clock.now();
  const components = opts.components ?? { cpu: `CPU-${++seq}`, board: 'BOARD-1' };
  const row = await t.db
    .insertInto('hosts')
    .values({
      license_id: licenseId,
      fingerprint_hash: createHash('sha256').update(JSON.stringify(components)).digest('hex'),
      components: JSON.stringify(components),
      machine_hostname: opts.hostname === undefined ? `SRV-${seq}` : opts.hostname,
      machine_os: 'Windows Server 2022',
      machine_ip: opts.ip === undefined ? '10.0.0.5' : opts.ip,
      bound_at: now,
      last_seen_at: now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export interface SessionSeed {
  licenseId: number;
  clientId: number;
  hostId: number;
  user?: string;
  clientSessionId?: string | null;
  roles?: string[];
  connection?: ConnectionType;
  infobase?: { externalId: string; name: string };
  appName?: string | null;
  appVersion?: string | null;
  machineHostname?: string | null;
  machineIp?: string | null;
  clientIp?: string | null;
  startedAt?: number;
  lastSeenAt?: number;
  sleeping?: boolean;
  running?: boolean;
  features?: string[];
  cpuTotal?: number;
  memTotal?: number;
}

/** An open session (and its infobase, features) inserted directly; moves the change marker like a capture does. */
export async function seedSession(t: TestApp, s: SessionSeed): Promise<string> {
  const now = t.clock.now();
  const id = randomUUID();
  const n = ++seq;
  let infobaseId: number | null = null;
  if (s.infobase) {
    const existing = await t.db.selectFrom('infobases').select('id').where('client_id', '=', s.clientId).where('external_id', '=', s.infobase.externalId).executeTakeFirst();
    infobaseId =
      existing?.id ??
      (await t.db
        .insertInto('infobases')
        .values({ client_id: s.clientId, external_id: s.infobase.externalId, name: s.infobase.name, created_at: now })
        .returning('id')
        .executeTakeFirstOrThrow()).id;
  }
  const row = {
    id,
    license_id: s.licenseId,
    client_id: s.clientId,
    host_id: s.hostId,
    infobase_id: infobaseId,
    session_number: n,
    client_session_id: s.clientSessionId === undefined ? null : s.clientSessionId,
    token_hash: createHash('sha256').update(id).digest('hex'),
    user_name: s.user ?? `user${n}`,
    roles: JSON.stringify(s.roles ?? []),
    connection_type: s.connection ?? 'client',
    app_name: s.appName === undefined ? 'Payroll' : s.appName,
    app_version: s.appVersion === undefined ? '3.2.1' : s.appVersion,
    machine_hostname: s.machineHostname === undefined ? 'ACC-SRV-01' : s.machineHostname,
    machine_os: 'Windows Server 2022',
    machine_ip: s.machineIp === undefined ? '10.0.0.5' : s.machineIp,
    client_ip: s.clientIp === undefined ? '10.0.0.77' : s.clientIp,
    client_hostname: 'BUH-PC-3',
    started_at: s.startedAt ?? now - 1000 * (1000 - n),
    last_seen_at: s.lastSeenAt ?? now,
    sleeping: s.sleeping ? 1 : 0,
    running: s.running ? 1 : 0,
    heartbeat_interval_sec: 60,
    cpu_total: s.cpuTotal ?? 0,
    mem_total: s.memTotal ?? 0,
    updated_at: now,
  };
  // The search text a capture stores (src/models/capture.ts).
  await t.db.insertInto('sessions').values({ ...row, search_text: sessionSearchText(row) }).execute();
  for (const feature of s.features ?? []) {
    await t.db.insertInto('session_features').values({ session_id: id, license_id: s.licenseId, feature, acquired_at: now }).execute();
  }
  await bumpChangeMarker(t.db);
  return id;
}

export interface PackageSeed {
  id?: string;
  path?: string | null;
  name?: string | null;
  version?: string | null;
  state?: PackageState;
  progress?: number | null;
  node?: string | null;
  refs?: string[];
  origin?: PackageOrigin;
}

/** A package open in a session. */
export async function seedPackage(t: TestApp, sessionId: string, p: PackageSeed = {}) {
  const now = t.clock.now();
  const id = p.id ?? `p-${++seq}`;
  await t.db
    .insertInto('packages')
    .values({
      session_id: sessionId,
      package_id: id,
      path: p.path === undefined ? `/projects/pkg${seq}.lgp` : p.path,
      name: p.name === undefined ? `pkg${seq}` : p.name,
      version: p.version === undefined ? '1.4.0' : p.version,
      created_at: now - 86_400_000,
      saved_at: now - 3_600_000,
      state: p.state ?? 'idle',
      progress: p.progress ?? null,
      node: p.node ?? null,
      node_started_at: p.node ? now - 5000 : null,
      refs: JSON.stringify(p.refs ?? []),
      origin: p.origin ?? 'interactive',
      opened_at: now,
      seq: seq,
    })
    .execute();
  if (p.state === 'running') await t.db.updateTable('sessions').set({ running: 1 }).where('id', '=', sessionId).execute();
  await bumpChangeMarker(t.db);
  return id;
}

/** A shared package of a host. */
export async function seedShared(t: TestApp, hostId: number, path: string) {
  await t.db.insertInto('shared_packages').values({ host_id: hostId, path, added_at: t.clock.now() }).execute();
  await bumpChangeMarker(t.db);
}

/** A pooled package instance of a host. */
export async function seedPool(t: TestApp, hostId: number, path: string, refs: string[] = []) {
  const row = await t.db
    .insertInto('pool_entries')
    .values({ host_id: hostId, path, version: '2.0.0', saved_at: t.clock.now() - 1000, refs: JSON.stringify(refs), lru: ++seq, added_at: t.clock.now() })
    .returning('id')
    .executeTakeFirstOrThrow();
  await bumpChangeMarker(t.db);
  return row.id;
}

/** Several sessions of one license and host, with consecutive users user-1…user-N. */
export async function seedSessions(t: TestApp, count: number, base: SessionSeed): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 1; i <= count; i++) ids.push(await seedSession(t, { ...base, user: `${base.user ?? 'user'}-${i}` }));
  return ids;
}
