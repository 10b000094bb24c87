import type { Db } from '../db/connection.js';
import { AppError } from '../lib/errors.js';
import { trimAllPools } from './packages.js';
import { bumpChangeMarker } from './session-lifecycle.js';

export interface Settings {
  heartbeatIntervalSec: number;
  leaseTimeoutSec: number;
  poolSize: number;
  selfResetQuotaDefault: number;
  retentionDays: number;
}

export const SETTINGS_LIMITS = {
  heartbeatIntervalSec: [5, 3600],
  leaseTimeoutSec: [15, 86400],
  poolSize: [0, 1000],
  selfResetQuotaDefault: [0, 1000],
  retentionDays: [1, 3650],
} as const satisfies Record<keyof Settings, readonly [number, number]>;

/** The server-wide settings (one row). */
export async function getSettings(db: Db): Promise<Settings> {
  const r = await db.selectFrom('settings').selectAll().where('id', '=', 1).executeTakeFirstOrThrow();
  return {
    heartbeatIntervalSec: r.heartbeat_interval_sec,
    leaseTimeoutSec: r.lease_timeout_sec,
    poolSize: r.pool_size,
    selfResetQuotaDefault: r.self_reset_quota_default,
    retentionDays: r.retention_days,
  };
}

/** Checks a full settings object; returns field → problem for everything wrong. */
export function settingsProblems(s: Settings): Record<string, string> {
  const problems: Record<string, string> = {};
  for (const [k, [min, max]] of Object.entries(SETTINGS_LIMITS) as [keyof Settings, readonly [number, number]][]) {
    const v = s[k];
    if (!Number.isInteger(v) || v < min || v > max) problems[k] = `must be a whole number from ${min} to ${max}`;
  }
  if (!problems.leaseTimeoutSec && !problems.heartbeatIntervalSec && s.leaseTimeoutSec < 3 * s.heartbeatIntervalSec) {
    problems.leaseTimeoutSec = 'must be at least 3 × heartbeatIntervalSec';
  }
  return problems;
}

/** Applies a partial change after validating the merged result; returns the new settings. */
export async function updateSettings(db: Db, patch: Partial<Settings>, now: number): Promise<Settings> {
  return db.transaction().execute(async (trx) => {
    const before = await getSettings(trx);
    const merged = { ...before, ...patch };
    const problems = settingsProblems(merged);
    if (Object.keys(problems).length) {
      throw new AppError('invalid_request', 400, { fields: problems }, {
        detail: Object.entries(problems).map(([f, m]) => `${f}: ${m}`).join('; '),
      });
    }
    await trx
      .updateTable('settings')
      .set({
        heartbeat_interval_sec: merged.heartbeatIntervalSec,
        lease_timeout_sec: merged.leaseTimeoutSec,
        pool_size: merged.poolSize,
        self_reset_quota_default: merged.selfResetQuotaDefault,
        retention_days: merged.retentionDays,
        updated_at: now,
      })
      .where('id', '=', 1)
      .execute();
    // A lowered pool size applies to what lies in the pools now: the least recently used leave (0 empties them).
    if (merged.poolSize < before.poolSize && (await trimAllPools(trx, merged.poolSize)) > 0) await bumpChangeMarker(trx);
    return merged;
  });
}

export const SUPPORT_CONTACT_MAX = 500;

/** How clients reach the vendor's support (free text set by an admin), or null when not set. */
export async function supportContact(db: Db): Promise<string | null> {
  const row = await db.selectFrom('settings').select('support_contact').where('id', '=', 1).executeTakeFirstOrThrow();
  return row.support_contact;
}

/** Sets (or with an empty text clears) the support contact shown to clients. */
export async function setSupportContact(db: Db, text: string, now: number): Promise<string | null> {
  const value = text.trim();
  if ([...value].length > SUPPORT_CONTACT_MAX) {
    throw new AppError('invalid_request', 400, { fields: { supportContact: `at most ${SUPPORT_CONTACT_MAX} characters` } }, { detail: 'supportContact' });
  }
  await db.updateTable('settings').set({ support_contact: value || null, updated_at: now }).where('id', '=', 1).execute();
  return value || null;
}
