import type { Db } from '../db/connection.js';
import type { Actor } from './actor.js';
import { recordAudit } from './audit.js';
import { getSettings, setSupportContact, supportContact, updateSettings, type Settings } from './settings.js';

/**
 * Changes settings as a person or API token: validates the merged result
 * (settingsProblems: ranges, lease timeout ≥ 3 × interval) and writes
 * 'settings.updated' with what changed. Nothing is written when nothing changed.
 */
export async function changeSettings(db: Db, actor: Actor, patch: Partial<Settings>, now: number): Promise<Settings> {
  const before = await getSettings(db);
  const changed: Record<string, { from: number; to: number }> = {};
  for (const [k, v] of Object.entries(patch) as [keyof Settings, number | undefined][]) {
    if (v !== undefined && before[k] !== v) changed[k] = { from: before[k], to: v };
  }
  // Validation runs even for an unchanged value: a bad value must answer 400, not 200.
  const after = await updateSettings(db, patch, now);
  if (Object.keys(changed).length) await recordAudit(db, actor, { action: 'settings.updated', targetType: 'settings', targetId: 1, targetLabel: 'settings', details: changed }, now);
  return after;
}

/** Sets the support contact shown to clients, audited in the same transaction. */
export async function changeSupportContact(db: Db, actor: Actor, text: string, now: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const before = await supportContact(trx);
    const after = await setSupportContact(trx, text, now);
    if (before !== after) {
      await recordAudit(trx, actor, { action: 'settings.support_contact', targetType: 'settings', targetId: 1, targetLabel: 'settings', details: { from: before, to: after } }, now);
    }
  });
}
