import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// The SDK in a process of its own, with Node's real timers: what keeps an
// application alive and what does not. The server is a scripted fetch.

const projectRoot = path.resolve(import.meta.dirname, '../..');
const clientUrl = pathToFileURL(path.join(projectRoot, 'src/agent/client.ts')).href;
const dir = mkdtempSync(path.join(tmpdir(), 'sdk-process-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs an application script (top-level code after `agent` is made) and answers its output and exit code. */
function runApp(name: string, body: string): Promise<{ code: number | null; out: string }> {
  const file = path.join(dir, `${name}.mts`);
  writeFileSync(
    file,
    `import { MonitorAgent } from ${JSON.stringify(clientUrl)};
let opens = 0;
const fetch = async (url: string, init: RequestInit) => {
  if (init.method === 'POST' && url.endsWith('/sessions') && ++opens === 1) throw new TypeError('fetch failed');
  if (url.endsWith('/sessions')) {
    return new Response(JSON.stringify({ sessionId: 's-1', sessionNumber: 1, token: 't', hostId: 1, heartbeatIntervalSec: 60, leaseTimeoutSec: 300, features: [] }), { status: 201 });
  }
  return new Response(null, { status: 204 });
};
const agent = new MonitorAgent({
  baseUrl: 'http://monitor.test', licenseKey: 'K', fingerprint: { cpu: 'C' }, machine: {}, user: 'U', app: { name: 'App' },
  fetch, retry: { initialDelayMs: 50, maxDelayMs: 50 },
});
${body}
`,
  );
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe('MonitorAgent in an application process', () => {
  it('keeps the process alive while open() waits to retry: a script awaiting it gets its answer', async () => {
    const app = await runApp(
      'await-open',
      `async function main() {
  try { await agent.open(); console.log('opened ' + agent.sessionId); } catch (e) { console.log('refused ' + e.code); }
  await agent.close();
  console.log('closed');
}
main();`,
    );
    expect(app.out.trim()).toBe('opened s-1\nclosed');
    expect(app.code).toBe(0);
  });

  it('does not keep the process alive for its heartbeats', async () => {
    const app = await runApp('exit-while-open', `await agent.open();\nconsole.log('open');`);
    expect(app.out.trim()).toBe('open');
    expect(app.code).toBe(0);
  });
});
