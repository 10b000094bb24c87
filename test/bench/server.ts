import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface ServerProcess {
  base: string;
  pid: number;
  child: ChildProcess;
  /** CPU time of the process (user + system) in µs. */
  cpuUs(): Promise<number>;
  /** User and system CPU time in µs, separately. */
  cpuSplit(): Promise<{ user: number; system: number; groups: { groups: number; writes: number } }>;
  /** Current and peak resident memory (bytes); resetPeak() restarts the peak. */
  memory(): { rss: number; peak: number };
  resetPeak(): boolean;
  stop(): Promise<void>;
}

const CLK_TCK = 100;

function procStatus(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}
const kb = (v: string | undefined) => Number((v ?? '0').replace(/\s*kB$/, '')) * 1024;

/**
 * Starts `src/server.ts` as its own process through tsx (TypeScript compiled
 * in memory at load by esbuild, which keeps function names: the code `npm start`
 * runs from tsc's output, measured within noise of it — README, Session 10 —
 * with the same heap cap), on 127.0.0.1 and the given database, with the
 * benchmark-only endpoints on.
 */
export async function startServer(o: { databasePath: string; profileDir?: string; env?: Record<string, string>; nodeArgs?: string[] }): Promise<ServerProcess> {
  const port = await freePort();
  // The heap cap the Dockerfile and npm start give the server (NODE_OPTIONS / --max-old-space-size).
  const args = ['--max-old-space-size=160', '--import', 'tsx', ...(o.nodeArgs ?? [])];
  if (o.profileDir) args.push('--cpu-prof', `--cpu-prof-dir=${o.profileDir}`);
  args.push('src/server.ts');
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_PATH: o.databasePath,
      LOG_LEVEL: 'warn',
      BENCH_ENDPOINTS: '1',
      // The capture figure measures the capture path, not the rate limiter's refusals.
      CAPTURE_RATE_PER_IP: '10000000',
      CAPTURE_RATE_PER_KEY: '10000000',
      ...o.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const base = `http://127.0.0.1:${port}`;
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}):\n${log}`);
    try {
      const r = await fetch(`${base}/healthz`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() - started > 60_000) throw new Error(`the server did not start within 60 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const pid = child.pid!;
  return {
    base,
    pid,
    child,
    async cpuUs() {
      // The server's own process.cpuUsage() (µs); /proc's clock ticks as a fallback.
      try {
        const r = await fetch(`${base}/__bench/stats`);
        return ((await r.json()) as { cpuUs: number }).cpuUs;
      } catch {
        const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
        return ((Number(fields[11]) + Number(fields[12])) / CLK_TCK) * 1e6;
      }
    },
    async cpuSplit() {
      const r = await fetch(`${base}/__bench/stats`);
      const j = (await r.json()) as { userUs: number; systemUs: number; groups: { groups: number; writes: number } };
      return { user: j.userUs, system: j.systemUs, groups: j.groups };
    },
    memory() {
      const s = procStatus(pid);
      return { rss: kb(s.VmRSS), peak: kb(s.VmHWM) };
    },
    resetPeak() {
      try {
        fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
        return true;
      } catch {
        return false;
      }
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
