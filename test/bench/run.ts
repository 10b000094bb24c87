import { execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon, { type Request as CannonRequest, type Result } from 'autocannon';
import { databaseGrowth, leaseSweep } from './offline.js';
import { walPages, type WalPagesResult } from './wal-pages.js';
import { captureBody, heartbeatBody } from './bodies.js';
import { LATIN, seedDatabase, touchOpenSessions, type SeededSession } from './seed.js';
import { repoRoot, startServer, type ServerProcess } from './server.js';
import { BROWSER_HEADERS, percentile, timedRequest, wireRequest } from './wire.js';

// `npm run bench [-- --quick] [-- --only=monitor,heartbeat] [-- --profile]` (groups: GROUPS below)
//
// Starts the server as its own process on a fresh temporary database, fills
// it, drives it over loopback and prints one table (and test/bench/results.json)
// with each figure, its target and whether it is met. Every comparison is a
// ratio measured in the same run. Exit code 0 whatever the figures are.

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    profile: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    'skip-bare': { type: 'boolean', default: false },
    connections: { type: 'string' },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    memtrace: { type: 'boolean', default: false },
    'node-args': { type: 'string' },
    samples: { type: 'string' },
    out: { type: 'string' },
  },
});
const quick = !!args.quick;
/** The figure groups --only may name. */
const GROUPS = ['monitor', 'refresh', 'heartbeat', 'capture', 'sweep', 'growth', 'pages'];
const only = args.only ? new Set(args.only.split(',').map((g) => g.trim())) : null;
const unknownGroup = only && [...only].find((g) => !GROUPS.includes(g));
if (unknownGroup !== undefined && unknownGroup !== null) {
  process.stderr.write(`--only names figure groups (${GROUPS.join(', ')}), not "${unknownGroup}"\n`);
  process.exit(2);
}
const want = (group: string) => !only || only.has(group);

const P = quick
  ? { live: 10_000, closed: 10_000, events: 100_000, seconds: 4, warm: 1, samples: 40, sweep: 100_000, growthSessions: 200, growthMinutes: 20 }
  : { live: 10_000, closed: 100_000, events: 1_000_000, seconds: 15, warm: 3, samples: 200, sweep: 100_000, growthSessions: 1000, growthMinutes: 90 };
/** A numeric option: a whole number ≥ 1, or the benchmark does not start. */
function count(name: string, value: string | undefined, otherwise: number): number {
  if (value === undefined) return otherwise;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`--${name} must be a whole number of at least 1, not "${value}"\n`);
    process.exit(2);
  }
  return n;
}
P.seconds = count('seconds', args.seconds, P.seconds);
P.samples = count('samples', args.samples, P.samples);
const CONNECTIONS = count('connections', args.connections, 50);
/** Throughput runs come in this many interleaved rounds (see throughputFigures). */
const ROUNDS = count('rounds', args.rounds, quick ? 2 : 3);

interface Figure {
  key: string;
  name: string;
  value: number | null;
  unit: string;
  target: number | null;
  op: '>=' | '<=' | null;
  met: boolean | null;
  detail?: string;
}
const figures: Figure[] = [];
const extra: Record<string, unknown> = {};

function figure(key: string, name: string, value: number | null, unit: string, target: number | null, op: Figure['op'], detail?: string) {
  const met = value === null || target === null || op === null ? null : op === '>=' ? value >= target : value <= target;
  figures.push({ key, name, value: value === null ? null : Number(value.toPrecision(4)), unit, target, op, met, detail });
  const t = target === null ? '' : ` (target ${op} ${target} ${unit})`;
  log(`  ${name}: ${value === null ? 'n/a' : fmt(value)} ${unit}${t}${detail ? ` — ${detail}` : ''}`);
}

const started = Date.now();
const log = (s: string) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${s}\n`);
const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(3));

// ---------------------------------------------------------------------------
// Load generation.

async function cannon(base: string, seconds: number, requests: CannonRequest[]): Promise<Result> {
  return autocannon({ url: base, connections: CONNECTIONS, duration: seconds, requests, timeout: 20 });
}

/** A warm-up run, then the measured run with the server's CPU time around it. */
async function measured(server: ServerProcess, requests: () => CannonRequest[], seconds: number, warm: number) {
  await cannon(server.base, warm, requests());
  const cpu0 = await server.cpuSplit();
  const client0 = process.cpuUsage();
  const r = await cannon(server.base, seconds, requests());
  const client = process.cpuUsage(client0);
  const cpu1 = await server.cpuSplit();
  const ok = r['2xx'];
  const n = Math.max(1, ok + r.non2xx);
  const user = (cpu1.user - cpu0.user) / n;
  const system = (cpu1.system - cpu0.system) / n;
  const groups = cpu1.groups.groups - cpu0.groups.groups;
  const perGroup = groups ? (cpu1.groups.writes - cpu0.groups.writes) / groups : 0;
  return { rps: ok / r.duration, ok, non2xx: r.non2xx, errors: r.errors + r.timeouts, cpuPerRequestUs: user + system, userUs: user, systemUs: system, latencyP99: r.latency.p99, statuses: r.statusCodeStats, perGroup, clientCores: (client.user + client.system) / 1e6 / r.duration, serverCores: (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / 1e6 / r.duration };
}

/** Where the two cores went: the load generator (this process) and the server. */
const cores = (m: { clientCores: number; serverCores: number }) => `CPU: load generator ${m.clientCores.toFixed(2)} cores, server ${m.serverCores.toFixed(2)}`;

/** Heartbeats of the seeded sessions round robin; `prefix` before /sessions/… (the real route's or the benchmark's copy without the database). */
function heartbeatRequests(sessions: SeededSession[], prefix = '/api/v1'): () => CannonRequest[] {
  const k = new Map<number, number>();
  let next = 0;
  return () => [
    {
      method: 'POST',
      path: '/',
      setupRequest(req) {
        const i = next++ % sessions.length;
        const n = (k.get(i) ?? 0) + 1;
        k.set(i, n);
        const s = sessions[i];
        return {
          ...req,
          method: 'POST',
          path: `${prefix}/sessions/${s.id}/heartbeat`,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${s.token}` },
          body: heartbeatBody(s, n, Date.now()),
        };
      },
    },
  ];
}

// ---------------------------------------------------------------------------

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-bench-'));
  const dbFile = path.join(tmp, 'bench.db');
  const machine = {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGb: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    loadAverageAtStart: os.loadavg().map((x) => Number(x.toFixed(2))),
  };
  let commit = 'unknown';
  try {
    commit = execSync('git rev-parse --short HEAD', { cwd: repoRoot }).toString().trim();
  } catch {
    // not a checkout
  }
  log(`mode ${quick ? 'quick' : 'full'}; ${machine.cores} × ${machine.cpu}, load ${machine.loadAverageAtStart.join(' ')}; temp ${tmp}`);

  const serverGroups = ['monitor', 'refresh', 'heartbeat', 'capture'].filter(want);
  let server: ServerProcess | null = null;
  try {
    if (serverGroups.length) {
      const now = Date.now();
      log(`seeding: ${P.live} live sessions, ${P.closed} closed, ${P.events} history events`);
      const seeded = await seedDatabase(dbFile, { liveSessions: P.live, closedSessions: P.closed, events: P.events, now });
      extra.seed = { live: seeded.sessions.length, closed: seeded.closedSessions, events: seeded.events, dbBytes: fs.statSync(dbFile).size };
      log(`seeded in ${((Date.now() - now) / 1000).toFixed(1)} s, ${(fs.statSync(dbFile).size / 2 ** 20).toFixed(0)} MB`);
      await touchOpenSessions(dbFile, Date.now());
      const profileDir = args.profile ? path.join(repoRoot, 'test/bench/profiles') : undefined;
      if (profileDir) fs.mkdirSync(profileDir, { recursive: true });
      server = await startServer({ databasePath: dbFile, profileDir, nodeArgs: args['node-args'] ? args['node-args'].split(' ') : [] });
      log(`server pid ${server.pid} at ${server.base} (tsx)`);
      // As a browser sends it: the login and the time zone app.js stores.
      const cookie = `sm_session=${seeded.adminCookie}; sm_tz=${encodeURIComponent('Europe/Moscow')}`;
      const page = { ...BROWSER_HEADERS, Cookie: cookie };
      const hx = { ...page, 'HX-Request': 'true', Accept: 'text/html' };
      const poll = { ...hx, 'X-Auto-Refresh': '1' };

      const rss = () => `server RSS ${(server!.memory().rss / 2 ** 20).toFixed(0)} MB`;
      if (args.memtrace) {
        const timer = setInterval(async () => {
          try {
            const j = (await (await fetch(`${server!.base}/__bench/stats`)).json()) as Record<string, number>;
            const mb = (k: string) => (j[k] / 2 ** 20).toFixed(0);
            log(`  mem: rss ${mb('rss')} heapUsed ${mb('heapUsed')} heapTotal ${mb('heapTotal')} external ${mb('external')} MB`);
          } catch {
            clearInterval(timer);
          }
        }, 2000);
        timer.unref();
      }
      log(rss());
      if (want('monitor')) await monitorFigures(server, page, hx);
      if (want('refresh')) await refreshFigures(server, page, poll, seeded.sessions);
      log(rss());
      if (want('heartbeat') || want('capture')) await throughputFigures(server, seeded, dbFile);
      log(rss());
    }
  } finally {
    if (server) {
      await server.stop();
      log('server stopped');
    }
  }
  if (fs.existsSync(dbFile)) {
    extra.afterRun = { dbBytes: fs.statSync(dbFile).size, walBytes: fs.existsSync(dbFile + '-wal') ? fs.statSync(dbFile + '-wal').size : 0 };
  }

  if (want('sweep')) {
    log(`lease sweep: ${P.sweep} expired sessions (in-process model call)`);
    const r = await leaseSweep(tmp, P.sweep, 10_000);
    extra.sweep = r;
    figure('lease_sweep_ms', 'lease sweep: close 100,000 expired sessions', r.ms, 'ms', 500, '<=', `${r.closed} closed, ${r.live} live left open`);
  }
  if (want('growth')) {
    log(`database growth: ${P.growthSessions} sessions × ${P.growthMinutes} simulated minutes of heartbeats (in-process, injected clock)`);
    const r = await databaseGrowth(tmp, P.growthSessions, P.growthMinutes, 10_000);
    extra.growth = r;
    const mb = (b: number) => b / 2 ** 20;
    const mid = r.trace[Math.floor(r.trace.length / 2)];
    figure(
      'db_growth_mb',
      'database after 10,000 sessions × 24 h heartbeats (extrapolated)',
      mb(r.extrapolated),
      'MB',
      300,
      '<=',
      `${r.sessions} sessions × ${r.simulatedMinutes} min simulated: ${mb(r.endBytes).toFixed(1)} MB (${mb(mid.dbBytes).toFixed(1)} MB at minute ${mid.minute}), ${(r.bytesPerSession / 1024).toFixed(1)} KB/session; WAL max ${mb(r.maxWalBytes).toFixed(1)} MB`,
    );
    figure('wal_max_mb', 'WAL file during the growth run (max)', mb(r.maxWalBytes), 'MB', 64, '<=');
    // Not heartbeats but churn fills the file: what each closed session keeps, averaged over the retention
    // (its row 7 d + 1 h, raw events 48 h, their per-hour roll-ups retentionDays: offline.ts databaseGrowth).
    const perDay = 10_000 * 4;
    figure(
      'closed_session_kb',
      'a closed session, averaged over retention (row 7 d, raw events 2 d, hourly roll-ups 30 d)',
      r.bytesPerClosedSession / 1024,
      'KB',
      null,
      null,
      `${fmt(r.eventsPerClosedSession)} events of ${fmt(r.bytesPerEvent)} B; e.g. 10,000 seats reopened 4×/day, 30 days: ${fmt((perDay * 30 * r.bytesPerClosedSession) / 2 ** 20)} MB`,
    );
  }

  if (want('pages')) {
    log('WAL pages per heartbeat and per capture: 2,700 of each in groups of 27 (in-process, automatic checkpoints off)');
    const r = await walPages(tmp, 2_700, 27);
    extra.walPages = r;
    const top = (w: WalPagesResult) => w.byBtree.slice(0, 5).map(([name, n]) => `${name} ${fmt(n)}`).join(', ');
    figure('wal_pages_per_heartbeat', 'WAL pages written per heartbeat (groups of 27)', r.heartbeat.perWrite, 'pages', null, null, top(r.heartbeat));
    figure('wal_pages_per_capture', 'WAL pages written per capture (groups of 27)', r.capture.perWrite, 'pages', null, null, top(r.capture));
  }

  const results = { when: new Date().toISOString(), mode: quick ? 'quick' : 'full', commit, machine, server: 'separate process: node --import tsx src/server.ts', connections: CONNECTIONS, seconds: P.seconds, figures, extra };
  const out = args.out ?? path.join(repoRoot, 'test/bench/results.json');
  fs.writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
  process.stdout.write('\n' + table(figures) + '\n');
  process.stdout.write(`\n${machine.cores} × ${machine.cpu}, ${machine.memoryGb} GB, ${machine.os}, Node ${machine.node}; ${quick ? 'quick' : 'full'} run, ${((Date.now() - started) / 1000).toFixed(0)} s; results in ${path.relative(process.cwd(), out)}\n`);
  if (!args.keep) fs.rmSync(tmp, { recursive: true, force: true });
}

function table(rows: Figure[]): string {
  const head = ['figure', 'measured', 'target', 'met'];
  const body = rows.map((f) => [f.name, f.value === null ? 'n/a' : `${fmt(f.value)} ${f.unit}`, f.target === null ? '' : `${f.op === '>=' ? '≥' : '≤'} ${f.target} ${f.unit}`, f.met === null ? '' : f.met ? 'yes' : 'NO']);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(w[i])).join(' | ')} |`;
  return [line(head), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

// ---------------------------------------------------------------------------
// Monitor: server time of the first page and of a search.

async function serverTimes(server: ServerProcess, pathQ: string, headers: Record<string, string>) {
  for (let i = 0; i < 5; i++) await timedRequest(server.base, pathQ, headers);
  const times: number[] = [];
  let bytes = 0;
  let status = 0;
  let text = '';
  for (let i = 0; i < P.samples; i++) {
    const r = await timedRequest(server.base, pathQ, headers);
    times.push(r.ms);
    bytes = r.bytes;
    status = r.status;
    text = r.text;
  }
  return { p50: percentile(times, 50), p95: percentile(times, 95), bytes, status, rows: (text.match(/<tr data-session-id="[^"]+" class="?[^"]*"? ?tabindex/g) ?? []).length || (text.match(/<tr data-session-id=/g) ?? []).length };
}

async function monitorFigures(server: ServerProcess, page: Record<string, string>, hx: Record<string, string>) {
  log('monitor: first page (100 rows) and searches, sequential requests on one keep-alive connection');
  const first = await serverTimes(server, '/monitor?size=100', page);
  figure('monitor_first_page_p95_ms', 'monitor first page, 100 rows: p95', first.p95, 'ms', 25, '<=', `p50 ${fmt(first.p50)} ms, ${first.rows} rows, ${first.bytes} B compressed, status ${first.status}`);
  const search = await serverTimes(server, `/monitor?q=${encodeURIComponent(LATIN[1].toLowerCase())}&size=100`, hx);
  figure('monitor_search_p95_ms', 'monitor search (as you type, fragment): p95', search.p95, 'ms', 25, '<=', `p50 ${fmt(search.p50)} ms, ${search.rows} rows, status ${search.status}`);
  const cyr = await serverTimes(server, `/monitor?q=${encodeURIComponent('иванова')}&size=100`, hx);
  figure('monitor_search_cyrillic_p95_ms', 'monitor search, Cyrillic term: p95', cyr.p95, 'ms', 25, '<=', `p50 ${fmt(cyr.p50)} ms, ${cyr.rows} rows`);
  const sorted = await serverTimes(server, '/monitor?size=100&sort=cpu_5m&dir=desc', hx);
  figure('monitor_sort_metric_p95_ms', 'monitor sorted by CPU last 5 min: p95', sorted.p95, 'ms', 25, '<=', `p50 ${fmt(sorted.p50)} ms`);
}

// ---------------------------------------------------------------------------
// Refresh and first load: bytes on a raw socket, CPU from the server process.

async function refreshFigures(server: ServerProcess, page: Record<string, string>, poll: Record<string, string>, sessions: SeededSession[]) {
  log('refresh: unchanged poll (bytes, CPU), changed poll (bytes), first load (bytes)');
  // The first load of a new browser: the page and every asset it names, compressed.
  const html = await wireRequest(server.base, 'GET', '/monitor', page);
  const assets = [...new Set([...html.text.matchAll(/(?:href|src)="(\/assets\/[^"]+)"/g)].map((m) => m[1]))];
  let total = html.wireBytes;
  const parts: string[] = [`HTML ${html.wireBytes}`];
  for (const a of assets) {
    const r = await wireRequest(server.base, 'GET', a, { ...BROWSER_HEADERS, Accept: '*/*' });
    total += r.wireBytes;
    parts.push(`${a.replace(/^\/assets\/|\.[0-9a-f]{12}/g, '')} ${r.wireBytes}`);
  }
  figure('first_load_kb', 'first load of the monitor (HTML, CSS, JS, icons), compressed', total / 1024, 'KB', 50, '<=', parts.join(', ') + ' B');

  // An unchanged 5-second poll.
  const path50 = '/monitor';
  const first = await wireRequest(server.base, 'GET', path50, poll);
  const etag = first.headers.etag;
  const unchanged = await wireRequest(server.base, 'GET', path50, { ...poll, 'If-None-Match': etag ?? '' });
  figure('refresh_unchanged_bytes', 'unchanged refresh: bytes on the wire', unchanged.wireBytes, 'B', 250, '<=', `status ${unchanged.status}, headers ${unchanged.headerBytes} B`);
  extra.unchangedResponse = { status: unchanged.status, headers: unchanged.headers };

  const pollHeaders = { ...poll, 'If-None-Match': etag ?? '' };
  await autocannon({ url: server.base, connections: 4, duration: P.warm, requests: [{ method: 'GET', path: path50, headers: pollHeaders }] });
  const cpu0 = await server.cpuUs();
  const r = await autocannon({ url: server.base, connections: 4, duration: P.seconds, requests: [{ method: 'GET', path: path50, headers: pollHeaders }] });
  const cpu1 = await server.cpuUs();
  const n = Object.values(r.statusCodeStats).reduce((a, s) => a + Number(s.count), 0);
  const n304 = Number(r.statusCodeStats['304']?.count ?? 0);
  figure('refresh_unchanged_cpu_ms', 'unchanged refresh: server CPU per poll', (cpu1 - cpu0) / 1000 / Math.max(1, n), 'ms', 0.1, '<=', `${n} polls, ${n304} answered 304`);

  // A changed poll: the 50 rows shown changed (a heartbeat each), compressed.
  const ids = [...first.text.matchAll(/<tr data-session-id="([^"]+)"(?! class="(?:pk|ft))/g)].map((m) => m[1]);
  const byId = new Map(sessions.map((s) => [s.id, s]));
  let beats = 0;
  for (const id of new Set(ids)) {
    const s = byId.get(id);
    if (!s) continue;
    const res = await timedRequest(server.base, `/api/v1/sessions/${s.id}/heartbeat`, { 'content-type': 'application/json', authorization: `Bearer ${s.token}` }, 'POST', heartbeatBody(s, 1000 + beats, Date.now()));
    if (res.status === 200) beats++;
  }
  const changed = await wireRequest(server.base, 'GET', path50, pollHeaders);
  // Rows the page already shows come back with their live cells only, marked data-k instead of their id.
  const rows = (changed.text.match(/<tr (?:data-session-id="[^"]+"|data-k="")(?! class="(?:pk|ft))/g) ?? []).length;
  figure('refresh_changed_kb', 'changed refresh, 50 rows, compressed: bytes on the wire', changed.wireBytes / 1024, 'KB', 3, '<=', `status ${changed.status}, ${rows} rows, ${beats} of them changed, ${changed.headers['content-encoding'] ?? 'identity'}, body ${changed.rawBody.length} B (${Buffer.byteLength(changed.text)} B uncompressed)`);
}

// ---------------------------------------------------------------------------
// Throughput: the bare endpoint, heartbeats, captures.

/** The middle value (the mean of the two middle ones for an even count). */
const median = (xs: number[]) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
const list = (xs: number[], digits = 3) => xs.map((x) => x.toFixed(digits)).join(' / ');

type Measured = Awaited<ReturnType<typeof measured>>;

/**
 * The bare endpoint, the heartbeat route without its database, heartbeats and
 * captures, measured in ROUNDS interleaved rounds of P.seconds / ROUNDS each
 * (this machine's speed moves by tens of percent over a minute): each round's
 * ratios are to the bare run of the same round, and a figure is the median
 * round's.
 */
async function throughputFigures(server: ServerProcess, seeded: Awaited<ReturnType<typeof seedDatabase>>, dbFile: string) {
  const sample = heartbeatBody(seeded.sessions.find((s) => s.packages.length === 2) ?? seeded.sessions[0], 1, Date.now());
  const seconds = Math.max(1, Math.round(P.seconds / ROUNDS));
  log(`${ROUNDS} rounds of ${seconds} s each, ${CONNECTIONS} connections: bare JSON POST (heartbeat-sized body, ${sample.length} B)${want('heartbeat') ? ', the heartbeat route without its database, heartbeats' : ''}${want('capture') ? ', captures' : ''}`);
  const bareRequests = () => [{ method: 'POST', path: '/__bench/echo', headers: { 'content-type': 'application/json' }, body: sample }];
  // The same requests to the heartbeat route's handler with a recorder that does nothing (routes/bench.ts):
  // how far HTTP, validation and the bearer check alone get, i.e. what the database work costs on top.
  const nodbRequests = heartbeatRequests(seeded.sessions, '/api/v1/__bench');
  const hbRequests = heartbeatRequests(seeded.sessions);
  const capRequests = captureRequests(seeded);

  const rounds: { bare: Measured | null; nodb?: Measured; hb?: Measured; cap?: Measured }[] = [];
  let peak = 0;
  let peakFromHwm = true;
  let walMax = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const warm = i === 0 ? P.warm : 1;
    const round: (typeof rounds)[number] = { bare: args['skip-bare'] ? null : await measured(server, bareRequests, seconds, warm) };
    if (want('heartbeat')) {
      round.nodb = await measured(server, nodbRequests, seconds, warm);
      const reset = server.resetPeak();
      peakFromHwm &&= reset;
      const samples: number[] = [];
      const timer = setInterval(() => {
        samples.push(server.memory().rss);
        walMax = Math.max(walMax, fs.existsSync(dbFile + '-wal') ? fs.statSync(dbFile + '-wal').size : 0);
      }, 100);
      round.hb = await measured(server, hbRequests, seconds, warm);
      clearInterval(timer);
      const mem = server.memory();
      peak = Math.max(peak, reset ? mem.peak : Math.max(...samples, mem.rss));
    }
    if (want('capture')) round.cap = await measured(server, capRequests, seconds, warm);
    const ratio = (m?: Measured) => (m && round.bare ? `${(m.rps / round.bare.rps).toFixed(3)}×` : '-');
    log(`  round ${i + 1}: bare ${round.bare ? fmt(round.bare.rps) : '-'} req/s; without database ${ratio(round.nodb)}, heartbeats ${ratio(round.hb)}, captures ${ratio(round.cap)}`);
    rounds.push(round);
  }

  const bares = rounds.map((r) => r.bare?.rps ?? NaN);
  const bareCpu = rounds.map((r) => r.bare?.cpuPerRequestUs ?? NaN);
  const last = rounds[rounds.length - 1];
  figure('bare_rps', 'bare Hono JSON POST (reference)', median(bares), 'req/s', null, null, `rounds ${list(bares, 0)} req/s; server CPU ${list(bareCpu, 1)} µs/request; ${last.bare ? cores(last.bare) : ''} (last round)`);
  /** Per-round ratios to that round's bare run. */
  const ratios = (k: 'nodb' | 'hb' | 'cap') => rounds.map((r) => (r[k]?.rps ?? NaN) / (r.bare?.rps ?? NaN));

  if (want('heartbeat')) {
    const nodb = ratios('nodb');
    figure('heartbeat_nodb_ratio', 'heartbeat route without the database vs bare (reference)', median(nodb), '×', null, null, `rounds ${list(nodb)}; server CPU ${list(rounds.map((r) => r.nodb!.cpuPerRequestUs), 1)} µs/request; ${cores(last.nodb!)} (last round)`);
    const hb = ratios('hb');
    const hbs = rounds.map((r) => r.hb!);
    figure('heartbeat_ratio', 'heartbeat throughput vs bare endpoint', median(hb), '×', 0.8, '>=', `rounds ${list(hb)}; ${list(hbs.map((m) => m.rps), 0)} req/s; ${hbs.reduce((n, m) => n + m.non2xx, 0)} non-2xx, ${hbs.reduce((n, m) => n + m.errors, 0)} errors, p99 ${list(hbs.map((m) => m.latencyP99), 0)} ms; ${cores(last.hb!)} (last round)`);
    const cpu = hbs.map((m) => m.cpuPerRequestUs);
    figure('heartbeat_cpu_us', 'server CPU per heartbeat', median(cpu), 'µs', 150, '<=', `rounds ${list(cpu, 1)} µs (bare: ${list(bareCpu, 1)}); ${fmt(median(hbs.map((m) => m.perGroup)))} heartbeats per transaction`);
    figure('peak_rss_mb', 'peak RSS of the server during the heartbeat run', peak / 2 ** 20, 'MB', 250, '<=', peakFromHwm ? 'VmHWM after clear_refs, highest round' : 'sampled every 100 ms');
    // Under writes that never pause the checkpoint worker cannot catch up completely; the server's backstop checkpoint bounds the WAL.
    figure('heartbeat_wal_max_mb', 'WAL file during the heartbeat run (max)', walMax / 2 ** 20, 'MB', 64, '<=', 'sampled every 100 ms');
    extra.heartbeatStatuses = hbs.map((m) => m.statuses);
  }

  if (want('capture')) {
    const cap = ratios('cap');
    const caps = rounds.map((r) => r.cap!);
    figure('capture_ratio', 'capture throughput vs bare endpoint', median(cap), '×', 0.4, '>=', `rounds ${list(cap)}; ${list(caps.map((m) => m.rps), 0)} req/s; server CPU ${list(caps.map((m) => m.cpuPerRequestUs), 0)} µs/capture, ${fmt(median(caps.map((m) => m.perGroup)))} per transaction; ${caps.reduce((n, m) => n + m.non2xx, 0)} non-2xx, ${caps.reduce((n, m) => n + m.errors, 0)} errors; ${cores(last.cap!)} (last round)`);
    extra.captureStatuses = caps.map((m) => m.statuses);
  }
}

/** Captures of new sessions (each with a new clientSessionId) on the seeded bindings, with an infobase and roles. */
function captureRequests(seeded: Awaited<ReturnType<typeof seedDatabase>>): () => CannonRequest[] {
  let next = 0;
  return () => [
    {
      method: 'POST',
      path: '/api/v1/sessions',
      setupRequest(req: CannonRequest) {
        const i = next++;
        return { ...req, headers: { 'content-type': 'application/json' }, body: captureBody(seeded.hosts, i, started) };
      },
    },
  ];
}

main().then(
  () => process.exit(0),
  (e) => {
    // Unmet targets exit 0; a benchmark that could not run says so.
    process.stderr.write(`benchmark failed: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
