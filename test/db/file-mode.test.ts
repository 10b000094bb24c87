import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DatabaseOpenError, openDatabase } from '../../src/db/connection.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { makeReadOnly } from '../cli/read-only.js';

// The database holds argon2 password hashes and token hashes: on a shared host it is its owner's alone.
describe('database files', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-mode-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const mode = (f: string) => fs.statSync(f).mode & 0o777;

  it('a new database and the -wal and -shm beside it are readable by their owner only', async () => {
    const file = path.join(dir, 'monitor.db');
    const { db } = openDatabase(file);
    await migrateToLatest(db);
    expect(mode(file)).toBe(0o600);
    expect(mode(`${file}-wal`)).toBe(0o600);
    expect(mode(`${file}-shm`)).toBe(0o600);
    await db.destroy();
  });

  it('an existing database keeps the mode it has', async () => {
    const file = path.join(dir, 'shared.db');
    fs.writeFileSync(file, '');
    fs.chmodSync(file, 0o640);
    const { db } = openDatabase(file);
    await migrateToLatest(db);
    expect(mode(file)).toBe(0o640);
    await db.destroy();
  });

  it('a folder it may not write in is named, with what SQLite needs there', (ctx) => {
    const ro = path.join(dir, 'ro');
    fs.mkdirSync(ro);
    // Root ignores permission bits: for root the folder is made immutable.
    const undo = makeReadOnly(ro);
    if (!undo) return ctx.skip();
    try {
      expect(() => openDatabase(path.join(ro, 'monitor.db'))).toThrow(DatabaseOpenError);
      expect(() => openDatabase(path.join(ro, 'monitor.db'))).toThrow(/its folder .*ro must be writable by this user \(SQLite writes monitor\.db-wal and -shm beside it\)/);
    } finally {
      undo();
      fs.chmodSync(ro, 0o700); // (a folder needs its x bit back to be removed)
    }
  });
});

describe('a new database path opened twice', () => {
  it('the second open, finding the file another made meanwhile, opens it (not "already exists")', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-twice-'));
    try {
      const file = path.join(dir, 'monitor.db');
      const first = openDatabase(file);
      const second = openDatabase(file);
      await migrateToLatest(first.db);
      expect(await migrateToLatest(second.db)).toEqual([]);
      await first.db.destroy();
      await second.db.destroy();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
