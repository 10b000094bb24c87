import type { Config } from '../config.js';
import { DatabaseOpenError, openDatabase, type OpenDatabase } from '../db/connection.js';
import { migrateToLatest } from '../db/migrate.js';
import { recordAudit, type AuditActor } from '../models/audit.js';
import { systemClock } from '../lib/clock.js';
import { CliError } from './errors.js';

/** How the audit log names what the command line did. */
export const CLI_ACTOR: AuditActor = { type: 'system', name: 'cli', ip: null };

export interface CliDatabase extends OpenDatabase {
  /** Names of the migrations this run applied (empty when the database was up to date). */
  applied: string[];
}

/** Opens DATABASE_PATH as it is, at whatever version wrote it (a backup copies it so). */
export function openAsIs(config: Readonly<Config>): OpenDatabase {
  try {
    return openDatabase(config.databasePath);
  } catch (e) {
    if (e instanceof DatabaseOpenError) throw new CliError(`${e.message} (DATABASE_PATH)`);
    throw e;
  }
}

/** Opens DATABASE_PATH and brings it up to date before any command touches it. */
export async function openMigrated(config: Readonly<Config>): Promise<CliDatabase> {
  const opened = openAsIs(config);
  let applied: string[];
  try {
    applied = (await migrateToLatest(opened.db)).map((r) => r.migrationName);
  } catch (e) {
    await opened.db.destroy();
    // SQLite's own messages ("attempt to write a readonly database") do not say which file.
    throw new CliError(`cannot update the database ${config.databasePath}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (applied.length) {
    await recordAudit(opened.db, CLI_ACTOR, { action: 'database.migrated', details: { migrations: applied } }, systemClock.now());
  }
  return { ...opened, applied };
}
