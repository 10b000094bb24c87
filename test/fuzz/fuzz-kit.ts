// Shared pieces of the fuzz tests: random and mutated inputs, the "never a 5xx,
// never a stack trace" check, and a fingerprint of the database to prove a
// refused request wrote nothing.
import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import fc from 'fast-check';
import { expect } from 'vitest';
import type { TestApp } from '../helpers/app.js';

/** Strings chosen to break parsers, SQL, HTML and number handling. */
/** A property's time limit: hundreds of HTTP round trips take minutes on a loaded 2-core machine, not the default 20 s (and a timed-out property keeps writing into the next test). */
export const FUZZ_TIMEOUT_MS = 120_000;

export const NASTY_STRINGS = [
  '',
  ' ',
  '0',
  '-1',
  '1e309',
  'NaN',
  'null',
  'undefined',
  'true',
  '[]',
  '{}',
  '__proto__',
  'constructor',
  'toString',
  "' OR 1=1 --",
  '"; drop table sessions; --',
  '%00',
  '\u0000',
  '\ud800',
  '\udfff\ud800',
  '\u202e\u0041',
  'e\u0301',
  '\uFEFF',
  '<script>alert(1)</script>',
  '../../etc/passwd',
  '%2e%2e%2f',
  'A'.repeat(513),
  'Я'.repeat(600),
  '😀'.repeat(300),
  '9'.repeat(40),
  '1.5',
  '2026-11-21T10:00:00.000Z',
  '2026-13-45T99:99:99Z',
  '+275760-09-13T00:00:00.000Z',
  'eyJ4IjoxfQ',
  'W10',
  'WyJhIiwxXQ',
  'bnVsbA',
  '%',
  '%FF',
  '%ED%A0%80',
  '%zz',
];

export const nastyString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.integer().map(String) },
);

const NASTY_NUMBERS = [0, -1, 1, 0.5, -0.0, 2 ** 53, 2 ** 53 - 1, -(2 ** 53), 1e300, Number.MAX_SAFE_INTEGER, 4294967296, 101];

/** Any JSON value, biased towards the edges. */
export const nastyJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: nastyString },
  { weight: 2, arbitrary: fc.constantFrom(...NASTY_NUMBERS) },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false, [], {}) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.array(nastyString, { maxLength: 5 }) },
);

type Json = unknown;

/** A valid body with a few random changes: a value replaced, a key dropped, an unknown key added, a nesting swapped. */
export function mutated(valid: Record<string, Json>): fc.Arbitrary<unknown> {
  const paths = allPaths(valid);
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), path: fc.constantFrom(...paths), value: nastyJson }),
    fc.record({ kind: fc.constant('delete' as const), path: fc.constantFrom(...paths) }),
    fc.record({ kind: fc.constant('add' as const), path: fc.constantFrom([] as string[], ...paths), key: fc.oneof(nastyString, fc.constantFrom('__proto__', 'constructor')), value: nastyJson }),
  );
  return fc.oneof(fc.constant([]), fc.array(mutation, { minLength: 1, maxLength: 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 })).map((ms) => {
    const body = structuredClone(valid) as Record<string, Json>;
    for (const m of ms) apply(body, m);
    return body;
  });
}

function allPaths(v: Json, prefix: string[] = []): string[][] {
  if (v === null || typeof v !== 'object') return prefix.length ? [prefix] : [];
  const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x] as const) : Object.entries(v);
  const out: string[][] = prefix.length ? [prefix] : [];
  for (const [k, x] of entries) out.push(...allPaths(x, [...prefix, k]));
  return out.length ? out : [prefix];
}

function apply(body: Record<string, Json>, m: { kind: 'set' | 'delete' | 'add'; path: string[]; key?: string; value?: Json }) {
  let node: any = body;
  const path = m.path;
  const last = m.kind === 'add' ? undefined : path[path.length - 1];
  const walk = m.kind === 'add' ? path : path.slice(0, -1);
  for (const k of walk) {
    if (node === null || typeof node !== 'object' || !(k in node)) return;
    node = node[k];
  }
  // Unknown keys go into objects only: a numeric key on an array would make it sparse and billions long.
  if (node === null || typeof node !== 'object' || (m.kind === 'add' && Array.isArray(node))) return;
  // Generated values may be shared instances (constants): never mutate them in place.
  const value = structuredClone(m.value);
  if (m.kind === 'add') Object.defineProperty(node, m.key!, { value, enumerable: true, configurable: true, writable: true });
  else if (m.kind === 'delete') delete node[last!];
  else node[last!] = value;
}

/** A body as sent on the wire: JSON of a value, or raw text/bytes that may not be JSON at all. */
export function wireBody(value: fc.Arbitrary<unknown>): fc.Arbitrary<string | Buffer> {
  return fc.oneof(
    { weight: 6, arbitrary: value.map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 1, arbitrary: value.map((v) => (JSON.stringify(v) ?? '').slice(0, -1)) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.from(b)) },
    { weight: 1, arbitrary: fc.constantFrom('', 'null', '[]', '"x"', '1', '{"a":', '\uFEFF{}', '{"__proto__":{"x":1}}') },
  );
}

export const contentType = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/vnd.api+json', 'APPLICATION/JSON') },
  {
    weight: 1,
    arbitrary: fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=zzz', 'application/jsonx', 'json', ''),
  },
);

export const acceptLanguage = fc.oneof(fc.constantFrom('en', 'ru', 'ru-RU,ru;q=0.9', 'de', '*', 'xx-YY;q=abc', ''), fc.string({ maxLength: 30 }));

/** A list cursor: base64url JSON of random key parts, so some pass the shape check and reach the query. */
export const cursor = fc.oneof(
  nastyString,
  fc
    .array(fc.oneof(nastyString, fc.constantFrom(...NASTY_NUMBERS), fc.double()), { maxLength: 4 })
    .map((parts) => Buffer.from(JSON.stringify(parts), 'utf8').toString('base64url')),
);

/** Percent-encodes any string (lone surrogates too); sometimes leaves broken escapes for the server to face. */
export function pct(s: string): string {
  if (s === '%' || s === '%FF' || s === '%ED%A0%80' || s === '%zz') return s;
  return [...Buffer.from(s, 'utf8')].map((b) => (/[A-Za-z0-9_.~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : '%' + b.toString(16).toUpperCase().padStart(2, '0'))).join('');
}

/** A query string of known and random parameters with nasty values (sometimes repeated). */
export function queryString(names: string[]): fc.Arbitrary<string> {
  const pair = fc.oneof(
    { weight: 4, arbitrary: fc.tuple(fc.oneof(fc.constantFrom(...names), fc.string({ maxLength: 8 })), nastyString) },
    { weight: 1, arbitrary: fc.tuple(fc.constant('cursor'), cursor) },
  );
  return fc
    .array(pair, { maxLength: 5 })
    .map((pairs) => (pairs.length ? '?' + pairs.map(([k, v]) => `${pct(k)}=${pct(v)}`).join('&') : ''));
}

/** A path segment: a real id, or something that is not one. */
export function segment(real: (string | number)[]): fc.Arbitrary<string> {
  const garbage = fc.constantFrom('0', '-1', '00001', '1e3', '%', '%FF', '%ED%A0%80', '999999999999999', '9999999999999999999999', 'abc', '%20', '..', '%2F', 'null', 'Ω', 'x'.repeat(70));
  return real.length ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...real.map(String)) }, { weight: 1, arbitrary: garbage }) : garbage;
}

const STACK = /\n\s+at \S+ \(|SqliteError|SQLITE_|TypeError|ReferenceError|RangeError|SyntaxError: |node_modules|\.tsx?:\d+:\d+|\/work\/main/;

/** Never a server error, never a stack trace or internal path in the answer. */
export function expectSafe(res: { status: number; text: string }, what: string): void {
  expect(res.status, `${what} → ${res.status}: ${res.text.slice(0, 400)}`).toBeLessThan(500);
  expect(STACK.test(res.text ?? ''), `${what} leaked internals: ${res.text.slice(0, 400)}`).toBe(false);
}

/**
 * A fingerprint of the database: per table, the rows' hash. Columns in `ignore`
 * (e.g. api_tokens.last_used_at) and rows `allow` accepts are left out, for the
 * writes a refusal may make.
 */
export function dbFingerprint(
  sqlite: Database.Database,
  opts: { ignore?: Record<string, string[]>; allow?: (table: string, row: Record<string, unknown>) => boolean } = {},
): Record<string, string> {
  const tables = sqlite
    .prepare("select name, sql from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like 'kysely_%' order by name")
    .all() as { name: string; sql: string }[];
  const out: Record<string, string> = {};
  for (const { name: table, sql } of tables) {
    // A WITHOUT ROWID table is read in its primary key's order.
    const order = /without\s+rowid/i.test(sql) ? '' : ' order by rowid';
    const rows = sqlite.prepare(`select * from "${table}"${order}`).all() as Record<string, unknown>[];
    const h = createHash('sha256');
    let n = 0;
    for (const row of rows) {
      if (opts.allow?.(table, row)) continue;
      for (const col of opts.ignore?.[table] ?? []) delete row[col];
      h.update(JSON.stringify(row, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
      n++;
    }
    out[table] = `${n}:${h.digest('hex').slice(0, 16)}`;
  }
  return out;
}

const bases = new WeakMap<TestApp, Promise<string>>();

/** The test app's HTTP server, listening on a loopback port (once). */
export function baseUrl(t: TestApp): Promise<string> {
  let base = bases.get(t);
  if (!base) {
    base = new Promise((resolve) => {
      t.server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(t.server.address() as { port: number }).port}`));
    });
    bases.set(t, base);
  }
  return base;
}

/** Sends exactly these bytes and headers through the real HTTP adaptor; answers the status, headers and text. */
export async function send(
  t: TestApp,
  method: string,
  url: string,
  opts: { body?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<{ status: number; text: string; headers: Headers }> {
  const headers = Object.fromEntries(Object.entries(opts.headers ?? {}).filter(([, v]) => v !== ''));
  const body = opts.body === undefined ? undefined : new Uint8Array(Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(opts.body, 'utf8'));
  const res = await fetch((await baseUrl(t)) + url, { method, headers, body, redirect: 'manual' });
  return { status: res.status, text: await res.text(), headers: res.headers };
}
