import type Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * WAL checkpoints off the event loop.
 *
 * SQLite's automatic checkpoint runs inside the COMMIT that takes the WAL past
 * 1,000 pages: that one commit copies the pages into the database file and
 * waits for two fsyncs, and every request waits with it (in-process, a
 * heartbeat's share of COMMIT was ~40 µs with automatic checkpoints and ~15 µs
 * without). Here a worker thread with its own connection runs a PASSIVE
 * checkpoint every `intervalMs`: it never blocks the server's readers or
 * writers. Nothing answered is any less durable (a commit is in the WAL before
 * it is answered, as before), and the WAL is synced, which each checkpoint
 * does first, every `intervalMs` while anything is written instead of once per
 * 1,000 pages (see README "Durability").
 * The server's connection keeps an automatic checkpoint as a backstop, at
 * BACKSTOP_PAGES, for when writes never pause long enough for the worker to
 * catch up completely (the WAL restarts from its start only then) or the
 * worker is gone; `stop()` gives it back SQLite's default.
 */
export interface Checkpointer {
  /** Checkpoints run and WAL frames moved into the database file, as the worker last reported. */
  readonly stats: { checkpoints: number; frames: number; errors: number };
  stop(): Promise<void>;
}

/** The server connection's automatic checkpoint while the worker runs (pages; ~40 MB of WAL). */
export const BACKSTOP_PAGES = 10_000;
const SQLITE_DEFAULT_PAGES = 1000;

// Plain CommonJS evaluated in the worker: no TypeScript loader needed there, in tests or in the image.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
const checkpoint = db.prepare('pragma wal_checkpoint(PASSIVE)');
const stats = { checkpoints: 0, frames: 0, errors: 0 };
let last = { log: 0, checkpointed: 0 };
const run = () => {
  try {
    // log: frames in the WAL since it last restarted; checkpointed: how many of them are in the file now.
    const r = checkpoint.get();
    const moved = r.log < last.log ? r.checkpointed : r.checkpointed - last.checkpointed;
    last = r;
    if (moved <= 0) return;
    stats.checkpoints++;
    stats.frames += moved;
  } catch (e) {
    stats.errors++;
    parentPort.postMessage({ error: String((e && e.message) || e) });
  }
  parentPort.postMessage({ stats });
};
const timer = setInterval(run, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m !== 'stop') return;
  clearInterval(timer);
  run();
  db.close();
  parentPort.postMessage({ stopped: true });
});
parentPort.postMessage({ ready: true });
`;

/**
 * Starts the checkpoint worker for `sqlite`'s file. An in-memory or non-WAL
 * database, or a worker that cannot start, gets a checkpointer that does
 * nothing: SQLite's own automatic checkpoints go on as before.
 */
export async function startCheckpointer(
  sqlite: Database.Database,
  opts: { intervalMs?: number; onError?: (message: string) => void } = {},
): Promise<Checkpointer> {
  const stats = { checkpoints: 0, frames: 0, errors: 0 };
  const none: Checkpointer = { stats, stop: async () => {} };
  if (sqlite.memory || String(sqlite.pragma('journal_mode', { simple: true })).toLowerCase() !== 'wal') return none;
  let worker: Worker;
  try {
    worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { file: sqlite.name, driver: createRequire(import.meta.url).resolve('better-sqlite3'), intervalMs: opts.intervalMs ?? 200 },
    });
  } catch (e) {
    opts.onError?.(`WAL checkpoint worker: ${e instanceof Error ? e.message : String(e)}`);
    return none;
  }
  const backToDefault = () => {
    if (sqlite.open) sqlite.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_PAGES}`);
  };
  let exited = false;
  let onStopped: (() => void) | null = null;
  const started = await new Promise<boolean>((resolve) => {
    worker.on('message', (m: { ready?: true; stats?: typeof stats; error?: string; stopped?: true }) => {
      if (m.ready) resolve(true);
      if (m.stats) Object.assign(stats, m.stats);
      if (m.error) opts.onError?.(`WAL checkpoint: ${m.error}`);
      if (m.stopped) onStopped?.();
    });
    worker.on('error', (e) => opts.onError?.(`WAL checkpoint worker: ${e.message}`));
    // Whenever it ends (stopped, failed to open the file, crashed), SQLite's own checkpoints take over again.
    worker.on('exit', () => {
      exited = true;
      backToDefault();
      onStopped?.();
      resolve(false);
    });
  });
  if (!started) return none;
  // It must not keep the process alive on its own.
  worker.unref();
  sqlite.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
  return {
    stats,
    async stop() {
      backToDefault();
      if (exited) return;
      // Held until it has finished, or a process with nothing else to do would exit while waiting.
      worker.ref();
      await new Promise<void>((resolve) => {
        onStopped = resolve;
        worker.postMessage('stop');
      });
      await worker.terminate();
    },
  };
}
