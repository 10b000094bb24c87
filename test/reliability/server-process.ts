// The real server (src/server.ts) as a child process over a database file, for
// the tests that kill, stop or back it up while it works.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from '../../src/lib/paths.js';

export interface ServerProcess {
  child: ChildProcess;
  /** Resolves with the port once the server listens; rejects if it exits first. */
  ready: Promise<number>;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

/** Environment for a test server: loopback only, an OS-chosen port, limits out of the way of load. */
export function serverEnv(databasePath: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'test',
    DATABASE_PATH: databasePath,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    CAPTURE_RATE_PER_IP: '10000000',
    CAPTURE_RATE_PER_KEY: '10000000',
    ...extra,
  };
}

/** Spawns `node --import tsx src/server.ts`; ready once it listens and all it printed before is read (the port comes from its "listening" log line). */
export function spawnServer(databasePath: string, extra: Record<string, string> = {}): ServerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'src/server.ts')], {
    cwd: projectRoot,
    env: serverEnv(databasePath, extra),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const ready = new Promise<number>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      // The port is in the log (stderr); stdout's own "listening" line comes after everything the server
      // printed there before (the setup link): two pipes, read in no fixed order, so wait for both.
      const m = /"msg":"listening"[^\n]*"port":(\d+)/.exec(out);
      if (m && out.includes('Session Monitor is listening on ')) resolve(Number(m[1]));
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(({ code, signal }) => reject(new Error(`server exited (${code ?? signal}) before listening:\n${out}`)));
  });
  ready.catch(() => {}); // callers that kill before ready never await it
  return { child, ready, exited, output: () => out };
}

/** Sends a signal (if still running) and waits for the exit. */
export async function stopServer(s: ServerProcess, signal: NodeJS.Signals = 'SIGKILL') {
  if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill(signal);
  return s.exited;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** JSON over loopback; any network failure rejects (the caller decides what "unknown" means). */
export async function call(
  base: string,
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: any }> {
  const res = await fetch(base + url, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  let json: any = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = { raw: text };
  }
  return { status: res.status, json };
}
