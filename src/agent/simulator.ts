import {
  MonitorAgent,
  MonitorError,
  type AgentCommand,
  type AgentLogger,
  type AgentRole,
  type ConnectionType,
  type FetchLike,
  type MonitorAgentOptions,
  type PackageOrigin,
  type PackageReport,
} from './client.js';

// Many simulated applications driving the real agent API through the SDK:
// used by `npm run demo` and meant for load benchmarks. Everything moves on one
// tick timer; heartbeats go out on the server's interval from each agent.

/** A machine agents run on: one fingerprint, i.e. one bound host per license. */
export interface SimHost {
  hostname: string;
  os: string;
  ip: string;
  fingerprint: Record<string, string>;
}

/**
 * What kind of session a simulated user runs. Analytics kinds open packages
 * (Loginom-style session manager); cluster kinds are 1C-style infobase sessions.
 */
export type SessionKind = 'designer' | 'viewer' | 'integrator' | 'batch' | 'client' | 'background' | 'webservice' | 'external';

export interface SimProfile {
  /** For event lines. */
  name: string;
  licenseKey: string;
  app: { name: string; version: string };
  hosts: SimHost[];
  users: string[];
  /** End users' computers (Client IP); a server agent sends one per session. */
  clientIps?: string[];
  infobases?: { id: string; name: string }[];
  /** Features sessions capture and release now and then during their life. */
  features?: string[];
  /** Features captured at open (all or nothing). */
  openFeatures?: string[];
  mix: { kind: SessionKind; weight: number }[];
  /** Share of the concurrent sessions. */
  weight: number;
}

/** A capture tried now and then, typically one the server refuses (a full host list, a locked infobase…). */
export interface SimAttempt {
  name: string;
  licenseKey: string;
  host: SimHost;
  user: string;
  app?: { name: string; version: string };
  infobase?: { id: string; name: string };
  connectionType?: ConnectionType;
  features?: string[];
  permissionCode?: string;
  /** When admitted, how long the session stays before it is released. */
  keepMs?: number;
}

export type SimEventType = 'opened' | 'closed' | 'released' | 'refused' | 'admitted' | 'command' | 'feature' | 'saved' | 'error';

export interface SimulatorOptions {
  baseUrl: string;
  profiles: SimProfile[];
  /** Concurrent sessions to keep. */
  agents: number;
  /** How often the simulated work moves (progress, metrics). Default 1000 ms; 0 = only when tick() is called. */
  tickMs?: number;
  /** How long an interactive user stays; services stay three times as long. Default 45 s – 3 min. */
  lifetimeMs?: [number, number];
  /** Pause before a leaving user is replaced. Default 2–10 s. */
  replaceAfterMs?: [number, number];
  /** Spread of the first sessions' start. Default 3 s. */
  rampUpMs?: number;
  attempts?: SimAttempt[];
  /** One attempt (round robin) per period. Default 12 s. */
  attemptEveryMs?: number;
  /** Seeded randomness makes a run repeatable. */
  seed?: number;
  /** Options passed to every MonitorAgent (e.g. retry delays, timers). */
  agentOptions?: Partial<MonitorAgentOptions>;
  fetch?: FetchLike;
  logger?: AgentLogger;
  onEvent?: (type: SimEventType, text: string) => void;
  now?: () => number;
}

export interface SimStats {
  live: number;
  opened: number;
  refused: Record<string, number>;
  closedByServer: Record<string, number>;
  commands: number;
  featureCaptures: number;
  featureRefusals: number;
}

/** A small seeded PRNG (mulberry32): repeatable demo runs without a dependency. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAME_PARTS = ['buh', 'sklad', 'kassa', 'office', 'dir', 'it', 'sales', 'hr', 'logist', 'plan'];

/**
 * The invented name of a simulated address (the demo's "Resolve names by IP"
 * never touches DNS): 10.a.b.c → a stable name, anything else → null.
 */
export function simulatedHostName(ip: string): string | null {
  const m = /^10\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  if (!m) return null;
  const [a, b, c] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (a === 0) return `srv-${String(c).padStart(2, '0')}.demo.local`;
  return `${NAME_PARTS[(a + b * 3 + c) % NAME_PARTS.length]}-pc-${String(c).padStart(2, '0')}.demo.local`;
}

const NODES = ['Import from database', 'Join', 'Calculator', 'Grouping', 'Filter rows', 'Neural network', 'Forecast', 'Export to Excel'];
const SHARED = ['/shared/dictionaries.lgp', '/shared/connectors.lgp', '/shared/lib/common.lgp', '/shared/lib/date-utils.lgp'];
const INTERACTIVE_PATHS = ['/projects/sales.lgp', '/projects/churn.lgp', '/projects/stock-forecast.lgp', '/projects/cohorts.lgp', '/projects/abc-analysis.lgp'];
const SERVICE_PATHS = ['/services/scoring.lgp', '/services/price-check.lgp', '/services/sales.lgp', '/batch/nightly-load.lgp', '/batch/reconcile.lgp'];

const KIND_SETUP: Record<SessionKind, { connectionType: ConnectionType; roles?: AgentRole[]; service: boolean; analytics: boolean }> = {
  designer: { connectionType: 'client', roles: ['design', 'viewer'], service: false, analytics: true },
  viewer: { connectionType: 'client', roles: ['viewer'], service: false, analytics: true },
  integrator: { connectionType: 'webservice', roles: ['execute'], service: true, analytics: true },
  batch: { connectionType: 'background', roles: ['execute'], service: true, analytics: true },
  client: { connectionType: 'client', service: false, analytics: false },
  background: { connectionType: 'background', service: true, analytics: false },
  webservice: { connectionType: 'webservice', service: false, analytics: false },
  external: { connectionType: 'external', service: false, analytics: false },
};

/** A package file as the simulated server's file storage knows it: every session opening it sees the same version. */
interface SimFile {
  version: [number, number, number];
  createdAt: number;
  savedAt: number;
}

interface SimPackage {
  id: string;
  path: string | null;
  name: string;
  version: [number, number, number] | null;
  createdAt: number | null;
  savedAt: number | null;
  state: 'running' | 'idle';
  progress: number;
  nodeIndex: number;
  nodeStartedAt: number | null;
  refs: string[];
  origin: PackageOrigin;
  /** Service packages leave the session when their run ends. */
  leaveWhenDone: boolean;
}

/** One simulated user with their application. */
class SimSession {
  agent!: MonitorAgent;
  endsAt: number;
  sleeping = false;
  lastInputAt: number;
  packages: SimPackage[] = [];
  private packageSeq = 0;
  private metrics = { cpuTotal: 0, memTotal: 0, data: 0, calls: 0, dbms: 0, cpuCurrent: 0, memCurrent: 0, inCall: false };
  private serviceGapUntil = 0;
  label: string;
  closing = false;

  constructor(
    readonly sim: Simulator,
    readonly profile: SimProfile,
    readonly kind: SessionKind,
    readonly host: SimHost,
    readonly user: string,
    readonly infobase: { id: string; name: string } | undefined,
    readonly clientIp: string | undefined,
    now: number,
    lifetimeMs: number,
  ) {
    this.endsAt = now + lifetimeMs;
    this.lastInputAt = now;
    this.label = `${user}@${host.hostname}${infobase ? ` [${infobase.name}]` : ''}`;
  }

  get setup() {
    return KIND_SETUP[this.kind];
  }

  /** Moves the simulated work one tick forward and tells the agent what the next heartbeat says. */
  tick(now: number, rnd: () => number): void {
    const interactive = !this.setup.service && this.setup.connectionType === 'client';
    if (interactive) {
      // Users wander off (sleeping) and come back.
      if (this.sleeping ? rnd() < 0.08 : rnd() < 0.015 && !this.packages.some((p) => p.state === 'running')) this.sleeping = !this.sleeping;
    }
    if (!this.sleeping) {
      this.work(now, rnd);
      if (interactive && rnd() < 0.5) this.lastInputAt = now;
    }
    if (this.setup.analytics) this.movePackages(now, rnd);
    this.push(now);
  }

  private work(_now: number, rnd: () => number): void {
    const m = this.metrics;
    const heavy = this.kind === 'background' || this.kind === 'batch' ? 4 : 1;
    if (m.inCall) {
      m.cpuCurrent += Math.round((50 + rnd() * 400) * heavy);
      m.memCurrent += Math.round((rnd() - 0.3) * 2_000_000 * heavy);
      if (rnd() < 0.45) {
        // The call completes: its figures move into the totals.
        m.cpuTotal += m.cpuCurrent;
        m.memTotal += m.memCurrent;
        m.calls += 1;
        m.data += Math.round((5_000 + rnd() * 400_000) * heavy);
        m.dbms += Math.round(rnd() * 1_500_000 * heavy);
        m.cpuCurrent = 0;
        m.memCurrent = 0;
        m.inCall = false;
      }
    } else if (rnd() < 0.6) {
      m.inCall = true;
    }
    // Short calls that start and end within a tick.
    const quick = Math.floor(rnd() * 4 * heavy);
    m.calls += quick;
    m.cpuTotal += quick * Math.round(5 + rnd() * 40);
    m.data += quick * Math.round(rnd() * 20_000);
    m.dbms += quick * Math.round(rnd() * 50_000);
  }

  private newPackage(now: number, rnd: () => number, origin: PackageOrigin, path: string | null): SimPackage {
    const id = `p-${++this.packageSeq}`;
    const refs = SHARED.filter(() => rnd() < 0.35);
    if (refs.length === 0 && rnd() < 0.7) refs.push(SHARED[Math.floor(rnd() * SHARED.length)]);
    const name = path ? path.replace(/^.*\//, '').replace(/\.lgp$/, '') : `Untitled ${this.packageSeq}`;
    const file = path ? this.sim.file(path) : null;
    return {
      id,
      path,
      name,
      version: file ? [...file.version] : null,
      createdAt: file?.createdAt ?? null,
      savedAt: file?.savedAt ?? null,
      state: origin === 'interactive' ? 'idle' : 'running',
      progress: 0,
      nodeIndex: 0,
      nodeStartedAt: origin === 'interactive' ? null : now,
      refs,
      origin,
      leaveWhenDone: origin !== 'interactive',
    };
  }

  private movePackages(now: number, rnd: () => number): void {
    const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)];
    if (this.setup.service) {
      // An integrator or batch launcher runs one package at a time; finished ones leave (to the pool).
      if (this.packages.length === 0 && now >= this.serviceGapUntil) {
        const origin: PackageOrigin = this.kind === 'batch' ? 'batch' : 'integrator';
        const paths = SERVICE_PATHS.filter((p) => (origin === 'batch' ? p.startsWith('/batch/') : !p.startsWith('/batch/')));
        const count = origin === 'integrator' && rnd() < 0.4 ? 2 : 1;
        for (let i = 0; i < count; i++) this.packages.push(this.newPackage(now, rnd, origin, pick(paths)));
      }
    } else if (!this.sleeping) {
      if (this.packages.length < (this.kind === 'designer' ? 3 : 1) && rnd() < 0.15) {
        const draft = this.kind === 'designer' && rnd() < 0.15;
        const open = new Set(this.packages.map((p) => p.path));
        // Designers also edit what the integrator serves, so their saves invalidate pooled instances.
        const paths = INTERACTIVE_PATHS.concat(this.kind === 'designer' ? ['/services/sales.lgp', '/services/scoring.lgp'] : []).filter((p) => !open.has(p));
        this.packages.push(this.newPackage(now, rnd, 'interactive', draft || paths.length === 0 ? null : pick(paths)));
      }
      for (const p of this.packages) {
        if (p.state === 'idle' && rnd() < (this.kind === 'designer' ? 0.1 : 0.05)) {
          p.state = 'running';
          p.progress = 0;
          p.nodeIndex = Math.floor(rnd() * 3);
          p.nodeStartedAt = now;
        }
        // A designer saves now and then: pooled instances of that path become stale.
        if (this.kind === 'designer' && p.path && rnd() < 0.01) {
          const file = this.sim.save(p.path, now);
          p.savedAt = file.savedAt;
          p.version = [...file.version];
        }
      }
      if (this.packages.length > 0 && rnd() < 0.01) this.packages.splice(Math.floor(rnd() * this.packages.length), 1);
    }
    for (const p of [...this.packages]) {
      if (p.state !== 'running') continue;
      // Integrator calls are short; interactive runs and batch loads take a while.
      const step = p.origin === 'integrator' ? 25 + rnd() * 50 : p.origin === 'batch' ? 8 + rnd() * 25 : 4 + rnd() * 12;
      p.progress = Math.min(100, p.progress + Math.round(step));
      if (p.progress >= 100) {
        p.nodeIndex++;
        if (p.nodeIndex >= NODES.length || rnd() < (p.origin === 'interactive' ? 0.2 : 0.35)) {
          p.state = 'idle';
          p.progress = 0;
          p.nodeStartedAt = null;
          if (p.leaveWhenDone) {
            this.packages = this.packages.filter((x) => x !== p);
            this.serviceGapUntil = now + Math.round(1000 + rnd() * 6000);
          }
        } else {
          p.progress = 0;
          p.nodeStartedAt = now;
        }
      }
    }
  }

  /** Hands the current state to the agent; the next heartbeat carries it. */
  push(_now: number): void {
    const m = this.metrics;
    this.agent.report({
      sleeping: this.sleeping,
      lastInputAt: this.setup.service ? null : this.lastInputAt,
      metrics: {
        cpuMs: { current: m.cpuCurrent, total: m.cpuTotal },
        memoryBytes: { current: m.memCurrent, total: m.memTotal },
        dataBytes: { total: m.data },
        calls: { total: m.calls },
        dbmsBytes: { total: m.dbms },
      },
      ...(this.setup.analytics ? { packages: this.packages.map(packageReport) } : {}),
    });
  }

  /** Carries out a command from the monitor. */
  handle(cmd: AgentCommand): void {
    const matches = (p: SimPackage, c: { packageId?: string; path?: string }) =>
      (c.packageId === undefined || c.packageId === p.id) && (c.path === undefined || c.path === p.path);
    switch (cmd.type) {
      case 'stop':
        for (const p of this.packages) {
          if (p.state === 'running' && matches(p, cmd)) {
            p.state = 'idle';
            p.progress = 0;
            p.nodeStartedAt = null;
          }
        }
        this.sim.emit('command', `${this.label}: stop ${cmd.packageId ?? cmd.path ?? 'all packages'}`);
        break;
      case 'closePackage':
        this.packages = this.packages.filter((p) => !matches(p, cmd));
        this.sim.emit('command', `${this.label}: close package ${cmd.path}`);
        break;
      case 'clearPool':
        this.sim.emit('command', `${this.label}: clear pool`);
        break;
      case 'message':
        this.sim.emit('command', `${this.label}: message "${cmd.text}"`);
        break;
      default:
        this.sim.emit('command', `${this.label}: unknown command ${(cmd as { type: string }).type}`);
    }
    this.push(this.sim.now());
  }
}

function packageReport(p: SimPackage): PackageReport {
  return {
    id: p.id,
    path: p.path,
    name: p.name,
    version: p.version?.join('.') ?? null,
    createdAt: p.createdAt,
    savedAt: p.savedAt,
    state: p.state,
    progress: p.state === 'running' ? p.progress : null,
    node: p.state === 'running' ? NODES[p.nodeIndex % NODES.length] : null,
    nodeStartedAt: p.nodeStartedAt,
    refs: p.refs,
    origin: p.origin,
  };
}

/** Runs simulated agents until stop(). */
export class Simulator {
  private readonly opts: SimulatorOptions;
  private readonly rnd: () => number;
  readonly now: () => number;
  private readonly sessions = new Set<SimSession>();
  private readonly files = new Map<string, SimFile>();
  private pendingSpawns = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private tickTimer: NodeJS.Timeout | null = null;
  private attemptTimer: NodeJS.Timeout | null = null;
  private attemptIndex = 0;
  private readonly cooldownUntil = new Map<SimProfile, number>();
  private readonly attemptSessions = new Set<MonitorAgent>();
  private running = false;
  private readonly statsData: SimStats = { live: 0, opened: 0, refused: {}, closedByServer: {}, commands: 0, featureCaptures: 0, featureRefusals: 0 };

  constructor(opts: SimulatorOptions) {
    if (opts.profiles.length === 0) throw new Error('the simulator needs at least one profile');
    this.opts = opts;
    this.rnd = seededRandom(opts.seed ?? Date.now());
    this.now = opts.now ?? Date.now;
  }

  /** Starts the agents (spread over rampUpMs), the tick and the attempts. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const ramp = this.opts.rampUpMs ?? 3000;
    for (let i = 0; i < this.opts.agents; i++) this.spawnLater(Math.round((ramp * i) / Math.max(1, this.opts.agents)));
    const tickMs = this.opts.tickMs ?? 1000;
    if (tickMs > 0) this.tickTimer = setInterval(() => this.tick(), tickMs);
    if (this.opts.attempts?.length) {
      this.attemptTimer = setInterval(() => void this.attempt(), this.opts.attemptEveryMs ?? 12_000);
      this.later(Math.min(2000, ramp), () => void this.attempt());
    }
  }

  /** Stops everything and releases every open session. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.tickTimer) clearInterval(this.tickTimer);
    if (this.attemptTimer) clearInterval(this.attemptTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const agents = [...this.sessions].map((s) => s.agent).concat([...this.attemptSessions]);
    this.sessions.clear();
    this.attemptSessions.clear();
    await Promise.allSettled(agents.map((a) => a.close()));
  }

  stats(): SimStats {
    return { ...this.statsData, live: [...this.sessions].filter((s) => s.agent.state === 'open').length, refused: { ...this.statsData.refused }, closedByServer: { ...this.statsData.closedByServer } };
  }

  /** The agents currently simulated (for tests and benchmarks). */
  agents(): MonitorAgent[] {
    return [...this.sessions].map((s) => s.agent);
  }

  /** The file behind a package path, invented on first sight. */
  file(path: string): SimFile {
    let f = this.files.get(path);
    if (!f) {
      const now = this.now();
      f = {
        version: [1, Math.floor(this.rnd() * 6), Math.floor(this.rnd() * 10)],
        createdAt: now - Math.round((30 + this.rnd() * 300) * 86_400_000),
        savedAt: now - Math.round((1 + this.rnd() * 20) * 86_400_000),
      };
      this.files.set(path, f);
    }
    return f;
  }

  /** A designer saved the file: a new patch version and savedAt. */
  save(path: string, now: number): SimFile {
    const f = this.file(path);
    f.version = [f.version[0], f.version[1], f.version[2] + 1];
    f.savedAt = now;
    this.emit('saved', `${path} saved as ${f.version.join('.')}`);
    return f;
  }

  emit(type: SimEventType, text: string): void {
    if (type === 'command') this.statsData.commands++;
    this.opts.onEvent?.(type, text);
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.running) fn();
    }, ms);
    this.timers.add(t);
  }

  private spawnLater(ms: number): void {
    this.pendingSpawns++;
    this.later(ms, () => {
      this.pendingSpawns--;
      void this.spawn();
    });
  }

  private pick<T>(xs: T[]): T {
    return xs[Math.floor(this.rnd() * xs.length)];
  }

  private weighted<T extends { weight: number }>(xs: T[]): T {
    const total = xs.reduce((s, x) => s + x.weight, 0);
    let r = this.rnd() * total;
    for (const x of xs) {
      r -= x.weight;
      if (r < 0) return x;
    }
    return xs[xs.length - 1];
  }

  private async spawn(): Promise<void> {
    const now = this.now();
    const available = this.opts.profiles.filter((p) => (this.cooldownUntil.get(p) ?? 0) <= now);
    if (available.length === 0) {
      this.spawnLater(5000);
      return;
    }
    const profile = this.weighted(available);
    const kind = this.weighted(profile.mix).kind;
    const setup = KIND_SETUP[kind];
    const host = this.pick(profile.hosts);
    const user = kind === 'integrator' ? 'Integrator' : kind === 'batch' ? 'BatchLauncher' : this.pick(profile.users);
    const infobase = !setup.analytics && profile.infobases?.length ? this.pick(profile.infobases) : undefined;
    const clientIp = setup.service || !profile.clientIps?.length ? undefined : this.pick(profile.clientIps);
    const [lo, hi] = this.opts.lifetimeMs ?? [45_000, 180_000];
    const lifetime = Math.round((lo + this.rnd() * (hi - lo)) * (setup.service ? 3 : 1));
    const s = new SimSession(this, profile, kind, host, user, infobase, clientIp, now, lifetime);
    const features = profile.openFeatures?.filter(() => this.rnd() < 0.5);
    s.agent = new MonitorAgent({
      baseUrl: this.opts.baseUrl,
      licenseKey: profile.licenseKey,
      fingerprint: host.fingerprint,
      machine: { hostname: host.hostname, os: host.os, ip: host.ip },
      user,
      app: profile.app,
      features: features?.length ? features : undefined,
      infobase,
      connectionType: setup.connectionType,
      client: clientIp ? { ip: clientIp, hostname: simulatedHostName(clientIp)?.replace(/\..*$/, '').toUpperCase() } : undefined,
      roles: setup.roles,
      fetch: this.opts.fetch,
      logger: this.opts.logger,
      onCommand: (cmd) => s.handle(cmd),
      onClosed: (reason) => this.closedByServer(s, reason),
      ...this.opts.agentOptions,
    });
    this.sessions.add(s);
    s.tick(now, this.rnd);
    try {
      const info = await s.agent.open();
      this.statsData.opened++;
      this.emit('opened', `${profile.name}: ${s.label} opened session ${info.sessionNumber} (${kind})`);
    } catch (e) {
      this.sessions.delete(s);
      const code = e instanceof MonitorError ? e.code : 'error';
      this.statsData.refused[code] = (this.statsData.refused[code] ?? 0) + 1;
      this.emit('refused', `${profile.name}: ${s.label} refused: ${code}`);
      // A license that refuses (suspended, full) is left alone for a while.
      this.cooldownUntil.set(profile, now + 20_000);
      if (this.running) this.spawnLater(2000);
    }
  }

  private closedByServer(s: SimSession, reason: string): void {
    if (!this.sessions.delete(s)) return;
    this.statsData.closedByServer[reason] = (this.statsData.closedByServer[reason] ?? 0) + 1;
    this.emit('closed', `${s.profile.name}: ${s.label} closed by the server (${reason})`);
    if (this.running) this.replace();
  }

  private replace(): void {
    const [lo, hi] = this.opts.replaceAfterMs ?? [2000, 10_000];
    this.spawnLater(Math.round(lo + this.rnd() * (hi - lo)));
  }

  /** Moves every session one step: work, packages, features, leaving users, replacements. */
  tick(): void {
    if (!this.running) return;
    const now = this.now();
    for (const s of [...this.sessions]) {
      if (s.agent.state !== 'open' || s.closing) continue;
      if (now >= s.endsAt) {
        s.closing = true;
        this.sessions.delete(s);
        void s.agent.close().then(() => this.emit('released', `${s.profile.name}: ${s.label} left`));
        this.replace();
        continue;
      }
      s.tick(now, this.rnd);
      if (s.profile.features?.length && this.rnd() < 0.02) void this.toggleFeature(s);
    }
    // Keep the target even when spawns were refused.
    const missing = this.opts.agents - this.sessions.size - this.pendingSpawns;
    for (let i = 0; i < missing; i++) this.spawnLater(Math.round(this.rnd() * 3000));
  }

  private async toggleFeature(s: SimSession): Promise<void> {
    const held = s.agent.features;
    const candidates = s.profile.features!.filter((f) => !held.includes(f));
    try {
      if (held.length && (candidates.length === 0 || this.rnd() < 0.4)) {
        const f = this.pick(held);
        await s.agent.releaseFeature(f);
        this.emit('feature', `${s.label} released ${f}`);
      } else if (candidates.length) {
        const f = this.pick(candidates);
        try {
          await s.agent.captureFeature(f);
          this.statsData.featureCaptures++;
          this.emit('feature', `${s.label} captured ${f}`);
        } catch (e) {
          if (!(e instanceof MonitorError) || e.status === 0) throw e;
          this.statsData.featureRefusals++;
          this.emit('feature', `${s.label} refused ${f}: ${e.code}`);
        }
      }
    } catch (e) {
      this.emit('error', `${s.label}: feature call failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private async attempt(): Promise<void> {
    const attempts = this.opts.attempts ?? [];
    if (!attempts.length || !this.running) return;
    const a = attempts[this.attemptIndex++ % attempts.length];
    const agent = new MonitorAgent({
      baseUrl: this.opts.baseUrl,
      licenseKey: a.licenseKey,
      fingerprint: a.host.fingerprint,
      machine: { hostname: a.host.hostname, os: a.host.os, ip: a.host.ip },
      user: a.user,
      app: a.app ?? { name: 'Demo', version: '1.0.0' },
      infobase: a.infobase,
      connectionType: a.connectionType,
      features: a.features,
      permissionCode: a.permissionCode,
      fetch: this.opts.fetch,
      logger: this.opts.logger,
      ...this.opts.agentOptions,
      retry: { openAttempts: 2, ...this.opts.agentOptions?.retry },
    });
    try {
      const info = await agent.open();
      this.emit('admitted', `${a.name}: admitted as session ${info.sessionNumber}`);
      this.statsData.opened++;
      this.attemptSessions.add(agent);
      this.later(a.keepMs ?? 30_000, () => {
        this.attemptSessions.delete(agent);
        void agent.close();
      });
      if (!this.running) await agent.close();
    } catch (e) {
      const code = e instanceof MonitorError ? e.code : 'error';
      this.statsData.refused[code] = (this.statsData.refused[code] ?? 0) + 1;
      this.emit('refused', `${a.name}: refused: ${code}${e instanceof MonitorError && e.status ? ` — ${e.message}` : ''}`);
    }
  }
}
