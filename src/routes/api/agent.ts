import { Hono } from 'hono';
import { AppError, RateLimited, unauthorized } from '../../lib/errors.js';
import { hashToken } from '../../lib/tokens.js';
import { jsonBody, paramValue } from '../../middleware/api.js';
import type { AppContext, AppEnv } from '../../middleware/context.js';
import { captureInTransaction, LockRefusal } from '../../models/capture.js';
import { addSessionFeature, removeSessionFeature } from '../../models/features.js';
import { heartbeatInTransaction, type HeartbeatAnswer, type HeartbeatRequest } from '../../models/heartbeat.js';
import { releaseSession } from '../../models/release.js';
import { featureParam, featureSchema, normalizeCapture, parseCapture, parseHeartbeat } from './agent-schemas.js';

/** The agent protocol, PROTOCOL §1–4. */
export const agentRoutes = new Hono<AppEnv>();

/** A wrong permission code weighs this many captures against the rate limits (guessing is slow). */
const WRONG_CODE_WEIGHT = 10;

/** The bearer token's hash; a missing or malformed header is 401 (checked after the body, as the contract orders). */
function bearerHash(c: AppContext): string {
  const m = /^Bearer ([\x21-\x7e]{1,512})$/i.exec(c.req.header('authorization') ?? '');
  if (!m) throw unauthorized();
  return hashToken(m[1]);
}

function sessionIdParam(c: AppContext): string {
  const id = c.req.param('id') ?? '';
  // Ids are ours (UUIDs); anything longer cannot be a session.
  if (id.length > 64) throw unauthorized();
  return id;
}

// Variables are read with c.get here: hono's c.var copies all of them into a new object on every access (the agent routes are the hot ones).

/** Counts a capture against the per-IP and per-key limits; 429 when either is exhausted. */
function limitCapture(c: AppContext, licenseKey: string): void {
  const { limits, clock } = c.get('deps');
  const now = clock.now();
  const a = limits.capturePerIp.check(c.get('ip') ?? 'unknown', now);
  const b = limits.capturePerKey.check(licenseKey, now);
  if (!a.ok || !b.ok) throw new RateLimited(Math.max(a.ok ? 0 : a.retryAfterSec, b.ok ? 0 : b.retryAfterSec));
  countCapture(c, licenseKey, 1);
}

function countCapture(c: AppContext, licenseKey: string, weight: number): void {
  const { limits, clock } = c.get('deps');
  const now = clock.now();
  limits.capturePerIp.add(c.get('ip') ?? 'unknown', now, weight);
  limits.capturePerKey.add(licenseKey, now, weight);
}

agentRoutes.post('/sessions', async (c) => {
  const body = normalizeCapture(await jsonBody(c, { safeParse: parseCapture }));
  limitCapture(c, body.licenseKey);
  try {
    // Committed with the captures and heartbeats arriving at the same time, before the answer (models/group-commit.ts).
    const { clock, groupCommit } = c.get('deps');
    const now = clock.now();
    const ip = body.client?.ip ?? c.get('ip');
    const outcome = await groupCommit.run((_trx, raw) => captureInTransaction(raw, body, ip, now), {
      markChange: (outcome) => 'ok' in outcome, // a refusal shows nowhere in the monitor
    });
    if ('refused' in outcome) throw outcome.refused;
    const { status, ...answer } = outcome.ok;
    return c.json(answer, status);
  } catch (e) {
    // A code that could have let the session in and did not; an empty code is no code (a lock's code is never
    // empty), and a code sent to a lock without one, or by a background job (no code lifts that), guesses nothing.
    if (e instanceof LockRefusal && e.wrongCode) {
      countCapture(c, body.licenseKey, WRONG_CODE_WEIGHT - 1);
    }
    throw e;
  }
});

/** What a heartbeat's request asks for once its body, id and bearer token have been read. */
export interface HeartbeatCall {
  id: string;
  tokenHash: string;
  body: HeartbeatRequest;
  now: number;
}

/**
 * The heartbeat route's handler around `record`, the part that reads and
 * writes the database. The benchmark (routes/bench.ts) mounts the same handler
 * with a `record` that does nothing, to measure what the rest costs.
 */
export function heartbeatHandler(record: (c: AppContext, call: HeartbeatCall) => Promise<HeartbeatAnswer>) {
  return async (c: AppContext) => {
    const body = await jsonBody(c, { safeParse: parseHeartbeat });
    const answer = await record(c, { id: sessionIdParam(c), tokenHash: bearerHash(c), body, now: c.get('deps').clock.now() });
    return c.json(answer);
  };
}

agentRoutes.post(
  '/sessions/:id/heartbeat',
  // Grouped with the writes arriving at the same time: one transaction per group (models/group-commit.ts).
  heartbeatHandler((c, { id, tokenHash, body, now }) =>
    c.get('deps').groupCommit.run((trx, raw) => heartbeatInTransaction(trx, raw, id, tokenHash, body, now), { markChange: true }),
  ),
);

agentRoutes.post('/sessions/:id/features', async (c) => {
  const body = await jsonBody(c, featureSchema);
  const { db, clock } = c.get('deps');
  const features = await addSessionFeature(db, sessionIdParam(c), bearerHash(c), body.feature, clock.now());
  return c.json({ features });
});

agentRoutes.delete('/sessions/:id/features/:feature', async (c) => {
  const feature = paramValue(c, featureParam, 'feature', c.req.param('feature'));
  const { db, clock } = c.get('deps');
  await removeSessionFeature(db, sessionIdParam(c), bearerHash(c), feature, clock.now());
  return c.body(null, 204);
});

agentRoutes.delete('/sessions/:id', async (c) => {
  const { db, clock } = c.get('deps');
  await releaseSession(db, sessionIdParam(c), bearerHash(c), clock.now());
  return c.body(null, 204);
});
