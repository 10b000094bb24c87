import { sql } from 'kysely';
import type { Db } from '../db/connection.js';
import type { AuditRow } from '../db/schema.js';
import type { Actor } from './actor.js';
import { contains } from './sql-helpers.js';

export interface AuditEntry {
  action: string;
  targetType?: string | null;
  targetId?: string | number | null;
  targetLabel?: string | null;
  clientId?: number | null;
  reason?: string | null;
  details?: Record<string, unknown> | null;
}

/** Who an audit row names: a person, an API token, the CLI/system, or an anonymous login attempt. */
export type AuditActor = Actor | { type: 'system' | 'anonymous'; name: string; ip: string | null };

/** Writes one audit row for a change made by a person or an API token (or the system). */
export async function recordAudit(
  db: Db,
  actor: AuditActor,
  entry: AuditEntry,
  now: number,
): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      at: now,
      actor_type: actor.type,
      actor_id: actor.type === 'user' || actor.type === 'token' ? actor.id : null,
      actor_name: actor.name,
      action: entry.action,
      target_type: entry.targetType ?? null,
      target_id: entry.targetId === undefined || entry.targetId === null ? null : String(entry.targetId),
      target_label: entry.targetLabel ?? null,
      client_id: entry.clientId ?? null,
      reason: entry.reason ?? null,
      ip: actor.ip,
      details: entry.details ? JSON.stringify(entry.details) : null,
    })
    .execute();
}

export interface AuditFilter {
  actor?: string;
  /** Everything done to the client and its licenses, hosts, infobases, sessions and users. */
  clientId?: number;
  action?: string;
  targetType?: string;
  targetId?: string;
  from?: number;
  to?: number;
}

/** An audit row as the page shows it: details parsed, with nothing secret left in them. */
export type AuditListRow = Omit<AuditRow, 'details'> & { details: Record<string, unknown> | null };

// No writer stores a secret today (an infobase lock records hasPermissionCode, never the code);
// this keeps one out of the page should a writer ever add it.
const SECRET_DETAIL = /password|secret|token|hash|^(permission)?code$/i;

/** The row's details as an object without secret-looking keys; null when absent or not a JSON object. */
export function auditDetails(json: string | null): Record<string, unknown> | null {
  if (!json) return null;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return null;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return null;
  const kept = Object.entries(value).filter(([k, v]) => typeof v === 'boolean' || !SECRET_DETAIL.test(k));
  return kept.length ? Object.fromEntries(kept) : null;
}

/** Audit rows newest first, filtered and paged (limit + 1 fetched to tell if there is more). */
export async function auditEntries(
  db: Db,
  filter: AuditFilter,
  page: { limit: number; offset: number },
): Promise<{ rows: AuditListRow[]; hasMore: boolean }> {
  let q = db.selectFrom('audit_log').selectAll();
  if (filter.clientId !== undefined) {
    const clientId = filter.clientId;
    // Rows written for the client carry client_id; the client's users' own sign-ins and password changes do not.
    q = q.where((eb) =>
      eb.or([
        eb('client_id', '=', clientId),
        eb.and([eb('target_type', '=', 'client'), eb('target_id', '=', String(clientId))]),
        eb.and([
          eb('target_type', '=', 'user'),
          eb('target_id', 'in', eb.selectFrom('users').select(sql<string>`cast(id as text)`.as('id')).where('client_id', '=', clientId)),
        ]),
      ]),
    );
  }
  if (filter.actor) q = q.where(contains('actor_name', filter.actor));
  if (filter.action) q = q.where('action', '=', filter.action);
  if (filter.targetType === 'license' && filter.targetId && /^\d+$/.test(filter.targetId)) {
    // A license's history includes what was done to its bound hosts (binding resets).
    const licenseId = Number(filter.targetId);
    q = q.where((eb) =>
      eb.or([
        eb.and([eb('target_type', '=', 'license'), eb('target_id', '=', filter.targetId!)]),
        eb.and([
          eb('target_type', '=', 'host'),
          eb('target_id', 'in', eb.selectFrom('hosts').select(sql<string>`cast(id as text)`.as('id')).where('license_id', '=', licenseId)),
        ]),
      ]),
    );
  } else {
    if (filter.targetType) q = q.where('target_type', '=', filter.targetType);
    if (filter.targetId) q = q.where('target_id', '=', filter.targetId);
  }
  if (filter.from !== undefined) q = q.where('at', '>=', filter.from);
  if (filter.to !== undefined) q = q.where('at', '<', filter.to);
  const rows = await q.orderBy('at', 'desc').orderBy('id', 'desc').limit(page.limit + 1).offset(page.offset).execute();
  return { rows: rows.slice(0, page.limit).map((r) => ({ ...r, details: auditDetails(r.details) })), hasMore: rows.length > page.limit };
}

/** The distinct action names present, for the filter's drop-down. */
export async function auditActions(db: Db): Promise<string[]> {
  const rows = await db.selectFrom('audit_log').select('action').distinct().orderBy('action').execute();
  return rows.map((r) => r.action);
}

export const AUDIT_PAGE_SIZE = 50;

/** Every target type the code writes (test/routes/web/audit-labels.test.ts checks the list against the writers). */
export const AUDIT_TARGET_TYPES = ['api_token', 'client', 'host', 'infobase', 'license', 'session', 'settings', 'user'] as const;

/** The audit page's query parameters, as they appear in the URL. */
export const AUDIT_PARAMS = ['client', 'actor', 'action', 'targetType', 'targetId', 'from', 'to', 'page'] as const;
export type AuditParam = (typeof AUDIT_PARAMS)[number];

export type AuditQueryProblem = 'too_long' | 'format' | 'date' | 'range' | 'page' | 'id' | 'target_type';

export type ParsedAuditQuery =
  | { ok: true; filter: AuditFilter; page: number }
  | { ok: false; param: AuditParam; problem: AuditQueryProblem };

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * Validates the audit page's filters. `from`/`to` are whole days (YYYY-MM-DD)
 * in the viewer's time zone, both inclusive; `page` counts from 1.
 */
export function parseAuditQuery(q: Partial<Record<string, string>>, timeZone: string): ParsedAuditQuery {
  const v = (k: AuditParam) => (q[k] ?? '').trim();
  const bad = (param: AuditParam, problem: AuditQueryProblem): ParsedAuditQuery => ({ ok: false, param, problem });
  const filter: AuditFilter = {};
  if (v('client')) {
    if (!/^\d{1,15}$/.test(v('client')) || Number(v('client')) < 1) return bad('client', 'id');
    filter.clientId = Number(v('client'));
  }
  if (v('actor').length > 254) return bad('actor', 'too_long');
  if (v('actor')) filter.actor = v('actor');
  // Actions are our own codes; one has capitals (session.command.closePackage, after the command's type).
  if (v('action') && !/^[A-Za-z0-9_.-]{1,64}$/.test(v('action'))) return bad('action', 'format');
  if (v('action')) filter.action = v('action');
  if (v('targetType') && !(AUDIT_TARGET_TYPES as readonly string[]).includes(v('targetType'))) return bad('targetType', 'target_type');
  if (v('targetType')) filter.targetType = v('targetType');
  if (v('targetId').length > 128) return bad('targetId', 'too_long');
  if (v('targetId')) filter.targetId = v('targetId');
  for (const key of ['from', 'to'] as const) {
    if (!v(key)) continue;
    const day = dayStart(v(key), timeZone, key === 'to' ? 1 : 0);
    if (day === null) return bad(key, 'date');
    filter[key] = day;
  }
  if (filter.from !== undefined && filter.to !== undefined && filter.to <= filter.from) return bad('to', 'range');
  let page = 1;
  if (v('page')) {
    if (!/^\d{1,6}$/.test(v('page')) || Number(v('page')) < 1) return bad('page', 'page');
    page = Number(v('page'));
  }
  return { ok: true, filter, page };
}

/** Start of the day YYYY-MM-DD (plus `addDays`) in the time zone, as epoch ms; null if not a real date. */
export function dayStart(date: string, timeZone: string, addDays = 0): number | null {
  const m = DATE_RE.exec(date);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const utc = Date.UTC(y, mo - 1, d);
  const check = new Date(utc);
  if (y < 1970 || check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return null;
  const wall = utc + addDays * 86_400_000;
  // The zone's offset at the guess, then again at the corrected instant (a DST change may lie between).
  const first = wall - zoneOffsetMs(wall, timeZone);
  return wall - zoneOffsetMs(first, timeZone);
}

/** How far the zone's wall clock is ahead of UTC at the instant. */
function zoneOffsetMs(instant: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(instant);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - (instant - (((instant % 1000) + 1000) % 1000));
}
