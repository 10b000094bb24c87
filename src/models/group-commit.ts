import type Database from 'better-sqlite3';
import { preparedStatement, rawHandleOf, type Db } from '../db/connection.js';
import { bumpChangeMarkerNow } from './session-lifecycle.js';

/**
 * A write of the group: runs in the group's transaction `trx`. `raw` is the same
 * connection for synchronous statements (safe here: the group holds it); a job
 * that needs no await runs without one, which is most of a heartbeat's saving.
 */
export type GroupJob<T> = (trx: Db, raw: Database.Database) => T | Promise<T>;

interface Job {
  run: GroupJob<unknown>;
  markChange: boolean | ((result: unknown) => boolean);
  resolve: (value: unknown) => void;
  reject: (e: unknown) => void;
}

const SAVEPOINT = ['savepoint group_item', 'release group_item', 'rollback to group_item'];

/** Writes per transaction at most; a larger backlog is written in several. */
const MAX_GROUP = 500;

/**
 * Group commit for the agent protocol's writes (heartbeats, captures). A write
 * waits one turn of the event loop for the others arriving with it; they then
 * run in ONE transaction, in arrival order, each inside its own savepoint
 * exactly as it would run alone in its own transaction (a throw rolls back that
 * one only), and each is answered once that transaction has committed. So
 * nothing about a single write changes — checks and limits see every earlier
 * write, 401/410 and refusals are decided inside the transaction, the answer
 * is durable — but a busy server commits, and writes its WAL pages, once per
 * group instead of once per request: the largest cost of a heartbeat and of a
 * capture. An error of the transaction itself (BEGIN or COMMIT) fails the group.
 */
export class GroupCommit {
  private queue: Job[] = [];
  private scheduled = false;
  private running: Promise<void> | null = null;
  /** Groups written and the writes in them since start (for the benchmark's figures). */
  readonly counts = { groups: 0, writes: 0 };

  private readonly raw: Database.Database;

  constructor(private readonly db: Db) {
    this.raw = rawHandleOf(db);
  }

  /**
   * Runs `job` in the next group's transaction; resolves with its result after
   * the commit. `markChange`: moves the monitor's change marker once for the group (when the job
   * succeeds, or when the function given says so of its result).
   */
  run<T>(job: GroupJob<T>, opts: { markChange?: boolean | ((result: T) => boolean) } = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const markChange = (opts.markChange ?? false) as Job['markChange'];
      this.queue.push({ run: job, markChange, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  /** Writes everything queued now (and waits for a group being written); used at shutdown too. */
  async flush(): Promise<void> {
    this.scheduled = false;
    while (this.running) await this.running;
    while (this.queue.length) {
      const group = this.queue.splice(0, MAX_GROUP);
      this.running = this.write(group);
      try {
        await this.running;
      } finally {
        this.running = null;
      }
    }
  }

  private async write(group: Job[]): Promise<void> {
    this.counts.groups++;
    this.counts.writes += group.length;
    const results: ({ ok: unknown } | { error: unknown })[] = [];
    try {
      await this.db.transaction().execute(async (trx) => {
        let markChange = false;
        const raw = this.raw;
        // Prepared once: exec would parse the text again for every write.
        const [savepoint, release, rollback] = SAVEPOINT.map((text) => preparedStatement(raw, text));
        for (const job of group) {
          savepoint.run();
          try {
            const out = job.run(trx, raw);
            const result = out instanceof Promise ? await out : out;
            results.push({ ok: result });
            release.run();
            markChange ||= typeof job.markChange === 'function' ? job.markChange(result) : job.markChange;
          } catch (error) {
            rollback.run();
            release.run();
            results.push({ error });
          }
        }
        if (markChange) bumpChangeMarkerNow(raw);
      });
    } catch (error) {
      // The group's transaction itself failed: none of its writes was recorded.
      for (const job of group) job.reject(error);
      return;
    }
    group.forEach((job, i) => {
      const r = results[i];
      if ('ok' in r) job.resolve(r.ok);
      else job.reject(r.error);
    });
  }
}
