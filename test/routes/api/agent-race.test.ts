import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../../src/db/connection.js';
import { migrateToLatest } from '../../../src/db/migrate.js';
import { openSession } from '../../../src/models/capture.js';
import { projectRoot } from '../../../src/lib/paths.js';
import { captureBody, fingerprint, insertLicense } from '../../helpers/licensing.js';

// Several server processes on one SQLite file: the limits must hold across processes,
// not only inside one (a "count, then insert" in separate statements would double-book).

const SERVERS = 3;
const RACERS = 100;

function startServer(file: string): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'test/helpers/race-server.ts'), file], {
      cwd: projectRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => reject(new Error(`race server exited with ${code}: ${err}`)));
  });
}

describe('racing captures against several server processes on one database file', () => {
  let dir: string;
  let db: Db;
  let servers: { child: ChildProcess; port: number }[] = [];
  const now = () => Date.now();

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-race-'));
    const file = path.join(dir, 'race.db');
    db = openDatabase(file).db;
    await migrateToLatest(db);
    servers = await Promise.all(Array.from({ length: SERVERS }, () => startServer(file)));
  }, 60_000);

  afterAll(async () => {
    for (const s of servers) s.child.kill('SIGTERM');
    await Promise.all(servers.map((s) => new Promise((r) => (s.child.exitCode !== null ? r(null) : s.child.once('exit', r)))));
    await db.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Fires the bodies at once, spread over the servers; answers the statuses and error codes. */
  async function race(bodies: Record<string, unknown>[]) {
    const answers = await Promise.all(
      bodies.map(async (body, i) => {
        const res = await fetch(`http://127.0.0.1:${servers[i % servers.length].port}/api/v1/sessions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        const json = (await res.json()) as { error?: { code: string } };
        return { status: res.status, code: json.error?.code ?? null };
      }),
    );
    return {
      won: answers.filter((a) => a.status === 201).length,
      codes: [...new Set(answers.filter((a) => a.status !== 201).map((a) => a.code))],
    };
  }

  it('exactly one wins the last host slot', async () => {
    const lic = await insertLicense(db, now(), { maxHosts: 3 });
    for (const n of [1, 2]) await openSession(db, captureBody(lic.key, { fingerprint: fingerprint(n), connectionType: 'client' }) as never, null, now());
    const result = await race(Array.from({ length: RACERS }, (_, i) => captureBody(lic.key, { fingerprint: fingerprint(`racer-${i}`) })));
    expect(result).toEqual({ won: 1, codes: ['host_limit_reached'] });
    const bound = await db.selectFrom('hosts').select('id').where('license_id', '=', lic.id).where('reset_at', 'is', null).execute();
    expect(bound).toHaveLength(3);
  });

  it('exactly one wins the last session slot (new and bound machines alike)', async () => {
    const lic = await insertLicense(db, now(), { maxHosts: 100, maxSessions: 4 });
    for (let i = 0; i < 3; i++) await openSession(db, captureBody(lic.key, { connectionType: 'client' }) as never, null, now());
    const result = await race(
      Array.from({ length: RACERS }, (_, i) => captureBody(lic.key, { fingerprint: fingerprint(i % 2 ? 1 : `new-${i}`), infobase: { id: 'ib', name: 'Acc' } })),
    );
    expect(result).toEqual({ won: 1, codes: ['session_limit_reached'] });
    const open = await db.selectFrom('sessions').select('id').where('license_id', '=', lic.id).where('closed_at', 'is', null).execute();
    expect(open).toHaveLength(4);
    // The losers bound nothing: one host for the 3 earlier sessions, at most one more for the winner.
    const hosts = await db.selectFrom('hosts').select('id').where('license_id', '=', lic.id).execute();
    expect(hosts.length).toBeLessThanOrEqual(2);
  });

  it('exactly one wins the last feature slot', async () => {
    const lic = await insertLicense(db, now(), { maxHosts: 100, features: { export: 2 } });
    await openSession(db, captureBody(lic.key, { connectionType: 'client', features: ['export'] }) as never, null, now());
    const result = await race(Array.from({ length: RACERS }, () => captureBody(lic.key, { features: ['export'] })));
    expect(result).toEqual({ won: 1, codes: ['feature_limit_reached'] });
    const open = await db.selectFrom('sessions').select('id').where('license_id', '=', lic.id).where('closed_at', 'is', null).execute();
    expect(open).toHaveLength(2);
  });
});
