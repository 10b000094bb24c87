import type { Context, MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { ru as zodRu } from 'zod/locales';
import { localeFromAcceptLanguage, translator, type Locale, type T } from '../i18n/index.js';
import { AppError, invalid, invalidFields } from '../lib/errors.js';
import type { AppContext, AppEnv } from './context.js';

export const MAX_BODY_BYTES = 64 * 1024;

/**
 * Reads the JSON body in the protocol's order: size (413) before parsing,
 * content type (415), then JSON syntax (400). The raw bytes are kept on the
 * context so validation can follow; nothing is read twice.
 */
export async function readJsonBody(c: AppContext): Promise<unknown> {
  const contentLength = c.req.header('content-length');
  if (Number(contentLength ?? '0') > MAX_BODY_BYTES) throw new AppError('payload_too_large', 413);
  // With a Content-Length the HTTP parser delivers exactly that many bytes: read them
  // directly (the server adapter's fast path, no web stream). Chunked bodies are counted as they come.
  const raw = contentLength !== undefined ? new Uint8Array(await c.req.raw.arrayBuffer()) : await readLimited(c.req.raw, MAX_BODY_BYTES);
  const type = (c.req.header('content-type') ?? '').toLowerCase();
  if (raw.length === 0 && !type) return {};
  if (!JSON_TYPE.test(type) || NOT_UTF8.test(type)) throw new AppError('unsupported_media_type', 415);
  if (raw.length === 0) throw invalid({ body: 'api.v.empty_body' });
  try {
    return JSON.parse(UTF8.decode(raw));
  } catch {
    throw invalid({ body: 'api.v.not_json' });
  }
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\b/;
/** A charset other than UTF-8 named (JSON is UTF-8; another charset's bytes would be read as something else). */
const NOT_UTF8 = /;\s*charset\s*=\s*(?!"?utf-?8"?\s*(?:;|$))/;
/** Bytes that are not UTF-8 are refused, not replaced. One decoder for all: without `stream` a decode keeps nothing for the next. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

async function readLimited(req: Request, limit: number): Promise<Uint8Array> {
  if (!req.body) return new Uint8Array();
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw new AppError('payload_too_large', 413);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let off = 0;
  for (const ch of chunks) {
    out.set(ch, off);
    off += ch.byteLength;
  }
  return out;
}

/**
 * Turns zod issues into invalid_request naming each offending field by its JSON
 * path. Our own messages are catalogue keys (`api.v.…`, with the issue's params)
 * and are worded here by `t`; zod's own come worded by its locale (parseOptions).
 */
export function zodToInvalid(error: z.ZodError, t: T = translator('en')): AppError {
  const fields: Record<string, string> = {};
  for (const issue of error.issues) {
    const path = issue.path.length ? issue.path.map(String).join('.') : 'body';
    const params = (issue as { params?: Record<string, string | number> }).params;
    fields[path] ??= issue.message.startsWith('api.v.') ? t(issue.message, params) : issue.message;
  }
  return invalid(fields);
}

/** The language of an API answer: Accept-Language (ru or en), else the server's default. */
export const apiLocale = (c: Context<AppEnv>): Locale =>
  localeFromAcceptLanguage(c.req.header('accept-language')) ?? c.var.deps?.config.defaultLocale ?? 'en';

/** What a JSON value is, in the catalogue's words (api.v.t.*). */
function jsonType(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/**
 * A wrong or missing value in our own words ("required", "must be a string, not a number", "must be
 * at most 100", "must be one of …"): zod's say "Invalid input: expected string, received number" or
 * "Too small: expected number to be >=0", "must be int, not a number" of 1.5, and its Russian names
 * the types in English.
 */
function ownMessage(t: T, iss: z.core.$ZodRawIssue): string | undefined {
  switch (iss.code) {
    case 'invalid_type': {
      if (iss.input === undefined) return t('api.v.required');
      if (iss.expected === 'int' && typeof iss.input === 'number') return t('api.v.int');
      const name = (type: string) => {
        const key = `api.v.t.${type}`;
        const text = t(key);
        return text === key ? type : text;
      };
      return t('api.v.type', { expected: name(String(iss.expected)), received: name(jsonType(iss.input)) });
    }
    case 'too_small':
    case 'too_big': {
      const small = iss.code === 'too_small';
      const bound = String(small ? iss.minimum : iss.maximum);
      const vars: Record<string, string> = small ? { min: bound } : { max: bound };
      if (iss.origin === 'array' || iss.origin === 'set') return t(small ? 'api.v.min_items' : 'api.v.max_items', vars);
      if (iss.origin === 'string') return t(small ? 'api.v.min_chars' : 'api.v.max_chars', vars);
      if (iss.origin === 'number' || iss.origin === 'int' || iss.origin === 'bigint') {
        const key = small ? (iss.inclusive === false ? 'api.v.min_exclusive' : 'api.v.min') : iss.inclusive === false ? 'api.v.max_exclusive' : 'api.v.max';
        return t(key, vars);
      }
      return undefined;
    }
    case 'invalid_value':
      return t('api.v.one_of', { values: iss.values.map((v) => JSON.stringify(v)).join(', ') });
    default:
      return undefined;
  }
}

/** zod's own messages in the answer's language (PROTOCOL: `message` follows Accept-Language). */
const zodRuError = zodRu().localeError;
const ZOD_LOCALES: Record<Locale, z.core.ParseContext<z.core.$ZodIssue>> = {
  en: { error: (iss) => ownMessage(translator('en'), iss) },
  ru: { error: (iss) => ownMessage(translator('ru'), iss) ?? zodRuError(iss) },
};

/** What validates a body: a zod schema, or a function with the same answer (agent-schemas.ts parseHeartbeat). */
export interface BodyParser<T> {
  safeParse(data: unknown, options?: z.core.ParseContext<z.core.$ZodIssue>): { success: true; data: T } | { success: false; error: z.ZodError };
}

/** The 400 for data the parser refused, worded in the caller's language (parsed again with zod's locale: errors only). */
function refusal(c: AppContext, parser: BodyParser<unknown>, data: unknown, error: z.ZodError): AppError {
  const locale = apiLocale(c);
  const again = parser.safeParse(data, ZOD_LOCALES[locale]);
  return zodToInvalid(!again.success ? again.error : error, translator(locale));
}

/** Reads and validates a JSON body against a schema; throws the protocol's 413/415/400. */
export async function jsonBody<T>(c: AppContext, schema: BodyParser<T>): Promise<T> {
  const data = await readJsonBody(c);
  const parsed = schema.safeParse(data);
  if (!parsed.success) throw refusal(c, schema, data, parsed.error);
  return parsed.data;
}

/**
 * Validates a query string against an object schema. A parameter the endpoint does not take, or
 * one given twice, is a 400 naming it: a misspelt filter (`licence=6`) ignored would widen the list
 * to everything, and a script acting on "the filtered list" would act on every session.
 */
export function queryParams<S extends z.ZodObject>(c: AppContext, schema: S): z.infer<S> {
  const known = Object.keys(schema.shape);
  const fields: Record<string, string> = {};
  const t = translator(apiLocale(c));
  for (const [name, values] of Object.entries(c.req.queries())) {
    if (!known.includes(name)) fields[name] = t('api.v.unknown_param', { known: known.join(', ') });
    else if (values.length > 1) fields[name] = t('api.v.repeated_param');
  }
  if (Object.keys(fields).length) throw invalid(fields);
  const data = c.req.query();
  const parsed = schema.safeParse(data);
  if (!parsed.success) throw refusal(c, schema, data, parsed.error);
  return parsed.data;
}

/** Validates one value (a path parameter) as `field`; 400 naming it, worded in the caller's language. */
export function paramValue<S extends z.ZodType>(c: AppContext, schema: S, field: string, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const fields = invalidFields(refusal(c, schema, value, parsed.error), (k) => k) ?? {};
  throw invalid({ [field]: Object.values(fields)[0] });
}

/**
 * API answers are never cached (the security headers add "never sniffed"). Set before the answer
 * is made, as securityHeaders does (it costs less); a route may set its own, and an answer made
 * as a Response of its own gets it after.
 */
export const apiHeaders: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.header('Cache-Control', 'no-store');
  await next();
  if (!c.res.headers.has('Cache-Control')) c.res.headers.set('Cache-Control', 'no-store');
};

/** String.prototype.isWellFormed (Node 20 has it; TypeScript's ES2023 library does not name it). */
export const wellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

// Shared field shapes: PROTOCOL.md limits strings to 512 code points and integers to 0…2^53−1.
/** Text: well-formed Unicode (a lone surrogate from a "\\ud800" escape is not text: stored, it would come back as something else). */
export const str = (max = 512) =>
  z
    .string()
    .refine(wellFormed, { message: 'api.v.ill_formed' })
    // A string has at least as many UTF-16 units as code points: count code points (an array per string) only when it might be over.
    .refine((s) => s.length <= max || [...s].length <= max, { message: 'api.v.max_chars', params: { max } });
/**
 * A JSON object of `value`s by `key`s, as an object whose entries are exactly the
 * JSON's: z.record assigns keys onto a plain object, where "__proto__" sets the
 * prototype instead of adding an entry (the key would silently vanish).
 */
export function ownRecord<K extends z.ZodType<string>, V extends z.ZodType>(key: K, value: V, message: string, tooMany?: { max: number; message: string }) {
  const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  return z
    .preprocess((v, ctx) => {
      if (!isObject(v)) return v;
      const entries = Object.entries(v as object);
      // More entries than may be: said once, before thousands of entries are each checked (and each refused).
      if (tooMany && entries.length > tooMany.max) {
        ctx.addIssue({ code: 'custom', message: tooMany.message, input: v });
        return z.NEVER;
      }
      return new Map(entries);
    }, z.map(key, value, { error: (iss) => (iss.input === undefined ? 'api.v.required' : message) }))
    .transform((m) => Object.fromEntries(m) as Record<z.output<K>, z.output<V>>);
}
export const uint = () => z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const isoTime = () => str(64).refine((s) => !Number.isNaN(parseIsoTime(s)), { message: 'api.v.iso_time' });

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * An ISO-8601 UTC or offset time as epoch ms; NaN for anything else, and for a
 * date that does not exist (Date.parse would roll 2026-02-31 over to 3 March).
 */
export function parseIsoTime(s: string): number {
  const m = ISO_TIME.exec(s);
  if (!m) return NaN;
  // Field by field (no array of them): every heartbeat parses up to three times per package.
  const year = +m[1], month = +m[2], day = +m[3], hour = +m[4], minute = +m[5];
  const second = m[6] === undefined ? 0 : +m[6], offH = m[7] === undefined ? 0 : +m[7], offM = m[8] === undefined ? 0 : +m[8];
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1];
  if (year < 1 || !days || day < 1 || day > days || hour > 23 || minute > 59 || second > 59 || offH > 23 || offM > 59) return NaN;
  return Date.parse(s);
}
