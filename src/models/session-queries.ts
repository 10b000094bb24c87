import { sql } from 'kysely';
import type { Db } from '../db/connection.js';
import type { PackageRow, SessionRow } from '../db/schema.js';
import { decodeCursor, pageLimit, toPage, type PageRequest, type Paged } from './paging.js';
import { contains, searchWords } from './sql-helpers.js';

/** A live session with what the admin API lists beside its own columns. */
export interface SessionListItem {
  row: SessionRow;
  licenseKey: string;
  clientName: string;
  infobase: { id: number; externalId: string; name: string } | null;
  packages: PackageRow[];
  features: string[];
}

export interface SessionFilter {
  licenseId?: number | null;
  clientId?: number | null;
  infobaseId?: number | null;
  /** Part of the user, infobase name or id, host name, IPs, license key, client name or clientSessionId. */
  q?: string | null;
  /** Confines the list to one client (client users). */
  scopeClientId?: number | null;
}

/** Live sessions newest first, filtered and keyset-paged, with packages and features. */
export async function listLiveSessions(db: Db, filter: SessionFilter, page: PageRequest): Promise<Paged<SessionListItem>> {
  const limit = pageLimit(page.limit);
  let q = db
    .selectFrom('sessions')
    .innerJoin('licenses', 'licenses.id', 'sessions.license_id')
    .innerJoin('clients', 'clients.id', 'sessions.client_id')
    .leftJoin('infobases', 'infobases.id', 'sessions.infobase_id')
    .selectAll('sessions')
    .select(['licenses.key as license_key', 'clients.name as client_name', 'infobases.external_id as ib_external_id', 'infobases.name as ib_name'])
    .where('sessions.closed_at', 'is', null);
  if (filter.scopeClientId != null) q = q.where('sessions.client_id', '=', filter.scopeClientId);
  if (filter.licenseId != null) q = q.where('sessions.license_id', '=', filter.licenseId);
  if (filter.clientId != null) q = q.where('sessions.client_id', '=', filter.clientId);
  if (filter.infobaseId != null) q = q.where('sessions.infobase_id', '=', filter.infobaseId);
  // Every word matches somewhere, as in the monitor's search.
  for (const text of searchWords(filter.q ?? '')) {
    q = q.where((eb) =>
      eb.or([
        contains('sessions.user_name', text),
        contains('infobases.name', text),
        contains('infobases.external_id', text),
        contains('sessions.machine_hostname', text),
        contains('sessions.machine_ip', text),
        contains('sessions.client_ip', text),
        contains('sessions.client_hostname', text),
        contains('sessions.client_session_id', text),
        contains('licenses.key', text),
        contains('clients.name', text),
      ]),
    );
  }
  if (page.cursor) {
    const [startedAt, id] = decodeCursor(page.cursor, ['number', 'string'] as const);
    q = q.where(sql<boolean>`(sessions.started_at, sessions.id) < (${startedAt}, ${id})`);
  }
  const rows = await q.orderBy('sessions.started_at', 'desc').orderBy('sessions.id', 'desc').limit(limit + 1).execute();
  const paged = toPage(rows, limit, (r) => [r.started_at, r.id], (r) => r);
  const ids = paged.items.map((r) => r.id);
  const [packages, features] = await Promise.all([packagesOf(db, ids), featuresOf(db, ids)]);
  return {
    nextCursor: paged.nextCursor,
    items: paged.items.map(({ license_key, client_name, ib_external_id, ib_name, ...row }) => ({
      row,
      licenseKey: license_key,
      clientName: client_name,
      infobase: row.infobase_id !== null ? { id: row.infobase_id, externalId: ib_external_id ?? '', name: ib_name ?? '' } : null,
      packages: packages.get(row.id) ?? [],
      features: features.get(row.id) ?? [],
    })),
  };
}

/** The open packages of these sessions, in snapshot order, by session id (one query). */
export async function packagesOf(db: Db, sessionIds: string[]): Promise<Map<string, PackageRow[]>> {
  const out = new Map<string, PackageRow[]>();
  if (!sessionIds.length) return out;
  const rows = await db.selectFrom('packages').selectAll().where('session_id', 'in', sessionIds).orderBy('session_id').orderBy('seq').orderBy('opened_at').execute();
  for (const r of rows) {
    const list = out.get(r.session_id) ?? [];
    list.push(r);
    out.set(r.session_id, list);
  }
  return out;
}

async function featuresOf(db: Db, sessionIds: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (!sessionIds.length) return out;
  const rows = await db.selectFrom('session_features').select(['session_id', 'feature']).where('session_id', 'in', sessionIds).orderBy('acquired_at').orderBy(sql`rowid`).execute();
  for (const r of rows) {
    const list = out.get(r.session_id) ?? [];
    list.push(r.feature);
    out.set(r.session_id, list);
  }
  return out;
}

/** The live or closed session with this id, or undefined (confined to `scopeClientId` when given). */
export async function sessionRowById(db: Db, id: string, scopeClientId: number | null = null): Promise<SessionRow | undefined> {
  let q = db.selectFrom('sessions').selectAll().where('id', '=', id);
  if (scopeClientId !== null) q = q.where('client_id', '=', scopeClientId);
  return q.executeTakeFirst();
}
