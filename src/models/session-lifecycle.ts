import { sql } from 'kysely';
import type { Db } from '../db/connection.js';
import type { CloseReason } from '../db/schema.js';

/** Moves the refresh change marker: call in the same transaction as any change the monitor shows. */
export async function bumpChangeMarker(db: Db): Promise<void> {
  await db.updateTable('server_state').set({ change_version: sql`change_version + 1` }).where('id', '=', 1).execute();
}

/** The current change marker; equal markers mean nothing the monitor shows has changed. */
export async function changeMarker(db: Db): Promise<number> {
  const row = await db.selectFrom('server_state').select('change_version').where('id', '=', 1).executeTakeFirstOrThrow();
  return Number(row.change_version);
}

export interface SessionSelector {
  sessionIds?: string[];
  hostId?: number;
  licenseId?: number;
  infobaseId?: number;
  clientId?: number;
}

/**
 * Closes the open sessions matching the selector with a reason, frees their
 * seats and features and drops their pending commands. Must run inside the
 * caller's transaction together with the change that caused it. Returns the
 * ids closed. An empty selector closes nothing.
 */
export async function closeSessions(
  trx: Db,
  selector: SessionSelector,
  reason: CloseReason,
  now: number,
  message: string | null = null,
): Promise<string[]> {
  const keys = Object.values(selector).filter((v) => v !== undefined);
  if (keys.length === 0) return [];
  let q = trx.selectFrom('sessions').select('id').where('closed_at', 'is', null);
  if (selector.sessionIds) {
    if (selector.sessionIds.length === 0) return [];
    q = q.where('id', 'in', selector.sessionIds);
  }
  if (selector.hostId !== undefined) q = q.where('host_id', '=', selector.hostId);
  if (selector.licenseId !== undefined) q = q.where('license_id', '=', selector.licenseId);
  if (selector.infobaseId !== undefined) q = q.where('infobase_id', '=', selector.infobaseId);
  if (selector.clientId !== undefined) q = q.where('client_id', '=', selector.clientId);
  const ids = (await q.execute()).map((r) => r.id);
  if (ids.length === 0) return [];
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    await onSessionsClosing(trx, chunk, reason, now);
    await trx
      .updateTable('sessions')
      .set({ closed_at: now, close_reason: reason, close_message: message, running: 0, updated_at: now })
      .where('id', 'in', chunk)
      .where('closed_at', 'is', null)
      .execute();
    await trx.deleteFrom('session_features').where('session_id', 'in', chunk).execute();
    await trx.deleteFrom('commands').where('session_id', 'in', chunk).execute();
  }
  await bumpChangeMarker(trx);
  return ids;
}

/**
 * Hook run before sessions close: packages leaving (pool entries for
 * integrator/batch packages unless the reason is binding_reset) are handled here.
 */
async function onSessionsClosing(_trx: Db, _ids: string[], _reason: CloseReason, _now: number): Promise<void> {
  // Filled in by the package pool logic.
}
