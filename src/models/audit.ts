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

/** Writes one audit row for a change made by a person or an API token (or the system). */
export async function recordAudit(
  db: Db,
  actor: Actor | { type: 'system' | 'anonymous'; name: string; ip: string | null },
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
  action?: string;
  targetType?: string;
  targetId?: string;
  from?: number;
  to?: number;
}

/** Audit rows newest first, filtered and paged (limit + 1 fetched to tell if there is more). */
export async function auditEntries(
  db: Db,
  filter: AuditFilter,
  page: { limit: number; offset: number },
): Promise<{ rows: AuditRow[]; hasMore: boolean }> {
  let q = db.selectFrom('audit_log').selectAll();
  if (filter.actor) q = q.where(contains('actor_name', filter.actor));
  if (filter.action) q = q.where('action', '=', filter.action);
  if (filter.targetType) q = q.where('target_type', '=', filter.targetType);
  if (filter.targetId) q = q.where('target_id', '=', filter.targetId);
  if (filter.from !== undefined) q = q.where('at', '>=', filter.from);
  if (filter.to !== undefined) q = q.where('at', '<', filter.to);
  const rows = await q.orderBy('at', 'desc').orderBy('id', 'desc').limit(page.limit + 1).offset(page.offset).execute();
  return { rows: rows.slice(0, page.limit), hasMore: rows.length > page.limit };
}

/** The distinct action names present, for the filter's drop-down. */
export async function auditActions(db: Db): Promise<string[]> {
  const rows = await db.selectFrom('audit_log').select('action').distinct().orderBy('action').execute();
  return rows.map((r) => r.action);
}
