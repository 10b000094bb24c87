import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { makeReadOnly } from './cli/read-only.js';
import { spawnServer, stopServer, type ServerProcess } from './reliability/server-process.js';

// The real server's start-up (src/server.ts in a child process): what it prints when it
// starts, and the one line it prints instead of a stack trace when it cannot.

const NO_STACK = /\n\s+at /;

/** What the server printed besides its JSON log lines. */
function plainLines(s: ServerProcess): string[] {
  return s
    .output()
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('{'));
}

/** Starts a server that must fail; answers its exit code and its one plain line. */
async function failedStart(databasePath: string, env: Record<string, string> = {}): Promise<{ code: number | null; line: string; output: string }> {
  const s = spawnServer(databasePath, env);
  const { code } = await s.exited;
  const lines = plainLines(s);
  expect(lines, s.output()).toHaveLength(1);
  expect(s.output()).not.toMatch(NO_STACK);
  return { code, line: lines[0], output: s.output() };
}

describe('HOST', () => {
  it.each(['localhost', '127.0.0.1', '0.0.0.0', '::', '::1', 'monitor.internal', 'app-1'])('accepts %s', (host) => {
    expect(loadConfig({ HOST: host }).host).toBe(host);
  });

  it.each(['not a host', 'http://127.0.0.1', '127.0.0.1:3000', '[::1]', '10.0.0.300', '3000', '-dash', 'under_score'])('refuses %s naming HOST', (host) => {
    expect(() => loadConfig({ HOST: host })).toThrow(ConfigError);
    expect(() => loadConfig({ HOST: host })).toThrow(/^HOST: must be an IP address/);
  });
});

describe('server start-up', () => {
  let dir: string;
  const running: ServerProcess[] = [];

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-start-'));
  });
  afterEach(async () => {
    for (const s of running.splice(0)) await stopServer(s);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('with PORT=0 prints the port it got, in the address and in the setup link', async () => {
    const s = spawnServer(path.join(dir, 'port-zero.db'));
    running.push(s);
    const port = await s.ready;
    expect(port).toBeGreaterThan(0);
    // HOST=127.0.0.1 names the one address it listens on: the links use it (localhost may resolve to ::1 first).
    expect(s.output()).toContain(`Session Monitor is listening on http://127.0.0.1:${port}\n`);
    expect(s.output()).toMatch(new RegExp(`http://127\\.0\\.0\\.1:${port}/setup/[\\w-]{20,}`));
    expect(s.output()).not.toContain(':0/');
    // Without PUBLIC_URL the start says so, not that it "is not https".
    expect(s.output()).toContain('PUBLIC_URL is not set');
  });

  it('says which migrations it applied, in its log and in the audit log; an up-to-date database, none', async () => {
    const file = path.join(dir, 'upgrade.db');
    const first = spawnServer(file);
    running.push(first);
    await first.ready;
    const logged = first.output().split('\n').filter((l) => l.includes('"database updated"'));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain('2026-11-21-01-foundation');
    await stopServer(running.pop()!);
    const audit = () => new Database(file, { readonly: true }).prepare("select actor_name, details from audit_log where action = 'database.migrated'").all() as { actor_name: string; details: string }[];
    const rows = audit();
    expect(rows).toHaveLength(1);
    expect(rows[0].actor_name).toBe('server');
    expect(JSON.parse(rows[0].details).migrations).toContain('2026-11-21-01-foundation');
    const second = spawnServer(file);
    running.push(second);
    await second.ready;
    expect(second.output()).not.toContain('"database updated"');
    expect(audit()).toHaveLength(1);
  });

  it('a stop request at any moment of the start ends it by its own hand, never by the default signal action', async () => {
    // As PID 1 in a container there is no default action: only a handler stops it. The first
    // thing printed (the https warning) comes before listening; stop right then, and also later.
    for (const delay of [0, 50, 200]) {
      const s = spawnServer(path.join(dir, `stop-${delay}.db`));
      running.push(s);
      await new Promise<void>((resolve) => {
        const check = () => (s.output().includes('PUBLIC_URL is not set') ? resolve() : setTimeout(check, 2));
        check();
      });
      await new Promise((r) => setTimeout(r, delay));
      s.child.kill('SIGTERM');
      const { code, signal } = await s.exited;
      expect(signal, s.output()).toBeNull();
      expect([0, 143], s.output()).toContain(code);
      if (code === 143) expect(s.output()).toContain('SIGTERM during start-up; stopped before serving.');
    }
  }, 60_000);

  it('refuses a bad HOST with exit code 2 and one line naming it, whether malformed or unresolvable', async () => {
    for (const host of ['not a host', 'not-a-host.invalid']) {
      const { code, line } = await failedStart(path.join(dir, 'host.db'), { HOST: host });
      expect(code, host).toBe(2);
      expect(line).toMatch(/^Configuration error: HOST: /);
      expect(line).toContain(host);
    }
  }, 60_000);

  it('on a port in use prints one line naming it, exits 1 and leaves the running server its setup link', async () => {
    const file = path.join(dir, 'shared.db');
    const first = spawnServer(file);
    running.push(first);
    const port = await first.ready;
    const token = /\/setup\/([\w-]{20,})/.exec(first.output())![1];

    const second = await failedStart(file, { PORT: String(port) });
    expect(second.code).toBe(1);
    expect(second.line).toBe(`Session Monitor cannot start: port ${port} is already in use on HOST 127.0.0.1 (is another server running? set PORT)`);
    expect(second.output).not.toContain('/setup/');
    // The failed start made no setup token of its own, so it replaced none.
    expect((await fetch(`http://127.0.0.1:${port}/setup/${token}`)).status).toBe(200);
    const db = new Database(file, { readonly: true });
    try {
      expect(db.prepare('select count(*) as n from setup_tokens').get()).toEqual({ n: 1 });
    } finally {
      db.close();
    }
  });

  it('refuses a port in use by another program the same way, before creating or touching the database', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const file = path.join(dir, 'blocked.db');
      const { code, line } = await failedStart(file, { PORT: String(port) });
      expect(code).toBe(1);
      expect(line).toContain(`port ${port} is already in use`);
      expect(fs.existsSync(file)).toBe(false);
    } finally {
      blocker.close();
    }
  });

  it('names DATABASE_PATH and the reason when the database cannot be opened', async () => {
    const folder = path.join(dir, 'a-folder.db');
    fs.mkdirSync(folder);
    const blockingFile = path.join(dir, 'plain-file');
    fs.writeFileSync(blockingFile, 'x');
    const notDatabase = path.join(dir, 'notes.db');
    fs.writeFileSync(notDatabase, 'not a database, and long enough for SQLite to read a header from it'.repeat(4));
    const cases: [string, string][] = [
      [folder, 'it is a folder, not a file'],
      [path.join(blockingFile, 'monitor.db'), `cannot create its folder ${blockingFile}: a file is in the way`],
      [notDatabase, 'file is not a database'],
    ];
    for (const [file, reason] of cases) {
      const { code, line } = await failedStart(file);
      expect(code, file).toBe(1);
      expect(line).toBe(`Session Monitor cannot start: cannot open the database ${file}: ${reason} (DATABASE_PATH)`);
    }
    expect(fs.readFileSync(notDatabase, 'utf8')).toMatch(/^not a database/);
    // A folder that cannot be made inside an existing one: Node's recursive mkdir spun there for ever.
    if (fs.existsSync('/proc/self')) {
      const { code, line } = await failedStart('/proc/no-such-folder/monitor.db');
      expect(code).toBe(1);
      expect(line).toMatch(/^Session Monitor cannot start: cannot open the database \/proc\/no-such-folder\/monitor\.db: cannot create its folder \/proc\/no-such-folder: .*\(DATABASE_PATH\)$/);
    }
    // Missing levels are made, however many.
    const deep = path.join(dir, 'a', 'b', 'c', 'monitor.db');
    const s = spawnServer(deep);
    await s.ready;
    await stopServer(s, 'SIGTERM');
    expect(fs.existsSync(deep)).toBe(true);
  }, 60_000);

  it('names DATABASE_PATH when the database is read-only', async (ctx) => {
    const file = path.join(dir, 'read-only.db');
    const s = spawnServer(file);
    await s.ready;
    await stopServer(s, 'SIGTERM');
    const undo = makeReadOnly(file);
    if (!undo) return ctx.skip();
    try {
      const { code, line } = await failedStart(file);
      expect(code).toBe(1);
      expect(line).toMatch(new RegExp(`^Session Monitor cannot start: cannot (open|update) the database ${file}: .*readonly`));
    } finally {
      undo();
    }
  });
});
