import type { Db } from '../db/connection.js';
import type { ConnectionType } from '../db/schema.js';
import { sessionState, type SessionState } from './session-actions.js';
import { listLiveSessions, type SessionFilter } from './session-queries.js';

/** A live session in the compact lists of the license card, infobase page and cabinet. */
export interface SessionBrief {
  id: string;
  licenseId: number;
  licenseKey: string;
  user: string;
  /** The application's own session id, else the monitor's number ("#12"). */
  name: string;
  state: SessionState;
  running: boolean;
  connection: ConnectionType;
  machineHostname: string | null;
  machineIp: string | null;
  infobase: { id: number; name: string } | null;
  clientIp: string | null;
  clientHostname: string | null;
  startedAt: number;
  /** The agent's last real input when sent, else the last heartbeat. */
  activityAt: number;
  features: string[];
}

/** The newest `limit` live sessions matching the filter and how many match in all. */
export async function sessionBriefs(db: Db, filter: SessionFilter, limit: number, now: number): Promise<{ items: SessionBrief[]; total: number }> {
  const [page, total] = await Promise.all([listLiveSessions(db, filter, { limit }), countLiveSessions(db, filter)]);
  return {
    total,
    items: page.items.map(({ row: r, licenseKey, infobase, features }) => ({
      id: r.id,
      licenseId: r.license_id,
      licenseKey,
      user: r.user_name,
      name: r.client_session_id ?? `#${r.session_number}`,
      state: sessionState(r, now),
      running: r.running === 1,
      connection: r.connection_type,
      machineHostname: r.machine_hostname,
      machineIp: r.machine_ip,
      infobase: infobase && { id: infobase.id, name: infobase.name },
      clientIp: r.client_ip,
      clientHostname: r.client_hostname,
      startedAt: r.started_at,
      activityAt: r.last_input_at ?? r.last_seen_at,
      features,
    })),
  };
}

/** How many live sessions match the filter's ids and scope (the text search is not counted here). */
export async function countLiveSessions(db: Db, filter: SessionFilter): Promise<number> {
  let q = db.selectFrom('sessions').select((eb) => eb.fn.countAll<number>().as('n')).where('closed_at', 'is', null);
  if (filter.scopeClientId != null) q = q.where('client_id', '=', filter.scopeClientId);
  if (filter.licenseId != null) q = q.where('license_id', '=', filter.licenseId);
  if (filter.clientId != null) q = q.where('client_id', '=', filter.clientId);
  if (filter.infobaseId != null) q = q.where('infobase_id', '=', filter.infobaseId);
  const row = await q.executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Ids of the open sessions of an infobase (confined to `scopeClientId` when given), oldest first, for "Terminate all". */
export async function liveSessionIdsOfInfobase(db: Db, infobaseId: number, scopeClientId: number | null = null): Promise<string[]> {
  let q = db.selectFrom('sessions').select('id').where('infobase_id', '=', infobaseId).where('closed_at', 'is', null);
  if (scopeClientId !== null) q = q.where('client_id', '=', scopeClientId);
  const rows = await q.orderBy('started_at').orderBy('id').execute();
  return rows.map((r) => r.id);
}
