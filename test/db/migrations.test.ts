import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { projectRoot } from '../../src/lib/paths.js';

/** Table names of the DB interface in src/db/schema.ts: the schema types and the migrations must agree. */
function schemaTables(): string[] {
  const text = fs.readFileSync(path.join(projectRoot, 'src/db/schema.ts'), 'utf8');
  const body = /export interface DB \{([\s\S]*?)\n\}/.exec(text)![1];
  return [...body.matchAll(/^\s+(\w+): \w+;/gm)].map((m) => m[1]);
}

describe('migrations', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-migrate-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('build every table from an empty file, and a second run is a no-op', async () => {
    const file = path.join(dir, 'nested', 'monitor.db');
    const { db, sqlite } = openDatabase(file);
    expect(fs.existsSync(file)).toBe(true);
    const results = await migrateToLatest(db);
    const files = fs.readdirSync(path.join(projectRoot, 'migrations')).filter((f) => f.endsWith('.ts')).sort();
    expect(results.map((r) => r.migrationName)).toEqual(files.map((f) => f.replace(/\.ts$/, '')));
    expect(results.every((r) => r.status === 'Success')).toBe(true);

    const tables = (sqlite.prepare("select name from sqlite_master where type = 'table'").all() as { name: string }[]).map((r) => r.name);
    for (const table of schemaTables()) expect(tables, table).toContain(table);
    expect(sqlite.prepare('select id from settings').all()).toEqual([{ id: 1 }]);
    expect(sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(sqlite.pragma('foreign_keys', { simple: true })).toBe(1);

    sqlite.prepare("insert into clients (name, created_at, updated_at) values ('kept', 1, 1)").run();
    expect(await migrateToLatest(db)).toEqual([]);
    await db.destroy();

    const again = openDatabase(file);
    expect(await migrateToLatest(again.db)).toEqual([]);
    expect(again.sqlite.prepare('select name from clients').all()).toEqual([{ name: 'kept' }]);
    await again.db.destroy();
  });

  it('refuse a database from a newer version by saying so, and leave it as it was', async () => {
    // An image rolled back after an upgrade: the file has a migration this version does not know.
    const file = path.join(dir, 'monitor.db');
    const { db, sqlite } = openDatabase(file);
    await migrateToLatest(db);
    sqlite.prepare("insert into kysely_migration (name, timestamp) values ('2099-01-01-01-from-the-future', '2099-01-01T00:00:00.000Z')").run();
    const before = sqlite.prepare('select name from kysely_migration order by name').all();
    await expect(migrateToLatest(db)).rejects.toThrow(
      /^it was written by a newer version of Session Monitor \(its migration 2099-01-01-01-from-the-future is unknown to this one\): run that version or a later one, or restore a backup taken before the upgrade$/,
    );
    expect(sqlite.prepare('select name from kysely_migration order by name').all()).toEqual(before);
    await db.destroy();
  });

  it('are date-prefixed and frozen in time (they never import application code)', () => {
    for (const f of fs.readdirSync(path.join(projectRoot, 'migrations'))) {
      expect(f).toMatch(/^\d{4}-\d{2}-\d{2}-\d{2}-[a-z0-9-]+\.ts$/);
      const text = fs.readFileSync(path.join(projectRoot, 'migrations', f), 'utf8');
      expect(text, f).not.toMatch(/from '\.\.?\/(src|\.\.)/);
      expect(text, f).toMatch(/export async function up\(db: Kysely<any>\)/);
    }
  });
});

/** Every table, index and trigger with its definition, and each table's columns as a set (an ALTER appends). */
function schemaOf(sqlite: import('better-sqlite3').Database) {
  const objects = sqlite
    .prepare("select type, name, tbl_name as tbl, sql from sqlite_schema where name not like 'sqlite_%' and name not like 'kysely_%' order by type, name")
    .all() as { type: string; name: string; tbl: string; sql: string | null }[];
  return objects.map((o) =>
    o.type === 'table'
      ? { type: o.type, name: o.name, columns: (sqlite.pragma(`table_info(${JSON.stringify(o.name)})`) as { name: string; type: string; notnull: number; dflt_value: unknown; pk: number }[]).map((c) => JSON.stringify(c)).sort() }
      : o,
  );
}

describe('upgrading databases written by earlier versions', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-upgrade-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  // What the migrations folder held at commits of 2026-11-21 (git ls-tree): -40, -51 and -52 came after them
  // with earlier names, so these databases have later migrations applied and earlier ones pending.
  const HISTORICAL: Record<string, string[]> = {
    '1042c3b': ['01-foundation', '02-licensing', '10-monitor-indexes', '20-support-contact', '30-closed-at-partial-index', '50-lean-session-indexes'],
    '53f1dde': ['01-foundation', '02-licensing', '10-monitor-indexes', '20-support-contact', '30-closed-at-partial-index', '50-lean-session-indexes', '60-license-event-hours'],
  };

  for (const [commit, names] of Object.entries(HISTORICAL)) {
    it(`a database of ${commit} upgrades, keeps its rows and ends with the schema of a new one`, async () => {
      const { Migrator } = await import('kysely');
      const { provider } = await import('../../src/db/migrate.js');
      const all = await provider.getMigrations();
      const then = Object.fromEntries(names.map((n) => [`2026-11-21-${n}`, all[`2026-11-21-${n}`]]));
      expect(Object.values(then).every(Boolean)).toBe(true);

      const old = openDatabase(path.join(dir, 'old.db'));
      const applied = await new Migrator({ db: old.db, provider: { getMigrations: async () => then } }).migrateToLatest();
      expect(applied.error).toBeUndefined();
      old.sqlite.prepare("insert into clients (name, created_at, updated_at) values ('Romashka', 1, 1)").run();
      const results = await migrateToLatest(old.db);
      expect(results.every((r) => r.status === 'Success')).toBe(true);
      expect(results.map((r) => r.migrationName)).toEqual(Object.keys(all).filter((n) => !(n in then)));
      expect(old.sqlite.prepare('select name from clients').all()).toEqual([{ name: 'Romashka' }]);

      const fresh = openDatabase(path.join(dir, 'fresh.db'));
      await migrateToLatest(fresh.db);
      expect(schemaOf(old.sqlite)).toEqual(schemaOf(fresh.sqlite));
      await old.db.destroy();
      await fresh.db.destroy();
    });
  }
});

describe('migration 2026-12-07-50: permission codes kept as salted hashes', () => {
  it('turns a code set before it into a hash the code still matches, and leaves no code readable', async () => {
    const { Migrator } = await import('kysely');
    const { provider } = await import('../../src/db/migrate.js');
    const { permissionCodeMatches } = await import('../../src/lib/tokens.js');
    const all = await provider.getMigrations();
    const before = Object.fromEntries(Object.entries(all).filter(([name]) => name < '2026-12-07-50'));
    const { db, sqlite } = openDatabase(':memory:');
    expect((await new Migrator({ db, provider: { getMigrations: async () => before } }).migrateToLatest()).error).toBeUndefined();
    sqlite.prepare("insert into clients (id, name, created_at, updated_at) values (1, 'Romashka', 1, 1)").run();
    const ib = sqlite.prepare('insert into infobases (client_id, external_id, name, created_at, lock_set_at, lock_message, lock_code) values (1, ?, ?, 1, 1, ?, ?)');
    ib.run('acc', 'Accounting', 'Closed', 'let-me-in');
    ib.run('hr', 'Payroll', 'Closed', null);
    await migrateToLatest(db);
    const rows = sqlite.prepare('select external_id, lock_code from infobases order by external_id').all() as { external_id: string; lock_code: string | null }[];
    expect(rows[0].lock_code).toMatch(/^s1\$/);
    expect(permissionCodeMatches('let-me-in', rows[0].lock_code!)).toBe(true);
    expect(rows[1].lock_code).toBeNull();
    expect(sqlite.prepare("select count(*) as n from infobases where lock_code like '%let-me-in%'").get()).toEqual({ n: 0 });
    await db.destroy();
  });
});
