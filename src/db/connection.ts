import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { CompiledQuery, Kysely, SqliteDialect, type DatabaseConnection, type SqliteDatabase } from 'kysely';
import type { DB } from './schema.js';

export type Db = Kysely<DB>;

export interface OpenDatabase {
  db: Db;
  /** The raw handle, for online backup and the few hot paths that prepare statements. */
  sqlite: Database.Database;
}

/**
 * Every Kysely transaction starts with BEGIN IMMEDIATE: it takes the write lock
 * up front, so a transaction that reads and then writes can never fail with
 * SQLITE_BUSY halfway (the lock upgrade that a deferred BEGIN risks), and two
 * server processes on one file serialise their capture checks instead of both
 * passing them.
 */
class ImmediateSqliteDialect extends SqliteDialect {
  override createDriver() {
    const driver = super.createDriver();
    driver.beginTransaction = async (connection: DatabaseConnection) => {
      await connection.executeQuery(CompiledQuery.raw('begin immediate'));
    };
    return driver;
  }

  // SQLite does support DDL in transactions: a failed migration leaves nothing half-done.
  override createAdapter() {
    const adapter = super.createAdapter();
    Object.defineProperty(adapter, 'supportsTransactionalDdl', { get: () => true });
    return adapter;
  }
}

/** Prepared statements kept per SQL text; least recently used ones are dropped above this. */
const STATEMENT_CACHE_SIZE = 500;

const statementCaches = new WeakMap<Database.Database, Map<string, Database.Statement>>();

/**
 * The prepared statement for `text` on this handle, prepared once and reused
 * (SQLite's prepare costs as much as running a small statement). Statements
 * re-prepare themselves after a schema change.
 */
export function preparedStatement(sqlite: Database.Database, text: string): Database.Statement {
  let cache = statementCaches.get(sqlite);
  if (!cache) statementCaches.set(sqlite, (cache = new Map()));
  let stmt = cache.get(text);
  if (stmt) {
    cache.delete(text);
  } else {
    stmt = sqlite.prepare(text);
    if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
  }
  cache.set(text, stmt);
  return stmt;
}

/** The handle Kysely sees: the same connection, with Kysely's statements from the cache above (it prepares every query it runs). */
function withStatementCache(sqlite: Database.Database): SqliteDatabase {
  return { prepare: (text: string) => preparedStatement(sqlite, text), close: () => sqlite.close() };
}

const rawHandles = new WeakMap<Db, Database.Database>();

/**
 * The raw handle under a database opened by openDatabase, for the hot paths
 * that run synchronous statements. Only use it while holding Kysely's
 * connection — inside a transaction of `db` — or the statements would run
 * inside whatever transaction someone else has open; a single read may run
 * when `inTransaction` says none is (webSessionAndChangeMarker).
 */
export function rawHandleOf(db: Db): Database.Database {
  const sqlite = rawHandles.get(db);
  if (!sqlite) throw new Error('rawHandleOf: not a database opened by openDatabase');
  return sqlite;
}

/** The database file could not be opened or created; the message names the file and why. */
export class DatabaseOpenError extends Error {
  constructor(
    public readonly file: string,
    reason: string,
  ) {
    super(`cannot open the database ${file}: ${reason}`);
  }
}

const FOLDER_PROBLEMS: Record<string, string> = {
  EEXIST: 'a file is in the way',
  ENOTDIR: 'a file is in the way',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
};

/**
 * mkdir -p, one level at a time: Node 20's `mkdirSync(…, { recursive: true })` never returns
 * where a folder cannot be made inside an existing one (under /proc: ENOENT, then EEXIST for
 * the parent, and round again). Throws the first level's error (ENOTDIR through a file).
 */
function makeFolder(folder: string): void {
  const missing: string[] = [];
  for (let dir = path.resolve(folder); ; ) {
    const st = fs.statSync(dir, { throwIfNoEntry: false });
    if (st) {
      if (!st.isDirectory()) throw Object.assign(new Error(`${dir} is not a folder`), { code: 'ENOTDIR' });
      break;
    }
    missing.unshift(dir);
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  for (const dir of missing) {
    try {
      fs.mkdirSync(dir);
    } catch (e) {
      // Made meanwhile by another process: fine if it is a folder.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !fs.statSync(dir).isDirectory()) throw e;
    }
  }
}

/** Opens the file, creating its folder; what goes wrong is a DatabaseOpenError naming the file, not a bare "unable to open database file". */
function openFile(file: string): Database.Database {
  if (file === ':memory:') return new Database(file);
  const folder = path.dirname(file);
  try {
    makeFolder(folder);
  } catch (e) {
    throw new DatabaseOpenError(file, `cannot create its folder ${folder}: ${FOLDER_PROBLEMS[(e as NodeJS.ErrnoException).code ?? ''] ?? (e as Error).message}`);
  }
  const st = fs.statSync(file, { throwIfNoEntry: false });
  if (st?.isDirectory()) throw new DatabaseOpenError(file, 'it is a folder, not a file');
  try {
    // A new database is readable by its owner only (password and token hashes): SQLite gives the
    // -wal and -shm files it makes beside it the same mode.
    // (Create-if-missing, not exclusive: another process starting on the same new path may make it first.)
    if (!st) fs.closeSync(fs.openSync(file, 'a', 0o600));
    return new Database(file);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    // SQLite says "unable to open database file" or "attempt to write a readonly database" of a folder it cannot write in.
    const hint = /unable to open|readonly|EACCES|EPERM/i.test(why) ? `; its folder ${folder} must be writable by this user (SQLite writes ${path.basename(file)}-wal and -shm beside it)` : '';
    throw new DatabaseOpenError(file, why + hint);
  }
}

const STAT4_EXISTS = "select 1 from sqlite_schema where name = 'sqlite_stat4'";
// After gathering statistics, keep the per-key counts (sqlite_stat1) and drop the value samples
// (sqlite_stat4, compiled into better-sqlite3): with samples, every statement with a range on an
// indexed column is prepared again each time its bound value changes (the heartbeat's "latest
// sample at or before now − 5 min": 28 -> 61 µs). `analyze sqlite_schema` reloads what is left.
// src/models/maintenance.ts does the same hourly.

/** Opens (creating its folder) the SQLite file with the pragmas a web server needs. */
export function openDatabase(file: string): OpenDatabase {
  const sqlite = openFile(file);
  try {
    // WAL lets the monitor read while agents write. synchronous=NORMAL in WAL mode
    // never corrupts the file and loses nothing when the process is killed (the
    // WAL is in the OS page cache); only a power loss or OS crash can drop the
    // last transactions since the previous checkpoint sync. FULL would fsync on
    // every commit and cap captures at the disk's flush rate. See README "Durability".
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    // Other processes (CLI backup, a second server in tests) hold the lock briefly.
    sqlite.pragma('busy_timeout = 5000');
    // Keep the WAL from growing without bound between checkpoints.
    sqlite.pragma('journal_size_limit = 67108864');
    // Table statistics for the query planner (SQLite's advice for long-lived connections; bounded
    // work on a large file, nothing on an empty one). Without them it guessed, e.g., that the few
    // commands rows were best found by probing 100,000 session ids. The jobs refresh them hourly.
    sqlite.pragma('optimize=0x10002');
    if (sqlite.prepare(STAT4_EXISTS).get()) sqlite.exec('delete from sqlite_stat4; analyze sqlite_schema');
  } catch (e) {
    // The first statements to read and write the file: "file is not a database", a read-only file.
    sqlite.close();
    throw new DatabaseOpenError(file, e instanceof Error ? e.message : String(e));
  }
  const db = new Kysely<DB>({ dialect: new ImmediateSqliteDialect({ database: withStatementCache(sqlite) }) });
  rawHandles.set(db, sqlite);
  return { db, sqlite };
}
