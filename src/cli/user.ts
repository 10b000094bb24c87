import fs from 'node:fs';
import type { Config } from '../config.js';
import type { Role } from '../db/schema.js';
import { translator } from '../i18n/index.js';
import { systemClock } from '../lib/clock.js';
import { AppError } from '../lib/errors.js';
import { PasswordHasher } from '../lib/passwords.js';
import { passwordProblem } from '../models/auth.js';
import { createUserAs, isEmail, resetUserPassword, ROLES, userByEmail } from '../models/users.js';
import { parseCommand, required } from './args.js';
import { CLI_ACTOR, openMigrated } from './database.js';
import { UsageError } from './errors.js';
import { readNewPassword } from './password-input.js';

const CMD = 'user create';

// The model's refusals, worded for the command line and naming the option.
const REFUSALS: Record<string, (clientId: string) => string> = {
  email_taken: () => '--email: a user with this e-mail already exists',
  client_required: () => '--client: a client user needs --client ID (the id of the client they belong to)',
  client_not_allowed: () => '--client: only client users belong to a client; leave it out for admin and support',
  client_not_found: (id) => `--client: there is no client with id ${id}`,
};

/** `user create --email E --role R [--client ID] [--name N]`, the password on standard input. */
export async function userCreate(config: Readonly<Config>, args: string[], out: (line: string) => void): Promise<void> {
  const { values } = parseCommand(CMD, args, {
    email: { type: 'string' },
    role: { type: 'string' },
    client: { type: 'string' },
    name: { type: 'string' },
  }, 0, true);
  const email = required(CMD, 'email', values.email);
  if (!isEmail(email)) throw new UsageError(`${CMD}: --email "${email}" is not an e-mail address`);
  const role = required(CMD, 'role', values.role);
  if (!(ROLES as readonly string[]).includes(role)) throw new UsageError(`${CMD}: --role must be one of ${ROLES.join(', ')}, got "${role}"`);
  const client = values.client?.trim() ?? '';
  if (values.client !== undefined && !/^[1-9]\d{0,14}$/.test(client)) throw new UsageError(`${CMD}: --client must be a client id (a positive whole number), got "${client}"`);
  if (role === 'client' && !client) throw new UsageError(`${CMD}: ${REFUSALS.client_required(client)}`);
  if (role !== 'client' && client) throw new UsageError(`${CMD}: ${REFUSALS.client_not_allowed(client)}`);
  const name = values.name?.trim() ?? '';
  if ([...name].length > 200) throw new UsageError(`${CMD}: --name must be at most 200 characters`);

  // All that needs no database is checked before opening it: a refusal must not leave behind a
  // freshly created and migrated database. (So a taken e-mail is found after the password is typed.)
  const { password, confirm } = await readNewPassword(CMD);
  const problem = passwordProblem(translator('en'), password, confirm);
  if (problem) throw new UsageError(`${CMD}: password: ${problem}`);
  // Creating the database is right for the first admin of a new installation, but a database
  // that does not exist yet has no clients: refuse rather than create one only to say so.
  if (client && !fs.existsSync(config.databasePath)) {
    throw new UsageError(`${CMD}: ${REFUSALS.client_not_found(client)}: the database ${config.databasePath} does not exist yet (DATABASE_PATH)`);
  }

  const { db } = await openMigrated(config);
  try {
    if (await userByEmail(db, email)) throw new UsageError(`${CMD}: ${REFUSALS.email_taken(client)}`);
    const passwordHash = await new PasswordHasher(1).hash(password);
    let user;
    try {
      user = await createUserAs(db, CLI_ACTOR, { email, name: name || null, role: role as Role, clientId: client ? Number(client) : null, passwordHash }, systemClock.now());
    } catch (e) {
      const refusal = e instanceof AppError ? REFUSALS[e.code] : undefined;
      if (refusal) throw new UsageError(`${CMD}: ${refusal(client)}`);
      throw e;
    }
    out(`Created ${user.role} user ${user.email} (id ${user.id}${user.client_id ? `, client ${user.client_id}` : ''}).`);
  } finally {
    await db.destroy();
  }
}

const PASSWORD_CMD = 'user password';

/**
 * `user password --email E`, the new password on standard input: sets it and ends the user's
 * sign-ins, audited as the command line. For the admin who forgot theirs when no other admin is
 * there to reset it in Users (a disabled account stays disabled: that is Users' to change).
 */
export async function userPassword(config: Readonly<Config>, args: string[], out: (line: string) => void): Promise<void> {
  const { values } = parseCommand(PASSWORD_CMD, args, { email: { type: 'string' } }, 0, true);
  const email = required(PASSWORD_CMD, 'email', values.email);
  if (!isEmail(email)) throw new UsageError(`${PASSWORD_CMD}: --email "${email}" is not an e-mail address`);
  // A database that does not exist has no users: say so rather than create one.
  if (!fs.existsSync(config.databasePath)) throw new UsageError(`${PASSWORD_CMD}: the database ${config.databasePath} does not exist (DATABASE_PATH)`);
  const { password, confirm } = await readNewPassword(PASSWORD_CMD);
  const problem = passwordProblem(translator('en'), password, confirm);
  if (problem) throw new UsageError(`${PASSWORD_CMD}: password: ${problem}`);

  const { db } = await openMigrated(config);
  try {
    const user = await userByEmail(db, email);
    if (!user) throw new UsageError(`${PASSWORD_CMD}: --email: there is no user with this e-mail`);
    const passwordHash = await new PasswordHasher(1).hash(password);
    await resetUserPassword(db, CLI_ACTOR, user.id, passwordHash, systemClock.now());
    out(`Set a new password for ${user.role} user ${user.email} (id ${user.id}); their sign-ins were ended.`);
    if (user.disabled_at !== null) out('The account is disabled: an admin can enable it in Users.');
    // The running server counts failed sign-ins in its own memory, which this process cannot reach.
    out(
      `If sign-ins were refused after failed attempts ("Too many failed attempts"), that lasts until the attempts are ${config.loginWindowSeconds} s old (LOGIN_WINDOW_SECONDS) or the server restarts; an admin's reset in Users lifts it at once.`,
    );
  } finally {
    await db.destroy();
  }
}
