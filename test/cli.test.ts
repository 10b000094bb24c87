import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliInvocation } from '../src/cli/invocation.js';
import { projectRoot } from '../src/lib/paths.js';
import { hashToken } from '../src/lib/tokens.js';
import { makeReadOnly } from './cli/read-only.js';
import { hasher, login, makeApp } from './helpers/app.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let dir: string;
let dbFile: string;

/** Runs the real CLI in a child process against the test's database file; closeStdout: as a reader that has already gone (`| head -0`). */
function cli(args: string[], opts: { input?: string; env?: Record<string, string>; closeStdout?: boolean } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: projectRoot,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATABASE_PATH: dbFile, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    if (opts.closeStdout) child.stdout.destroy();
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

/** Reads the CLI's database directly (the CLI process has exited and closed it). */
function query<T>(sql: string, ...params: unknown[]): T[] {
  const db = new Database(dbFile, { readonly: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

const NO_STACK = /\n\s+at /;
const PASSWORD = 'cli created passphrase';

describe('command line', () => {
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-cli-'));
    dbFile = path.join(dir, 'data', 'monitor.db');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('migrate creates the database, then has nothing to do', async () => {
    const first = await cli(['migrate']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^Applied \d+ migration\(s\) to .*monitor\.db: 2026-11-21-01-foundation/);
    const second = await cli(['migrate']);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('is up to date');
    expect(query("select action, actor_type, actor_name from audit_log where action = 'database.migrated'")).toEqual([
      { action: 'database.migrated', actor_type: 'system', actor_name: 'cli' },
    ]);
  });

  it('user create reads the password from standard input; the user can sign in', async () => {
    const res = await cli(['user', 'create', '--email', 'Ops@Vendor.test', '--role', 'admin', '--name', 'Ops Team'], { input: `${PASSWORD}\nignored second line\n` });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^Created admin user ops@vendor\.test \(id \d+\)\./);
    const [user] = query<{ id: number; email: string; name: string; role: string; password_hash: string }>("select * from users where email = 'ops@vendor.test'");
    expect(user).toMatchObject({ name: 'Ops Team', role: 'admin' });
    expect(user.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,(t=2,p=1|p=1,t=2)\$/);
    expect(await hasher.verify(user.password_hash, PASSWORD)).toBe(true);
    expect(query("select actor_type, actor_name, ip, target_id from audit_log where action = 'user.created'")).toEqual([
      { actor_type: 'system', actor_name: 'cli', ip: null, target_id: String(user.id) },
    ]);
    // The web app over the same file lets them in.
    const t = await makeApp({}, dbFile);
    try {
      const s = await login(t, 'ops@vendor.test', PASSWORD);
      expect((await t.request.get('/users').set('Cookie', s.cookie)).status).toBe(200);
    } finally {
      await t.close();
    }
  });

  it('user create makes client users of an existing client only', async () => {
    const db = new Database(dbFile);
    const clientId = Number(db.prepare("insert into clients (name, created_at, updated_at) values ('Initech', 1, 1)").run().lastInsertRowid);
    db.close();
    const missing = await cli(['user', 'create', '--email', 'peter@initech.test', '--role', 'client'], { input: PASSWORD });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--client');
    const unknown = await cli(['user', 'create', '--email', 'peter@initech.test', '--role', 'client', '--client', '999'], { input: PASSWORD });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--client: there is no client with id 999');
    const ok = await cli(['user', 'create', '--email', 'peter@initech.test', '--role', 'client', '--client', String(clientId)], { input: PASSWORD });
    expect(ok.code).toBe(0);
    expect(query("select role, client_id from users where email = 'peter@initech.test'")).toEqual([{ role: 'client', client_id: clientId }]);
  });

  it('user create refuses a bad password, an empty input and a taken e-mail; nothing is created', async () => {
    const short = await cli(['user', 'create', '--email', 'short@vendor.test', '--role', 'support'], { input: 'short\n' });
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('password: The password must be at least 10 characters long.');
    const empty = await cli(['user', 'create', '--email', 'empty@vendor.test', '--role', 'support']);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('password: nothing on standard input');
    const taken = await cli(['user', 'create', '--email', 'OPS@vendor.test', '--role', 'support'], { input: PASSWORD });
    expect(taken.code).toBe(2);
    expect(taken.stderr).toContain('--email: a user with this e-mail already exists');
    for (const r of [short, empty, taken]) expect(r.stderr).not.toMatch(NO_STACK);
    expect(query("select email from users where email in ('short@vendor.test', 'empty@vendor.test')")).toEqual([]);
    expect(query("select role from users where email = 'ops@vendor.test'")).toEqual([{ role: 'admin' }]);
  });

  it('user password sets a new password and ends the sign-ins (an admin who forgot theirs)', async () => {
    const t = await makeApp({}, dbFile);
    let before;
    try {
      before = await login(t, 'ops@vendor.test', PASSWORD);
    } finally {
      await t.close();
    }
    const NEW = 'a brand new passphrase';
    const res = await cli(['user', 'password', '--email', 'OPS@vendor.test'], { input: `${NEW}\n` });
    expect([res.code, res.stderr]).toEqual([0, '']);
    expect(res.stdout).toMatch(/^Set a new password for admin user ops@vendor\.test \(id \d+\); their sign-ins were ended\./);
    // A locked-out admin learns the lock on failed sign-ins is the running server's, and how it ends.
    expect(res.stdout).toContain('that lasts until the attempts are 900 s old (LOGIN_WINDOW_SECONDS) or the server restarts');
    const [user] = query<{ id: number; password_hash: string }>("select id, password_hash from users where email = 'ops@vendor.test'");
    expect(await hasher.verify(user.password_hash, NEW)).toBe(true);
    expect(query('select count(*) as n from web_sessions where user_id = ?', user.id)).toEqual([{ n: 0 }]);
    expect(query("select actor_name, target_id from audit_log where action = 'user.password_reset'")).toEqual([{ actor_name: 'cli', target_id: String(user.id) }]);
    const t2 = await makeApp({}, dbFile);
    try {
      // The old sign-in is over; the new password lets them in.
      expect((await t2.request.get('/users').set('Cookie', before.cookie)).status).toBe(303);
      expect((await t2.request.get('/users').set('Cookie', (await login(t2, 'ops@vendor.test', NEW)).cookie)).status).toBe(200);
    } finally {
      await t2.close();
    }
    // Refusals change nothing.
    const unknown = await cli(['user', 'password', '--email', 'nobody@vendor.test'], { input: `${NEW}\n` });
    expect([unknown.code, unknown.stderr]).toEqual([2, expect.stringContaining('--email: there is no user with this e-mail')]);
    const short = await cli(['user', 'password', '--email', 'ops@vendor.test'], { input: 'short\n' });
    expect([short.code, short.stderr]).toEqual([2, expect.stringContaining('password: The password must be at least 10 characters long.')]);
    const noDb = path.join(dir, 'none', 'monitor.db');
    const missing = await cli(['user', 'password', '--email', 'ops@vendor.test'], { input: `${NEW}\n`, env: { DATABASE_PATH: noDb } });
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringContaining('does not exist (DATABASE_PATH)')]);
    expect(fs.existsSync(noDb)).toBe(false);
    // A password typed as an argument is not printed back; an empty input names this command.
    const stray = await cli(['user', 'password', '--email', 'ops@vendor.test', 'hunter2-typed-here'], { input: `${NEW}\n` });
    expect([stray.code, stray.stderr]).toEqual([2, expect.stringContaining('user password: unexpected argument (not repeated here')]);
    expect(stray.stderr).not.toContain('hunter2');
    const empty = await cli(['user', 'password', '--email', 'ops@vendor.test']);
    expect([empty.code, empty.stderr]).toEqual([2, expect.stringContaining('user password: password: nothing on standard input')]);
    expect(empty.stderr).not.toContain('user create');
    for (const r of [unknown, short, missing, stray, empty]) expect(r.stderr).not.toMatch(NO_STACK);
    expect(await hasher.verify(query<{ password_hash: string }>("select password_hash from users where email = 'ops@vendor.test'")[0].password_hash, NEW)).toBe(true);
  });

  it('token create prints the token alone on the last line and stores only its SHA-256', async () => {
    const res = await cli(['token', 'create', '--name', 'nightly export', '--role', 'admin']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const lines = res.stdout.trimEnd().split('\n');
    const token = lines.at(-1)!;
    expect(token).toMatch(/^smt_[A-Za-z0-9_-]{43}$/);
    expect(lines.length).toBeGreaterThan(1);
    const rows = query<{ id: number; name: string; role: string; token_hash: string; created_by: number | null }>('select * from api_tokens');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ name: 'nightly export', role: 'admin', created_by: null, token_hash: hashToken(token) });
    const dump = JSON.stringify([query('select * from api_tokens'), query('select * from audit_log')]);
    expect(dump).not.toContain(token);
    expect(query("select actor_name, target_id, details from audit_log where action = 'token.created'")).toEqual([
      { actor_name: 'cli', target_id: String(rows[0].id), details: '{"role":"admin"}' },
    ]);
    const support = await cli(['token', 'create', '--name', 'dashboards', '--role', 'support']);
    expect(support.code).toBe(0);
    expect(query("select role from api_tokens where name = 'dashboards'")).toEqual([{ role: 'support' }]);
    // Without --role, the least privilege (PROTOCOL §5: default support).
    const plain = await cli(['token', 'create', '--name', 'reports']);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain('role support');
    expect(query("select role from api_tokens where name = 'reports'")).toEqual([{ role: 'support' }]);
  });

  it('backup writes a consistent copy, refuses to overwrite without --force, and prints the size', async () => {
    const target = path.join(dir, 'backup.db');
    const res = await cli(['backup', target]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const size = fs.statSync(target).size;
    expect(res.stdout).toContain(`${size} bytes`);
    // Readable by its owner only, as the database is: it holds password and token hashes.
    expect(fs.statSync(target).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir).filter((f) => f.includes('partial'))).toEqual([]);
    const copy = new Database(target, { readonly: true });
    try {
      expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
      const emails = (copy.prepare('select email from users order by email').all() as { email: string }[]).map((r) => r.email);
      expect(emails).toEqual(['ops@vendor.test', 'peter@initech.test']);
      expect(copy.pragma('journal_mode', { simple: true })).toBe('delete');
    } finally {
      copy.close();
    }

    fs.writeFileSync(target, 'precious');
    const refused = await cli(['backup', target]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('already exists; add --force');
    expect(fs.readFileSync(target, 'utf8')).toBe('precious');

    const forced = await cli(['backup', target, '--force']);
    expect(forced.code).toBe(0);
    const again = new Database(target, { readonly: true });
    expect(again.pragma('integrity_check', { simple: true })).toBe('ok');
    again.close();
    expect(query("select count(*) as n from audit_log where action = 'database.backup'")).toEqual([{ n: 2 }]);
  });

  it('backup copies a database as it is: one an older version wrote is neither upgraded nor copied upgraded', async () => {
    const old = path.join(dir, 'older.db');
    const live = new Database(dbFile, { readonly: true });
    await live.backup(old);
    live.close();
    // As an older version left it: without this version's last migration.
    const o = new Database(old);
    const last = (o.prepare('select name from kysely_migration order by name desc limit 1').get() as { name: string }).name;
    o.prepare('delete from kysely_migration where name = ?').run(last);
    o.close();
    const target = path.join(dir, 'older-backup.db');
    const res = await cli(['backup', target], { env: { DATABASE_PATH: old } });
    expect([res.code, res.stderr]).toEqual([0, '']);
    for (const file of [old, target]) {
      const db = new Database(file, { readonly: true });
      expect(db.prepare('select count(*) as n from kysely_migration where name = ?').get(last)).toEqual({ n: 0 });
      db.close();
    }
  });

  it('answers bad arguments with exit code 2 and a message naming them, never a stack trace', async () => {
    const cases: [string[], string][] = [
      [[], 'Commands:'],
      [['frobnicate'], 'unknown command "frobnicate"'],
      [['user', 'delete'], 'unknown subcommand "delete" ("create" or "password")'],
      [['user'], 'missing subcommand ("create" or "password")'],
      [['user', 'password'], '--email is required'],
      [['user', 'create', '--email', 'x@y.test'], '--role is required'],
      [['user', 'create', '--email', 'not-mail', '--role', 'admin'], '--email "not-mail" is not an e-mail address'],
      [['user', 'create', '--email', 'x@y.test', '--role', 'root'], '--role must be one of admin, support, client, got "root"'],
      [['user', 'create', '--email', 'x@y.test', '--role', 'client', '--client', 'abc'], '--client must be a client id'],
      [['user', 'create', '--email', 'x@y.test', '--role', 'admin', '--colour', 'red'], 'unknown option --colour'],
      [['token', 'create'], '--name is required'],
      [['token', 'create', '--name', 'x', '--role', 'client'], '--role must be admin or support, got "client"'],
      [['token', 'create', '--name'], 'option --name needs a value'],
      [['token', 'create', '--name', 'ci', '--role', ''], '--role must be admin or support, got ""'],
      [['token', 'create', '--name', 'ci', '--role', ' '], '--role must be admin or support, got ""'],
      [['backup', path.join(dir, 'f.db'), '--force=yes'], 'option --force takes no value'],
      [['backup'], 'FILE is required'],
      [['backup', path.join(dir, 'no-such-folder', 'b.db')], 'does not exist'],
      [['migrate', 'now'], 'unexpected argument "now"'],
    ];
    for (const [args, message] of cases) {
      const res = await cli(args, { input: PASSWORD });
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stderr, args.join(' ')).toContain(message);
      expect(res.stderr).not.toMatch(NO_STACK);
      if (args.length) expect(res.stderr).toContain('Run "npm run cli -- help" for the commands');
    }
    expect(query("select count(*) as n from api_tokens where name = 'ci'")).toEqual([{ n: 0 }]);
    const config = await cli(['migrate'], { env: { LOG_LEVEL: 'loud' } });
    expect(config.code).toBe(2);
    expect(config.stderr).toContain('LOG_LEVEL');
    expect(query("select count(*) as n from users where email = 'x@y.test'")).toEqual([{ n: 0 }]);
  }, 120_000);

  it('backup refuses the live database and the files SQLite keeps beside it, by any path to them', async () => {
    const link = path.join(dir, 'data-link');
    fs.symlinkSync(path.dirname(dbFile), link);
    const cases: [string, string][] = [
      [dbFile, 'is the live database itself'],
      [path.relative(projectRoot, dbFile), 'is the live database itself'],
      [`${dbFile}-wal`, "is the live database's write-ahead log (-wal)"],
      [`${dbFile}-shm`, "is the live database's shared-memory index (-shm)"],
      [`${dbFile}-journal`, "is the live database's rollback journal (-journal)"],
      [path.join(link, 'monitor.db-wal'), "is the live database's write-ahead log (-wal)"],
    ];
    const folder = path.dirname(dbFile);
    const snapshot = () => fs.readdirSync(folder).map((f) => [f, fs.readFileSync(path.join(folder, f)).toString('base64')]);
    const before = snapshot();
    for (const [target, message] of cases) {
      const res = await cli(['backup', target, '--force']);
      expect(res.code, target).toBe(2);
      expect(res.stderr, target).toContain(`backup: FILE ${path.resolve(projectRoot, target)} ${message}`);
    }
    expect(snapshot()).toEqual(before);
  }, 60_000);

  it('user create refuses before creating a database: no password, a bad one, a client of a database not there yet', async () => {
    const fresh = path.join(dir, 'fresh', 'monitor.db');
    const env = { DATABASE_PATH: fresh };
    const noPassword = await cli(['user', 'create', '--email', 'first@vendor.test', '--role', 'admin'], { env });
    expect(noPassword.code).toBe(2);
    expect(noPassword.stderr).toContain('password: nothing on standard input');
    const short = await cli(['user', 'create', '--email', 'first@vendor.test', '--role', 'admin'], { env, input: 'short\n' });
    expect(short.code).toBe(2);
    const noClient = await cli(['user', 'create', '--email', 'c@vendor.test', '--role', 'client', '--client', '5'], { env, input: PASSWORD });
    expect(noClient.code).toBe(2);
    expect(noClient.stderr).toContain(`--client: there is no client with id 5: the database ${fresh} does not exist yet (DATABASE_PATH)`);
    expect(fs.existsSync(path.dirname(fresh))).toBe(false);
    // The first admin of a new installation still creates (and migrates) the database.
    const first = await cli(['user', 'create', '--email', 'first@vendor.test', '--role', 'admin'], { env, input: PASSWORD });
    expect(first.code, first.stderr).toBe(0);
    expect(fs.existsSync(fresh)).toBe(true);
  }, 60_000);

  it('names the database file when it cannot be opened or written', async (ctx) => {
    const folder = await cli(['migrate'], { env: { DATABASE_PATH: dir } });
    expect(folder.code).toBe(1);
    expect(folder.stderr).toBe(`error: cannot open the database ${dir}: it is a folder, not a file (DATABASE_PATH)\n`);
    const readOnly = path.join(dir, 'read-only.db');
    fs.copyFileSync(dbFile, readOnly);
    const undo = makeReadOnly(readOnly);
    if (!undo) return ctx.skip();
    try {
      const res = await cli(['token', 'create', '--name', 'never'], { env: { DATABASE_PATH: readOnly } });
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(new RegExp(`^error: cannot (open|update) the database ${readOnly}: .*readonly`));
      expect(res.stderr).not.toMatch(NO_STACK);
    } finally {
      undo();
    }
  });

  it('token create into a closed pipe stores the token and says the output was cut, without a stack trace', async () => {
    const res = await cli(['token', 'create', '--name', 'piped'], { closeStdout: true });
    expect(res.stderr).toBe('warning: standard output was closed early (broken pipe): the command completed, but not all of its output was shown.\n');
    expect(res.code).toBe(0);
    expect(query("select role from api_tokens where name = 'piped'")).toEqual([{ role: 'support' }]);
  });

  it('hints at the way to run it that works where it runs: npm from the sources, node in the Docker image', () => {
    expect(cliInvocation('file:///work/src/cli/invocation.ts')).toBe('npm run cli --');
    expect(cliInvocation('file:///app/dist/src/cli/invocation.js')).toBe('node dist/src/cli/main.js');
  });

  it('help lists the commands', async () => {
    const res = await cli(['help']);
    expect(res.code).toBe(0);
    for (const c of ['migrate', 'user create --email E --role admin|support|client [--client ID]', 'token create --name N [--role admin|support]', 'backup FILE [--force]']) {
      expect(res.stdout).toContain(c);
    }
  });
});
