import { LATIN, type SeededHost, type SeededSession } from './seed.js';

// The agents' request bodies the benchmark sends, shared by the load runs (run.ts) and the
// in-process WAL page counts (wal-pages.ts), so both measure the same writes.

const iso = (ms: number) => new Date(ms).toISOString();

/** A heartbeat of a seeded session: metrics always, the package snapshot with the running one's progress moving. */
export function heartbeatBody(s: SeededSession, k: number, now: number): string {
  const running = k % 4 !== 0;
  return JSON.stringify({
    sleeping: false,
    lastInputAt: iso(now - 1500),
    metrics: {
      cpuMs: { current: k % 100, total: 1000 * k },
      memoryBytes: { current: 1_048_576, total: 734_003_200 + k },
      dataBytes: { total: 5_242_880 + k * 1000 },
      calls: { total: 311 + k },
      dbmsBytes: { total: 2_097_152 + k * 100 },
    },
    packages: s.packages.map((p, j) => ({
      id: p.id,
      path: p.path,
      name: p.name,
      version: p.version,
      createdAt: iso(p.createdAt),
      savedAt: iso(p.savedAt),
      state: j === 0 && running ? 'running' : 'idle',
      ...(j === 0 && running ? { progress: (k * 7) % 100, node: 'Join', nodeStartedAt: iso(now - 3000) } : {}),
      refs: p.refs,
      origin: p.origin,
    })),
  });
}

/** The i-th capture of a run: a new session (a new clientSessionId) on a bound host, with an infobase and a role. */
export function captureBody(hosts: readonly SeededHost[], i: number, runId: number): string {
  const h = hosts[i % hosts.length];
  return JSON.stringify({
    licenseKey: h.licenseKey,
    clientSessionId: `cap-${i}-${runId}`,
    fingerprint: h.fingerprint,
    machine: h.machine,
    user: `${LATIN[i % LATIN.length]}${i % 97}`,
    roles: ['viewer'],
    infobase: h.infobase,
    connectionType: 'client',
    app: { name: 'Payroll', version: '3.2.1' },
  });
}
