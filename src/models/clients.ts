import { sql } from 'kysely';
import type { Db } from '../db/connection.js';
import type { ClientRow } from '../db/schema.js';
import { invalid, notFound } from '../lib/errors.js';
import type { Actor } from './actor.js';
import { recordAudit } from './audit.js';
import { decodeCursor, pageLimit, toPage, type PageRequest, type Paged } from './paging.js';
import { bumpChangeMarker } from './session-lifecycle.js';
import { contains } from './sql-helpers.js';
import { isEmail } from './users.js';

/** A vendor's customer: the owner of licenses, infobases and client users. */
export interface Client {
  id: number;
  name: string;
  email: string | null;
  phone: string | null;
  contactPerson: string | null;
  notes: string | null;
  createdAt: number;
  updatedAt: number;
  /** Number of the client's licenses (lists and cards only). */
  licenseCount: number;
}

export interface ClientInput {
  name: string;
  email?: string | null;
  phone?: string | null;
  contactPerson?: string | null;
  notes?: string | null;
}

const LIMITS = { name: 200, email: 254, phone: 64, contactPerson: 200, notes: 4000 } as const;

/** Trims the fields, turns empty optional ones into null and names every field that is wrong. */
function cleanClient(input: Partial<ClientInput>, partial: boolean): Partial<Record<keyof ClientInput, string | null>> {
  const out: Partial<Record<keyof ClientInput, string | null>> = {};
  const problems: Record<string, string> = {};
  for (const field of ['name', 'email', 'phone', 'contactPerson', 'notes'] as const) {
    const raw = input[field];
    if (raw === undefined) {
      if (field === 'name' && !partial) problems.name = 'required';
      continue;
    }
    const v = raw === null ? '' : raw.trim();
    if (field === 'name') {
      if (!v) problems.name = 'must not be empty';
    } else if (field === 'email' && v && !isEmail(v)) {
      problems.email = 'must be an e-mail address';
    }
    if ([...v].length > LIMITS[field]) problems[field] = `at most ${LIMITS[field]} characters`;
    out[field] = field === 'name' ? v : v || null;
  }
  if (Object.keys(problems).length) throw invalid(problems);
  return out;
}

function toClient(r: ClientRow & { license_count?: number | null }): Client {
  return {
    id: r.id,
    name: r.name,
    email: r.email,
    phone: r.phone,
    contactPerson: r.contact_person,
    notes: r.notes,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    licenseCount: Number(r.license_count ?? 0),
  };
}

function clientQuery(db: Db) {
  return db
    .selectFrom('clients')
    .selectAll('clients')
    .select((eb) =>
      eb.selectFrom('licenses').whereRef('licenses.client_id', '=', 'clients.id').select(eb.fn.countAll<number>().as('n')).as('license_count'),
    );
}

/** Creates a client (audited 'client.created'). */
export async function createClient(db: Db, actor: Actor, input: ClientInput, now: number): Promise<Client> {
  const c = cleanClient(input, false);
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto('clients')
      .values({
        name: c.name!,
        email: c.email ?? null,
        phone: c.phone ?? null,
        contact_person: c.contactPerson ?? null,
        notes: c.notes ?? null,
        created_at: now,
        updated_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordAudit(trx, actor, { action: 'client.created', targetType: 'client', targetId: row.id, targetLabel: row.name, clientId: row.id }, now);
    return toClient(row);
  });
}

/** Changes the given fields of a client (null or '' clears an optional one); audited 'client.updated' with what changed. */
export async function updateClient(db: Db, actor: Actor, id: number, changes: Partial<ClientInput>, now: number): Promise<Client> {
  const c = cleanClient(changes, true);
  return db.transaction().execute(async (trx) => {
    const before = await trx.selectFrom('clients').selectAll().where('id', '=', id).executeTakeFirst();
    if (!before) throw notFound();
    const set = {
      ...(c.name != null && { name: c.name }),
      ...(c.email !== undefined && { email: c.email }),
      ...(c.phone !== undefined && { phone: c.phone }),
      ...(c.contactPerson !== undefined && { contact_person: c.contactPerson }),
      ...(c.notes !== undefined && { notes: c.notes }),
    };
    const changed: Record<string, { from: unknown; to: unknown }> = {};
    for (const [col, to] of Object.entries(set)) {
      const from = before[col as keyof ClientRow];
      if (from !== to) changed[col] = { from, to };
    }
    if (Object.keys(changed).length) {
      await trx.updateTable('clients').set({ ...set, updated_at: now }).where('id', '=', id).execute();
      await recordAudit(trx, actor, { action: 'client.updated', targetType: 'client', targetId: id, targetLabel: c.name ?? before.name, clientId: id, details: changed }, now);
      // The monitor shows client names.
      if (changed.name) await bumpChangeMarker(trx);
    }
    const row = await clientQuery(trx).where('clients.id', '=', id).executeTakeFirstOrThrow();
    return toClient(row);
  });
}

/** The client with this id, or undefined (confined to `scopeClientId` when given). */
export async function clientById(db: Db, id: number, scopeClientId: number | null = null): Promise<Client | undefined> {
  if (scopeClientId !== null && scopeClientId !== id) return undefined;
  const row = await clientQuery(db).where('clients.id', '=', id).executeTakeFirst();
  return row && toClient(row);
}

export interface ClientFilter {
  /** Part of the name or e-mail, case-insensitive. */
  q?: string | null;
}

/** Clients ordered by name, searched by name or e-mail, keyset-paged. */
export async function listClients(db: Db, filter: ClientFilter, page: PageRequest): Promise<Paged<Client>> {
  const limit = pageLimit(page.limit);
  let q = clientQuery(db);
  const text = filter.q?.trim();
  if (text) q = q.where((eb) => eb.or([contains('clients.name', text), contains('clients.email', text)]));
  if (page.cursor) {
    const [name, id] = decodeCursor(page.cursor, ['string', 'number'] as const);
    q = q.where(sql<boolean>`(clients.name collate nocase, clients.id) > (${name}, ${id})`);
  }
  const rows = await q
    .orderBy(sql`clients.name collate nocase`)
    .orderBy('clients.id')
    .limit(limit + 1)
    .execute();
  return toPage(rows, limit, (r) => [r.name, r.id], toClient);
}

/** Every client's id and name by name, for pickers. */
export async function clientNames(db: Db): Promise<{ id: number; name: string }[]> {
  return db.selectFrom('clients').select(['id', 'name']).orderBy(sql`name collate nocase`).orderBy('id').execute();
}
