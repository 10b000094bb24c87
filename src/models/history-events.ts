import type Database from 'better-sqlite3';
import { preparedStatement, type Db } from '../db/connection.js';
import type { LicenseEventTable } from '../db/schema.js';
import { hourStart } from './history-rollup.js';

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
 * Records license history events (PROTOCOL §1/§3): 'capture' per feature
 * captured, 'refusal' with the refusal's code (feature null when no feature was
 * involved), 'close' per release. An open is counted in its hour instead (countOpenNow).
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

// An open as its license's hour's count: the row a roll-up makes of that hour's opens (everything but
// the license, hour and times null), one per license and hour, updated in place after its first open.
const OPEN_HOUR_BUMP = `
  update license_event_hours set count = count + 1, first_at = min(first_at, ?), last_at = max(last_at, ?)
  where rowid = (select rowid from license_event_hours where license_id = ? and hour = ? and kind = 'open'
    and code is null and feature is null and user_name is null and host_id is null and hostname is null and infobase_id is null limit 1)`;
const OPEN_HOUR_INSERT = `insert into license_event_hours (license_id, hour, kind, count, first_at, last_at) values (?, ?, 'open', 1, ?, ?)`;

/**
 * Records a session opened in the license's history: counted at once in its hour
 * (license_event_hours, as the roll-up keeps every open), not as a raw event. An open
 * is shown nowhere one by one — the session's own row has its user, host and address
 * for at least 7 days — so a raw event per capture (a row and two index entries, folded
 * into this count 48 h later) only made every capture dearer. On the raw handle of the
 * caller's transaction.
 */
export function countOpenNow(raw: Database.Database, licenseId: number, now: number): void {
  const hour = hourStart(now);
  if (preparedStatement(raw, OPEN_HOUR_BUMP).run(now, now, licenseId, hour).changes === 0) {
    preparedStatement(raw, OPEN_HOUR_INSERT).run(licenseId, hour, now, now);
  }
}
