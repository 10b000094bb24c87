import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { insertLicense } from '../helpers/licensing.js';
import { captureLoad } from './load.js';
import { sleep, spawnServer, stopServer } from './server-process.js';

// SIGTERM while agents are capturing: requests already sent are answered, every
// answered capture is in the database afterwards, and the process exits 0.

describe('graceful shutdown under load', () => {
  let dir: string;
  let file: string;
  let key: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-shutdown-'));
    file = path.join(dir, 'monitor.db');
    const { db } = openDatabase(file);
    await migrateToLatest(db);
    key = (await insertLicense(db, Date.now(), { maxHosts: 100_000, features: { reports: null } })).key;
    await db.destroy();
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('drains in-flight requests, loses nothing answered and exits 0', async () => {
    const server = spawnServer(file);
    const port = await server.ready;
    const load = captureLoad(`http://127.0.0.1:${port}`, key, 24, 'term');
    await sleep(700);
    const termAt = performance.now();
    const exited = stopServer(server, 'SIGTERM');
    const { code, signal } = await exited;
    await load.stop();

    expect(signal).toBeNull();
    expect(code, server.output()).toBe(0);
    expect(server.output()).toContain('"msg":"stopped"');
    const created = load.answers.filter((a) => a.status === 201);
    expect(created.length).toBeGreaterThan(20);
    expect(load.answers.every((a) => a.status === 201)).toBe(true);
    // Draining: requests in progress at the signal were answered after it.
    expect(load.answers.filter((a) => a.answeredAt > termAt).length).toBeGreaterThan(0);

    const sqlite = new Database(file, { readonly: true });
    try {
      // Exactly the answered captures are stored: none lost, and none done without its answer reaching
      // the agent. (A request racing the close of an idle keep-alive connection is reset unread: the
      // agent retries it with its clientSessionId.)
      const stored = (sqlite.prepare('select id from sessions order by id').all() as { id: string }[]).map((r) => r.id);
      expect(stored).toEqual(created.map((a) => a.sessionId!).sort());
      expect(sqlite.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      sqlite.close();
    }
  });
});
