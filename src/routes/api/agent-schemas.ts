import { z } from 'zod';
import { isIP } from 'node:net';
import { isoTime, ownRecord, parseIsoTime, str, uint, wellFormed, type BodyParser } from '../../middleware/api.js';

// Request bodies of the agent protocol (PROTOCOL §1–3). Unknown fields are
// stripped (z.object), types are strict: null is not "absent".

const MAX_INT = Number.MAX_SAFE_INTEGER;
/** Net memory may be negative (PROTOCOL §2 "Metrics"). */
const int = () => z.number().int().min(-MAX_INT).max(MAX_INT);
const nonEmpty = (max = 512) => str(max).refine((s) => s.length > 0, { message: 'api.v.not_empty' });
/** An address as the agent reports it (the monitor shows it and may resolve a name for it). */
const ip = () => str(64).refine((s) => isIP(s) !== 0, { message: 'api.v.ip' });
const time = () => isoTime().transform((s) => parseIsoTime(s));
const codePoints = (s: string) => [...s].length;

export const fingerprintSchema = ownRecord(
  str(64).refine((k) => codePoints(k) >= 1, { message: 'api.v.fingerprint_key' }),
  str(),
  'api.v.fingerprint_object',
  { max: 32, message: 'api.v.fingerprint_size' },
).superRefine((o, ctx) => {
  const keys = Object.keys(o);
  if (keys.length < 1 || keys.length > 32) ctx.addIssue({ code: 'custom', message: 'api.v.fingerprint_size' });
  // Keys equal after NFC are one component named twice (PROTOCOL §1): refused here, before the rate limits count the capture.
  const seen = new Set<string>();
  for (const k of keys) {
    const nfc = k.normalize('NFC');
    if (seen.has(nfc)) ctx.addIssue({ code: 'custom', path: [k], message: 'api.v.fingerprint_nfc' });
    seen.add(nfc);
  }
});

export const captureSchema = z.object({
  licenseKey: nonEmpty(),
  clientSessionId: nonEmpty(64).optional(),
  fingerprint: fingerprintSchema,
  machine: z.object({ hostname: str().optional(), os: str().optional(), ip: ip().optional() }).optional(),
  client: z.object({ ip: ip().optional(), hostname: str().optional() }).optional(),
  user: nonEmpty(),
  roles: z.array(z.enum(['admin', 'design', 'viewer', 'execute'])).max(16).optional(),
  infobase: z.object({ id: nonEmpty(), name: str().optional() }).optional(),
  connectionType: z.enum(['client', 'external', 'background', 'webservice']).default('client'),
  app: z.object({ name: str().optional(), version: str().optional() }).optional(),
  features: z.array(nonEmpty()).max(256).optional(),
  permissionCode: str().optional(),
});

const packageSchema = z.object({
  id: nonEmpty(64),
  path: nonEmpty().optional(), // absent for a draft; "" would be a pool entry nobody can name
  name: str().optional(),
  version: str().optional(),
  createdAt: time().optional(),
  savedAt: time().optional(),
  state: z.enum(['running', 'idle']).default('idle'),
  progress: uint().max(100).optional(),
  node: str().optional(),
  nodeStartedAt: time().optional(),
  refs: z.array(nonEmpty()).max(256).default([]),
  origin: z.enum(['interactive', 'integrator', 'batch']).default('interactive'),
});

export const heartbeatSchema = z.object({
  sleeping: z.boolean().default(false),
  lastInputAt: time().optional(),
  metrics: z
    .object({
      cpuMs: z.object({ current: uint().optional(), total: uint().optional() }).optional(),
      memoryBytes: z.object({ current: int().optional(), total: int().optional() }).optional(),
      dataBytes: z.object({ total: uint().optional() }).optional(),
      calls: z.object({ total: uint().optional() }).optional(),
      dbmsBytes: z.object({ total: uint().optional() }).optional(),
    })
    .optional(),
  packages: z
    .array(packageSchema)
    .max(200)
    .superRefine((list, ctx) => {
      const seen = new Set<string>();
      list.forEach((p, i) => {
        if (seen.has(p.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: 'api.v.duplicate_package' });
        seen.add(p.id);
      });
    })
    .transform((list) =>
      list.map((p) => ({
        id: p.id,
        path: p.path ?? null,
        name: p.name ?? null,
        version: p.version ?? null,
        createdAt: p.createdAt ?? null,
        savedAt: p.savedAt ?? null,
        state: p.state,
        progress: p.progress ?? null,
        node: p.node ?? null,
        nodeStartedAt: p.nodeStartedAt ?? null,
        refs: [...new Set(p.refs)],
        origin: p.origin,
      })),
    )
    .optional(),
  acks: z.array(nonEmpty(64)).max(1000).default([]),
});

/** Feature names in NFC, as licenses store them (see normalizedCapture). */
export const featureSchema = z.object({ feature: nonEmpty().transform((f) => f.normalize('NFC')) });

/** A feature named in a URL path (DELETE …/features/{feature}). */
export const featureParam = nonEmpty().transform((f) => f.normalize('NFC'));

export type HeartbeatBody = z.infer<typeof heartbeatSchema>;

type Parse<T> = BodyParser<T>['safeParse'];

/**
 * The schema's answer with the common case decided by `fast`, a hand-written
 * pass that accepts only what the schema certainly accepts and builds the same
 * output; anything else (null from `fast`) — invalid, or just unusual (a long
 * string, a duplicate id) — goes to the schema, which also words every error.
 */
function withFastPass<T>(schema: { safeParse: Parse<T> }, fast: (data: unknown) => T | null): Parse<T> {
  return (data, options) => {
    const out = fast(data);
    return out ? { success: true, data: out } : schema.safeParse(data, options);
  };
}

/**
 * Validates a heartbeat body at a fifth of the schema's cost on the common case
 * (it is the busiest request there is). test/routes/api/heartbeat-parse.test.ts
 * checks the pass and the schema agree on generated bodies.
 */
export const parseHeartbeat = withFastPass(heartbeatSchema, fastHeartbeat);

const HEARTBEAT_KEYS = new Set(['sleeping', 'lastInputAt', 'metrics', 'packages', 'acks']);
const PACKAGE_KEYS = new Set(['id', 'path', 'name', 'version', 'createdAt', 'savedAt', 'state', 'progress', 'node', 'nodeStartedAt', 'refs', 'origin']);
const METRIC_FIELDS: Record<string, Record<string, 'uint' | 'int'>> = {
  cpuMs: { current: 'uint', total: 'uint' },
  memoryBytes: { current: 'int', total: 'int' },
  dataBytes: { total: 'uint' },
  calls: { total: 'uint' },
  dbmsBytes: { total: 'uint' },
};

/** Thrown inside the fast pass: "let the schema decide". */
const UNSURE = Symbol('unsure');

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** A string the schema's str(max) accepts without counting code points (UTF-16 units bound them). */
function fastStr(v: unknown, max: number, nonEmpty = false): string {
  if (typeof v !== 'string' || v.length > max || (nonEmpty && v.length === 0) || !wellFormed(v)) throw UNSURE;
  return v;
}
function fastTime(v: unknown): number {
  const t = parseIsoTime(fastStr(v, 64));
  if (Number.isNaN(t)) throw UNSURE;
  return t;
}
function fastInt(v: unknown, kind: 'uint' | 'int'): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || (kind === 'uint' && v < 0)) throw UNSURE;
  return v;
}

function fastHeartbeat(data: unknown): HeartbeatBody | null {
  try {
    if (!isObject(data)) return null;
    const out: HeartbeatBody = { sleeping: false, acks: [] };
    for (const key in data) {
      if (!HEARTBEAT_KEYS.has(key)) continue; // stripped, as z.object does
      const v = data[key];
      if (v === undefined) continue;
      if (key === 'sleeping') {
        if (typeof v !== 'boolean') return null;
        out.sleeping = v;
      } else if (key === 'lastInputAt') out.lastInputAt = fastTime(v);
      else if (key === 'metrics') out.metrics = fastMetrics(v);
      else if (key === 'packages') out.packages = fastPackages(v);
      else {
        if (!Array.isArray(v) || v.length > 1000) return null;
        out.acks = v.map((a) => fastStr(a, 64, true));
      }
    }
    return out;
  } catch (e) {
    if (e === UNSURE) return null;
    throw e;
  }
}

function fastMetrics(v: unknown): NonNullable<HeartbeatBody['metrics']> {
  if (!isObject(v)) throw UNSURE;
  const out: Record<string, Record<string, number>> = {};
  for (const name in v) {
    const fields = METRIC_FIELDS[name];
    const m = v[name];
    if (!fields || m === undefined) continue;
    if (!isObject(m)) throw UNSURE;
    const figures: Record<string, number> = {};
    for (const f in m) {
      if (fields[f] && m[f] !== undefined) figures[f] = fastInt(m[f], fields[f]);
    }
    out[name] = figures;
  }
  return out;
}

const opt = (x: unknown) => (x === undefined ? null : fastStr(x, 512));
const optTime = (x: unknown) => (x === undefined ? null : fastTime(x));

function fastPackages(v: unknown): NonNullable<HeartbeatBody['packages']> {
  if (!Array.isArray(v) || v.length > 200) throw UNSURE;
  const seen = new Set<string>();
  return v.map((p: unknown) => {
    if (!isObject(p)) throw UNSURE;
    for (const key in p) if (PACKAGE_KEYS.has(key) && p[key] === null) throw UNSURE;
    const id = fastStr(p.id, 64, true);
    if (seen.has(id)) throw UNSURE;
    seen.add(id);
    if (p.path === '') throw UNSURE;
    const state = p.state ?? 'idle';
    const origin = p.origin ?? 'interactive';
    if ((state !== 'running' && state !== 'idle') || (origin !== 'interactive' && origin !== 'integrator' && origin !== 'batch')) throw UNSURE;
    const progress = p.progress === undefined ? null : fastInt(p.progress, 'uint');
    if (progress !== null && progress > 100) throw UNSURE;
    const refs = p.refs ?? [];
    if (!Array.isArray(refs) || refs.length > 256) throw UNSURE;
    return {
      id,
      path: opt(p.path),
      name: opt(p.name),
      version: opt(p.version),
      createdAt: optTime(p.createdAt),
      savedAt: optTime(p.savedAt),
      state,
      progress,
      node: opt(p.node),
      nodeStartedAt: optTime(p.nodeStartedAt),
      refs: [...new Set(refs.map((r) => fastStr(r, 512, true)))],
      origin,
    };
  });
}

export type CaptureBody = z.infer<typeof captureSchema>;

/**
 * Validates a capture body (the schema cost ~27 µs of a capture inside the
 * server, in a probe of the route's steps). test/routes/api/capture-parse.test.ts
 * checks the pass and the schema agree on generated bodies.
 */
export const parseCapture = withFastPass(captureSchema, fastCapture);

/**
 * A valid capture as the license pages and the admin API read it: a license key typed by a person
 * (lower case, spaces around it) is the key, and feature names are compared in NFC, the form licenses
 * store them in ("café" typed with a combining accent is the licensed "café").
 */
export function normalizeCapture(body: CaptureBody): CaptureBody {
  body.licenseKey = body.licenseKey.trim().toUpperCase();
  if (body.features) body.features = body.features.map((f) => f.normalize('NFC'));
  return body;
}

const CONNECTION_TYPES: ReadonlySet<unknown> = new Set(['client', 'external', 'background', 'webservice']);
const ROLES: ReadonlySet<unknown> = new Set(['admin', 'design', 'viewer', 'execute']);
/** ASCII text is its own NFC form: fingerprint keys in it cannot collide after normalisation. */
const ASCII = /^[\x00-\x7f]*$/;

/** An optional field: absent → undefined (JSON never holds undefined; a present one is left to the schema). */
function optional<T>(o: Record<string, unknown>, key: string, parse: (v: unknown) => T): T | undefined {
  const v = o[key];
  if (v !== undefined) return parse(v);
  if (Object.hasOwn(o, key)) throw UNSURE;
  return undefined;
}

/** An object with only the fields `parse` sets that are present (unknown ones dropped, as z.object does). */
function fastObject<T extends object>(v: unknown, fields: { [K in keyof T]: (v: unknown) => T[K] }): T {
  if (!isObject(v)) throw UNSURE;
  const out: Record<string, unknown> = {};
  for (const key in fields) {
    const value = optional(v, key, fields[key]);
    if (value !== undefined) out[key] = value;
  }
  return out as T;
}

const text = (max: number) => (v: unknown) => fastStr(v, max);
const ipText = (v: unknown) => {
  const s = fastStr(v, 64);
  if (isIP(s) === 0) throw UNSURE;
  return s;
};

function fastFingerprint(v: unknown): Record<string, string> {
  if (!isObject(v)) throw UNSURE;
  const entries = Object.entries(v);
  if (entries.length < 1 || entries.length > 32) throw UNSURE;
  for (const [k, value] of entries) {
    if (!ASCII.test(fastStr(k, 64, true))) throw UNSURE;
    fastStr(value, 512);
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

function fastList<T>(v: unknown, max: number, item: (x: unknown) => T): T[] {
  if (!Array.isArray(v) || v.length > max) throw UNSURE;
  return v.map((x) => item(x));
}

function fastCapture(data: unknown): CaptureBody | null {
  try {
    if (!isObject(data)) return null;
    const connectionType = optional(data, 'connectionType', (v) => {
      if (!CONNECTION_TYPES.has(v)) throw UNSURE;
      return v as CaptureBody['connectionType'];
    });
    const out: CaptureBody = {
      licenseKey: fastStr(data.licenseKey, 512, true),
      fingerprint: fastFingerprint(data.fingerprint),
      user: fastStr(data.user, 512, true),
      connectionType: connectionType ?? 'client',
    };
    const rest: Partial<CaptureBody> = {
      clientSessionId: optional(data, 'clientSessionId', (v) => fastStr(v, 64, true)),
      machine: optional(data, 'machine', (v) => fastObject<NonNullable<CaptureBody['machine']>>(v, { hostname: text(512), os: text(512), ip: ipText })),
      client: optional(data, 'client', (v) => fastObject<NonNullable<CaptureBody['client']>>(v, { ip: ipText, hostname: text(512) })),
      roles: optional(data, 'roles', (v) =>
        fastList(v, 16, (r) => {
          if (!ROLES.has(r)) throw UNSURE;
          return r as NonNullable<CaptureBody['roles']>[number];
        }),
      ),
      infobase: optional(data, 'infobase', (v) => {
        const ib = fastObject<{ id?: string; name?: string }>(v, { id: (x) => fastStr(x, 512, true), name: text(512) });
        if (ib.id === undefined) throw UNSURE;
        return ib as NonNullable<CaptureBody['infobase']>;
      }),
      app: optional(data, 'app', (v) => fastObject<NonNullable<CaptureBody['app']>>(v, { name: text(512), version: text(512) })),
      features: optional(data, 'features', (v) => fastList(v, 256, (f) => fastStr(f, 512, true))),
      permissionCode: optional(data, 'permissionCode', text(512)),
    };
    for (const key in rest) {
      const value = rest[key as keyof CaptureBody];
      if (value !== undefined) (out as Record<string, unknown>)[key] = value;
    }
    return out;
  } catch (e) {
    if (e === UNSURE) return null;
    throw e;
  }
}
