import type { Config } from '../config.js';
import { systemClock } from '../lib/clock.js';
import { issueApiToken } from '../models/api-tokens.js';
import { parseCommand, required } from './args.js';
import { CLI_ACTOR, openMigrated } from './database.js';
import { UsageError } from './errors.js';

const CMD = 'token create';

/** `token create --name N [--role admin|support]`: prints the token once, alone on the last line. */
export async function tokenCreate(config: Readonly<Config>, args: string[], out: (line: string) => void): Promise<void> {
  const { values } = parseCommand(CMD, args, { name: { type: 'string' }, role: { type: 'string' } });
  const name = required(CMD, 'name', values.name);
  if ([...name].length > 100) throw new UsageError(`${CMD}: --name must be at most 100 characters`);
  // The least privilege unless asked (PROTOCOL §5: default support), as in the web UI.
  // An explicit but empty --role (an unset variable in a script) is a mistake, not a request for the default.
  const role = values.role === undefined ? 'support' : values.role.trim();
  if (role !== 'admin' && role !== 'support') throw new UsageError(`${CMD}: --role must be admin or support, got "${role}"`);

  const { db } = await openMigrated(config);
  try {
    const { token, row } = await issueApiToken(db, CLI_ACTOR, { name, role }, systemClock.now());
    out(`Created API token "${row.name}" (id ${row.id}, role ${row.role}). Only its hash is stored: copy it now, it is not shown again.`);
    out(token);
  } finally {
    await db.destroy();
  }
}
