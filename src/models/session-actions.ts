import { sql } from 'kysely';
import type { Db } from '../db/connection.js';
import { AppError, invalid, notFound } from '../lib/errors.js';
import { scopeClientId, type Actor } from './actor.js';
import { recordAudit } from './audit.js';
import { shortHash } from './fingerprint.js';
import { removeSharedPackage } from './packages.js';
import { bumpChangeMarker, closeSessions, inTransaction } from './session-lifecycle.js';
import { insertCommands, liveSessionIdsOfHost, sessionClosedError } from './sessions.js';

export { sessionState, isLate, type SessionState } from './sessions.js';

const label = (s: { user_name: string; client_session_id: string | null; session_number: number }) =>
  `${s.user_name} ${s.client_session_id ?? '#' + s.session_number}`;

/** Operator actions that client users may not take answer them 404, as if the target did not exist. */
function staffOnly(actor: Actor): void {
  if (actor.role === 'client') throw notFound();
}

async function scopedSession(trx: Db, actor: Actor, sessionId: string) {
  const s = await trx
    .selectFrom('sessions')
    .select([
      'id', 'client_id', 'license_id', 'host_id', 'user_name', 'client_session_id', 'session_number', 'running', 'closed_at',
      'close_reason', 'close_message',
    ])
    .where('id', '=', sessionId)
    .executeTakeFirst();
  const scope = scopeClientId(actor);
  if (!s || (scope !== null && s.client_id !== scope)) throw notFound();
  return s;
}

async function scopedHost(trx: Db, actor: Actor, hostId: number) {
  const h = await trx
    .selectFrom('hosts')
    .innerJoin('licenses', 'licenses.id', 'hosts.license_id')
    .select(['hosts.id', 'hosts.license_id', 'hosts.fingerprint_hash', 'hosts.machine_hostname', 'hosts.reset_at', 'licenses.client_id'])
    .where('hosts.id', '=', hostId)
    .executeTakeFirst();
  const scope = scopeClientId(actor);
  if (!h || h.reset_at !== null || (scope !== null && h.client_id !== scope)) throw notFound();
  return h;
}

const hostLabel = (h: { machine_hostname: string | null; fingerprint_hash: string }) => h.machine_hostname ?? shortHash(h.fingerprint_hash);

/**
 * Terminates one session (reason 'terminated'); the message reaches the agent in the 410. Closed
 * already: nothing to do, and false (the pages say so rather than "terminated").
 */
export async function terminateSession(db: Db, actor: Actor, sessionId: string, message: string | null, now: number): Promise<boolean> {
  return inTransaction(db, async (trx) => {
    const s = await scopedSession(trx, actor, sessionId);
    if (s.closed_at !== null) return false;
    await closeSessions(trx, { sessionIds: [s.id] }, 'terminated', now, message);
    await recordAudit(
      trx,
      actor,
      { action: 'session.terminate', targetType: 'session', targetId: s.id, targetLabel: label(s), clientId: s.client_id, details: { message } },
      now,
    );
    return true;
  });
}

/** Terminates the open sessions among the ids the actor may see (others are ignored); returns how many closed. */
export async function terminateSessions(db: Db, actor: Actor, sessionIds: string[], message: string | null, now: number): Promise<number> {
  if (!sessionIds.length) return 0;
  return inTransaction(db, async (trx) => {
    let q = trx
      .selectFrom('sessions')
      .select(['id', 'client_id', 'user_name', 'client_session_id', 'session_number'])
      .where(sql<boolean>`id in (select value from json_each(${JSON.stringify(sessionIds)}))`)
      .where('closed_at', 'is', null);
    const scope = scopeClientId(actor);
    if (scope !== null) q = q.where('client_id', '=', scope);
    const open = await q.execute();
    if (!open.length) return 0;
    await closeSessions(trx, { sessionIds: open.map((s) => s.id) }, 'terminated', now, message);
    for (const s of open) {
      await recordAudit(
        trx,
        actor,
        { action: 'session.terminate', targetType: 'session', targetId: s.id, targetLabel: label(s), clientId: s.client_id, details: { message } },
        now,
      );
    }
    return open.length;
  });
}

export interface ResetOptions {
  /** A client's self-service reset (counts against the license's quota); set for client users anyway. */
  selfService?: boolean;
  /** Runs inside the reset's transaction before anything changes (e.g. the self-service quota check); throw to refuse. */
  check?: (trx: Db, host: { id: number; licenseId: number; clientId: number }) => Promise<void>;
}

/**
 * Resets a binding: soft-deletes the host (kept for history and audit), frees
 * its slot, closes its sessions with 'binding_reset' and deletes its pool and
 * shared packages. A reason is required.
 */
export async function resetBinding(
  db: Db,
  actor: Actor,
  hostId: number,
  reason: string,
  now: number,
  opts: ResetOptions = {},
): Promise<{ closedSessions: number }> {
  const why = reason.trim();
  if (!why) throw invalid({ reason: 'api.v.reason_required' });
  return inTransaction(db, async (trx) => {
    const h = await scopedHost(trx, actor, hostId);
    await opts.check?.(trx, { id: h.id, licenseId: h.license_id, clientId: h.client_id });
    const byClient = opts.selfService || actor.role === 'client';
    await trx
      .updateTable('hosts')
      .set({ reset_at: now, reset_reason: why, reset_by: actor.name, reset_by_client: byClient ? 1 : 0 })
      .where('id', '=', h.id)
      .execute();
    const closed = await closeSessions(trx, { hostId: h.id }, 'binding_reset', now);
    await trx.deleteFrom('pool_entries').where('host_id', '=', h.id).execute();
    await trx.deleteFrom('shared_packages').where('host_id', '=', h.id).execute();
    await bumpChangeMarker(trx);
    await recordAudit(
      trx,
      actor,
      {
        action: 'host.reset',
        targetType: 'host',
        targetId: h.id,
        targetLabel: hostLabel(h),
        clientId: h.client_id,
        reason: why,
        details: { licenseId: h.license_id, closedSessions: closed.length, selfService: byClient },
      },
      now,
    );
    return { closedSessions: closed.length };
  });
}

export interface CommandRequest {
  type: 'stop' | 'closePackage' | 'message';
  packageId?: string;
  path?: string;
  text?: string;
}

/**
 * Queues a command for a live session (PROTOCOL §2 "Commands"): stop (409
 * not_running when nothing it names runs), closePackage (a path, or a package
 * id whose path is filled in), message (a text). Staff only.
 */
export async function enqueueCommand(db: Db, actor: Actor, sessionId: string, cmd: CommandRequest, now: number): Promise<{ id: string }> {
  staffOnly(actor);
  return inTransaction(db, async (trx) => {
    const s = await scopedSession(trx, actor, sessionId);
    if (s.closed_at !== null) throw sessionClosedError(s);
    const pkg = cmd.packageId
      ? await trx.selectFrom('packages').select(['path', 'state']).where('session_id', '=', s.id).where('package_id', '=', cmd.packageId).executeTakeFirst()
      : undefined;
    let path = cmd.path ?? null;
    let text: string | null = null;
    // A package id names one the session has open: another id is a mistake in the request, not "nothing running".
    if (cmd.packageId && !pkg && cmd.type !== 'message') throw invalid({ packageId: 'api.v.no_such_package' });
    if (cmd.type === 'stop') {
      let running: boolean;
      if (cmd.packageId) running = pkg?.state === 'running';
      else if (cmd.path) {
        const states = await trx.selectFrom('packages').select('state').where('session_id', '=', s.id).where('path', '=', cmd.path).execute();
        // As with a package id: a path the session has no package at is a mistake in the request.
        if (!states.length) throw invalid({ path: 'api.v.no_package_at_path' });
        running = states.some((r) => r.state === 'running');
      } else running = s.running === 1;
      // Named a package (or a path): it is that one that is not running, whatever else may be.
      const named = cmd.packageId ?? cmd.path;
      if (!running) throw new AppError('not_running', 409, {}, named === undefined ? {} : { package: named });
    } else if (cmd.type === 'closePackage') {
      // The agent's command always carries the path (PROTOCOL §2): a package id names one the session has open, with a path.
      path ??= pkg?.path ?? null;
      if (path === null) throw invalid(cmd.packageId ? { packageId: 'api.v.package_without_path' } : { path: 'api.v.path_or_package' });
    } else if (cmd.type === 'message') {
      text = cmd.text?.trim() ?? '';
      if (!text) throw invalid({ text: 'api.v.text_required' });
      path = null;
    } else {
      throw invalid({ type: 'api.v.command_type' });
    }
    const packageId = cmd.type === 'message' ? null : (cmd.packageId ?? null);
    if (cmd.type !== 'message') {
      // Asked twice before the agent answered (a double click, a retried request): the command already
      // waiting is the answer — one stop or close in the agent's queue, one line in the audit log.
      const waiting = await trx
        .selectFrom('commands')
        .select('id')
        .where('session_id', '=', s.id)
        .where('type', '=', cmd.type)
        .where('acked_at', 'is', null)
        .where(sql<boolean>`package_id is ${packageId} and path is ${path}`)
        .executeTakeFirst();
      if (waiting) return { id: waiting.id };
    }
    const [id] = await insertCommands(
      trx,
      [{ sessionId: s.id, type: cmd.type, packageId, path, text }],
      actor.name,
      now,
    );
    await bumpChangeMarker(trx);
    await recordAudit(
      trx,
      actor,
      {
        action: `session.command.${cmd.type}`,
        targetType: 'session',
        targetId: s.id,
        targetLabel: label(s),
        clientId: s.client_id,
        details: { commandId: id, packageId: cmd.packageId ?? null, path, text },
      },
      now,
    );
    return { id };
  });
}

/** Empties a host's package pool and sends clearPool to its live sessions. Staff only. */
export async function clearHostPool(db: Db, actor: Actor, hostId: number, now: number): Promise<void> {
  staffOnly(actor);
  await inTransaction(db, async (trx) => {
    const h = await scopedHost(trx, actor, hostId);
    await trx.deleteFrom('pool_entries').where('host_id', '=', h.id).execute();
    const live = await liveSessionIdsOfHost(trx, h.id);
    await insertCommands(trx, live.map((sessionId) => ({ sessionId, type: 'clearPool' as const })), actor.name, now);
    await bumpChangeMarker(trx);
    await recordAudit(
      trx,
      actor,
      { action: 'host.pool_clear', targetType: 'host', targetId: h.id, targetLabel: hostLabel(h), clientId: h.client_id, details: { sessions: live.length } },
      now,
    );
  });
}

/** "Clear all pools": every bound host's pool (of one client when given), clearPool to their live sessions. Staff only. */
export async function clearAllPools(db: Db, actor: Actor, now: number, opts: { clientId?: number } = {}): Promise<number> {
  staffOnly(actor);
  return inTransaction(db, async (trx) => {
    let hostsQ = trx.selectFrom('hosts').innerJoin('licenses', 'licenses.id', 'hosts.license_id').select('hosts.id').where('hosts.reset_at', 'is', null);
    if (opts.clientId !== undefined) hostsQ = hostsQ.where('licenses.client_id', '=', opts.clientId);
    const hostIds = (await hostsQ.execute()).map((h) => h.id);
    if (!hostIds.length) return 0;
    const inHosts = (col: string) => sql<boolean>`${sql.ref(col)} in (select value from json_each(${JSON.stringify(hostIds)}))`;
    await trx.deleteFrom('pool_entries').where(inHosts('host_id')).execute();
    const live = await trx.selectFrom('sessions').select('id').where(inHosts('host_id')).where('closed_at', 'is', null).execute();
    await insertCommands(trx, live.map((s) => ({ sessionId: s.id, type: 'clearPool' as const })), actor.name, now);
    await bumpChangeMarker(trx);
    await recordAudit(
      trx,
      actor,
      { action: 'host.pool_clear_all', targetType: 'client', targetId: opts.clientId ?? null, clientId: opts.clientId ?? null, details: { hosts: hostIds.length } },
      now,
    );
    return hostIds.length;
  });
}

/**
 * Closes a shared package of a host: only at count 1 (409
 * shared_package_in_use with the count otherwise); sends closePackage with
 * the path to the host's live sessions. Staff only.
 */
export async function closeSharedPackage(db: Db, actor: Actor, hostId: number, path: string, now: number): Promise<void> {
  staffOnly(actor);
  await inTransaction(db, async (trx) => {
    const h = await scopedHost(trx, actor, hostId);
    await removeSharedPackage(trx, h.id, path);
    const live = await liveSessionIdsOfHost(trx, h.id);
    await insertCommands(trx, live.map((sessionId) => ({ sessionId, type: 'closePackage' as const, path })), actor.name, now);
    await bumpChangeMarker(trx);
    await recordAudit(
      trx,
      actor,
      { action: 'host.shared_package_close', targetType: 'host', targetId: h.id, targetLabel: hostLabel(h), clientId: h.client_id, details: { path } },
      now,
    );
  });
}
