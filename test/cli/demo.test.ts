import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
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

describe('npm run demo', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-demo-'));
  const dbPath = path.join(dir, 'demo.db');
  let child: ChildProcess | null = null;

  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves live simulated sessions on a fresh database and stops cleanly on Ctrl+C', { timeout: 90_000 }, async () => {
    // A leftover file proves the demo starts from scratch.
    fs.writeFileSync(dbPath, 'not a database');
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
  });
});
