import { randomUUID } from 'node:crypto';

// The client side of PROTOCOL.md §1–4 for a vendor's Node application (or a
// server agent acting for its users). Node 20's fetch only, no dependencies and
// no imports from the server, so this file can be copied into an application.

export type ConnectionType = 'client' | 'external' | 'background' | 'webservice';
export type AgentRole = 'admin' | 'design' | 'viewer' | 'execute';
export type PackageState = 'running' | 'idle';
export type PackageOrigin = 'interactive' | 'integrator' | 'batch';
export type CloseReason = 'terminated' | 'binding_reset' | 'timeout' | 'released' | 'license_suspended';
/** An ISO-8601 string, epoch milliseconds or a Date; sent as ISO-8601 UTC. */
export type TimeInput = string | number | Date;

export interface PackageReport {
  /** The application's own id, stable while the package is open (≤ 64 characters). */
  id: string;
  /** Absent for a draft. */
  path?: string | null;
  name?: string | null;
  version?: string | null;
  createdAt?: TimeInput | null;
  savedAt?: TimeInput | null;
  state?: PackageState;
  /** 0–100; sent only while running. */
  progress?: number | null;
  node?: string | null;
  nodeStartedAt?: TimeInput | null;
  /** Paths of shared packages it references. */
  refs?: string[];
  origin?: PackageOrigin;
}

export interface MetricsReport {
  cpuMs?: { current?: number; total?: number };
  /** Net bytes (allocated − freed); may be negative. */
  memoryBytes?: { current?: number; total?: number };
  dataBytes?: { total?: number };
  calls?: { total?: number };
  dbmsBytes?: { total?: number };
}

/** What the next heartbeat sends. Fields left undefined keep their previous value. */
export interface Report {
  sleeping?: boolean;
  /** Last real user input; null forgets it. */
  lastInputAt?: TimeInput | null;
  metrics?: MetricsReport | null;
  /** Full snapshot of the open packages ([] = none). Sent only when it changed since the server last took it. */
  packages?: PackageReport[];
}

export type AgentCommand =
  | { id: string; type: 'stop'; packageId?: string; path?: string }
  | { id: string; type: 'closePackage'; packageId?: string; path: string }
  | { id: string; type: 'clearPool' }
  | { id: string; type: 'message'; text: string };

export interface SessionInfo {
  sessionId: string;
  sessionNumber: number;
  hostId: number;
  clientSessionId: string;
  heartbeatIntervalSec: number;
  leaseTimeoutSec: number;
  features: string[];
}

export interface AgentLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Timer functions, injectable so tests drive time themselves. */
export interface AgentTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface MonitorAgentOptions {
  /** The monitor's origin, e.g. https://monitor.example.com (the SDK appends /api/v1). */
  baseUrl: string;
  licenseKey: string;
  /** Hardware/software components identifying the machine; compared exactly by the server. */
  fingerprint: Record<string, string>;
  machine: { hostname?: string; os?: string; ip?: string };
  user: string;
  app: { name: string; version?: string };
  /** Captured at open, all or nothing. */
  features?: string[];
  infobase?: { id: string; name?: string };
  connectionType?: ConnectionType;
  /** The end user's computer when a server agent opens for a user. */
  client?: { ip?: string; hostname?: string };
  roles?: AgentRole[];
  /** Passes an infobase lock. Never logged. */
  permissionCode?: string;
  /** Carries out a command; the SDK acknowledges it in the next heartbeat once this settles. */
  onCommand?: (command: AgentCommand, agent: MonitorAgent) => void | Promise<void>;
  /** The server closed the session for good (reason from the 410, or the refusal code of a reopen). */
  onClosed?: (reason: string, message: string | null) => void;
  /** A session was opened: at open() and after every reopen. */
  onOpened?: (info: SessionInfo, reopened: boolean) => void;
  /** A background failure: a heartbeat that failed or a reopen that was refused (the SDK keeps trying). */
  onError?: (error: MonitorError) => void;
  logger?: AgentLogger;
  /** Accept-Language for the servers' messages. */
  locale?: 'en' | 'ru';
  fetch?: FetchLike;
  timers?: AgentTimers;
  /** 0 ≤ x < 1; jitter and backoff. */
  random?: () => number;
  /** Epoch ms, for Retry-After dates. */
  now?: () => number;
  newId?: () => string;
  retry?: {
    /** First backoff delay; doubles per failed attempt. Default 1000. */
    initialDelayMs?: number;
    /** Backoff cap (Retry-After may ask for longer). Default 60000. */
    maxDelayMs?: number;
    /** Attempts of open() before it gives up. Default 5. */
    openAttempts?: number;
    /** Attempts of feature calls and close(). Default 3. */
    callAttempts?: number;
  };
  requestTimeoutMs?: number;
}

/** A refusal or failure. `status` 0 means no HTTP answer (network) or a local state problem. */
export class MonitorError extends Error {
  constructor(
    public readonly code: string,
    public readonly status: number,
    message: string,
    public readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'MonitorError';
  }
}

export type AgentState = 'new' | 'opening' | 'open' | 'reopening' | 'closed';

export const MAX_PACKAGES = 200;
export const MAX_STRING = 512;
const MAX_PACKAGE_ID = 64;
const MAX_REFS = 64;
// The server refuses bodies over 64 KiB; leave room for metrics and acks.
const MAX_BODY_BYTES = 60 * 1024;
const MAX_REMEMBERED_COMMANDS = 1000;

// Refusals a reopen keeps retrying: a seat, host slot or lock may free up later.
const TRANSIENT_CODES = new Set([
  'rate_limited',
  'host_limit_reached',
  'session_limit_reached',
  'feature_limit_reached',
  'infobase_locked',
  'network_error',
]);

interface HttpResult {
  status: number;
  body: any;
  retryAfterMs: number | null;
}

/**
 * Cuts a string to `max` Unicode code points (the server counts code points) and
 * replaces lone surrogates, which the server refuses, with U+FFFD: a name cut by
 * `slice` in the middle of an emoji, or a Windows file name, may carry one.
 */
export function truncate(s: string, max = MAX_STRING): string {
  const text = (s as unknown as { toWellFormed(): string }).toWellFormed();
  if (text.length <= max) return text;
  const cps = Array.from(text);
  return cps.length <= max ? text : cps.slice(0, max).join('');
}

// The server takes years 0001–9999 (toISOString writes others as ±YYYYYY).
const MIN_TIME = -62_135_596_800_000; // 0001-01-01T00:00:00.000Z (Date.UTC reads year 1 as 1901)
const MAX_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

function isoTime(t: TimeInput | null | undefined): string | undefined {
  if (t === null || t === undefined) return undefined;
  const ms = t instanceof Date ? t.getTime() : typeof t === 'number' ? t : Date.parse(t);
  if (!Number.isFinite(ms) || ms < MIN_TIME || ms > MAX_TIME) return undefined;
  return new Date(ms).toISOString();
}

function count(n: unknown, allowNegative = false): number | undefined {
  if (typeof n !== 'number' || !Number.isFinite(n)) return undefined;
  const v = Math.round(n);
  return Math.min(Number.MAX_SAFE_INTEGER, Math.max(allowNegative ? -Number.MAX_SAFE_INTEGER : 0, v));
}

function optStr(s: unknown, max = MAX_STRING): string | undefined {
  return typeof s === 'string' && s !== '' ? truncate(s, max) : undefined;
}

/** Makes a package snapshot acceptable to the server: ≤ 200 packages, unique ids, strings ≤ 512, enums checked. */
export function sanitizePackages(packages: PackageReport[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const ids = new Set<string>();
  for (const p of packages) {
    if (out.length >= MAX_PACKAGES) break;
    const id = optStr(p?.id, MAX_PACKAGE_ID);
    if (!id || ids.has(id)) continue;
    ids.add(id);
    const state: PackageState = p.state === 'running' ? 'running' : 'idle';
    const pkg: Record<string, unknown> = { id, state };
    const put = (k: string, v: unknown) => {
      if (v !== undefined) pkg[k] = v;
    };
    put('path', optStr(p.path));
    put('name', optStr(p.name));
    put('version', optStr(p.version));
    put('createdAt', isoTime(p.createdAt));
    put('savedAt', isoTime(p.savedAt));
    if (state === 'running' && p.progress !== null && p.progress !== undefined) {
      const progress = count(p.progress);
      if (progress !== undefined) pkg.progress = Math.min(100, progress);
    }
    put('node', optStr(p.node));
    put('nodeStartedAt', isoTime(p.nodeStartedAt));
    if (Array.isArray(p.refs)) {
      const refs = [...new Set(p.refs.filter((r) => typeof r === 'string' && r !== '').map((r) => truncate(r)))];
      pkg.refs = refs.slice(0, MAX_REFS);
    }
    pkg.origin = p.origin === 'integrator' || p.origin === 'batch' ? p.origin : 'interactive';
    out.push(pkg);
  }
  return out;
}

/** Keeps only well-formed metric figures (integers; memory may be negative). */
export function sanitizeMetrics(m: MetricsReport): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  const group = (name: keyof MetricsReport, withCurrent: boolean, negative: boolean) => {
    const src = m[name] as { current?: number; total?: number } | undefined;
    if (!src || typeof src !== 'object') return;
    const g: Record<string, number> = {};
    const total = count(src.total, negative);
    if (total !== undefined) g.total = total;
    if (withCurrent) {
      const current = count(src.current, negative);
      if (current !== undefined) g.current = current;
    }
    if (Object.keys(g).length) out[name] = g;
  };
  group('cpuMs', true, false);
  group('memoryBytes', true, true);
  group('dataBytes', false, false);
  group('calls', false, false);
  group('dbmsBytes', false, false);
  return out;
}

function parseRetryAfter(header: string | null, body: any, now: number): number | null {
  if (header) {
    const h = header.trim();
    if (/^\d+$/.test(h)) return Number(h) * 1000;
    const at = Date.parse(h);
    if (Number.isFinite(at)) return Math.max(0, at - now);
  }
  const sec = body?.error?.details?.retryAfterSec;
  return typeof sec === 'number' && sec >= 0 ? sec * 1000 : null;
}

function errorFrom(res: HttpResult): MonitorError {
  const e = res.body?.error;
  if (e && typeof e.code === 'string') {
    return new MonitorError(e.code, res.status, typeof e.message === 'string' ? e.message : e.code, e.details ?? {});
  }
  return new MonitorError(res.status >= 500 ? 'server_error' : 'unexpected_response', res.status, `HTTP ${res.status}`);
}

const retriable = (status: number) => status === 429 || status >= 500;

/**
 * A success whose body is not the protocol's answer (a proxy's or captive portal's page)
 * counts as no answer: retried like a network error, never taken for a session or heartbeat.
 */
function notAnAnswer(res: HttpResult, what: string): HttpResult {
  return { status: 0, body: new MonitorError('unexpected_response', res.status, `HTTP ${res.status}: the answer is not ${what}`), retryAfterMs: null };
}

/** A heartbeat interval from an answer: whole seconds up to a day (a timer beyond 2^31 ms would fire at once), else null. */
function intervalSec(v: unknown): number | null {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= 86_400 ? v : null;
}

/** The longest wait a Retry-After may ask of the agent; a longer one is read as this. */
const MAX_RETRY_AFTER_MS = 15 * 60_000;

/**
 * One monitored session: open() captures the license, heartbeats keep it,
 * commands arrive through onCommand, close() releases the seat.
 */
export class MonitorAgent {
  private readonly opts: MonitorAgentOptions;
  private readonly base: string;
  private readonly fetchFn: FetchLike;
  private readonly timers: AgentTimers;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly newId: () => string;
  private readonly log: AgentLogger;
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;

  private _state: AgentState = 'new';
  private _clientSessionId: string | null = null;
  private session: SessionInfo | null = null;
  private token: string | null = null;
  private wantedFeatures: string[];

  private sleeping = false;
  private lastInputAt: string | undefined;
  private metrics: Record<string, Record<string, number>> | undefined;
  private packages: Record<string, unknown>[] = [];
  private packagesVersion = 0;
  private packagesSentVersion = 0;
  private packagesReported = false;
  private minimalNext = false;

  private heartbeatTimer: unknown = null;
  private exchanging: Promise<void> | null = null;
  private failures = 0;
  private readonly sleeps = new Set<{ handle: unknown; resolve: () => void }>();

  private readonly seenCommands = new Set<string>();
  private readonly pendingAcks = new Set<string>();
  private readonly runningCommands = new Set<string>();
  private commandChain: Promise<void> = Promise.resolve();
  /**
   * An onCommand handler is running (they run one at a time): heartbeatNow() called then — from the
   * handler itself — must not wait for the handlers, itself among them. A flag, not an
   * AsyncLocalStorage: on Node 20 entering one turns on async hooks for the whole application.
   */
  private handlerRunning = false;

  constructor(opts: MonitorAgentOptions) {
    this.opts = opts;
    this.base = opts.baseUrl.replace(/\/+$/, '') + '/api/v1';
    this.fetchFn = opts.fetch ?? ((url, init) => fetch(url, init));
    this.timers = opts.timers ?? { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) };
    this.random = opts.random ?? Math.random;
    this.now = opts.now ?? Date.now;
    this.newId = opts.newId ?? randomUUID;
    this.log = opts.logger ?? { debug() {}, info() {}, warn() {}, error() {} };
    this.initialDelayMs = opts.retry?.initialDelayMs ?? 1000;
    this.maxDelayMs = opts.retry?.maxDelayMs ?? 60_000;
    this.wantedFeatures = [...(opts.features ?? [])];
  }

  get state(): AgentState {
    return this._state;
  }
  get clientSessionId(): string | null {
    return this._clientSessionId;
  }
  get sessionId(): string | null {
    return this.session?.sessionId ?? null;
  }
  get sessionNumber(): number | null {
    return this.session?.sessionNumber ?? null;
  }
  get hostId(): number | null {
    return this.session?.hostId ?? null;
  }
  get heartbeatIntervalSec(): number | null {
    return this.session?.heartbeatIntervalSec ?? null;
  }
  /** Features the session holds now. */
  get features(): string[] {
    return [...(this.session?.features ?? [])];
  }
  get info(): SessionInfo | null {
    return this.session ? { ...this.session, features: [...this.session.features] } : null;
  }

  /**
   * Captures the license. Network errors, 5xx and 429 are retried with the same
   * clientSessionId (so a retried open is idempotent); a refusal throws MonitorError.
   */
  async open(): Promise<SessionInfo> {
    if (this._state === 'open' && this.session) return this.info!;
    if (this._state === 'closed') throw new MonitorError('closed', 0, 'The agent was closed; create a new one.');
    if (this._state !== 'new') throw new MonitorError('busy', 0, 'open() is already in progress.');
    this._state = 'opening';
    this._clientSessionId ??= this.newId();
    const attempts = Math.max(1, this.opts.retry?.openAttempts ?? 5);
    try {
      for (let attempt = 0; ; attempt++) {
        const res = await this.requestOpen();
        this.assertNotClosed();
        if (res.status === 200 || res.status === 201) return this.opened(res.body, false);
        if (res.status === 410) {
          // This clientSessionId belongs to a session that has closed since: start afresh.
          this._clientSessionId = this.newId();
        } else if (res.status !== 0 && !retriable(res.status)) {
          throw errorFrom(res);
        }
        if (attempt + 1 >= attempts) throw res.status === 0 ? res.body : errorFrom(res);
        await this.sleep(this.backoff(attempt, res.retryAfterMs));
        this.assertNotClosed();
      }
    } catch (e) {
      if (this._state === 'opening') this._state = 'new';
      throw e;
    }
  }

  /** Sets what the next heartbeat sends; values are validated and truncated here. */
  report(r: Report): void {
    if (r.sleeping !== undefined) this.sleeping = !!r.sleeping;
    if (r.lastInputAt !== undefined) this.lastInputAt = isoTime(r.lastInputAt);
    if (r.metrics !== undefined) this.metrics = r.metrics ? sanitizeMetrics(r.metrics) : undefined;
    if (r.packages !== undefined) {
      const next = sanitizePackages(r.packages);
      if (!this.packagesReported || JSON.stringify(next) !== JSON.stringify(this.packages)) {
        this.packagesReported = true;
        this.packages = next;
        this.packagesVersion++;
      }
    }
  }

  /**
   * Sends a heartbeat now (instead of waiting for the timer) and waits for the commands it brought to be
   * handled — except while an onCommand handler runs, as when called from one (handlers run one at a time; it would wait for
   * itself): then it returns once the heartbeat is answered.
   */
  async heartbeatNow(): Promise<void> {
    // Read on entry: commands the exchange below brings may start running before it returns.
    const fromHandler = this.handlerRunning;
    if (this.exchanging) await this.exchanging;
    if (this._state !== 'open') return;
    this.clearHeartbeatTimer();
    await this.exchange();
    if (!fromHandler) await this.commandChain;
  }

  /** What printing the agent shows: its state and session, never its token, license key or permission code. */
  [Symbol.for('nodejs.util.inspect.custom')](): object {
    return this.toJSON();
  }

  toJSON(): object {
    return { state: this._state, sessionId: this.session?.sessionId ?? null, clientSessionId: this._clientSessionId };
  }

  /** Captures a feature during the session; answers the features held. Refusals throw MonitorError. */
  async captureFeature(name: string): Promise<string[]> {
    const { sessionId } = this.requireOpen();
    const res = await this.callWithRetry('POST', `/sessions/${encodeURIComponent(sessionId)}/features`, { feature: truncate(name) });
    if (res.status === 200) {
      if (!this.wantedFeatures.includes(name)) this.wantedFeatures.push(name);
      if (this.session?.sessionId === sessionId) {
        this.session.features = Array.isArray(res.body?.features) ? res.body.features : [...this.session.features, name];
      }
      return this.features;
    }
    throw this.failedCall(res, sessionId);
  }

  /** Releases a feature held by the session. */
  async releaseFeature(name: string): Promise<void> {
    this.wantedFeatures = this.wantedFeatures.filter((f) => f !== name);
    const { sessionId } = this.requireOpen();
    const res = await this.callWithRetry('DELETE', `/sessions/${encodeURIComponent(sessionId)}/features/${encodeURIComponent(name)}`);
    if (res.status === 204 || res.status === 200) {
      if (this.session?.sessionId === sessionId) this.session.features = this.session.features.filter((f) => f !== name);
      return;
    }
    throw this.failedCall(res, sessionId);
  }

  /** Stops heartbeats and releases the seat (DELETE). Safe to call more than once. */
  async close(): Promise<void> {
    if (this._state === 'closed') return;
    const wasOpen = this._state === 'open' && this.session && this.token;
    const sessionId = this.session?.sessionId;
    const opening = this.inflightOpen;
    this.stop();
    if (!wasOpen || !sessionId) {
      // A capture on the wire: its answer, and the release of the seat it opened, before close() returns.
      if (opening) await opening.catch(() => undefined);
      return;
    }
    const attempts = Math.max(1, this.opts.retry?.callAttempts ?? 3);
    for (let attempt = 0; attempt < attempts; attempt++) {
      const res = await this.tryRequest('DELETE', `/sessions/${encodeURIComponent(sessionId)}`, undefined, this.token!);
      if (res.status !== 0 && !retriable(res.status)) {
        if (res.status !== 204 && res.status !== 410 && res.status !== 401) this.log.warn('release refused', { status: res.status });
        return;
      }
      if (attempt + 1 < attempts) await this.wait(this.backoff(attempt, res.retryAfterMs));
    }
    this.log.warn('release failed; the server frees the seat at the lease timeout', { sessionId });
  }

  // ---- internals -----------------------------------------------------------

  private openBody(): Record<string, unknown> {
    const o = this.opts;
    const body: Record<string, unknown> = {
      licenseKey: o.licenseKey,
      clientSessionId: this._clientSessionId,
      fingerprint: o.fingerprint,
      user: truncate(o.user),
    };
    const strs = (obj: Record<string, string | undefined> | undefined) => {
      if (!obj) return undefined;
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(obj)) {
        const s = optStr(v);
        if (s !== undefined) out[k] = s;
      }
      return out;
    };
    if (o.machine) body.machine = strs(o.machine);
    if (o.client) body.client = strs(o.client);
    if (o.app) body.app = strs(o.app);
    if (o.infobase) body.infobase = strs(o.infobase);
    if (o.roles?.length) body.roles = o.roles;
    if (o.connectionType) body.connectionType = o.connectionType;
    if (this.wantedFeatures.length) body.features = this.wantedFeatures.map((f) => truncate(f));
    if (o.permissionCode) body.permissionCode = o.permissionCode;
    return body;
  }

  /** POST /sessions; a 200/201 without a session id and token is no answer (notAnAnswer). */
  /** A capture on the wire; close() waits for it (and for the release of what it opened after close). */
  private inflightOpen: Promise<HttpResult> | null = null;

  private requestOpen(): Promise<HttpResult> {
    const p = this.sendOpen();
    this.inflightOpen = p;
    void p.finally(() => {
      if (this.inflightOpen === p) this.inflightOpen = null;
    });
    return p;
  }

  private async sendOpen(): Promise<HttpResult> {
    const res = await this.tryRequest('POST', '/sessions', this.openBody());
    if (res.status !== 200 && res.status !== 201) return res;
    const b = res.body;
    if (!(typeof b?.sessionId === 'string' && b.sessionId !== '' && typeof b.token === 'string' && b.token !== '')) return notAnAnswer(res, 'a session');
    // close() came while the capture was on the wire: release what the server opened meanwhile, before the
    // answer goes on (close() awaits this promise, so a process exiting after close() leaves no seat held).
    if (this._state === 'closed') await this.releaseOrphan(b);
    return res;
  }

  private opened(body: any, reopened: boolean): SessionInfo {
    this.session = {
      sessionId: String(body.sessionId),
      sessionNumber: Number(body.sessionNumber),
      hostId: Number(body.hostId),
      clientSessionId: this._clientSessionId!,
      heartbeatIntervalSec: intervalSec(body.heartbeatIntervalSec) ?? 60,
      leaseTimeoutSec: Number(body.leaseTimeoutSec) || 300,
      features: Array.isArray(body.features) ? body.features : [],
    };
    this.token = String(body.token);
    this._state = 'open';
    this.failures = 0;
    // A new session has seen no snapshot and none of the old session's commands.
    this.packagesSentVersion = this.packagesReported ? -1 : this.packagesVersion;
    this.pendingAcks.clear();
    this.log.info(reopened ? 'session reopened' : 'session opened', {
      sessionId: this.session.sessionId,
      sessionNumber: this.session.sessionNumber,
    });
    this.scheduleHeartbeat();
    const info = this.info!;
    try {
      this.opts.onOpened?.(info, reopened);
    } catch (e) {
      this.log.error('onOpened threw', { error: String(e) });
    }
    return info;
  }

  private heartbeatBody(): { body: Record<string, unknown>; acks: string[]; packagesVersion: number | null } {
    const acks = [...this.pendingAcks];
    const body: Record<string, unknown> = { sleeping: this.sleeping };
    if (acks.length) body.acks = acks;
    // After a 400/413 send the bare minimum once, so the lease survives our own bad data.
    if (this.minimalNext) return { body, acks, packagesVersion: null };
    if (this.lastInputAt) body.lastInputAt = this.lastInputAt;
    if (this.metrics && Object.keys(this.metrics).length) body.metrics = this.metrics;
    let packagesVersion: number | null = null;
    if (this.packagesSentVersion !== this.packagesVersion) {
      body.packages = this.packages;
      packagesVersion = this.packagesVersion;
      let size = Buffer.byteLength(JSON.stringify(body));
      while (size > MAX_BODY_BYTES && (body.packages as unknown[]).length > 0) {
        body.packages = (body.packages as unknown[]).slice(0, Math.floor((body.packages as unknown[]).length / 2));
        size = Buffer.byteLength(JSON.stringify(body));
      }
      if ((body.packages as unknown[]).length < this.packages.length) {
        this.log.warn('package snapshot cut to fit the request size limit', { sent: (body.packages as unknown[]).length, total: this.packages.length });
      }
    }
    return { body, acks, packagesVersion };
  }

  private exchange(): Promise<void> {
    if (this.exchanging) return this.exchanging;
    const p = this.doExchange().finally(() => {
      this.exchanging = null;
    });
    this.exchanging = p;
    return p;
  }

  private async doExchange(): Promise<void> {
    if (this._state !== 'open' || !this.session) return;
    const session = this.session;
    const { body, acks, packagesVersion } = this.heartbeatBody();
    const wasMinimal = this.minimalNext;
    let res = await this.tryRequest('POST', `/sessions/${encodeURIComponent(session.sessionId)}/heartbeat`, body, this.token!);
    // Taken for a heartbeat, it would drop the acks and the snapshot the server never saw.
    if (res.status === 200 && !Array.isArray(res.body?.commands)) res = notAnAnswer(res, 'a heartbeat answer');
    // Closed or reopened while the request was out: its answer is stale.
    if (this._state !== 'open' || this.session !== session) return;
    if (res.status === 200) {
      this.failures = 0;
      if (wasMinimal) this.minimalNext = false;
      for (const id of acks) this.pendingAcks.delete(id);
      if (packagesVersion !== null) this.packagesSentVersion = packagesVersion;
      session.heartbeatIntervalSec = intervalSec(res.body?.heartbeatIntervalSec) ?? session.heartbeatIntervalSec;
      this.scheduleHeartbeat();
      for (const cmd of res.body.commands as AgentCommand[]) this.acceptCommand(cmd);
      return;
    }
    if (res.status === 410) {
      const d = res.body?.error?.details ?? {};
      this.sessionClosed(typeof d.reason === 'string' ? d.reason : 'terminated', typeof d.message === 'string' ? d.message : null);
      return;
    }
    if (res.status === 401) {
      // The token was replaced (an idempotent repeat elsewhere) or the session is unknown:
      // an open with the same clientSessionId answers a new token, 410 or a new session.
      this.log.warn('heartbeat unauthorized; reopening', { sessionId: session.sessionId });
      this.startReopen(false);
      return;
    }
    const err = res.status === 0 ? (res.body as MonitorError) : errorFrom(res);
    this.emitError(err);
    if (res.status === 400 || res.status === 413) {
      if (wasMinimal) this.pendingAcks.clear();
      this.log.error('heartbeat refused as invalid; sending a minimal heartbeat next', { status: res.status, details: err.details });
      this.minimalNext = true;
      this.scheduleHeartbeat(this.initialDelayMs);
      return;
    }
    if (res.status === 0 || retriable(res.status)) {
      const delay = Math.min(this.backoff(this.failures, null), session.heartbeatIntervalSec * 1000);
      this.failures++;
      this.scheduleHeartbeat(Math.max(delay, res.retryAfterMs ?? 0));
      return;
    }
    this.scheduleHeartbeat();
  }

  private acceptCommand(cmd: AgentCommand): void {
    if (!cmd || typeof cmd.id !== 'string') return;
    if (this.seenCommands.has(cmd.id)) {
      // At-least-once delivery: a repeat is done (or being done); make sure it is acknowledged.
      if (!this.runningCommands.has(cmd.id)) this.pendingAcks.add(cmd.id);
      return;
    }
    this.seenCommands.add(cmd.id);
    if (this.seenCommands.size > MAX_REMEMBERED_COMMANDS) {
      this.seenCommands.delete(this.seenCommands.values().next().value!);
    }
    this.runningCommands.add(cmd.id);
    const session = this.session;
    this.commandChain = this.commandChain.then(async () => {
      try {
        this.handlerRunning = true;
        if (this._state !== 'closed') await this.opts.onCommand?.(cmd, this);
      } catch (e) {
        // Acknowledged anyway: a command that fails would otherwise come back forever.
        this.log.error('command handler failed', { commandId: cmd.id, type: cmd.type, error: e instanceof Error ? e.message : String(e) });
      } finally {
        this.handlerRunning = false;
        this.runningCommands.delete(cmd.id);
        if (this.session === session) this.pendingAcks.add(cmd.id);
      }
    });
  }

  private sessionClosed(reason: string, message: string | null): void {
    if (reason === 'timeout') {
      this.log.warn('session timed out; opening a new one', { sessionId: this.session?.sessionId });
      this.startReopen(true);
      return;
    }
    this.log.warn('session closed by the server', { sessionId: this.session?.sessionId, reason });
    this.stop();
    try {
      this.opts.onClosed?.(reason, message);
    } catch (e) {
      this.log.error('onClosed threw', { error: String(e) });
    }
  }

  private startReopen(newClientSessionId: boolean): void {
    this.clearHeartbeatTimer();
    this._state = 'reopening';
    if (newClientSessionId) this._clientSessionId = this.newId();
    void this.reopenLoop();
  }

  /** Opens again in the background with backoff until it works, is refused for good, or close() is called. */
  private async reopenLoop(): Promise<void> {
    let retryAfterMs: number | null = null;
    for (let attempt = 0; this._state === 'reopening'; attempt++) {
      // Wait first: after a server restart many agents time out together.
      await this.sleep(this.backoff(attempt, retryAfterMs), true);
      if (this._state !== 'reopening') return;
      const res = await this.requestOpen();
      if (this._state !== 'reopening') return;
      if (res.status === 200 || res.status === 201) {
        this.opened(res.body, true);
        return;
      }
      retryAfterMs = res.retryAfterMs;
      if (res.status === 410) {
        const d = res.body?.error?.details ?? {};
        const reason = typeof d.reason === 'string' ? d.reason : 'terminated';
        if (reason !== 'timeout') {
          this.sessionClosed(reason, typeof d.message === 'string' ? d.message : null);
          return;
        }
        this._clientSessionId = this.newId();
      } else {
        const err = res.status === 0 ? (res.body as MonitorError) : errorFrom(res);
        this.emitError(err);
        if (!TRANSIENT_CODES.has(err.code) && !(res.status === 0 || retriable(res.status))) {
          this.stop();
          this.log.error('reopen refused; the agent stops', { code: err.code });
          try {
            this.opts.onClosed?.(err.code, err.message);
          } catch (e) {
            this.log.error('onClosed threw', { error: String(e) });
          }
          return;
        }
      }
    }
  }

  /** close() came while an open was on the wire: release what the server opened meanwhile. */
  private async releaseOrphan(body: any): Promise<void> {
    await this.tryRequest('DELETE', `/sessions/${encodeURIComponent(String(body.sessionId))}`, undefined, String(body.token));
  }

  private emitError(err: MonitorError): void {
    try {
      this.opts.onError?.(err);
    } catch (e) {
      this.log.error('onError threw', { error: String(e) });
    }
  }

  private requireOpen(): SessionInfo {
    if (this._state !== 'open' || !this.session || !this.token) {
      throw new MonitorError('not_open', 0, 'The session is not open.');
    }
    return this.session;
  }

  private async callWithRetry(method: string, path: string, body?: unknown): Promise<HttpResult> {
    const attempts = Math.max(1, this.opts.retry?.callAttempts ?? 3);
    for (let attempt = 0; ; attempt++) {
      const res = await this.tryRequest(method, path, body, this.token!);
      if ((res.status !== 0 && !retriable(res.status)) || attempt + 1 >= attempts) return res;
      await this.wait(this.backoff(attempt, res.retryAfterMs));
      if (this._state !== 'open') return res;
    }
  }

  private failedCall(res: HttpResult, sessionId: string): MonitorError {
    if (res.status === 0) return res.body as MonitorError;
    const err = errorFrom(res);
    if (res.status === 410 && this.session?.sessionId === sessionId && this._state === 'open') {
      const d = err.details as { reason?: string; message?: string };
      this.sessionClosed(d.reason ?? 'terminated', d.message ?? null);
    }
    return err;
  }

  /** One HTTP exchange; a network failure is status 0 with the MonitorError as body. */
  private async tryRequest(method: string, path: string, body?: unknown, token?: string): Promise<HttpResult> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (token) headers.Authorization = `Bearer ${token}`;
    if (this.opts.locale) headers['Accept-Language'] = this.opts.locale;
    let response: Response;
    try {
      response = await this.fetchFn(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.opts.requestTimeoutMs ?? 30_000),
      });
    } catch (e) {
      const cause = e instanceof Error ? ((e as { cause?: { code?: string } }).cause?.code ?? e.message) : String(e);
      this.log.debug('request failed', { method, path: path.replace(/\/sessions\/[^/]+/, '/sessions/…'), cause });
      return { status: 0, body: new MonitorError('network_error', 0, `Network error: ${cause}`), retryAfterMs: null };
    }
    let parsed: any = null;
    const text = await response.text().catch(() => '');
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = null;
      }
    }
    const res: HttpResult = { status: response.status, body: parsed, retryAfterMs: parseRetryAfter(response.headers.get('retry-after'), parsed, this.now()) };
    // A 410 ends the session for good: only the protocol's own says so. A proxy's 410 page (HTML, another
    // code) is no answer at all, retried like a network error rather than stopping the application.
    if (res.status === 410 && parsed?.error?.code !== 'session_closed') return notAnAnswer(res, 'the monitor\'s session_closed');
    return res;
  }

  /**
   * Exponential backoff with jitter (50–100 % of the step), at least what Retry-After asks, at most
   * MAX_RETRY_AFTER_MS: a timer longer than 2^31 − 1 ms fires at once in Node, so a proxy's
   * "Retry-After: 3000000" (or a date weeks ahead) would have made a retry loop of hundreds a second.
   */
  private backoff(attempt: number, retryAfterMs: number | null): number {
    const step = Math.min(this.maxDelayMs, this.initialDelayMs * 2 ** Math.min(attempt, 30));
    const delay = Math.round(step * (0.5 + this.random() * 0.5));
    return Math.min(Math.max(delay, retryAfterMs ?? 0), Math.max(MAX_RETRY_AFTER_MS, this.maxDelayMs));
  }

  private scheduleHeartbeat(delayMs?: number): void {
    this.clearHeartbeatTimer();
    if (this._state !== 'open' || !this.session) return;
    // ±10 % jitter spreads agents that started together.
    const ms = delayMs ?? Math.round(this.session.heartbeatIntervalSec * 1000 * (0.9 + this.random() * 0.2));
    this.heartbeatTimer = this.backgroundTimer(() => {
      this.heartbeatTimer = null;
      void this.exchange();
    }, ms);
  }

  private clearHeartbeatTimer(): void {
    if (this.heartbeatTimer !== null) this.timers.clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  /**
   * A timer of background work (heartbeats, reopening): it must not keep an
   * application alive that wants to exit. The delays of calls the application
   * awaits (open, features, close) do keep it alive: a script awaiting open()
   * through a retry would otherwise exit silently, the promise never settled.
   */
  private backgroundTimer(fn: () => void, ms: number): unknown {
    const handle = this.timers.setTimeout(fn, ms);
    (handle as { unref?: () => void } | null)?.unref?.();
    return handle;
  }

  /** A delay that close() cuts short; `background` for the reopen loop's. */
  private sleep(ms: number, background = false): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        handle: null as unknown,
        resolve: () => {
          this.sleeps.delete(entry);
          resolve();
        },
      };
      entry.handle = background ? this.backgroundTimer(entry.resolve, ms) : this.timers.setTimeout(entry.resolve, ms);
      this.sleeps.add(entry);
    });
  }

  /** A delay close() itself uses (the agent is already stopped then). */
  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => this.timers.setTimeout(resolve, ms));
  }

  // A method, so TypeScript does not narrow the state across awaits.
  private isClosed(): boolean {
    return this._state === 'closed';
  }

  private assertNotClosed(): void {
    if (this.isClosed()) throw new MonitorError('closed', 0, 'The agent was closed.');
  }

  private stop(): void {
    this._state = 'closed';
    this.clearHeartbeatTimer();
    for (const s of [...this.sleeps]) {
      this.timers.clearTimeout(s.handle);
      s.resolve();
    }
  }
}
