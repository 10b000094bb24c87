import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { walFramesByBtree } from './wal-pages.js';

// The benchmark's page count reads the WAL file itself: its frames must be the ones SQLite counts,
// each attributed to the table or index it belongs to.

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('walFramesByBtree', () => {
  it("counts the WAL's frames as SQLite does and names the B-tree of each page", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'walpages-'));
    dirs.push(dir);
    const file = path.join(dir, 'w.db');
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0');
    db.exec('create table wide (id integer primary key, body text); create table other (k text primary key) without rowid');
    db.pragma('wal_checkpoint(TRUNCATE)');
    expect(walFramesByBtree(db, file + '-wal').frames).toBe(0);

    // 200 rows of 1 KB: ~50 table pages, in one transaction; then one small row elsewhere.
    const insert = db.prepare('insert into wide (body) values (?)');
    db.transaction(() => {
      for (let i = 0; i < 200; i++) insert.run('x'.repeat(1000));
    })();
    db.prepare('insert into other (k) values (?)').run('only');

    const { frames, byName } = walFramesByBtree(db, file + '-wal');
    const [{ log }] = db.pragma('wal_checkpoint(PASSIVE)') as { log: number }[];
    expect(frames).toBe(log);
    expect(byName.get('wide')).toBeGreaterThanOrEqual(50);
    expect(byName.get('other')).toBe(1);
    expect([...byName.values()].reduce((a, b) => a + b, 0)).toBe(frames);
    db.close();
  });
});
