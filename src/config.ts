import { isIP } from 'node:net';
import path from 'node:path';

/** Everything the server reads from its environment, validated once at boot. */
export interface Config {
  port: number;
  host: string;
  databasePath: string;
  /** Origin used for links printed by the server and for the Secure cookie flag. */
  publicUrl: string | null;
  secureCookies: boolean;
  /** Addresses (exact IPs) of proxies whose X-Forwarded-For is believed. */
  trustProxy: string[];
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  webSessionIdleMinutes: number;
  webSessionMaxHours: number;
  setupLinkMinutes: number;
  passwordHashConcurrency: number;
  loginMaxFailuresPerAccount: number;
  loginMaxFailuresPerIp: number;
  loginWindowSeconds: number;
  captureRatePerIp: number;
  captureRatePerKey: number;
  captureRateWindowSeconds: number;
  defaultLocale: 'en' | 'ru';
  defaultTimeZone: string;
  /** Benchmark-only endpoints (a bare JSON POST, process CPU and memory); never on by default. */
  benchEndpoints: boolean;
}

export class ConfigError extends Error {
  constructor(
    public readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
  }
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const text = raw.trim();
  // A negative whole number is a number out of range, not "not a whole number"; what was typed is echoed as typed.
  if (!/^-?\d+$/.test(text)) throw new ConfigError(name, `must be a whole number between ${min} and ${max}, got "${raw}"`);
  const n = Number(text);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${text.length > 24 ? `${text.slice(0, 24)}…` : text}`);
  return n;
}

function oneOf<T extends string>(env: Env, name: string, def: T, allowed: readonly T[]): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

function publicUrl(env: Env): string | null {
  const raw = env.PUBLIC_URL;
  if (raw === undefined || raw === '') return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('PUBLIC_URL', `must be an absolute URL such as https://monitor.example.com, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError('PUBLIC_URL', `must start with http:// or https://, got "${raw}"`);
  }
  // The server answers at the root of its origin (pages link /assets/…, /setup/…): a path, a query or
  // a user name would make links that lead nowhere, or be dropped without a word.
  if (url.pathname.replace(/\/+$/, '') !== '' || url.search || url.hash || url.username || url.password) {
    throw new ConfigError('PUBLIC_URL', `must be an origin only, such as https://monitor.example.com (no path, query or user name; the monitor answers at the root), got "${raw}"`);
  }
  return url.origin;
}

/**
 * An address as the server sees a connection's: IPv4 for an IPv4-mapped IPv6 address, IPv6 in its
 * short lower-case form (0:0:0:0:0:0:0:1 is ::1), so that the list is compared exactly.
 */
function canonicalIp(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
  if (mapped && isIP(mapped) === 4) return mapped;
  if (isIP(ip) !== 6) return ip;
  try {
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return ip.toLowerCase(); // a zone id (fe80::1%eth0), which URL does not take
  }
}

function trustProxy(env: Env): string[] {
  const raw = env.TRUST_PROXY;
  if (raw === undefined || raw.trim() === '') return [];
  const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const item of items) {
    // Exact addresses only: a mistyped one (10.0.0.300) or a range would never match, and every
    // user behind the proxy would then share its address in the login and capture rate limits.
    if (!isIP(item)) {
      throw new ConfigError('TRUST_PROXY', `must be a comma-separated list of proxy IP addresses, got "${item}"`);
    }
  }
  return items.map(canonicalIp);
}

// Letters, digits and inner hyphens per label (RFC 1123), with a last label that is not all digits
// (RFC 3696), so a mistyped IPv4 address such as 10.0.0.300 is not taken for a name.
const HOST_NAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*(?=[a-z0-9-]*[a-z])[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

function host(env: Env): string {
  const raw = env.HOST;
  if (raw === undefined || raw === '') return '0.0.0.0';
  if (isIP(raw) || HOST_NAME.test(raw)) return raw;
  throw new ConfigError('HOST', `must be an IP address of this machine (0.0.0.0 for all, 127.0.0.1, ::) or a host name such as localhost, got "${raw}"`);
}

function timeZone(env: Env): string {
  const raw = env.TZ_DEFAULT;
  if (raw === undefined || raw === '') return 'UTC';
  try {
    new Intl.DateTimeFormat('en', { timeZone: raw });
  } catch {
    throw new ConfigError('TZ_DEFAULT', `is not a known IANA time zone: "${raw}"`);
  }
  return raw;
}

/** Reads and validates the configuration; throws ConfigError naming the bad variable. */
export function loadConfig(env: Env = process.env): Readonly<Config> {
  const url = publicUrl(env);
  const config: Config = {
    port: int(env, 'PORT', 3000, 0, 65535),
    host: host(env),
    databasePath: path.resolve(env.DATABASE_PATH || './data/monitor.db'),
    publicUrl: url,
    secureCookies: url !== null && url.startsWith('https://'),
    trustProxy: trustProxy(env),
    logLevel: oneOf(env, 'LOG_LEVEL', 'info', ['debug', 'info', 'warn', 'error'] as const),
    webSessionIdleMinutes: int(env, 'SESSION_IDLE_MINUTES', 60, 1, 7 * 24 * 60),
    webSessionMaxHours: int(env, 'SESSION_MAX_HOURS', 12, 1, 24 * 90),
    setupLinkMinutes: int(env, 'SETUP_LINK_MINUTES', 30, 1, 24 * 60),
    passwordHashConcurrency: int(env, 'PASSWORD_HASH_CONCURRENCY', 2, 1, 64),
    loginMaxFailuresPerAccount: int(env, 'LOGIN_MAX_FAILURES_PER_ACCOUNT', 5, 1, 1000),
    loginMaxFailuresPerIp: int(env, 'LOGIN_MAX_FAILURES_PER_IP', 30, 1, 100000),
    loginWindowSeconds: int(env, 'LOGIN_WINDOW_SECONDS', 900, 1, 86400),
    captureRatePerIp: int(env, 'CAPTURE_RATE_PER_IP', 1200, 1, 10_000_000),
    captureRatePerKey: int(env, 'CAPTURE_RATE_PER_KEY', 1200, 1, 10_000_000),
    captureRateWindowSeconds: int(env, 'CAPTURE_RATE_WINDOW_SECONDS', 60, 1, 3600),
    defaultLocale: oneOf(env, 'DEFAULT_LOCALE', 'en', ['en', 'ru'] as const),
    defaultTimeZone: timeZone(env),
    benchEndpoints: oneOf(env, 'BENCH_ENDPOINTS', '0', ['0', '1'] as const) === '1',
  };
  // An idle limit longer than the whole sign-in's would never apply: a mistake in one of the two.
  if (config.webSessionIdleMinutes > config.webSessionMaxHours * 60) {
    throw new ConfigError(
      'SESSION_IDLE_MINUTES',
      `must not be longer than SESSION_MAX_HOURS (${config.webSessionMaxHours} h = ${config.webSessionMaxHours * 60} min), got ${config.webSessionIdleMinutes}`,
    );
  }
  return Object.freeze(config);
}

/** A config for tests and tools: defaults plus overrides, no environment read. */
export function testConfig(overrides: Partial<Config> = {}): Readonly<Config> {
  return Object.freeze({ ...loadConfig({}), databasePath: ':memory:', ...overrides });
}

/** The server's own address for links when PUBLIC_URL is not set: HOST when it names one address, else localhost. */
export function localBase(host: string, port: number): string {
  if (!host || host === '0.0.0.0' || host === '::') return `http://localhost:${port}`;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
