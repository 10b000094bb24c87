import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnServer, stopServer, type ServerProcess } from '../reliability/server-process.js';

// Secrets at rest: the real server on an empty database issues a setup link,
// login cookies, an API token, agent session tokens and takes passwords; then
// the raw database file (and its -wal and -shm) holds none of them in
// plaintext, and neither does the server's log (the setup link aside, printed
// once on purpose).

describe('secrets at rest', () => {
  let dir: string;
  let server: ServerProcess | null = null;
  afterAll(async () => {
    if (server) await stopServer(server);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the database file and the log hold no token, cookie or password', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-secrets-'));
    const file = path.join(dir, 'monitor.db');
    server = spawnServer(file, { LOG_LEVEL: 'debug' });
    const base = `http://127.0.0.1:${await server.ready}`;
    const secrets: Record<string, string> = {};

    const setupToken = /\/setup\/([\w-]{20,})/.exec(server.output())?.[1];
    expect(setupToken).toBeDefined();
    secrets.setupToken = setupToken!;

    const form = async (url: string, fields: Record<string, string>, cookie?: string) =>
      fetch(base + url, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...(cookie ? { Cookie: cookie } : {}) },
        body: new URLSearchParams(fields).toString(),
      });
    const cookieOf = (res: Response) => res.headers.getSetCookie().map((c) => c.split(';')[0]).find((c) => /^sm_session=.+/.test(c))!;
    const csrfOf = async (cookie: string) => /name="_csrf" value="([^"]+)"/.exec(await (await fetch(base + '/account', { headers: { Cookie: cookie } })).text())![1];
    const json = async (method: string, url: string, body: unknown, auth: string) => {
      const res = await fetch(base + url, { method, headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${auth}` }, body: JSON.stringify(body) });
      expect(res.status, `${method} ${url}`).toBeLessThan(300);
      return res.status === 204 ? null : res.json();
    };

    // The first admin through the setup link; a login cookie.
    secrets.adminPassword = 'first admin passphrase 1';
    const setup = await form(`/setup/${setupToken}`, { email: 'root@vendor.test', password: secrets.adminPassword, confirm: secrets.adminPassword });
    expect(setup.status).toBe(303);
    secrets.adminCookie = cookieOf(setup).split('=')[1];
    const adminCookie = `sm_session=${secrets.adminCookie}`;
    const csrf = await csrfOf(adminCookie);
    secrets.csrf = csrf;

    // An API token, shown once on the page its creation redirects to (held in memory meanwhile).
    const issued = await form('/tokens', { _csrf: csrf, name: 'billing', role: 'admin' }, adminCookie);
    expect(issued.status).toBe(303);
    const tokenPage = await (await fetch(base + issued.headers.get('location')!, { headers: { Cookie: adminCookie } })).text();
    secrets.apiToken = /(smt_[\w-]{20,})/.exec(tokenPage)![1];

    // A client, a license, a client user who signs in.
    const client = await json('POST', '/api/v1/admin/clients', { name: 'Initech' }, secrets.apiToken);
    const license = await json('POST', '/api/v1/admin/licenses', { clientId: client.id, product: 'Payroll', maxHosts: 5 }, secrets.apiToken);
    secrets.userPassword = 'client user passphrase 2';
    const created = await form('/users', { _csrf: csrf, email: 'peter@initech.test', role: 'client', clientId: String(client.id), password: secrets.userPassword, confirm: secrets.userPassword }, adminCookie);
    expect(issued.status).toBe(303);
    const login = await form('/login', { email: 'peter@initech.test', password: secrets.userPassword });
    expect(login.status).toBe(303);
    secrets.userCookie = cookieOf(login).split('=')[1];

    // Agents: a session token, and the new token of an idempotent repeat; a lock's permission code.
    const capture = { licenseKey: license.key, clientSessionId: 'app-1', fingerprint: { cpu: 'C1' }, user: 'Ivanov', infobase: { id: 'ib', name: 'Accounting' } };
    const post = async (body: unknown) => (await fetch(base + '/api/v1/sessions', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })).json();
    secrets.sessionToken = (await post(capture)).token;
    const repeat = await post(capture);
    secrets.repeatToken = repeat.token;
    expect(secrets.repeatToken).not.toBe(secrets.sessionToken);
    const hb = await fetch(`${base}/api/v1/sessions/${repeat.sessionId}/heartbeat`, { method: 'POST', headers: { Authorization: `Bearer ${secrets.repeatToken}` } });
    expect(hb.status).toBe(200);
    const infobases = (await json('GET', '/api/v1/admin/infobases', undefined, secrets.apiToken)) as { items: { id: number }[] };
    const permissionCode = 'maintainer-code-6f1e2d';
    await json('PUT', `/api/v1/admin/infobases/${infobases.items[0].id}/lock`, { message: 'Closed', permissionCode }, secrets.apiToken);
    const passed = await post({ ...capture, clientSessionId: 'app-2', permissionCode });
    expect(passed.sessionId).toBeDefined();

    // A password change and a failed login with a password nobody has.
    secrets.newPassword = 'second admin passphrase 3';
    const changed = await form('/account/password', { _csrf: csrf, current: secrets.adminPassword, password: secrets.newPassword, confirm: secrets.newPassword }, adminCookie);
    expect(changed.status).toBe(200);
    secrets.wrongPassword = 'guessed passphrase 4';
    expect((await form('/login', { email: 'root@vendor.test', password: secrets.wrongPassword })).status).toBe(401);

    const scan = (label: string, what: Record<string, string> = secrets) => {
      const found: string[] = [];
      for (const suffix of ['', '-wal', '-shm']) {
        const f = file + suffix;
        if (!fs.existsSync(f)) continue;
        const bytes = fs.readFileSync(f);
        for (const [name, secret] of Object.entries(what)) if (bytes.includes(Buffer.from(secret, 'utf8'))) found.push(`${name} in ${path.basename(f)} (${label})`);
      }
      return found;
    };
    expect(fs.existsSync(file + '-wal')).toBe(true);
    expect(scan('while running')).toEqual([]);
    // The scan does see what is stored: the license key (not a secret kept from staff) is there.
    expect(scan('control', { licenseKey: license.key })).not.toEqual([]);

    // The log: nothing but the setup link's one line carries a secret; license keys and permission codes never.
    const logSecrets = { ...secrets, licenseKey: license.key, permissionCode };
    const lines = server.output().split('\n');
    const leaks = lines.flatMap((line) =>
      Object.entries(logSecrets)
        .filter(([name, s]) => line.includes(s) && !(name === 'setupToken' && line.trim().endsWith(`/setup/${s}`)))
        .map(([name]) => `${name}: ${line.slice(0, 200)}`),
    );
    expect(leaks).toEqual([]);

    expect((await stopServer(server, 'SIGTERM')).code).toBe(0);
    server = null;
    expect(scan('after stop')).toEqual([]);
  });
});
