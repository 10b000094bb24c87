import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BACKSTOP_PAGES, startCheckpointer, type Checkpointer } from '../../src/db/checkpointer.js';
import { openDatabase, type OpenDatabase } from '../../src/db/connection.js';

// The WAL checkpoint worker (src/db/checkpointer.ts): pages reach the database
// file without the server's connection checkpointing them inside a COMMIT.

let dir: string | null = null;
let opened: OpenDatabase | null = null;
let checkpointer: Checkpointer | null = null;

afterEach(async () => {
  await checkpointer?.stop();
  await opened?.db.destroy();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  [dir, opened, checkpointer] = [null, null, null];
});

function openTemp(): OpenDatabase & { file: string } {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-checkpoint-'));
  const file = path.join(dir, 'db.sqlite');
  opened = openDatabase(file);
  return { ...opened, file };
}

/** ~2 MB committed in one transaction: 500 pages in the WAL, none in the file yet. */
function writeTwoMegabytes(sqlite: OpenDatabase['sqlite']): void {
  sqlite.exec('create table blobs (id integer primary key, data blob not null)');
  const insert = sqlite.prepare('insert into blobs (data) values (randomblob(4000))');
  sqlite.transaction(() => {
    for (let i = 0; i < 500; i++) insert.run();
  })();
}

async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return check();
}

describe('WAL checkpoint worker', () => {
  it('moves committed pages into the database file while the server connection only keeps a backstop', async () => {
    const { sqlite, file } = openTemp();
    checkpointer = await startCheckpointer(sqlite, { intervalMs: 20 });
    expect(sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(BACKSTOP_PAGES);
    const before = fs.statSync(file).size;
    writeTwoMegabytes(sqlite);

    expect(await waitFor(() => fs.statSync(file).size >= 2_000_000, 5000)).toBe(true);
    expect(before).toBeLessThan(200_000);
    expect(await waitFor(() => checkpointer!.stats.frames >= 500, 5000)).toBe(true);
    expect(checkpointer.stats.errors).toBe(0);
    // Nothing was lost on the way: the rows read back from the file.
    expect(sqlite.prepare('select count(*) from blobs').pluck().get()).toBe(500);
  });

  it('without it the same pages stay in the WAL (what the worker is for)', async () => {
    const { sqlite, file } = openTemp();
    sqlite.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
    writeTwoMegabytes(sqlite);
    await new Promise((r) => setTimeout(r, 200));
    expect(fs.statSync(file).size).toBeLessThan(200_000);
    expect(fs.statSync(`${file}-wal`).size).toBeGreaterThan(2_000_000);
  });

  it('stop() ends the worker and gives the connection back SQLite’s automatic checkpoint', async () => {
    const { sqlite } = openTemp();
    const c = await startCheckpointer(sqlite, { intervalMs: 20 });
    await c.stop();
    expect(sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    // Stopped means stopped: later writes are not checkpointed by it.
    writeTwoMegabytes(sqlite);
    const frames = c.stats.frames;
    await new Promise((r) => setTimeout(r, 100));
    expect(c.stats.frames).toBe(frames);
  });

  it('stop() finishes in a process with nothing else keeping it alive (the worker does not hold it, stop() waits for it)', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-checkpoint-'));
    const script = path.join(dir, 'run.mts');
    const src = (p: string) => JSON.stringify(new URL(`../../src/db/${p}`, import.meta.url).href);
    fs.writeFileSync(
      script,
      `import { openDatabase } from ${src('connection.js')};
       import { startCheckpointer } from ${src('checkpointer.js')};
       const { sqlite } = openDatabase(${JSON.stringify(path.join(dir, 'db.sqlite'))});
       sqlite.exec('create table t (x)');
       const c = await startCheckpointer(sqlite, { intervalMs: 10 });
       sqlite.exec("insert into t values (randomblob(100000))");
       await c.stop();
       sqlite.close();
       console.log('stopped cleanly');`,
    );
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.stdout).toContain('stopped cleanly');
    expect(r.status).toBe(0);
  });

  it('a worker that cannot open the file leaves SQLite’s own checkpoints on and says why', async () => {
    const { sqlite, file } = openTemp();
    // The server's connection keeps its open file; the worker, opening by name, finds none.
    fs.renameSync(file, `${file}.moved`);
    const errors: string[] = [];
    checkpointer = await startCheckpointer(sqlite, { intervalMs: 20, onError: (m) => errors.push(m) });
    fs.renameSync(`${file}.moved`, file);
    expect(errors.join('\n')).toMatch(/WAL checkpoint worker: .+/);
    expect(sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    expect(checkpointer.stats).toEqual({ checkpoints: 0, frames: 0, errors: 0 });
    await checkpointer.stop();
  });

  it('does nothing for an in-memory database', async () => {
    opened = openDatabase(':memory:');
    checkpointer = await startCheckpointer(opened.sqlite, { intervalMs: 20 });
    expect(opened.sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    expect(checkpointer.stats).toEqual({ checkpoints: 0, frames: 0, errors: 0 });
  });
});
