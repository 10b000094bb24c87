import { sql } from 'kysely';
import type { Db } from '../db/connection.js';
import { AppError } from '../lib/errors.js';
import { recordLicenseEvents, type EventSubject } from './history-events.js';
import { bumpChangeMarker } from './session-lifecycle.js';
import { checkAgentAccess, sessionFeatures } from './sessions.js';

async function agentSession(trx: Db, sessionId: string, tokenHash: string, now: number) {
  return checkAgentAccess(
    await trx
      .selectFrom('sessions')
      .innerJoin('licenses', 'licenses.id', 'sessions.license_id')
      .innerJoin('hosts', 'hosts.id', 'sessions.host_id')
      .select([
        'sessions.id', 'sessions.license_id', 'sessions.token_hash', 'sessions.closed_at', 'sessions.close_reason', 'sessions.close_message',
        'sessions.user_name', 'sessions.host_id', 'sessions.machine_hostname', 'sessions.client_ip',
        'licenses.suspended_at', 'licenses.expires_at', 'hosts.fingerprint_hash',
      ])
      .where('sessions.id', '=', sessionId)
      .executeTakeFirst(),
    tokenHash,
    now,
  );
}

type Outcome = { features: string[] } | { refused: AppError };

/**
 * Captures a feature during a session (PROTOCOL §3): the license's status,
 * the feature's presence and its concurrent limit (a conditional insert), all
 * recorded in the license's history. Renews the lease like a heartbeat.
 */
export async function addSessionFeature(db: Db, sessionId: string, tokenHash: string, feature: string, now: number): Promise<string[]> {
  const outcome = await db.transaction().execute(async (trx): Promise<Outcome> => {
    const s = await agentSession(trx, sessionId, tokenHash, now);
    const subject: EventSubject = {
      userName: s.user_name,
      hostId: s.host_id,
      hostname: s.machine_hostname,
      fingerprintHash: s.fingerprint_hash,
      clientIp: s.client_ip,
      sessionId,
    };
    const refuse = async (err: AppError): Promise<Outcome> => {
      await recordLicenseEvents(trx, s.license_id, [{ kind: 'refusal', code: err.code, feature }], subject, now);
      return { refused: err };
    };
    if (s.suspended_at !== null) return refuse(new AppError('license_suspended', 403));
    const held = await trx.selectFrom('session_features').select('feature').where('session_id', '=', sessionId).where('feature', '=', feature).executeTakeFirst();
    // Expiry refuses a new feature; one the session holds is kept (expiry closes nothing), so asking again is a 200.
    if (!held && s.expires_at !== null && now >= s.expires_at) return refuse(new AppError('license_expired', 403));
    if (!held) {
      const lf = await trx
        .selectFrom('license_features')
        .select('max_sessions')
        .where('license_id', '=', s.license_id)
        .where('feature', '=', feature)
        .executeTakeFirst();
      if (!lf) return refuse(new AppError('feature_not_licensed', 403, { feature }));
      const cond =
        lf.max_sessions === null
          ? sql``
          : sql`where (select count(*) from session_features f join sessions s on s.id = f.session_id
              where f.license_id = ${s.license_id} and f.feature = ${feature} and s.closed_at is null) < ${lf.max_sessions}`;
      const r = await sql`
        insert into session_features (session_id, license_id, feature, acquired_at)
        select ${sessionId}, ${s.license_id}, ${feature}, ${now} ${cond}`.execute(trx);
      if (Number(r.numAffectedRows ?? 0) !== 1) return refuse(new AppError('feature_limit_reached', 403, { feature, limit: lf.max_sessions ?? 0 }));
      await recordLicenseEvents(trx, s.license_id, [{ kind: 'capture', feature }], subject, now);
    }
    await trx.updateTable('sessions').set({ last_seen_at: now, updated_at: now }).where('id', '=', sessionId).execute();
    await bumpChangeMarker(trx);
    return { features: await sessionFeatures(trx, sessionId) };
  });
  if ('refused' in outcome) throw outcome.refused;
  return outcome.features;
}

/** Releases a feature the session holds (PROTOCOL §3); releasing one it does not hold is fine. */
export async function removeSessionFeature(db: Db, sessionId: string, tokenHash: string, feature: string, now: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await agentSession(trx, sessionId, tokenHash, now);
    await trx.updateTable('sessions').set({ last_seen_at: now, updated_at: now }).where('id', '=', sessionId).execute();
    await trx.deleteFrom('session_features').where('session_id', '=', sessionId).where('feature', '=', feature).execute();
    await bumpChangeMarker(trx);
  });
}
