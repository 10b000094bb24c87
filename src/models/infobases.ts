import { sql } from 'kysely';
import type { Db } from '../db/connection.js';
import type { InfobaseRow } from '../db/schema.js';
import { AppError, invalid, notFound } from '../lib/errors.js';
import { scopeClientId, type Actor } from './actor.js';
import { recordAudit } from './audit.js';
import { decodeCursor, pageLimit, toPage, type PageRequest, type Paged } from './paging.js';
import { bumpChangeMarker } from './session-lifecycle.js';
import { contains } from './sql-helpers.js';
import { hashPermissionCode } from '../lib/tokens.js';

export type LockState = 'none' | 'scheduled' | 'active' | 'expired';

/** An infobase's lock as staff and the admin API see it: the permission code itself is never shown. */
export interface InfobaseLock {
  state: Exclude<LockState, 'none'>;
  from: number | null;
  to: number | null;
  message: string;
  hasPermissionCode: boolean;
  denySessions: boolean;
  denyBackgroundJobs: boolean;
  setAt: number;
  setBy: string | null;
}

export interface Infobase {
  id: number;
  clientId: number;
  clientName: string;
  /** The id agents send. */
  externalId: string;
  name: string;
  createdAt: number;
  liveSessions: number;
  lock: InfobaseLock | null;
}

/** What a PUT of the lock carries; omitted fields take their defaults. */
export interface LockInput {
  from?: number | null;
  to?: number | null;
  message: string;
  permissionCode?: string | null;
  denySessions?: boolean;
  denyBackgroundJobs?: boolean;
}

type LockColumns = Pick<InfobaseRow, 'lock_set_at' | 'lock_from' | 'lock_to'>;

/** Where a lock stands at `now`: none set, waiting for `from`, in force, or past `to`. */
export function lockState(row: LockColumns, now: number): LockState {
  if (row.lock_set_at === null) return 'none';
  if (row.lock_to !== null && now >= row.lock_to) return 'expired';
  if (row.lock_from !== null && now < row.lock_from) return 'scheduled';
  return 'active';
}

type InfobaseListRow = InfobaseRow & { client_name: string; live_sessions: number | null };

function toInfobase(r: InfobaseListRow, now: number): Infobase {
  const state = lockState(r, now);
  return {
    id: r.id,
    clientId: r.client_id,
    clientName: r.client_name,
    externalId: r.external_id,
    name: r.name,
    createdAt: r.created_at,
    liveSessions: Number(r.live_sessions ?? 0),
    lock:
      state === 'none'
        ? null
        : {
            state,
            from: r.lock_from,
            to: r.lock_to,
            message: r.lock_message ?? '',
            hasPermissionCode: r.lock_code !== null,
            denySessions: r.lock_deny_sessions === 1,
            denyBackgroundJobs: r.lock_deny_background === 1,
            setAt: r.lock_set_at!,
            setBy: r.lock_set_by,
          },
  };
}

function infobaseQuery(db: Db) {
  return db
    .selectFrom('infobases')
    .innerJoin('clients', 'clients.id', 'infobases.client_id')
    .selectAll('infobases')
    .select('clients.name as client_name')
    .select((eb) =>
      eb
        .selectFrom('sessions')
        .whereRef('sessions.infobase_id', '=', 'infobases.id')
        .where('sessions.closed_at', 'is', null)
        .select(eb.fn.countAll<number>().as('n'))
        .as('live_sessions'),
    );
}

export interface InfobaseFilter {
  clientId?: number | null;
  /** Part of the name or the agents' id. */
  q?: string | null;
  /** Confines the list to one client (client users). */
  scopeClientId?: number | null;
}

/** Infobases by client name then name, with lock state at `now`, keyset-paged. */
export async function listInfobases(db: Db, filter: InfobaseFilter, page: PageRequest, now: number): Promise<Paged<Infobase>> {
  const limit = pageLimit(page.limit);
  let q = infobaseQuery(db);
  if (filter.scopeClientId != null) q = q.where('infobases.client_id', '=', filter.scopeClientId);
  if (filter.clientId != null) q = q.where('infobases.client_id', '=', filter.clientId);
  const text = filter.q?.trim();
  if (text) q = q.where((eb) => eb.or([contains('infobases.name', text), contains('infobases.external_id', text)]));
  if (page.cursor) {
    const [clientName, name, id] = decodeCursor(page.cursor, ['string', 'string', 'number'] as const);
    q = q.where(sql<boolean>`(clients.name collate nocase, infobases.name collate nocase, infobases.id) > (${clientName}, ${name}, ${id})`);
  }
  const rows = await q
    .orderBy(sql`clients.name collate nocase`)
    .orderBy(sql`infobases.name collate nocase`)
    .orderBy('infobases.id')
    .limit(limit + 1)
    .execute();
  return toPage(rows, limit, (r) => [r.client_name, r.name, r.id], (r) => toInfobase(r, now));
}

/** The infobase with this server id and its lock state at `now` (confined to `scopeClientId` when given). */
export async function infobaseById(db: Db, id: number, now: number, scopeClientId: number | null = null): Promise<Infobase | undefined> {
  let q = infobaseQuery(db).where('infobases.id', '=', id);
  if (scopeClientId !== null) q = q.where('infobases.client_id', '=', scopeClientId);
  const row = await q.executeTakeFirst();
  return row && toInfobase(row, now);
}

/** Checks a lock against the rules; returns field → problem. */
export function lockProblems(input: LockInput, now: number): Record<string, string> {
  const problems: Record<string, string> = {};
  if (typeof input.message !== 'string' || !input.message.trim()) problems.message = 'must not be empty';
  else if ([...input.message].length > 512) problems.message = 'at most 512 characters';
  if (input.permissionCode && [...input.permissionCode].length > 512) problems.permissionCode = 'at most 512 characters';
  const from = input.from ?? null;
  const to = input.to ?? null;
  if (to !== null && from !== null && to <= from) problems.to = 'must be later than from';
  else if (to !== null && to <= now) problems.to = 'must be in the future';
  // A lock that refuses neither new sessions nor background jobs would show "Locked" and let everyone in.
  if (input.denySessions === false && input.denyBackgroundJobs !== true) problems.denySessions = 'a lock must refuse new sessions, background jobs or both';
  // A code lets sessions through a refusal of new sessions and never lifts a background-job refusal (PROTOCOL):
  // on a lock that lets sessions in it would do nothing while the form and API seemed to take it.
  else if (input.denySessions === false && input.permissionCode && !problems.permissionCode) problems.permissionCode = 'only with denySessions';
  return problems;
}

/**
 * Replaces the infobase's whole lock (PUT): omitted fields reset to their
 * defaults, so no stale window survives. Audited 'infobase.locked' (the code
 * itself is never written to the audit log). Scoped to a client user's client.
 */
export async function setLock(db: Db, actor: Actor, id: number, input: LockInput, now: number): Promise<Infobase> {
  const problems = lockProblems(input, now);
  if (Object.keys(problems).length) throw invalid(problems);
  const scope = scopeClientId(actor);
  return db.transaction().execute(async (trx) => {
    const ib = await infobaseById(trx, id, now, scope);
    if (!ib) throw notFound();
    const lock = {
      lock_set_at: now,
      lock_set_by: actor.name,
      lock_from: input.from ?? null,
      lock_to: input.to ?? null,
      lock_message: input.message.trim(),
      // Only its salted hash is kept (lib/tokens.ts): the code is never readable back.
      lock_code: input.permissionCode ? hashPermissionCode(input.permissionCode) : null,
      lock_deny_sessions: input.denySessions === false ? 0 : 1,
      lock_deny_background: input.denyBackgroundJobs === true ? 1 : 0,
    };
    await trx.updateTable('infobases').set(lock).where('id', '=', id).execute();
    await recordAudit(
      trx,
      actor,
      {
        action: 'infobase.locked',
        targetType: 'infobase',
        targetId: id,
        targetLabel: ib.name,
        clientId: ib.clientId,
        details: {
          from: lock.lock_from,
          to: lock.lock_to,
          message: lock.lock_message,
          hasPermissionCode: lock.lock_code !== null,
          denySessions: lock.lock_deny_sessions === 1,
          denyBackgroundJobs: lock.lock_deny_background === 1,
        },
      },
      now,
    );
    await bumpChangeMarker(trx);
    return (await infobaseById(trx, id, now))!;
  });
}

/** Removes the infobase's lock; audited 'infobase.unlocked' when there was one. Scoped like setLock. */
export async function removeLock(db: Db, actor: Actor, id: number, now: number, expectedSetAt?: number): Promise<Infobase> {
  const scope = scopeClientId(actor);
  return db.transaction().execute(async (trx) => {
    const ib = await infobaseById(trx, id, now, scope);
    if (!ib) throw notFound();
    const row = await trx.selectFrom('infobases').select('lock_set_at').where('id', '=', id).executeTakeFirstOrThrow();
    if (row.lock_set_at === null) return ib;
    // Unlock confirmed on one lock while another person set a new one: that one stays, and the page says so.
    if (expectedSetAt !== undefined && row.lock_set_at !== expectedSetAt) throw new AppError('lock_changed', 409);
    await trx
      .updateTable('infobases')
      .set({
        lock_set_at: null,
        lock_set_by: null,
        lock_from: null,
        lock_to: null,
        lock_message: null,
        lock_code: null,
        lock_deny_sessions: 1,
        lock_deny_background: 0,
      })
      .where('id', '=', id)
      .execute();
    await recordAudit(trx, actor, { action: 'infobase.unlocked', targetType: 'infobase', targetId: id, targetLabel: ib.name, clientId: ib.clientId }, now);
    await bumpChangeMarker(trx);
    return (await infobaseById(trx, id, now))!;
  });
}
