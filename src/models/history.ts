import { sql } from 'kysely';
import type { Db } from '../db/connection.js';

/** Feature captures grouped by feature × user × computer. */
export interface CaptureGroup {
  feature: string | null;
  user: string | null;
  hostId: number | null;
  hostname: string | null;
  count: number;
  firstAt: number;
  lastAt: number;
}

/** Refusals grouped by code × feature × user × computer. */
export interface RefusalGroup {
  code: string | null;
  feature: string | null;
  user: string | null;
  hostname: string | null;
  count: number;
  firstAt: number;
  lastAt: number;
}

export interface LicenseHistory {
  captures: CaptureGroup[];
  refusals: RefusalGroup[];
}

/** The license's capture and refusal events in (from, to] — "the last N hours" up to now — grouped, latest group first. */
export async function licenseHistory(db: Db, licenseId: number, range: { from: number; to: number }): Promise<LicenseHistory> {
  const base = db
    .selectFrom('license_events')
    .where('license_id', '=', licenseId)
    .where('at', '>', range.from)
    .where('at', '<=', range.to);
  const captures = await base
    .where('kind', '=', 'capture')
    .select((eb) => [
      'feature',
      'user_name',
      'host_id',
      'hostname',
      eb.fn.countAll<number>().as('n'),
      eb.fn.min('at').as('first_at'),
      eb.fn.max('at').as('last_at'),
    ])
    .groupBy(['feature', 'user_name', 'host_id', 'hostname'])
    .orderBy('last_at', 'desc')
    .orderBy('feature')
    .orderBy('user_name')
    .execute();
  const refusals = await base
    .where('kind', '=', 'refusal')
    .select((eb) => [
      'code',
      'feature',
      'user_name',
      'hostname',
      eb.fn.countAll<number>().as('n'),
      eb.fn.min('at').as('first_at'),
      eb.fn.max('at').as('last_at'),
    ])
    .groupBy(['code', 'feature', 'user_name', 'hostname'])
    .orderBy('last_at', 'desc')
    .orderBy('code')
    .orderBy('user_name')
    .execute();
  return {
    captures: captures.map((r) => ({
      feature: r.feature,
      user: r.user_name,
      hostId: r.host_id,
      hostname: r.hostname,
      count: Number(r.n),
      firstAt: Number(r.first_at),
      lastAt: Number(r.last_at),
    })),
    refusals: refusals.map((r) => ({
      code: r.code,
      feature: r.feature,
      user: r.user_name,
      hostname: r.hostname,
      count: Number(r.n),
      firstAt: Number(r.first_at),
      lastAt: Number(r.last_at),
    })),
  };
}

export interface ConcurrencyPoint {
  /** Start of the bucket. */
  at: number;
  /** Most sessions open at once within the bucket. */
  max: number;
}

export interface ConcurrencySeries {
  from: number;
  to: number;
  bucketMs: number;
  points: ConcurrencyPoint[];
  peak: number;
  /** When the peak was first reached (null when it is 0). */
  peakAt: number | null;
  /** Time within [from, to) with at least `limit` sessions open; null without a limit. */
  msAtLimit: number | null;
}

/**
 * Concurrent open sessions of the license over [from, to) in `buckets` equal
 * buckets (each the most open at once in it), from the sessions' start and
 * close times — exact, not sampled. `limit` adds the time spent at or over it.
 */
export async function concurrentSessionsSeries(
  db: Db,
  licenseId: number,
  from: number,
  to: number,
  buckets: number,
  limit: number | null = null,
): Promise<ConcurrencySeries> {
  const n = Math.max(1, Math.min(2000, Math.floor(buckets)));
  const bucketMs = Math.max(1, (to - from) / n);
  const rows = await db
    .selectFrom('sessions')
    .select(['started_at', 'closed_at'])
    .where('license_id', '=', licenseId)
    .where('started_at', '<', to)
    .where((eb) => eb.or([eb('closed_at', 'is', null), eb('closed_at', '>', from)]))
    .execute();
  // Sweep: +1 at start, −1 at close; closes sort before opens at the same instant.
  const events: [number, number][] = [];
  let open = 0;
  for (const r of rows) {
    if (r.started_at <= from) open++;
    else events.push([r.started_at, 1]);
    if (r.closed_at !== null && r.closed_at < to) events.push([r.closed_at, -1]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const points: ConcurrencyPoint[] = Array.from({ length: n }, (_, i) => ({ at: Math.round(from + i * bucketMs), max: 0 }));
  const bucketOf = (t: number) => Math.min(n - 1, Math.max(0, Math.floor((t - from) / bucketMs)));
  let peak = open;
  let peakAt: number | null = open > 0 ? from : null;
  let msAtLimit = 0;
  let last = from;
  let b = 0;
  points[0].max = open;
  for (const [t, d] of events) {
    // Every bucket the current level spans up to t holds at least that level.
    const tb = bucketOf(t);
    for (; b < tb; b++) points[b + 1].max = Math.max(points[b + 1].max, open);
    if (limit !== null && open >= limit) msAtLimit += t - last;
    last = t;
    open += d;
    points[tb].max = Math.max(points[tb].max, open);
    if (open > peak) {
      peak = open;
      peakAt = t;
    }
  }
  for (; b < n - 1; b++) points[b + 1].max = Math.max(points[b + 1].max, open);
  if (limit !== null && open >= limit) msAtLimit += to - last;
  return { from, to, bucketMs, points, peak, peakAt, msAtLimit: limit === null ? null : msAtLimit };
}

/** Capture and refusal counts in (from, to], for summaries. */
export async function historyCounts(db: Db, licenseId: number, range: { from: number; to: number }): Promise<{ captures: number; refusals: number }> {
  const rows = await db
    .selectFrom('license_events')
    .select(['kind', sql<number>`count(*)`.as('n')])
    .where('license_id', '=', licenseId)
    .where('at', '>', range.from)
    .where('at', '<=', range.to)
    .where('kind', 'in', ['capture', 'refusal'])
    .groupBy('kind')
    .execute();
  const get = (k: string) => Number(rows.find((r) => r.kind === k)?.n ?? 0);
  return { captures: get('capture'), refusals: get('refusal') };
}
