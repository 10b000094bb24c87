import type { Db } from '../db/connection.js';
import type { Role, UserRow } from '../db/schema.js';
import { AppError } from '../lib/errors.js';
import { isUniqueViolation } from './sql-helpers.js';

export const ROLES: readonly Role[] = ['admin', 'support', 'client'];

export function normalizeEmail(email: string): string {
  return email.trim().normalize('NFC').toLowerCase();
}

export function isEmail(email: string): boolean {
  return email.length <= 254 && /^[^\s@]+@[^\s@]+$/.test(email);
}

/** The user with this e-mail (case-insensitive), or undefined. */
export async function userByEmail(db: Db, email: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('email', '=', normalizeEmail(email)).executeTakeFirst();
}

export async function userById(db: Db, id: number): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function hasActiveAdmin(db: Db): Promise<boolean> {
  const row = await db
    .selectFrom('users')
    .select('id')
    .where('role', '=', 'admin')
    .where('disabled_at', 'is', null)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

export interface NewUserInput {
  email: string;
  name?: string | null;
  passwordHash: string;
  role: Role;
  clientId?: number | null;
}

/** Creates a user; refuses a taken e-mail, a client user without a client, a staff user with one. */
export async function createUser(db: Db, input: NewUserInput, now: number): Promise<UserRow> {
  const email = normalizeEmail(input.email);
  if (input.role === 'client' && !input.clientId) throw new AppError('client_required', 400, { field: 'clientId' });
  if (input.role !== 'client' && input.clientId) throw new AppError('client_not_allowed', 400, { field: 'clientId' });
  if (input.clientId) {
    const client = await db.selectFrom('clients').select('id').where('id', '=', input.clientId).executeTakeFirst();
    if (!client) throw new AppError('client_not_found', 400, { field: 'clientId' });
  }
  const taken = await db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst();
  if (taken) throw new AppError('email_taken', 409, { field: 'email' });
  try {
    return await db
      .insertInto('users')
      .values({
        email,
        name: input.name?.trim() || null,
        password_hash: input.passwordHash,
        role: input.role,
        client_id: input.role === 'client' ? input.clientId! : null,
        created_at: now,
        password_changed_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  } catch (e) {
    if (isUniqueViolation(e)) throw new AppError('email_taken', 409, { field: 'email' });
    throw e;
  }
}

export interface UserListItem extends UserRow {
  client_name: string | null;
}

/** All users with their client's name, staff first. */
export async function listUsers(db: Db): Promise<UserListItem[]> {
  return db
    .selectFrom('users')
    .leftJoin('clients', 'clients.id', 'users.client_id')
    .selectAll('users')
    .select('clients.name as client_name')
    .orderBy('users.role')
    .orderBy('users.email')
    .execute();
}

/** The client's own users. */
export async function usersOfClient(db: Db, clientId: number): Promise<UserRow[]> {
  return db.selectFrom('users').selectAll().where('client_id', '=', clientId).orderBy('email').execute();
}

/** Sets a new password hash and ends every web session of the user but `keepTokenHash`. */
export async function setPassword(db: Db, userId: number, passwordHash: string, now: number, keepTokenHash?: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('users').set({ password_hash: passwordHash, password_changed_at: now }).where('id', '=', userId).execute();
    let del = trx.deleteFrom('web_sessions').where('user_id', '=', userId);
    if (keepTokenHash) del = del.where('token_hash', '!=', keepTokenHash);
    await del.execute();
  });
}

/** Disables (ending their web sessions) or enables a user. */
export async function setUserDisabled(db: Db, userId: number, disabled: boolean, now: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('users').set({ disabled_at: disabled ? now : null }).where('id', '=', userId).execute();
    if (disabled) await trx.deleteFrom('web_sessions').where('user_id', '=', userId).execute();
  });
}

/** Changes a staff user's role between admin and support (client users keep theirs). */
export async function setUserRole(db: Db, userId: number, role: 'admin' | 'support'): Promise<void> {
  const user = await userById(db, userId);
  if (!user) throw new AppError('not_found', 404);
  if (user.role === 'client') throw new AppError('role_change_client', 400, { field: 'role' });
  await db.updateTable('users').set({ role }).where('id', '=', userId).execute();
}

/** Saves the user's interface preferences. */
export async function setUserPreferences(
  db: Db,
  userId: number,
  prefs: { locale?: string | null; timeZone?: string | null; monitorColumns?: string[] | null },
): Promise<void> {
  const set: Record<string, string | null> = {};
  if (prefs.locale !== undefined) set.locale = prefs.locale;
  if (prefs.timeZone !== undefined) set.time_zone = prefs.timeZone;
  if (prefs.monitorColumns !== undefined) set.monitor_columns = prefs.monitorColumns ? JSON.stringify(prefs.monitorColumns) : null;
  if (Object.keys(set).length) await db.updateTable('users').set(set).where('id', '=', userId).execute();
}

/** Active admins other than this one: the last admin may not be disabled or demoted. */
export async function otherActiveAdmins(db: Db, userId: number): Promise<number> {
  const row = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('role', '=', 'admin')
    .where('disabled_at', 'is', null)
    .where('id', '!=', userId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
