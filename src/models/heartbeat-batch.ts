import { sql } from 'kysely';
import type { Db } from '../db/connection.js';
import { recordHeartbeat, type HeartbeatAnswer, type HeartbeatRequest } from './heartbeat.js';
import { bumpChangeMarker } from './session-lifecycle.js';

interface Pending {
  sessionId: string;
  tokenHash: string;
  hb: HeartbeatRequest;
  now: number;
  resolve: (a: HeartbeatAnswer) => void;
  reject: (e: unknown) => void;
}

/** Heartbeats per transaction at most; a larger backlog is written in several. */
const MAX_BATCH = 500;

/**
 * Group commit for heartbeats. A heartbeat waits (one turn of the event loop)
 * for the others arriving with it; they are then recorded in ONE transaction,
 * in arrival order, each exactly as recordHeartbeat records it alone (inside
 * a savepoint, so a refused or failed one leaves the others intact), and each
 * is answered once that transaction has committed. Nothing about a single
 * heartbeat changes — 401/410 are decided inside the transaction, acks are
 * applied before the answer, the answer is durable — but a busy server
 * commits (and writes its WAL pages) once per group instead of once per
 * heartbeat, the main cost of a heartbeat.
 */
export class HeartbeatBatcher {
  private queue: Pending[] = [];
  private scheduled = false;
  private running: Promise<void> | null = null;
  /** Groups written and heartbeats in them since start (for the benchmark's figures). */
  readonly counts = { groups: 0, heartbeats: 0 };

  constructor(private readonly db: Db) {}

  /** Records a heartbeat with the next group; resolves with its answer after the commit. */
  record(sessionId: string, tokenHash: string, hb: HeartbeatRequest, now: number): Promise<HeartbeatAnswer> {
    return new Promise((resolve, reject) => {
      this.queue.push({ sessionId, tokenHash, hb, now, resolve, reject });
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
      const batch = this.queue.splice(0, MAX_BATCH);
      this.running = this.write(batch);
      try {
        await this.running;
      } finally {
        this.running = null;
      }
    }
  }

  private async write(batch: Pending[]): Promise<void> {
    this.counts.groups++;
    this.counts.heartbeats += batch.length;
    const results: ({ ok: HeartbeatAnswer } | { error: unknown })[] = [];
    try {
      await this.db.transaction().execute(async (trx) => {
        let recorded = 0;
        for (const p of batch) {
          await sql`savepoint heartbeat`.execute(trx);
          try {
            results.push({ ok: await recordHeartbeat(trx, p.sessionId, p.tokenHash, p.hb, p.now, { markChange: false }) });
            await sql`release heartbeat`.execute(trx);
            recorded++;
          } catch (error) {
            await sql`rollback to heartbeat`.execute(trx);
            await sql`release heartbeat`.execute(trx);
            results.push({ error });
          }
        }
        // The monitor's change marker moves once for the group.
        if (recorded) await bumpChangeMarker(trx);
      });
    } catch (error) {
      // The group's transaction itself failed (begin or commit): nobody's heartbeat was recorded.
      for (const p of batch) p.reject(error);
      return;
    }
    batch.forEach((p, i) => {
      const r = results[i];
      if ('ok' in r) p.resolve(r.ok);
      else p.reject(r.error);
    });
  }
}
