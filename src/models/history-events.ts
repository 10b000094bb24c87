import { CompiledQuery } from 'kysely';
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
 * involved). Opens and releases are counted in their hour instead (countInHourNow).
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

export type LicenseEventInput = { kind: LicenseEventTable['kind']; code?: string | null; feature?: string | null; infobaseId?: number | null };

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

// Opens and releases as counts in their license's hour: the row a roll-up makes of that hour's raw
// opens or closes (the code kept, user, host and the rest null), updated in place after the first.
// `code is ?` matches a null code too; one row only (a roll-up of older raw events may add another).
const HOUR_BUMP = `
  update license_event_hours set count = count + ?, first_at = min(first_at, ?), last_at = max(last_at, ?)
  where rowid = (select rowid from license_event_hours where license_id = ? and hour = ? and kind = ? and code is ?
    and feature is null and user_name is null and host_id is null and hostname is null and infobase_id is null limit 1)`;
const HOUR_INSERT = 'insert into license_event_hours (license_id, hour, kind, code, count, first_at, last_at) values (?, ?, ?, ?, ?, ?, ?)';

/** What is counted in its hour rather than kept as a raw event: nothing shows an open or a release one by one. */
export type CountedEvent = { kind: 'open'; code: null } | { kind: 'close'; code: 'released' };

/**
 * Records `n` sessions opened or released in the license's history: counted at once in
 * their hour (license_event_hours, the row the roll-up made of raw opens and closes 48 h
 * later), not as raw events. Nothing shows an open or a release one by one — the
 * session's own row has its user, host and address for at least 7 days — so a raw event
 * each (a row and two index entries) only made every capture and release dearer. On the
 * raw handle of the caller's transaction.
 */
export function countInHourNow(raw: Database.Database, licenseId: number, event: CountedEvent, n: number, now: number): void {
  const hour = hourStart(now);
  if (preparedStatement(raw, HOUR_BUMP).run(n, now, now, licenseId, hour, event.kind, event.code).changes === 0) {
    preparedStatement(raw, HOUR_INSERT).run(licenseId, hour, event.kind, event.code, n, now, now);
  }
}

/** countInHourNow inside a Kysely transaction. */
export async function countInHour(trx: Db, licenseId: number, event: CountedEvent, n: number, now: number): Promise<void> {
  const hour = hourStart(now);
  const bumped = await trx.executeQuery(CompiledQuery.raw(HOUR_BUMP, [n, now, now, licenseId, hour, event.kind, event.code]));
  if (!Number(bumped.numAffectedRows ?? 0)) await trx.executeQuery(CompiledQuery.raw(HOUR_INSERT, [licenseId, hour, event.kind, event.code, n, now, now]));
}
