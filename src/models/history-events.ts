import type Database from 'better-sqlite3';
import { preparedStatement, type Db } from '../db/connection.js';
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
  events: LicenseEventInput[],
  subject: EventSubject,
  now: number,
): Promise<void> {
  if (!events.length) return;
  await db.insertInto('license_events').values(eventRows(licenseId, events, subject, now)).execute();
}

type LicenseEventInput = { kind: LicenseEventTable['kind']; code?: string | null; feature?: string | null; infobaseId?: number | null };

const INSERT_EVENT = `insert into license_events (license_id, at, kind, code, feature, user_name, host_id, hostname, fingerprint_hash, client_ip, session_id, infobase_id)
  values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/** recordLicenseEvents with synchronous statements on the raw handle of the caller's transaction (the capture's path). */
export function recordLicenseEventsNow(raw: Database.Database, licenseId: number, events: LicenseEventInput[], subject: EventSubject, now: number): void {
  const insert = preparedStatement(raw, INSERT_EVENT);
  for (const r of eventRows(licenseId, events, subject, now)) {
    insert.run(r.license_id, r.at, r.kind, r.code, r.feature, r.user_name, r.host_id, r.hostname, r.fingerprint_hash, r.client_ip, r.session_id, r.infobase_id);
  }
}

function eventRows(licenseId: number, events: LicenseEventInput[], subject: EventSubject, now: number) {
  return events.map((e) => ({
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
    infobase_id: e.infobaseId ?? null,
  }));
}
