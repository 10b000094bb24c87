import type { Db } from '../db/connection.js';
import type { Role, UserRow } from '../db/schema.js';
import { AppError, notFound } from '../lib/errors.js';
import { recordAudit, type AuditActor } from './audit.js';
import { isUniqueViolation } from './sql-helpers.js';

export const ROLES: readonly Role[] = ['admin', 'support', 'client'];

/** Lower-cased, trimmed, NFC: the form e-mails are stored and looked up in. */
export function normalizeEmail(email: string): string {
  return email.trim().normalize('NFC').toLowerCase();
}

/** A plausible e-mail address: something@something, no spaces, at most 254 characters. */
export function isEmail(email: string): boolean {
  return email.length <= 254 && /^[^\s@]+@[^\s@]+$/.test(email);
}

/** The user with this e-mail (case-insensitive), or undefined. */
export async function userByEmail(db: Db, email: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('email', '=', normalizeEmail(email)).executeTakeFirst();
}

/** The user with this id, or undefined. */
export async function userById(db: Db, id: number): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Whether any enabled administrator exists (no admin: the setup link is offered). */
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

/** One user with their client's name, or undefined. */
export async function userWithClient(db: Db, id: number): Promise<UserListItem | undefined> {
  return db
    .selectFrom('users')
    .leftJoin('clients', 'clients.id', 'users.client_id')
    .selectAll('users')
    .select('clients.name as client_name')
    .where('users.id', '=', id)
    .executeTakeFirst();
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

const userLabel = (u: Pick<UserRow, 'id' | 'email'>) => ({ targetType: 'user', targetId: u.id, targetLabel: u.email });

/** Creates a user on the actor's behalf and writes the audit row in the same transaction. */
export async function createUserAs(db: Db, actor: AuditActor, input: NewUserInput, now: number): Promise<UserRow> {
  return db.transaction().execute(async (trx) => {
    const user = await createUser(trx, input, now);
    await recordAudit(trx, actor, { action: 'user.created', ...userLabel(user), clientId: user.client_id, details: { role: user.role } }, now);
    return user;
  });
}

/** The user to change, refusing the actor's own account (one cannot lock oneself out by a click). */
async function otherUserForChange(db: Db, actor: AuditActor, userId: number): Promise<UserRow> {
  const user = await userById(db, userId);
  if (!user) throw notFound();
  if (actor.type === 'user' && actor.id === user.id) throw new AppError('self_change', 409);
  return user;
}

/** Disables a user and ends their web sessions; the last active admin cannot be disabled. */
export async function disableUser(db: Db, actor: AuditActor, userId: number, now: number): Promise<UserRow> {
  return db.transaction().execute(async (trx) => {
    const user = await otherUserForChange(trx, actor, userId);
    if (user.disabled_at !== null) return user;
    if (user.role === 'admin' && (await otherActiveAdmins(trx, user.id)) === 0) throw new AppError('last_admin', 409);
    await trx.updateTable('users').set({ disabled_at: now }).where('id', '=', user.id).execute();
    await trx.deleteFrom('web_sessions').where('user_id', '=', user.id).execute();
    await recordAudit(trx, actor, { action: 'user.disabled', ...userLabel(user), clientId: user.client_id }, now);
    // Access given in their name goes with them: an admin leaving must not leave an admin token behind.
    await revokeTokensOf(trx, actor, user.id, null, 'creator disabled', now);
    return { ...user, disabled_at: now };
  });
}

/** Revokes the live API tokens a user created (of one role, or all), each audited with the reason. */
async function revokeTokensOf(trx: Db, actor: AuditActor, userId: number, role: 'admin' | null, reason: string, now: number): Promise<void> {
  let q = trx.updateTable('api_tokens').set({ revoked_at: now }).where('created_by', '=', userId).where('revoked_at', 'is', null);
  if (role !== null) q = q.where('role', '=', role);
  for (const tok of await q.returning(['id', 'name']).execute()) {
    await recordAudit(trx, actor, { action: 'token.revoked', targetType: 'api_token', targetId: tok.id, targetLabel: tok.name, details: { reason } }, now);
  }
}

/** Enables a disabled user again. */
export async function enableUser(db: Db, actor: AuditActor, userId: number, now: number): Promise<UserRow> {
  return db.transaction().execute(async (trx) => {
    const user = await userById(trx, userId);
    if (!user) throw notFound();
    if (user.disabled_at === null) return user;
    await trx.updateTable('users').set({ disabled_at: null }).where('id', '=', user.id).execute();
    await recordAudit(trx, actor, { action: 'user.enabled', ...userLabel(user), clientId: user.client_id }, now);
    return { ...user, disabled_at: null };
  });
}

/**
 * Sets a new password chosen by an admin for another user and ends every web
 * session of theirs. One's own password is changed on the account page, which
 * asks for the current one (a borrowed sign-in must not be enough).
 */
export async function resetUserPassword(db: Db, actor: AuditActor, userId: number, passwordHash: string, now: number): Promise<UserRow> {
  return db.transaction().execute(async (trx) => {
    const user = await otherUserForChange(trx, actor, userId);
    await trx.updateTable('users').set({ password_hash: passwordHash, password_changed_at: now }).where('id', '=', user.id).execute();
    await trx.deleteFrom('web_sessions').where('user_id', '=', user.id).execute();
    await recordAudit(trx, actor, { action: 'user.password_reset', ...userLabel(user), clientId: user.client_id }, now);
    return user;
  });
}

/** Changes a staff user's role between admin and support; the last active admin keeps theirs. */
export async function changeUserRole(db: Db, actor: AuditActor, userId: number, role: 'admin' | 'support', now: number): Promise<UserRow> {
  return db.transaction().execute(async (trx) => {
    const user = await otherUserForChange(trx, actor, userId);
    if (user.role === 'client') throw new AppError('role_change_client', 400, { field: 'role' });
    if (user.role === role) return user;
    if (user.role === 'admin' && user.disabled_at === null && (await otherActiveAdmins(trx, user.id)) === 0) {
      throw new AppError('last_admin', 409);
    }
    await trx.updateTable('users').set({ role }).where('id', '=', user.id).execute();
    await recordAudit(trx, actor, { action: 'user.role_changed', ...userLabel(user), details: { from: user.role, to: role } }, now);
    // A support user can neither see nor revoke tokens: the admin tokens they created go with the role.
    if (role === 'support') await revokeTokensOf(trx, actor, user.id, 'admin', 'creator no longer admin', now);
    return { ...user, role };
  });
}

/**
 * Changes a user's e-mail (their sign-in name) and display name: a typo in the
 * address, a person who changed theirs. Refuses an e-mail another user has.
 * Audited 'user.updated' with what changed; allowed on one's own account too
 * (nothing here can lock anyone out). Sign-ins and tokens are kept.
 */
export async function updateUserDetails(
  db: Db,
  actor: AuditActor,
  userId: number,
  input: { email: string; name: string | null },
  now: number,
): Promise<UserRow> {
  return db.transaction().execute(async (trx) => {
    const user = await userById(trx, userId);
    if (!user) throw notFound();
    const email = normalizeEmail(input.email);
    const name = input.name?.trim() || null;
    const changed: Record<string, { from: unknown; to: unknown }> = {};
    if (email !== user.email) changed.email = { from: user.email, to: email };
    if (name !== user.name) changed.name = { from: user.name, to: name };
    if (!Object.keys(changed).length) return user;
    if (changed.email) {
      const taken = await trx.selectFrom('users').select('id').where('email', '=', email).where('id', '!=', user.id).executeTakeFirst();
      if (taken) throw new AppError('email_taken', 409, { field: 'email' });
    }
    try {
      await trx.updateTable('users').set({ email, name }).where('id', '=', user.id).execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw new AppError('email_taken', 409, { field: 'email' });
      throw e;
    }
    await recordAudit(trx, actor, { action: 'user.updated', ...userLabel({ id: user.id, email }), clientId: user.client_id, details: changed }, now);
    return { ...user, email, name };
  });
}

/** Clients a client user may be attached to, by name (for the create form). */
export async function clientChoices(db: Db): Promise<{ id: number; name: string }[]> {
  return db.selectFrom('clients').select(['id', 'name']).orderBy('name').orderBy('id').execute();
}
