import { hashPermissionCode, newLicenseKey } from '../../src/lib/tokens.js';
import type { Db } from '../../src/db/connection.js';
import type { Actor } from '../../src/models/actor.js';
import type { TestApp } from './app.js';

// Test data for the agent protocol, inserted directly: the licensing CRUD models are another module's.

let n = 0;

export interface TestLicense {
  id: number;
  key: string;
  clientId: number;
}

export interface LicenseOpts {
  clientId?: number;
  maxHosts?: number;
  maxSessions?: number | null;
  /** feature → concurrent limit (null = unlimited). */
  features?: Record<string, number | null>;
  expiresAt?: number | null;
  suspended?: boolean;
}

/** A client row. */
export async function insertClient(db: Db, now: number, name = `Client ${++n}`): Promise<number> {
  const row = await db.insertInto('clients').values({ name, created_at: now, updated_at: now }).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

/** A license (for a new client unless clientId is given) with its features. */
export async function insertLicense(db: Db, now: number, opts: LicenseOpts = {}): Promise<TestLicense> {
  const clientId = opts.clientId ?? (await insertClient(db, now));
  const key = newLicenseKey();
  const row = await db
    .insertInto('licenses')
    .values({
      client_id: clientId,
      key,
      product: 'Payroll',
      max_hosts: opts.maxHosts ?? 2,
      max_sessions: opts.maxSessions ?? null,
      expires_at: opts.expiresAt ?? null,
      suspended_at: opts.suspended ? now : null,
      created_at: now,
      updated_at: now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const features = Object.entries(opts.features ?? {});
  if (features.length) {
    await db
      .insertInto('license_features')
      .values(features.map(([feature, max]) => ({ license_id: row.id, feature, max_sessions: max })))
      .execute();
  }
  return { id: row.id, key, clientId };
}

export const makeLicense = (t: TestApp, opts: LicenseOpts = {}) => insertLicense(t.db, t.clock.now(), opts);

export interface LockOpts {
  from?: number | null;
  to?: number | null;
  message?: string;
  code?: string | null;
  denySessions?: boolean;
  denyBackground?: boolean;
}

/** An infobase of a client, optionally locked. Returns its server id. */
export async function makeInfobase(t: TestApp, clientId: number, externalId: string, name: string, lock?: LockOpts): Promise<number> {
  const row = await t.db
    .insertInto('infobases')
    .values({
      client_id: clientId,
      external_id: externalId,
      name,
      created_at: t.clock.now(),
      lock_set_at: lock ? t.clock.now() : null,
      lock_set_by: lock ? 'test' : null,
      lock_from: lock?.from ?? null,
      lock_to: lock?.to ?? null,
      lock_message: lock ? (lock.message ?? 'Maintenance') : null,
      lock_code: lock?.code ? hashPermissionCode(lock.code) : null,
      lock_deny_sessions: lock?.denySessions === false ? 0 : 1,
      lock_deny_background: lock?.denyBackground ? 1 : 0,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** A fingerprint that differs per n. */
export const fingerprint = (n: number | string) => ({ cpu: `BFEBFBFF-${n}`, board: `BOARD-${n}`, disk: 'WD-1', mac: '00:11:22:33:44:55' });

/** A capture body with sensible defaults. */
export function captureBody(key: string, overrides: Record<string, unknown> = {}) {
  return {
    licenseKey: key,
    fingerprint: fingerprint(1),
    machine: { hostname: 'ACC-SRV-01', os: 'Windows Server 2022', ip: '10.0.0.5' },
    user: 'Ivanov',
    app: { name: 'Payroll', version: '3.2.1' },
    ...overrides,
  };
}

export interface OpenedSession {
  sessionId: string;
  token: string;
  hostId: number;
  sessionNumber: number;
  features: string[];
}

/** Opens a session over HTTP and insists on 201. */
export async function openOk(t: TestApp, key: string, overrides: Record<string, unknown> = {}): Promise<OpenedSession> {
  const res = await t.request.post('/api/v1/sessions').send(captureBody(key, overrides));
  if (res.status !== 201) throw new Error(`capture failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as OpenedSession;
}

/** Sends a heartbeat over HTTP. */
export function heartbeat(t: TestApp, s: { sessionId: string; token: string }, body: Record<string, unknown> = {}) {
  return t.request.post(`/api/v1/sessions/${s.sessionId}/heartbeat`).set('Authorization', `Bearer ${s.token}`).send(body);
}

/** The session row. */
export function sessionRow(t: TestApp, id: string) {
  return t.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

/** Row counts of every table the agent protocol writes, to prove a refused request stored nothing. */
export async function agentTableCounts(db: Db): Promise<Record<string, number>> {
  const tables = [
    'hosts', 'infobases', 'session_counters', 'sessions', 'session_features', 'metric_samples', 'packages',
    'shared_packages', 'pool_entries', 'commands', 'license_events', 'license_event_hours',
  ] as const;
  const out: Record<string, number> = {};
  for (const table of tables) {
    const r = await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    out[table] = Number(r.n);
  }
  const marker = await db.selectFrom('server_state').select('change_version').executeTakeFirstOrThrow();
  out.change_version = Number(marker.change_version);
  return out;
}

export const staffActor = (role: 'admin' | 'support' = 'support'): Actor => ({ type: 'user', id: 1, name: `test ${role}`, role, clientId: null, ip: '127.0.0.1' });
export const clientActor = (clientId: number): Actor => ({ type: 'user', id: 2, name: 'client user', role: 'client', clientId, ip: '127.0.0.1' });
