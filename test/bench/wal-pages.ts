import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { openDatabase, type Db } from '../../src/db/connection.js';
import { hashToken } from '../../src/lib/tokens.js';
import { captureInTransaction } from '../../src/models/capture.js';
import { GroupCommit } from '../../src/models/group-commit.js';
import { heartbeatInTransaction } from '../../src/models/heartbeat.js';
import { captureSchema, parseHeartbeat } from '../../src/routes/api/agent-schemas.js';
import { captureBody, heartbeatBody } from './bodies.js';
import { seedDatabase, type SeededSession } from './seed.js';

// What a heartbeat and a capture write, in pages: the WAL frames their groups add, attributed to the
// table or index each page belongs to. Unlike CPU time on a shared machine, this does not move from
// run to run, so it shows a change in the writes themselves (an index more, a row wider).

/** WAL frames by the B-tree their page belongs to (dbstat's name; "?" for a page freed since). */
export function walFramesByBtree(sqlite: Database.Database, walFile: string): { frames: number; byName: Map<string, number> } {
  const wal = fs.readFileSync(walFile);
  const byPage = new Map<number, number>();
  let frames = 0;
  if (wal.length >= 32) {
    const pageSize = wal.readUInt32BE(8);
    // A 32-byte file header, then frames of a 24-byte header (the page number first) and the page.
    for (let off = 32; off + 24 + pageSize <= wal.length; off += 24 + pageSize) {
      frames++;
      const page = wal.readUInt32BE(off);
      byPage.set(page, (byPage.get(page) ?? 0) + 1);
    }
  }
  const owner = new Map<number, string>();
  for (const r of sqlite.prepare('select name, pageno from dbstat').all() as { name: string; pageno: number }[]) owner.set(r.pageno, r.name);
  const byName = new Map<string, number>();
  for (const [page, n] of byPage) {
    const name = owner.get(page) ?? '?';
    byName.set(name, (byName.get(name) ?? 0) + n);
  }
  return { frames, byName };
}

export interface WalPagesResult {
  group: number;
  writes: number;
  perWrite: number;
  /** Pages per write by table or index, largest first. */
  byBtree: [string, number][];
}

/**
 * Seeds a database as the load runs do (smaller history; three heartbeats of every session a minute
 * apart), then writes `writes` heartbeats of distinct sessions and `writes` captures, each in the
 * server's groups (GroupCommit, `group` per transaction), with automatic checkpoints off so that
 * every frame written stays in the WAL to be counted.
 */
export async function walPages(dir: string, writes: number, group: number): Promise<{ heartbeat: WalPagesResult; capture: WalPagesResult }> {
  const file = path.join(dir, 'wal-pages.db');
  const now = Date.now();
  const seeded = await seedDatabase(file, { liveSessions: 10_000, closedSessions: 10_000, events: 100_000, now });
  const { db, sqlite } = openDatabase(file);
  sqlite.pragma('wal_autocheckpoint = 0');
  const groupCommit = new GroupCommit(db);

  async function measure(job: (i: number) => Parameters<GroupCommit['run']>[0]): Promise<WalPagesResult> {
    sqlite.pragma('wal_checkpoint(TRUNCATE)');
    for (let i = 0; i < writes; i += group) {
      const jobs = [];
      for (let j = i; j < Math.min(writes, i + group); j++) jobs.push(groupCommit.run(job(j), { markChange: true }));
      await Promise.all(jobs);
    }
    const { frames, byName } = walFramesByBtree(sqlite, file + '-wal');
    return { group, writes, perWrite: frames / writes, byBtree: [...byName].sort((a, b) => b[1] - a[1]).map(([name, n]) => [name, n / writes]) };
  }

  const heartbeatAt = (s: SeededSession, k: number, at: number) => {
    const parsed = parseHeartbeat(JSON.parse(heartbeatBody(s, k, at)));
    if (!parsed.success) throw new Error('walPages: the benchmark heartbeat does not validate');
    const tokenHash = hashToken(s.token);
    return (trx: Db, raw: Database.Database) => heartbeatInTransaction(trx, raw, s.id, tokenHash, parsed.data, at);
  };

  try {
    const all = seeded.sessions;
    // Every session heartbeats a minute apart first, as at the default interval: the samples table and
    // the sessions' rows are then in their steady state, not filling empty pages.
    for (let minute = 1; minute <= 3; minute++) {
      for (let i = 0; i < all.length; i += group) {
        await Promise.all(all.slice(i, i + group).map((s) => groupCommit.run(heartbeatAt(s, minute, now + minute * 60_000), { markChange: true })));
      }
    }
    // Then the measured ones: distinct sessions from all over the table, in no order, as agents send them.
    const stride = 7919; // a prime: i × stride mod n visits every session once
    if (writes > all.length) throw new Error(`walPages: ${writes} heartbeats need as many sessions`);
    const heartbeat = await measure((i) => heartbeatAt(all[(i * stride) % all.length], 4, now + 4 * 60_000));
    // Captures a millisecond apart, as a busy server opens them (the ids are time-ordered).
    const capture = await measure((i) => {
      const body = captureSchema.parse(JSON.parse(captureBody(seeded.hosts, i, now)));
      const at = now + 5 * 60_000 + i;
      return (_trx, raw) => {
        const outcome = captureInTransaction(raw, body, '10.0.0.1', at);
        if ('refused' in outcome) throw outcome.refused;
        return outcome;
      };
    });
    return { heartbeat, capture };
  } finally {
    await db.destroy();
  }
}
