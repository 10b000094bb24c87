import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

// The container's HEALTHCHECK command (src/cli/healthcheck.ts) against a stand-in server:
// exit 0 only for a 200 from /healthz, asked where the server listens (HOST).

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function run(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/healthcheck.ts'], { cwd: projectRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}
const healthcheck = async (env: Record<string, string>) => (await run(env)).code;

/** A server answering `status` at /healthz (404 elsewhere), on `host`. */
async function standIn(host: string, status: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    res.statusCode = req.url === '/healthz' ? status : 404;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return server;
}

describe('health check command', () => {
  let server: http.Server | null = null;
  afterEach(() => {
    server?.close();
    server = null;
  });
  const port = () => String((server!.address() as AddressInfo).port);

  it('exits 0 for a 200 from /healthz on loopback, whatever wildcard HOST the server has', async () => {
    server = await standIn('127.0.0.1', 200);
    for (const host of ['0.0.0.0', '::', 'localhost', '127.0.0.1']) expect(await healthcheck({ PORT: port(), HOST: host }), host).toBe(0);
  }, 60_000);

  it('asks the address the server listens on when HOST names one (IPv6 too)', async () => {
    server = await standIn('::1', 200);
    expect(await healthcheck({ PORT: port(), HOST: '::1' })).toBe(0);
  }, 30_000);

  it('exits 1 for any other answer, or none, saying why on one line', async () => {
    server = await standIn('127.0.0.1', 503);
    const bad = await run({ PORT: port(), HOST: '0.0.0.0' });
    expect(bad).toEqual({ code: 1, stderr: `unhealthy: http://127.0.0.1:${port()}/healthz answered 503\n` });
    const free = port();
    server.close();
    server = null;
    const none = await run({ PORT: free, HOST: '0.0.0.0' });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(new RegExp(`^unhealthy: http://127\\.0\\.0\\.1:${free}/healthz: .*ECONNREFUSED.*\n$`));
  }, 30_000);

  it('a bad configuration is exit 1 with the variable named, not a stack trace', async () => {
    expect(await run({ PORT: 'bad' })).toEqual({ code: 1, stderr: 'unhealthy: configuration: PORT: must be a whole number between 0 and 65535, got "bad"\n' });
  }, 30_000);
});
