import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../db/connection.js';
import type { ConnectionType, InfobaseRow } from '../db/schema.js';
import { AppError } from '../lib/errors.js';
import { constantTimeEqual, hashToken, newToken } from '../lib/tokens.js';
import { fingerprintOf } from './fingerprint.js';
import { recordLicenseEvents, type EventSubject } from './history-events.js';
import { bumpChangeMarker } from './session-lifecycle.js';
import { sessionSearchText } from './session-search.js';
import { sessionClosedError, sessionFeatures } from './sessions.js';

export type AgentRole = 'admin' | 'design' | 'viewer' | 'execute';

/** A validated capture request (PROTOCOL §1). */
export interface CaptureRequest {
  licenseKey: string;
  clientSessionId?: string;
  fingerprint: Record<string, string>;
  machine?: { hostname?: string; os?: string; ip?: string };
  client?: { ip?: string; hostname?: string };
  user: string;
  roles?: AgentRole[];
  infobase?: { id: string; name?: string };
  connectionType: ConnectionType;
  app?: { name?: string; version?: string };
  features?: string[];
  permissionCode?: string;
}

export interface CaptureAnswer {
  /** 201 for a new session, 200 for an idempotent repeat. */
  status: 200 | 201;
  sessionId: string;
  sessionNumber: number;
  token: string;
  hostId: number;
  heartbeatIntervalSec: number;
  leaseTimeoutSec: number;
  features: string[];
}

/** Whether an infobase lock refuses this capture (PROTOCOL "Infobase locks"). */
export function lockRefuses(
  ib: Pick<InfobaseRow, 'lock_set_at' | 'lock_from' | 'lock_to' | 'lock_code' | 'lock_deny_sessions' | 'lock_deny_background'>,
  connectionType: ConnectionType,
  permissionCode: string | undefined,
  now: number,
): boolean {
  if (ib.lock_set_at === null) return false;
  if (ib.lock_from !== null && now < ib.lock_from) return false;
  if (ib.lock_to !== null && now >= ib.lock_to) return false;
  if (connectionType === 'background') return ib.lock_deny_background === 1;
  if (!ib.lock_deny_sessions) return false;
  return !(permissionCode !== undefined && ib.lock_code !== null && constantTimeEqual(permissionCode, ib.lock_code));
}

/** A capture's result: the answer, or the refusal to throw (its refusal event is already written). */
export type CaptureOutcome = { ok: CaptureAnswer } | { refused: AppError };
type Outcome = CaptureOutcome;

interface LicenseRead {
  id: number;
  client_id: number;
  max_hosts: number;
  max_sessions: number | null;
  expires_at: number | null;
  suspended_at: number | null;
  heartbeat_interval_sec: number;
  lease_timeout_sec: number;
  bound_host_id: number | null;
  features: string;
}

/**
 * Captures a license (PROTOCOL §1) in one IMMEDIATE transaction: checks in the
 * contract's order, then binding, session, number and features written all or
 * nothing. Each limit is a conditional write whose affected-row count decides,
 * so racing captures (also from other processes) cannot double-book. A 403/423
 * refusal of a known license records a refusal event and nothing else.
 */
export async function openSession(db: Db, req: CaptureRequest, clientIp: string | null, now: number): Promise<CaptureAnswer> {
  const outcome = await db.transaction().execute((trx) => captureInTransaction(trx, req, clientIp, now));
  if ('refused' in outcome) throw outcome.refused;
  return outcome.ok;
}

/**
 * openSession's work inside the caller's (IMMEDIATE) transaction, answering the
 * refusal instead of throwing it: a refusal's event is a write that must be
 * committed with the transaction (so heartbeats and captures can share a group commit).
 */
export async function captureInTransaction(trx: Db, req: CaptureRequest, clientIp: string | null, now: number): Promise<CaptureOutcome> {
  const fp = fingerprintOf(req.fingerprint);
  const features = [...new Set(req.features ?? [])];
  const token = newToken();
  const tokenHash = hashToken(token);

  // One read for the license, the settings, this machine's binding and the licensed features.
  // (On PostgreSQL this read must lock the license row, FOR UPDATE, to serialise captures as BEGIN IMMEDIATE does.)
  const { rows } = await sql<LicenseRead>`
    select l.id, l.client_id, l.max_hosts, l.max_sessions, l.expires_at, l.suspended_at,
      st.heartbeat_interval_sec, st.lease_timeout_sec,
      (select h.id from hosts h where h.license_id = l.id and h.fingerprint_hash = ${fp.hash} and h.reset_at is null) as bound_host_id,
      (select json_group_array(json_array(f.feature, f.max_sessions)) from license_features f where f.license_id = l.id) as features
    from licenses l join settings st on st.id = 1
    where l.key = ${req.licenseKey}`.execute(trx);
  const lic = rows[0];
  if (!lic) return { refused: new AppError('license_not_found', 404) };
  const bound = lic.bound_host_id === null ? undefined : { id: lic.bound_host_id };
  const subject: EventSubject = {
    userName: req.user,
    hostId: bound?.id ?? null,
    hostname: req.machine?.hostname ?? null,
    fingerprintHash: fp.hash,
    clientIp,
    sessionId: null,
  };
  const refuse = async (err: AppError, feature: string | null = null): Promise<Outcome> => {
    await recordLicenseEvents(trx, lic.id, [{ kind: 'refusal', code: err.code, feature }], subject, now);
    return { refused: err };
  };

  if (lic.suspended_at !== null) return refuse(new AppError('license_suspended', 403));
  if (lic.expires_at !== null && now >= lic.expires_at) return refuse(new AppError('license_expired', 403));

  const timing = { heartbeatIntervalSec: lic.heartbeat_interval_sec, leaseTimeoutSec: lic.lease_timeout_sec };

  if (req.clientSessionId !== undefined) {
    const repeat = await idempotentRepeat(trx, lic.id, req.clientSessionId, fp.hash, tokenHash, now);
    if (repeat) return 'refused' in repeat ? repeat : { ok: { ...repeat.ok, token, ...timing } };
  }

  const ib = req.infobase
    ? await trx.selectFrom('infobases').selectAll().where('client_id', '=', lic.client_id).where('external_id', '=', req.infobase.id).executeTakeFirst()
    : undefined;
  if (ib && lockRefuses(ib, req.connectionType, req.permissionCode, now)) {
    return refuse(new AppError('infobase_locked', 423, { message: ib.lock_message }));
  }

  const limitOf = new Map(JSON.parse(lic.features) as [string, number | null][]);
  const missing = features.find((f) => !limitOf.has(f));
  if (missing !== undefined) return refuse(new AppError('feature_not_licensed', 403, { feature: missing }), missing);

  // From here on every write is undone if a later limit refuses. Without session or feature
  // limits only the binding can refuse, and it is the first write: no savepoint needed.
  const mayRefuseLater = lic.max_sessions !== null || features.some((f) => limitOf.get(f) != null);
  if (mayRefuseLater) await sql`savepoint capture`.execute(trx);
  const undo = async (err: AppError, feature: string | null = null) => {
    if (mayRefuseLater) await sql`rollback to capture`.execute(trx);
    return refuse(err, feature);
  };

  let hostId = bound?.id;
  if (hostId === undefined) {
    const inserted = await sql<{ id: number }>`
      insert into hosts (license_id, fingerprint_hash, components, machine_hostname, machine_os, machine_ip, bound_at, last_seen_at)
      select ${lic.id}, ${fp.hash}, ${fp.components}, ${req.machine?.hostname ?? null}, ${req.machine?.os ?? null}, ${req.machine?.ip ?? null}, ${now}, ${now}
      where (select count(*) from hosts where license_id = ${lic.id} and reset_at is null) < ${lic.max_hosts}
      returning id`.execute(trx);
    if (!inserted.rows.length) {
      const n = await trx
        .selectFrom('hosts')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('license_id', '=', lic.id)
        .where('reset_at', 'is', null)
        .executeTakeFirstOrThrow();
      return undo(new AppError('host_limit_reached', 403, { maxHosts: lic.max_hosts, boundHosts: Number(n.n) }));
    }
    hostId = inserted.rows[0].id;
    subject.hostId = hostId;
  } else {
    await trx
      .updateTable('hosts')
      .set({
        last_seen_at: now,
        machine_hostname: req.machine?.hostname ?? null,
        machine_os: req.machine?.os ?? null,
        machine_ip: req.machine?.ip ?? null,
      })
      .where('id', '=', hostId)
      .execute();
  }

  let infobaseId: number | null = null;
  if (req.infobase) {
    const name = req.infobase.name ?? ib?.name ?? req.infobase.id;
    if (!ib) {
      const row = await trx
        .insertInto('infobases')
        .values({ client_id: lic.client_id, external_id: req.infobase.id, name, created_at: now })
        .returning('id')
        .executeTakeFirstOrThrow();
      infobaseId = row.id;
    } else {
      infobaseId = ib.id;
      if (ib.name !== name) await trx.updateTable('infobases').set({ name }).where('id', '=', ib.id).execute();
    }
  }

  const scope = infobaseId !== null ? `ib:${infobaseId}` : `lic:${lic.id}`;
  const counter = await sql<{ last_number: number }>`
    insert into session_counters (scope, last_number) values (${scope}, 1)
    on conflict (scope) do update set last_number = last_number + 1
    returning last_number`.execute(trx);
  const sessionNumber = counter.rows[0].last_number;

  const sessionId = randomUUID();
  const values = [
    sessionId, lic.id, lic.client_id, hostId, infobaseId, sessionNumber, req.clientSessionId ?? null, tokenHash, req.user,
    JSON.stringify([...new Set(req.roles ?? [])]), req.connectionType, req.app?.name ?? null, req.app?.version ?? null,
    req.machine?.hostname ?? null, req.machine?.os ?? null, req.machine?.ip ?? null, clientIp, req.client?.hostname ?? null,
    now, now, lic.heartbeat_interval_sec, now,
    sessionSearchText({ user_name: req.user, client_session_id: req.clientSessionId ?? null, machine_hostname: req.machine?.hostname ?? null, client_hostname: req.client?.hostname ?? null, machine_ip: req.machine?.ip ?? null, client_ip: clientIp }),
  ];
  const limitSql =
    lic.max_sessions === null
      ? sql``
      : sql`where (select count(*) from sessions where license_id = ${lic.id} and closed_at is null) < ${lic.max_sessions}`;
  const insertedSession = await sql`
    insert into sessions (id, license_id, client_id, host_id, infobase_id, session_number, client_session_id, token_hash, user_name,
      roles, connection_type, app_name, app_version, machine_hostname, machine_os, machine_ip, client_ip, client_hostname,
      started_at, last_seen_at, heartbeat_interval_sec, updated_at, search_text)
    select ${sql.join(values)} ${limitSql}`.execute(trx);
  if (Number(insertedSession.numAffectedRows ?? 0) !== 1) {
    return undo(new AppError('session_limit_reached', 403, { maxSessions: lic.max_sessions ?? 0 }));
  }
  subject.sessionId = sessionId;

  for (const feature of features) {
    const limit = limitOf.get(feature) ?? null;
    const cond =
      limit === null
        ? sql``
        : sql`where (select count(*) from session_features where license_id = ${lic.id} and feature = ${feature}) < ${limit}`;
    const r = await sql`
      insert into session_features (session_id, license_id, feature, acquired_at)
      select ${sessionId}, ${lic.id}, ${feature}, ${now} ${cond}`.execute(trx);
    if (Number(r.numAffectedRows ?? 0) !== 1) {
      subject.sessionId = null;
      return undo(new AppError('feature_limit_reached', 403, { feature, limit: limit ?? 0 }), feature);
    }
  }

  if (mayRefuseLater) await sql`release capture`.execute(trx);
  await recordLicenseEvents(
    trx,
    lic.id,
    [{ kind: 'open' }, ...features.map((feature) => ({ kind: 'capture' as const, feature }))],
    subject,
    now,
  );
  await bumpChangeMarker(trx);
  return { ok: { status: 201, sessionId, sessionNumber, token, hostId, features, ...timing } };
}

/**
 * An open with a clientSessionId already used in this license: the same
 * session with a new token (200), a conflict for another fingerprint (409),
 * or the closed session's 410. Undefined when the id is new.
 */
async function idempotentRepeat(
  trx: Db,
  licenseId: number,
  clientSessionId: string,
  fingerprintHash: string,
  tokenHash: string,
  now: number,
): Promise<{ ok: Omit<CaptureAnswer, 'token' | 'heartbeatIntervalSec' | 'leaseTimeoutSec'> } | { refused: AppError } | undefined> {
  const s = await trx
    .selectFrom('sessions')
    .innerJoin('hosts', 'hosts.id', 'sessions.host_id')
    .select([
      'sessions.id', 'sessions.session_number', 'sessions.host_id', 'sessions.closed_at', 'sessions.close_reason',
      'sessions.close_message', 'sessions.token_hash', 'hosts.fingerprint_hash',
    ])
    .where('sessions.license_id', '=', licenseId)
    .where('sessions.client_session_id', '=', clientSessionId)
    .executeTakeFirst();
  if (!s) return undefined;
  if (s.fingerprint_hash !== fingerprintHash) return { refused: new AppError('client_session_conflict', 409) };
  if (s.closed_at !== null) return { refused: sessionClosedError(s) };
  await trx.updateTable('sessions').set({ token_hash: tokenHash, last_seen_at: now, updated_at: now }).where('id', '=', s.id).execute();
  await bumpChangeMarker(trx);
  return { ok: { status: 200, sessionId: s.id, sessionNumber: s.session_number, hostId: s.host_id, features: await sessionFeatures(trx, s.id) } };
}
