import type { Db } from '../db/connection.js';
import type { LicenseEventTable } from '../db/schema.js';

/** Who asked: the fields a license's history shows for a capture or a refusal. */
export interface EventSubject {
  userName: string | null;
  hostId: number | null;
  hostname: string | null;
  fingerprintHash: string | null;
  clientIp: string | null;
  sessionId: string | null;
}

/**
 * Records license history events (PROTOCOL §1/§3): kind 'open' per session
 * opened (feature null), 'capture' per feature captured, 'refusal' with the
 * refusal's code (feature null when no feature was involved).
 */
export async function recordLicenseEvents(
  db: Db,
  licenseId: number,
  events: { kind: LicenseEventTable['kind']; code?: string | null; feature?: string | null }[],
  subject: EventSubject,
  now: number,
): Promise<void> {
  if (!events.length) return;
  await db
    .insertInto('license_events')
    .values(
      events.map((e) => ({
        license_id: licenseId,
        at: now,
        kind: e.kind,
        code: e.code ?? null,
        feature: e.feature ?? null,
        user_name: subject.userName,
        host_id: subject.hostId,
        hostname: subject.hostname,
        fingerprint_hash: subject.fingerprintHash,
        client_ip: subject.clientIp,
        session_id: subject.sessionId,
      })),
    )
    .execute();
}
