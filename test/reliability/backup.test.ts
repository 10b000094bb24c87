import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { testConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/connection.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { ManualClock } from '../../src/lib/clock.js';
import { projectRoot } from '../../src/lib/paths.js';
import { hashToken, newToken } from '../../src/lib/tokens.js';
import { insertLicense } from '../helpers/licensing.js';
import { captureLoad } from './load.js';
import { serverEnv, sleep, spawnServer, stopServer } from './server-process.js';

// `npm run cli -- backup FILE` while a server process takes captures: the copy is
// consistent, opens in the app, and holds everything answered before it started.

function cliBackup(databasePath: string, target: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'backup', target], {
      cwd: projectRoot,
      env: serverEnv(databasePath),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe('online backup under load', () => {
  let dir: string;
  let file: string;
  let licenseId: number;
  let key: string;
  const token = newToken('smt_');

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-backup-'));
    file = path.join(dir, 'monitor.db');
    const { db } = openDatabase(file);
    await migrateToLatest(db);
    await db.insertInto('api_tokens').values({ name: 'backup test', token_hash: hashToken(token), role: 'support', created_by: null, created_at: Date.now() }).execute();
    ({ id: licenseId, key } = await insertLicense(db, Date.now(), { maxHosts: 100_000, features: { reports: null } }));
    await db.destroy();
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('copies the live database consistently while captures continue', async () => {
    const server = spawnServer(file);
    const port = await server.ready;
    const load = captureLoad(`http://127.0.0.1:${port}`, key, 8, 'bk');
    await sleep(600);
    const target = path.join(dir, 'copy.db');
    const startedAt = performance.now();
    const run = await cliBackup(file, target);
    const finishedAt = performance.now();
    await sleep(200);
    await load.stop();
    expect((await stopServer(server, 'SIGTERM')).code).toBe(0);

    expect(run.out).toContain('Backed up');
    expect(run.code).toBe(0);
    const before = load.answers.filter((a) => a.status === 201 && a.answeredAt < startedAt);
    const during = load.answers.filter((a) => a.status === 201 && a.sentAt < finishedAt);
    const after = load.answers.filter((a) => a.status === 201 && a.sentAt > finishedAt);
    expect(before.length).toBeGreaterThan(10);
    expect(after.length).toBeGreaterThan(0); // the load really ran on through the copy

    const copy = new Database(target, { readonly: true });
    let copied: Set<string>;
    try {
      expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(copy.pragma('foreign_key_check')).toEqual([]);
      copied = new Set((copy.prepare('select id from sessions').all() as { id: string }[]).map((r) => r.id));
      // Each copied session is whole: its host and its feature came along in the same transaction.
      const orphans = copy.prepare(`select s.id from sessions s left join hosts h on h.id = s.host_id
        where h.id is null or not exists (select 1 from session_features f where f.session_id = s.id)`).all();
      expect(orphans).toEqual([]);
    } finally {
      copy.close();
    }
    // Everything answered before the backup began is in the copy; nothing sent after it ended is.
    expect(before.filter((a) => !copied.has(a.sessionId!))).toEqual([]);
    expect(copied.size).toBeLessThanOrEqual(during.length);
    expect(after.filter((a) => copied.has(a.sessionId!))).toEqual([]);

    // The copy opens in the app: migrations run (nothing to do) and the data reads back through the API.
    const { db } = openDatabase(target);
    try {
      expect(await migrateToLatest(db)).toEqual([]);
      const { app } = createApp({ db, config: testConfig({ databasePath: target }), clock: new ManualClock() });
      expect((await app.request('/healthz')).status).toBe(200);
      const res = await app.request(`/api/v1/admin/licenses/${licenseId}`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      const license = (await res.json()) as { liveSessions: number; boundHosts: number };
      expect(license.liveSessions).toBe(copied.size);
      expect(license.boundHosts).toBe(copied.size);
    } finally {
      await db.destroy();
    }
  });
});
