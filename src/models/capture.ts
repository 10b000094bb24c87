import type Database from 'better-sqlite3';
import { preparedStatement, rawHandleOf, type Db } from '../db/connection.js';
import type { ConnectionType, InfobaseRow, SessionRow } from '../db/schema.js';
import { AppError } from '../lib/errors.js';
import { hashToken, newToken, permissionCodeMatches, timeOrderedUuid } from '../lib/tokens.js';
import { fingerprintOfCached } from './fingerprint.js';
import { HOST_SEEN_RESOLUTION_MS } from './heartbeat.js';
import { countInHourNow, recordLicenseEventsNow, type EventSubject, type LicenseEventInput } from './history-events.js';
import { PERMISSION_CODE_USED } from './history.js';
import { bumpChangeMarkerNow } from './session-lifecycle.js';
import { sessionSearchText } from './session-search.js';
import { sessionClosedError } from './sessions.js';

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

/** 423 infobase_locked; `wrongCode`: a permission code was tried and did not fit (the rate limits weigh it more). */
export class LockRefusal extends AppError {
  constructor(
    message: string | null,
    public readonly wrongCode: boolean,
  ) {
    super('infobase_locked', 423, { message });
  }
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
  return !(permissionCode !== undefined && ib.lock_code !== null && permissionCodeMatches(permissionCode, ib.lock_code));
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
  host_seen_at: number | null;
  host_name: string | null;
  host_os: string | null;
  host_ip: string | null;
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
  const raw = rawHandleOf(db);
  const outcome = await db.transaction().execute(async () => {
    const out = captureInTransaction(raw, req, clientIp, now);
    bumpChangeMarkerNow(raw);
    return out;
  });
  if ('refused' in outcome) throw outcome.refused;
  return outcome.ok;
}

// The capture's statements, run synchronously on the raw handle (prepared once): Kysely's async
// plumbing around a dozen small statements was most of a capture's JavaScript.
const LICENSE_READ = `
  select l.id, l.client_id, l.max_hosts, l.max_sessions, l.expires_at, l.suspended_at,
    st.heartbeat_interval_sec, st.lease_timeout_sec,
    h.id as bound_host_id, h.last_seen_at as host_seen_at, h.machine_hostname as host_name, h.machine_os as host_os, h.machine_ip as host_ip,
    (select json_group_array(json_array(f.feature, f.max_sessions)) from license_features f where f.license_id = l.id) as features
  from licenses l join settings st on st.id = 1
    left join hosts h on h.license_id = l.id and h.fingerprint_hash = ? and h.reset_at is null
  where l.key = ?`;
const INFOBASE_READ = 'select * from infobases where client_id = ? and external_id = ?';
const HOST_BIND = `
  insert into hosts (license_id, fingerprint_hash, components, machine_hostname, machine_os, machine_ip, bound_at, last_seen_at)
  select ?, ?, ?, ?, ?, ?, ?, ?
  where (select count(*) from hosts where license_id = ? and reset_at is null) < ?
  returning id`;
const BOUND_HOSTS = 'select count(*) as n from hosts where license_id = ? and reset_at is null';
const HOST_SEEN = 'update hosts set last_seen_at = ?, machine_hostname = ?, machine_os = ?, machine_ip = ? where id = ?';
const INFOBASE_INSERT = 'insert into infobases (client_id, external_id, name, created_at) values (?, ?, ?, ?) returning id';
const INFOBASE_RENAME = 'update infobases set name = ? where id = ?';
const NEXT_NUMBER = `
  insert into session_counters (scope, last_number) values (?, 1)
  on conflict (scope) do update set last_number = last_number + 1
  returning last_number`;
const SESSION_INSERT = `
  insert into sessions (id, license_id, client_id, host_id, infobase_id, session_number, client_session_id, token_hash, user_name,
    roles, connection_type, app_name, app_version, machine_hostname, machine_os, machine_ip, client_ip, client_hostname,
    started_at, last_seen_at, heartbeat_interval_sec, updated_at, search_text)
  select ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?`;
const SESSION_LIMIT = ' where (select count(*) from sessions where license_id = ? and closed_at is null) < ?';
const FEATURE_INSERT = 'insert into session_features (session_id, license_id, feature, acquired_at) select ?, ?, ?, ?';
// Holders are open sessions: a closed session's feature rows wait for the pruning job.
const FEATURE_LIMIT = `
  where (select count(*) from session_features f join sessions s on s.id = f.session_id
    where f.license_id = ? and f.feature = ? and s.closed_at is null) < ?`;
const REPEAT_READ = `
  select s.id, s.session_number, s.host_id, s.closed_at, s.close_reason, s.close_message, s.token_hash, h.fingerprint_hash
  from sessions s join hosts h on h.id = s.host_id
  where s.license_id = ? and s.client_session_id = ?`;
const RENEW_TOKEN = 'update sessions set token_hash = ?, last_seen_at = ?, updated_at = ? where id = ?';
const SESSION_FEATURES = 'select feature from session_features where session_id = ? order by acquired_at, rowid';

/**
 * openSession's work inside the caller's (IMMEDIATE) transaction, on its
 * connection's raw handle (`raw` must be the connection that transaction holds:
 * models/group-commit.ts), answering the refusal instead of throwing it: a
 * refusal's event is a write that must be committed with the transaction (so
 * heartbeats and captures can share a group commit). The caller moves the
 * change marker (once per group).
 */
export function captureInTransaction(raw: Database.Database, req: CaptureRequest, clientIp: string | null, now: number): CaptureOutcome {
  const fp = fingerprintOfCached(req.fingerprint);
  const features = [...new Set(req.features ?? [])];
  const token = newToken();
  const tokenHash = hashToken(token);
  const q = (text: string) => preparedStatement(raw, text);

  // One read for the license, the settings, this machine's binding and the licensed features.
  // (On PostgreSQL this read must lock the license row, FOR UPDATE, to serialise captures as BEGIN IMMEDIATE does.)
  const lic = q(LICENSE_READ).get(fp.hash, req.licenseKey) as LicenseRead | undefined;
  if (!lic) return { refused: new AppError('license_not_found', 404) };
  const bound = lic.bound_host_id === null ? undefined : { id: lic.bound_host_id };
  const subject: EventSubject = {
    userName: req.user,
    hostId: bound?.id ?? null,
    // A capture without machine details, from a bound machine: the name it is known by (support read refusals by it).
    hostname: req.machine?.hostname ?? lic.host_name ?? null,
    fingerprintHash: fp.hash,
    clientIp,
    sessionId: null,
  };
  const refuse = (err: AppError, feature: string | null = null, infobaseId: number | null = null): Outcome => {
    recordLicenseEventsNow(raw, lic.id, [{ kind: 'refusal', code: err.code, feature, infobaseId }], subject, now);
    return { refused: err };
  };

  if (lic.suspended_at !== null) return refuse(new AppError('license_suspended', 403));

  const timing = { heartbeatIntervalSec: lic.heartbeat_interval_sec, leaseTimeoutSec: lic.lease_timeout_sec };
  const expired = lic.expires_at !== null && now >= lic.expires_at;
  // Expiry refuses new captures and closes nothing: a repeat for a session still open is not a
  // new capture (an agent whose answer was lost gets its session back). Anything else is refused.
  const repeat = req.clientSessionId === undefined ? undefined : idempotentRepeat(raw, lic.id, req.clientSessionId, fp.hash, tokenHash, now);
  if (repeat && 'ok' in repeat) return { ok: { ...repeat.ok, token, ...timing } };
  if (expired) return refuse(new AppError('license_expired', 403));
  if (repeat) return repeat;

  const ib = req.infobase ? (q(INFOBASE_READ).get(lic.client_id, req.infobase.id) as InfobaseRow | undefined) : undefined;
  if (ib && lockRefuses(ib, req.connectionType, req.permissionCode, now)) {
    // A guess only where a code could have let it in: a session (not a background job) and a lock with a code.
    const guessed = !!req.permissionCode && req.connectionType !== 'background' && ib.lock_code !== null;
    return refuse(new LockRefusal(ib.lock_message, guessed), null, ib.id);
  }
  // Let in by the permission code (the lock refuses this capture without it): the license history says who.
  const letInByCode = ib !== undefined && !!req.permissionCode && lockRefuses(ib, req.connectionType, undefined, now);

  const limitOf = new Map(JSON.parse(lic.features) as [string, number | null][]);
  const missing = features.find((f) => !limitOf.has(f));
  if (missing !== undefined) return refuse(new AppError('feature_not_licensed', 403, { feature: missing }), missing);

  // From here on every write is undone if a later limit refuses. Without session or feature
  // limits only the binding can refuse, and it is the first write: no savepoint needed.
  const mayRefuseLater = lic.max_sessions !== null || features.some((f) => limitOf.get(f) != null);
  if (mayRefuseLater) raw.exec('savepoint capture');
  const undo = (err: AppError, feature: string | null = null) => {
    if (mayRefuseLater) raw.exec('rollback to capture');
    return refuse(err, feature);
  };

  const machine = [req.machine?.hostname ?? null, req.machine?.os ?? null, req.machine?.ip ?? null] as const;
  let hostId = bound?.id;
  // A bound machine's details follow what its captures send; a detail left out keeps the one known.
  const known = [machine[0] ?? lic.host_name, machine[1] ?? lic.host_os, machine[2] ?? lic.host_ip] as const;
  if (hostId === undefined) {
    const inserted = q(HOST_BIND).get(lic.id, fp.hash, fp.components, ...machine, now, now, lic.id, lic.max_hosts) as { id: number } | undefined;
    if (!inserted) {
      const n = q(BOUND_HOSTS).get(lic.id) as { n: number };
      return undo(new AppError('host_limit_reached', 403, { maxHosts: lic.max_hosts, boundHosts: Number(n.n) }));
    }
    hostId = inserted.id;
    subject.hostId = hostId;
  } else if (now - lic.host_seen_at! >= HOST_SEEN_RESOLUTION_MS || known[0] !== lic.host_name || known[1] !== lic.host_os || known[2] !== lic.host_ip) {
    // As with heartbeats, lastSeenAt follows to HOST_SEEN_RESOLUTION_MS: a capture from a bound,
    // unchanged machine seen a moment ago writes nothing to its row.
    q(HOST_SEEN).run(now, ...known, hostId);
  }

  let infobaseId: number | null = null;
  if (req.infobase) {
    // A blank name is no name: the base keeps the one it has (a new one is called by its id).
    const name = (req.infobase.name?.trim() ? req.infobase.name : undefined) ?? ib?.name ?? req.infobase.id;
    if (!ib) {
      infobaseId = (q(INFOBASE_INSERT).get(lic.client_id, req.infobase.id, name, now) as { id: number }).id;
    } else {
      infobaseId = ib.id;
      if (ib.name !== name) q(INFOBASE_RENAME).run(name, ib.id);
    }
  }

  const scope = infobaseId !== null ? `ib:${infobaseId}` : `lic:${lic.id}`;
  const sessionNumber = (q(NEXT_NUMBER).get(scope) as { last_number: number }).last_number;

  const sessionId = timeOrderedUuid(now);
  const values = [
    sessionId, lic.id, lic.client_id, hostId, infobaseId, sessionNumber, req.clientSessionId ?? null, tokenHash, req.user,
    JSON.stringify([...new Set(req.roles ?? [])]), req.connectionType, req.app?.name ?? null, req.app?.version ?? null,
    ...machine, clientIp, req.client?.hostname ?? null,
    now, now, lic.heartbeat_interval_sec, now,
    sessionSearchText({ user_name: req.user, client_session_id: req.clientSessionId ?? null, machine_hostname: machine[0], client_hostname: req.client?.hostname ?? null, machine_ip: machine[2], client_ip: clientIp }),
  ];
  const insertedSession =
    lic.max_sessions === null ? q(SESSION_INSERT).run(...values) : q(SESSION_INSERT + SESSION_LIMIT).run(...values, lic.id, lic.max_sessions);
  if (insertedSession.changes !== 1) {
    return undo(new AppError('session_limit_reached', 403, { maxSessions: lic.max_sessions ?? 0 }));
  }
  subject.sessionId = sessionId;

  for (const feature of features) {
    const limit = limitOf.get(feature) ?? null;
    const r =
      limit === null
        ? q(FEATURE_INSERT).run(sessionId, lic.id, feature, now)
        : q(FEATURE_INSERT + FEATURE_LIMIT).run(sessionId, lic.id, feature, now, lic.id, feature, limit);
    if (r.changes !== 1) {
      subject.sessionId = null;
      return undo(new AppError('feature_limit_reached', 403, { feature, limit: limit ?? 0 }), feature);
    }
  }

  if (mayRefuseLater) raw.exec('release capture');
  countInHourNow(raw, lic.id, { kind: 'open', code: null }, 1, now);
  const events: LicenseEventInput[] = features.map((feature) => ({ kind: 'capture' as const, feature }));
  if (letInByCode) events.push({ kind: 'capture', code: PERMISSION_CODE_USED, infobaseId: ib!.id });
  if (events.length) recordLicenseEventsNow(raw, lic.id, events, subject, now);
  return { ok: { status: 201, sessionId, sessionNumber, token, hostId, features, ...timing } };
}

/**
 * An open with a clientSessionId already used in this license: the same
 * session with a new token (200), a conflict for another fingerprint (409),
 * or the closed session's 410. Undefined when the id is new.
 */
function idempotentRepeat(
  raw: Database.Database,
  licenseId: number,
  clientSessionId: string,
  fingerprintHash: string,
  tokenHash: string,
  now: number,
): { ok: Omit<CaptureAnswer, 'token' | 'heartbeatIntervalSec' | 'leaseTimeoutSec'> } | { refused: AppError } | undefined {
  const s = preparedStatement(raw, REPEAT_READ).get(licenseId, clientSessionId) as
    | Pick<SessionRow, 'id' | 'session_number' | 'host_id' | 'closed_at' | 'close_reason' | 'close_message' | 'token_hash'> & { fingerprint_hash: string }
    | undefined;
  if (!s) return undefined;
  if (s.fingerprint_hash !== fingerprintHash) return { refused: new AppError('client_session_conflict', 409) };
  if (s.closed_at !== null) return { refused: sessionClosedError(s) };
  preparedStatement(raw, RENEW_TOKEN).run(tokenHash, now, now, s.id);
  const features = (preparedStatement(raw, SESSION_FEATURES).all(s.id) as { feature: string }[]).map((r) => r.feature);
  return { ok: { status: 200, sessionId: s.id, sessionNumber: s.session_number, hostId: s.host_id, features } };
}
