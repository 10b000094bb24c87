import { randomUUID } from 'node:crypto';
import type { Actor } from '../../src/models/actor.js';
import { createClient } from '../../src/models/clients.js';
import { createLicense, type LicenseInput } from '../../src/models/licenses.js';
import { sha256Hex } from '../../src/lib/tokens.js';
import type { TestApp } from './app.js';

/** The actor test data is created as (not a token row; audit only names it). */
export const setupActor: Actor = { type: 'token', id: 0, name: 'test setup', role: 'admin', clientId: null, ip: null };

let n = 0;

/** A client made through the model. */
export async function adminClient(t: TestApp, name = `Acme ${++n}`) {
  return createClient(t.db, setupActor, { name, email: `ops${n}@acme.example` }, t.clock.now());
}

/** A license made through the model (for a new client unless clientId is given). */
export async function adminLicense(t: TestApp, input: Partial<LicenseInput> = {}) {
  const clientId = input.clientId ?? (await adminClient(t)).id;
  return createLicense(t.db, setupActor, { product: 'Payroll', maxHosts: 2, ...input, clientId }, t.clock.now());
}

/** A bound host row written directly (the capture path is another module's). */
export async function insertHost(t: TestApp, licenseId: number, opts: { hostname?: string; resetAt?: number | null; resetByClient?: boolean } = {}) {
  const now = t.clock.now();
  const components = { cpu: `CPU-${++n}`, board: 'B-1' };
  return t.db
    .insertInto('hosts')
    .values({
      license_id: licenseId,
      fingerprint_hash: sha256Hex(JSON.stringify(components)),
      components: JSON.stringify(components),
      machine_hostname: opts.hostname ?? `HOST-${n}`,
      machine_os: 'Windows Server 2022',
      machine_ip: '10.0.0.5',
      bound_at: now,
      last_seen_at: now,
      reset_at: opts.resetAt ?? null,
      reset_by_client: opts.resetByClient ? 1 : 0,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** An open session row written directly, with optional infobase, packages and features. */
export async function insertSession(
  t: TestApp,
  s: {
    licenseId: number;
    hostId: number;
    infobaseId?: number | null;
    user?: string;
    startedAt?: number;
    closedAt?: number | null;
    sleeping?: boolean;
    features?: string[];
    packages?: { id: string; path?: string; state?: 'running' | 'idle'; progress?: number | null }[];
  },
) {
  const lic = await t.db.selectFrom('licenses').select('client_id').where('id', '=', s.licenseId).executeTakeFirstOrThrow();
  const now = t.clock.now();
  const id = randomUUID();
  const running = (s.packages ?? []).some((p) => (p.state ?? 'idle') === 'running');
  const row = await t.db
    .insertInto('sessions')
    .values({
      id,
      license_id: s.licenseId,
      client_id: lic.client_id,
      host_id: s.hostId,
      infobase_id: s.infobaseId ?? null,
      session_number: ++n,
      client_session_id: `cs-${n}`,
      token_hash: sha256Hex(id),
      user_name: s.user ?? 'Ivanov',
      roles: '["viewer"]',
      connection_type: 'client',
      app_name: 'Payroll',
      app_version: '3.2.1',
      machine_hostname: 'ACC-SRV-01',
      machine_os: 'Windows',
      machine_ip: '10.0.0.5',
      client_ip: '10.0.0.77',
      client_hostname: 'BUH-PC-3',
      started_at: s.startedAt ?? now,
      last_seen_at: now,
      sleeping: s.sleeping ? 1 : 0,
      running: running ? 1 : 0,
      heartbeat_interval_sec: 60,
      cpu_total: 98000,
      cpu_5m: 1200,
      cpu_current: 120,
      data_total: 5242880,
      closed_at: s.closedAt ?? null,
      close_reason: s.closedAt ? 'released' : null,
      updated_at: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  for (const f of s.features ?? []) {
    await t.db.insertInto('session_features').values({ session_id: id, license_id: s.licenseId, feature: f, acquired_at: now }).execute();
  }
  let seq = 0;
  for (const p of s.packages ?? []) {
    await t.db
      .insertInto('packages')
      .values({
        session_id: id,
        package_id: p.id,
        path: p.path ?? null,
        name: p.id,
        state: p.state ?? 'idle',
        progress: p.progress ?? null,
        origin: 'interactive',
        opened_at: now,
        seq: seq++,
      })
      .execute();
  }
  return row;
}

/** An infobase row written directly (agents create them on first capture). */
export async function insertInfobase(t: TestApp, clientId: number, name = `Base ${++n}`) {
  return t.db
    .insertInto('infobases')
    .values({ client_id: clientId, external_id: `ext-${++n}`, name, created_at: t.clock.now() })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** A capture or refusal event for the license's history. */
export async function insertEvent(
  t: TestApp,
  e: { licenseId: number; kind: 'capture' | 'refusal'; at: number; code?: string | null; feature?: string | null; user?: string; hostId?: number | null; hostname?: string },
) {
  await t.db
    .insertInto('license_events')
    .values({
      license_id: e.licenseId,
      at: e.at,
      kind: e.kind,
      code: e.code ?? null,
      feature: e.feature ?? null,
      user_name: e.user ?? 'Ivanov',
      host_id: e.hostId ?? null,
      hostname: e.hostname ?? 'ACC-SRV-01',
    })
    .execute();
}

/** The audit rows with this action, oldest first. */
export async function auditRows(t: TestApp, action: string) {
  return t.db.selectFrom('audit_log').selectAll().where('action', '=', action).orderBy('id').execute();
}
