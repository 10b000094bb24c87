import type { Db } from '../db/connection.js';
import { AppError } from '../lib/errors.js';
import type { Actor } from './actor.js';
import { shortHash } from './fingerprint.js';
import { boundHosts, SELF_RESET_WINDOW_MS, selfResetStatus } from './licenses.js';
import { resetBinding } from './session-actions.js';

/** A bound host as a client user sees it: the machine's name and a short fingerprint hash, never the components. */
export interface ClientHost {
  id: number;
  hostname: string | null;
  shortHash: string;
  boundAt: number;
  lastSeenAt: number;
  liveSessions: number;
}

/** The license's bound hosts for a client user's eyes (the caller has already scoped the license). */
export async function clientHosts(db: Db, licenseId: number): Promise<ClientHost[]> {
  return (await boundHosts(db, licenseId)).map((h) => ({
    id: h.id,
    hostname: h.machine.hostname,
    shortHash: shortHash(h.fingerprintHash),
    boundAt: h.boundAt,
    lastSeenAt: h.lastSeenAt,
    liveSessions: h.liveSessions,
  }));
}

/**
 * A client user's self-service reset of a binding. The quota check runs inside
 * resetBinding's own (BEGIN IMMEDIATE) transaction through its `check` hook, so
 * two parallel requests cannot both pass it: the second one sees the first
 * one's reset. Spent quota → 409 self_reset_quota_spent, nothing changed.
 */
export async function selfServiceResetBinding(
  db: Db,
  actor: Actor,
  hostId: number,
  reason: string,
  now: number,
): Promise<{ closedSessions: number }> {
  return resetBinding(db, actor, hostId, reason, now, {
    selfService: true,
    check: async (trx, host) => {
      const lic = await trx.selectFrom('licenses').select(['id', 'self_reset_quota']).where('id', '=', host.licenseId).executeTakeFirstOrThrow();
      const status = await selfResetStatus(trx, { id: lic.id, selfResetQuota: lic.self_reset_quota }, now);
      if (status.remaining <= 0) throw new AppError('self_reset_quota_spent', 409, { quota: status.quota, used: status.used });
    },
  });
}

/**
 * When the next self-service reset becomes possible again (an old reset
 * leaving the rolling 30 days), or null when one is possible now or the quota
 * is 0 (never).
 */
export async function nextSelfResetAt(db: Db, licenseId: number, quota: number, now: number): Promise<number | null> {
  if (quota <= 0) return null;
  const rows = await db
    .selectFrom('hosts')
    .select('reset_at')
    .where('license_id', '=', licenseId)
    .where('reset_by_client', '=', 1)
    .where('reset_at', '>', now - SELF_RESET_WINDOW_MS)
    .orderBy('reset_at')
    .execute();
  if (rows.length < quota) return null;
  // Below the quota again once this many of the oldest have left the window.
  const leaving = rows.length - quota + 1;
  return Number(rows[leaving - 1].reset_at) + SELF_RESET_WINDOW_MS;
}
