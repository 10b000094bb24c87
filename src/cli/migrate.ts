import type { Config } from '../config.js';
import { parseCommand } from './args.js';
import { openMigrated } from './database.js';

/** `migrate`: applies pending migrations (every command does so first) and says what it did. */
export async function migrate(config: Readonly<Config>, args: string[], out: (line: string) => void): Promise<void> {
  parseCommand('migrate', args, {});
  const { db, applied } = await openMigrated(config);
  await db.destroy();
  out(applied.length ? `Applied ${applied.length} migration(s) to ${config.databasePath}: ${applied.join(', ')}` : `${config.databasePath} is up to date.`);
}
