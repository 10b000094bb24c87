import type { Deps } from '../deps.js';
import type { UserRow } from '../db/schema.js';
import type { T } from '../i18n/index.js';
import { MIN_PASSWORD_LENGTH } from '../lib/passwords.js';
import { recordAudit } from './audit.js';
import { consumeSetupToken } from './setup.js';
import { createUser, hasActiveAdmin, normalizeEmail, userByEmail } from './users.js';

/** Why a new password is not acceptable (translated), or null when it is. */
export function passwordProblem(t: T, password: string, confirm: string): string | null {
  if ([...password].length < MIN_PASSWORD_LENGTH) return t('auth.password.too_short', { min: MIN_PASSWORD_LENGTH });
  if (password.length > 256) return t('auth.password.too_long');
  if (password !== confirm) return t('auth.password.mismatch');
  return null;
}

export type SignInResult = { ok: true; userId: number } | { ok: false; retryAfterSec?: number };

/**
 * Checks a login. Failures count per account name and per IP (counted before
 * the check, so parallel attempts cannot overshoot); past either limit the
 * answer is "try again in N s" whether or not the account exists, and no
 * password is checked. Unknown accounts cost the same hashing time.
 */
export async function signIn(
  deps: Pick<Deps, 'db' | 'hasher' | 'limits' | 'clock'>,
  input: { email: string; password: string; ip: string | null },
): Promise<SignInResult> {
  const { db, hasher, limits, clock } = deps;
  const now = clock.now();
  const email = normalizeEmail(input.email);
  const ipKey = input.ip ?? 'unknown';
  // The attempt is counted before the (slow) password check, so parallel guesses
  // cannot all pass the limit first; a successful login gives its count back.
  const perAccount = limits.loginPerAccount.hit(email, now);
  if (!perAccount.ok) return { ok: false, retryAfterSec: perAccount.retryAfterSec };
  const perIp = limits.loginPerIp.hit(ipKey, now);
  if (!perIp.ok) {
    limits.loginPerAccount.undo(email, now);
    return { ok: false, retryAfterSec: perIp.retryAfterSec };
  }
  const user = email ? await userByEmail(db, email) : undefined;
  let ok: boolean;
  try {
    ok = await hasher.verify(user?.password_hash ?? null, input.password);
  } catch (e) {
    // Not checked (the hasher is busy): not an attempt.
    limits.loginPerAccount.undo(email, now);
    limits.loginPerIp.undo(ipKey, now);
    throw e;
  }
  if (!ok || !user || user.disabled_at !== null) {
    await recordAudit(
      db,
      { type: 'anonymous', name: email.slice(0, 254) || '(empty)', ip: input.ip },
      { action: 'login.failed', targetType: user ? 'user' : null, targetId: user?.id ?? null, targetLabel: user?.email ?? null },
      clock.now(),
    );
    return { ok: false };
  }
  limits.loginPerAccount.clear(email);
  limits.loginPerIp.undo(ipKey, now);
  await recordAudit(
    db,
    { type: 'user', id: user.id, name: user.email, role: user.role, clientId: user.client_id, ip: input.ip },
    { action: 'login', targetType: 'user', targetId: user.id, targetLabel: user.email },
    clock.now(),
  );
  return { ok: true, userId: user.id };
}

/**
 * Creates the first administrator through a one-time link. The link is spent
 * and the admin created in one transaction, and only while no admin exists.
 */
export async function setupAdmin(
  deps: Pick<Deps, 'db' | 'hasher' | 'clock'>,
  input: { tokenHash: string; email: string; password: string; ip: string | null },
): Promise<UserRow | null> {
  const { db, hasher, clock } = deps;
  const passwordHash = await hasher.hash(input.password);
  const now = clock.now();
  const user = await db.transaction().execute(async (trx) => {
    if (await hasActiveAdmin(trx)) return null;
    if (!(await consumeSetupToken(trx, input.tokenHash, now))) return null;
    return createUser(trx, { email: input.email, passwordHash, role: 'admin' }, now);
  });
  if (user) {
    await recordAudit(
      db,
      { type: 'user', id: user.id, name: user.email, role: 'admin', clientId: null, ip: input.ip },
      { action: 'setup.admin_created', targetType: 'user', targetId: user.id, targetLabel: user.email },
      now,
    );
  }
  return user;
}
