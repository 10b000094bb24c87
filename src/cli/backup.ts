import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Config } from '../config.js';
import { systemClock } from '../lib/clock.js';
import { formatBytes } from '../lib/format.js';
import { recordAudit } from '../models/audit.js';
import { parseCommand } from './args.js';
import { CLI_ACTOR, openAsIs } from './database.js';
import { CliError, UsageError } from './errors.js';

const CMD = 'backup';

// What SQLite keeps beside the live database: a backup written over any of them loses committed data.
const LIVE_FILES: Record<string, string> = {
  '': 'the live database itself',
  '-wal': "the live database's write-ahead log (-wal)",
  '-shm': "the live database's shared-memory index (-shm)",
  '-journal': "the live database's rollback journal (-journal)",
};

/** The real path of a file that may not exist yet: its folder's, with symbolic links resolved, plus its name. */
function realPath(file: string): string {
  try {
    return path.join(fs.realpathSync(path.dirname(file)), path.basename(file));
  } catch {
    return path.resolve(file);
  }
}

/** What `file` is to the live database (see LIVE_FILES), or null when it is another file. */
function liveFileRole(file: string, databasePath: string): string | null {
  // SQLite puts the -wal beside the file a symbolic link DATABASE_PATH points to, so both count.
  const bases = new Set([realPath(databasePath)]);
  if (fs.existsSync(databasePath)) bases.add(fs.realpathSync(databasePath));
  const target = realPath(file);
  for (const base of bases) {
    for (const [suffix, role] of Object.entries(LIVE_FILES)) if (target === base + suffix) return role;
  }
  return null;
}

/**
 * `backup FILE [--force]`: a consistent copy of the live database through
 * SQLite's online backup API (safe while the server runs), written beside the
 * target first and renamed into place, so FILE is never half-written.
 */
export async function backup(config: Readonly<Config>, args: string[], out: (line: string) => void): Promise<void> {
  const { values, positionals } = parseCommand(CMD, args, { force: { type: 'boolean' } }, 1);
  if (!positionals[0]?.trim()) throw new UsageError(`${CMD}: FILE is required, e.g. backup ./backups/monitor-$(date +%F).db`);
  const file = path.resolve(positionals[0]);
  const role = liveFileRole(file, config.databasePath);
  if (role) throw new UsageError(`${CMD}: FILE ${file} is ${role}: a backup written there would destroy the data it should save`);
  if (!fs.existsSync(path.dirname(file))) throw new UsageError(`${CMD}: FILE: the folder ${path.dirname(file)} does not exist`);
  if (fs.existsSync(file)) {
    if (!values.force) throw new UsageError(`${CMD}: FILE ${file} already exists; add --force to overwrite it`);
    if (!fs.statSync(file).isFile()) throw new UsageError(`${CMD}: FILE ${file} is not a regular file`);
  }
  if (!fs.existsSync(config.databasePath)) throw new CliError(`${CMD}: there is no database at ${config.databasePath} (DATABASE_PATH)`);

  // As it is, not migrated: a backup taken before an upgrade must still open in the version that wrote it.
  const { db, sqlite } = openAsIs(config);
  const partial = `${file}.partial-${process.pid}`;
  try {
    // Readable by its owner only, as the database is (password and token hashes).
    try {
      fs.closeSync(fs.openSync(partial, 'w', 0o600));
    } catch (e) {
      throw new CliError(`${CMD}: cannot write ${partial}: ${e instanceof Error ? e.message : String(e)}`);
    }
    // All pages in one step, under one read transaction: a write by the server between
    // small steps would restart the copy, and under steady load it might never finish.
    // In WAL mode the server's writers are not blocked by this reader.
    await sqlite.backup(partial, { progress: () => 0x7fffffff }).catch((e: unknown) => {
      throw new CliError(`${CMD}: cannot write ${partial}: ${e instanceof Error ? e.message : String(e)}`);
    });
    // A self-contained file: no -wal beside it is needed to read the copy.
    const copy = new Database(partial);
    try {
      copy.pragma('journal_mode = DELETE');
      const check = copy.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw new CliError(`${CMD}: the copy failed its check: ${String(check)}`);
    } finally {
      copy.close();
    }
    fs.renameSync(partial, file);
    const size = fs.statSync(file).size;
    out(`Backed up ${config.databasePath} to ${file}: ${size} bytes (${formatBytes(size)}).`);
    try {
      await recordAudit(db, CLI_ACTOR, { action: 'database.backup', details: { file, bytes: size } }, systemClock.now());
    } catch (e) {
      // A database this version has never written (an empty file, another version's log): the copy stands.
      out(`(Not noted in the audit log: ${e instanceof Error ? e.message : String(e)}.)`);
    }
  } finally {
    fs.rmSync(partial, { force: true });
    fs.rmSync(`${partial}-journal`, { force: true });
    await db.destroy();
  }
}
