import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_APPLICATION_ID } from '../../src/cli/demo.js';
import { openDatabase } from '../../src/db/connection.js';
import { projectRoot } from '../../src/lib/paths.js';

// `npm run demo` end to end: a child process on a free port with a temp
// database, watched through the admin API until simulated sessions are live,
// then stopped with SIGINT as a user's Ctrl+C would.

const DEADLINE_MS = 45_000;

function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const until = Date.now() + timeoutMs;
  return (async () => {
    for (;;) {
      const v = await fn();
      if (v !== undefined) return v;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 300));
    }
  })();
}

/** A database as a previous demo run leaves it, with something in it: stamped as the demo's, or (legacy) from before the stamp. */
function leftoverDemoDatabase(file: string, how: 'stamped' | 'legacy' = 'stamped'): void {
  const db = new Database(file);
  if (how === 'stamped') db.pragma(`application_id = ${DEMO_APPLICATION_ID}`);
  else db.exec("create table users (email); insert into users values ('admin@demo.local')");
  db.exec("create table leftover (x); insert into leftover values ('from the last run')");
  db.close();
}

/** Runs the demo to its exit; with stopOn, stops it as Ctrl+C would once its output matches. */
function demoRun(args: string[], stopOn?: RegExp): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/demo.ts', ...args], { cwd: projectRoot, env: { ...process.env, LOG_LEVEL: 'warn' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      if (stopOn?.test(stdout)) child.kill('SIGINT');
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    // Generous: a loaded machine (the whole suite beside it) starts tsx and seeds slowly.
    setTimeout(() => child.kill('SIGKILL'), 90_000).unref();
  });
}

describe('npm run demo', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-demo-'));
  const dbPath = path.join(dir, 'demo.db');
  let child: ChildProcess | null = null;

  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves live simulated sessions on a fresh database and stops cleanly on Ctrl+C', { timeout: 90_000 }, async () => {
    // A previous run's database proves the demo starts from scratch.
    leftoverDemoDatabase(dbPath);
    let stdout = '';
    let stderr = '';
    child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/demo.ts', '--db', dbPath, '--port', '0', '--agents', '6', '--seed', '42'], {
      cwd: projectRoot,
      env: { ...process.env, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));

    const banner = await waitFor(
      'the demo banner',
      () => {
        if (child!.exitCode !== null) throw new Error(`demo exited early (${child!.exitCode}): ${stderr}`);
        const url = /Open (http:\/\/127\.0\.0\.1:\d+)\//.exec(stdout)?.[1];
        const token = /Admin API token \(role admin\): (smt_\S+)/.exec(stdout)?.[1];
        return url && token ? { url, token } : undefined;
      },
      DEADLINE_MS,
    );
    expect(stdout).toContain('admin@demo.local');
    expect(stdout).toContain('demo-admin-pass');
    expect(stdout).toContain('support@demo.local');
    expect(stdout).toContain('client@demo.local');

    const headers = { Authorization: `Bearer ${banner.token}` };
    const sessions = await waitFor(
      'live sessions with metrics in the admin API',
      async () => {
        const res = await fetch(`${banner.url}/api/v1/admin/sessions?limit=1000`, { headers });
        if (res.status !== 200) return undefined;
        const body = (await res.json()) as { items: { metrics: { calls: { total: number } }; packages: unknown[] }[] };
        const withCalls = body.items.filter((s) => s.metrics?.calls?.total > 0);
        return body.items.length >= 4 && withCalls.length > 0 ? body.items : undefined;
      },
      DEADLINE_MS,
    );
    expect(sessions.length).toBeGreaterThanOrEqual(4);

    // The scenario the demo sets up through the admin API.
    const licenses = (await (await fetch(`${banner.url}/api/v1/admin/licenses`, { headers })).json()) as {
      items: { product: string; suspended: boolean; expiresAt: string | null; maxHosts: number; boundHosts: number }[];
    };
    expect(licenses.items).toHaveLength(5);
    expect(licenses.items.filter((l) => l.suspended)).toHaveLength(1);
    expect(licenses.items.filter((l) => l.expiresAt && Date.parse(l.expiresAt) < Date.now())).toHaveLength(1);
    expect(licenses.items.some((l) => l.maxHosts === l.boundHosts && l.maxHosts > 0)).toBe(true);
    const infobases = (await (await fetch(`${banner.url}/api/v1/admin/infobases`, { headers })).json()) as { items: { lock: { state: string } | null }[] };
    expect(infobases.items.filter((i) => i.lock?.state === 'active')).toHaveLength(1);

    child.kill('SIGINT');
    const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 20_000))]);
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('Stopped.');

    // Every simulated session was released on the way out, in the temp database only.
    const { db } = openDatabase(dbPath);
    try {
      const open = await db.selectFrom('sessions').select('id').where('closed_at', 'is', null).execute();
      expect(open).toEqual([]);
      const released = await db.selectFrom('sessions').select('id').where('close_reason', '=', 'released').execute();
      expect(released.length).toBeGreaterThanOrEqual(4);
      const users = await db.selectFrom('users').select(['email', 'role']).orderBy('email').execute();
      expect(users).toEqual([
        { email: 'admin@demo.local', role: 'admin' },
        { email: 'client@demo.local', role: 'client' },
        { email: 'support@demo.local', role: 'support' },
      ]);
    } finally {
      await db.destroy();
    }
    // Nothing of the last run is left, and the file is stamped for the next start to recreate.
    const raw = new Database(dbPath, { readonly: true });
    try {
      expect(raw.prepare("select name from sqlite_schema where name = 'leftover'").all()).toEqual([]);
      expect(raw.pragma('application_id', { simple: true })).toBe(DEMO_APPLICATION_ID);
    } finally {
      raw.close();
    }
  });


  it('on a busy port stops before touching its database', async () => {
    const file = path.join(dir, 'running-demo.db');
    leftoverDemoDatabase(file);
    const before = fs.readFileSync(file);
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const port = (blocker.address() as net.AddressInfo).port;
      const res = await demoRun(['--db', file, '--port', String(port), '--quiet']);
      expect(res.code, res.stderr).toBe(1);
      expect(res.stderr).toBe('The demo could not start: the port is in use (try --port 0 or PORT=…)\n');
    } finally {
      blocker.close();
    }
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  }, 120_000);

  it('a negative number is refused by the option it was given to, not as an "ambiguous" argument', async () => {
    const file = path.join(dir, 'negative.db');
    for (const [option, message] of [
      ['--agents', '--agents must be a whole number from 0 to 100000\n'],
      ['--port', '--port must be a whole number from 0 to 65535\n'],
    ]) {
      const res = await demoRun(['--db', file, option, '-1']);
      expect([res.code, res.stderr], option).toEqual([2, message]);
    }
    expect(fs.existsSync(file)).toBe(false);
  }, 60_000);

  it('deletes an existing --db only when the demo created it', async () => {
    const notes = path.join(dir, 'notes.txt');
    fs.writeFileSync(notes, 'my notes');
    const realData = path.join(dir, 'monitor-copy.db');
    const db = new Database(realData);
    db.exec("create table users (email); insert into users values ('ops@vendor.test')");
    db.close();
    for (const file of [notes, realData]) {
      const before = fs.readFileSync(file);
      const res = await demoRun(['--db', file, '--port', '0', '--quiet']);
      expect(res.code, file).toBe(2);
      expect(res.stderr).toBe(
        `The demo could not start: --db ${file} exists and was not created by the demo, which deletes its database at every start; choose another --db or delete the file yourself\n`,
      );
      expect(fs.readFileSync(file).equals(before)).toBe(true);
    }
    // Its own database, stamped or from before the stamp, it recreates.
    for (const how of ['stamped', 'legacy'] as const) {
      const file = path.join(dir, `${how}.db`);
      leftoverDemoDatabase(file, how);
      const res = await demoRun(['--db', file, '--port', '0', '--agents', '1', '--quiet'], /Admin API token/);
      expect(res.code, res.stderr).toBe(0);
      const db = new Database(file, { readonly: true });
      try {
        expect(db.prepare("select name from sqlite_schema where name = 'leftover'").all(), how).toEqual([]);
      } finally {
        db.close();
      }
    }
    const help = await demoRun(['--help']);
    expect(help.stdout).toContain('an existing FILE is deleted only if the demo created it');
  }, 240_000);
});
