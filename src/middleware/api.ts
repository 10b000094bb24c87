import type { MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { AppError, invalid } from '../lib/errors.js';
import type { AppContext, AppEnv } from './context.js';

export const MAX_BODY_BYTES = 64 * 1024;

/**
 * Reads the JSON body in the protocol's order: size (413) before parsing,
 * content type (415), then JSON syntax (400). The raw bytes are kept on the
 * context so validation can follow; nothing is read twice.
 */
export async function readJsonBody(c: AppContext): Promise<unknown> {
  const length = Number(c.req.header('content-length') ?? '0');
  if (length > MAX_BODY_BYTES) throw new AppError('payload_too_large', 413);
  // With a Content-Length the HTTP parser delivers exactly that many bytes: read them
  // directly (the server adapter's fast path, no web stream). Chunked bodies are counted as they come.
  const raw = c.req.header('content-length') !== undefined ? new Uint8Array(await c.req.raw.arrayBuffer()) : await readLimited(c.req.raw, MAX_BODY_BYTES);
  const type = (c.req.header('content-type') ?? '').toLowerCase();
  if (raw.length === 0 && !type) return {};
  if (!/^application\/(?:[\w.+-]+\+)?json\b/.test(type)) throw new AppError('unsupported_media_type', 415);
  if (raw.length === 0) throw new AppError('invalid_json', 400, {}, {});
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch {
    throw new AppError('invalid_request', 400, { fields: { body: 'not valid JSON' } }, { detail: 'body is not valid JSON' });
  }
}

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

/** Turns zod issues into invalid_request naming each offending field by its JSON path. */
export function zodToInvalid(error: z.ZodError): AppError {
  const fields: Record<string, string> = {};
  for (const issue of error.issues) {
    const path = issue.path.length ? issue.path.map(String).join('.') : 'body';
    fields[path] ??= issue.message;
  }
  return invalid(fields);
}

/** What validates a body: a zod schema, or a function with the same answer (agent-schemas.ts parseHeartbeat). */
export interface BodyParser<T> {
  safeParse(data: unknown): { success: true; data: T } | { success: false; error: z.ZodError };
}

/** Reads and validates a JSON body against a schema; throws the protocol's 413/415/400. */
export async function jsonBody<T>(c: AppContext, schema: BodyParser<T>): Promise<T> {
  const data = await readJsonBody(c);
  const parsed = schema.safeParse(data);
  if (!parsed.success) throw zodToInvalid(parsed.error);
  return parsed.data;
}

/** Validates a query string against a schema (unknown parameters ignored). */
export function queryParams<S extends z.ZodType>(c: AppContext, schema: S): z.infer<S> {
  const parsed = schema.safeParse(c.req.query());
  if (!parsed.success) throw zodToInvalid(parsed.error);
  return parsed.data;
}

/** API answers are never cached by shared caches and never sniffed. */
export const apiHeaders: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  if (!c.res.headers.has('Cache-Control')) c.res.headers.set('Cache-Control', 'no-store');
};

// Shared field shapes: PROTOCOL.md limits strings to 512 code points and integers to 0…2^53−1.
export const str = (max = 512) =>
  // A string has at least as many UTF-16 units as code points: count code points (an array per string) only when it might be over.
  z.string().refine((s) => s.length <= max || [...s].length <= max, { message: `at most ${max} characters` });
export const uint = () => z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const isoTime = () =>
  str(64).refine((s) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s)), {
    message: 'must be an ISO-8601 time such as 2026-11-21T10:00:00.000Z',
  });
