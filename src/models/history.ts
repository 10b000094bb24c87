import { sql } from 'kysely';
import type { Db } from '../db/connection.js';
import { historyRange } from './history-rollup.js';

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

/** Refusals grouped by code × feature × user × computer (× the infobase whose lock refused). */
export interface RefusalGroup {
  code: string | null;
  feature: string | null;
  /** The infobase whose lock refused (infobase_locked), by its current name. */
  infobase: { id: number; name: string } | null;
  user: string | null;
  hostname: string | null;
  count: number;
  firstAt: number;
  lastAt: number;
}

/** Sessions let into a locked infobase by its permission code, grouped by infobase × user × computer. */
export interface AdmissionGroup {
  infobase: { id: number; name: string } | null;
  user: string | null;
  hostname: string | null;
  count: number;
  firstAt: number;
  lastAt: number;
}

/** The code of a 'capture' event that records a session let in by an infobase lock's permission code (no feature). */
export const PERMISSION_CODE_USED = 'permission_code';

export interface LicenseHistory {
  /** The start actually covered: the asked one within the raw window, else the start of its hour (then included). */
  from: number;
  captures: CaptureGroup[];
  refusals: RefusalGroup[];
  admissions: AdmissionGroup[];
}

type Kind = 'capture' | 'refusal';

/**
 * The license's events of `kind` in the range as rows of (…, n, first_at,
 * last_at): raw events one by one, rolled-up hours as their groups.
 */
function eventRows(db: Db, licenseId: number, kind: Kind, range: { from: number; to: number; inclusive: boolean }) {
  const raw = db
    .selectFrom('license_events')
    .where('license_id', '=', licenseId)
    .where('kind', '=', kind)
    .where('at', range.inclusive ? '>=' : '>', range.from)
    .where('at', '<=', range.to)
    .select(['code', 'feature', 'user_name', 'host_id', 'hostname', 'infobase_id', sql<number>`1`.as('n'), 'at as first_at', 'at as last_at']);
  if (!range.inclusive) return raw;
  // A range reaching past the raw window starts on an hour: its rolled-up hours are whole.
  return raw.unionAll(
    db
      .selectFrom('license_event_hours')
      .where('license_id', '=', licenseId)
      .where('kind', '=', kind)
      .where('hour', '>=', range.from)
      .where('hour', '<=', range.to)
      .select(['code', 'feature', 'user_name', 'host_id', 'hostname', 'infobase_id', 'count as n', 'first_at', 'last_at']),
  );
}

/**
 * The license's capture and refusal events from `from` up to `to` (now),
 * grouped, latest group first: (from, to] within the raw window; a longer
 * range starts on the hour `from` falls in (see historyRange), so raw events
 * and per-hour roll-ups give the same groups.
 */
export async function licenseHistory(db: Db, licenseId: number, asked: { from: number; to: number }): Promise<LicenseHistory> {
  const range = historyRange(asked.from, asked.to);
  const captures = await db
    .selectFrom(eventRows(db, licenseId, 'capture', range).as('e'))
    .select((eb) => [
      'feature',
      'user_name',
      'host_id',
      'hostname',
      eb.fn.sum<number>('n').as('n'),
      eb.fn.min('first_at').as('first_at'),
      eb.fn.max('last_at').as('last_at'),
    ])
    .where('feature', 'is not', null)
    .groupBy(['feature', 'user_name', 'host_id', 'hostname'])
    .orderBy('last_at', 'desc')
    .orderBy('feature')
    .orderBy('user_name')
    .execute();
  // Refusals, and the captures let in by a permission code: per code × feature × user × computer × infobase.
  const byInfobase = (kind: Kind) =>
    db
      .selectFrom(eventRows(db, licenseId, kind, range).as('e'))
      .leftJoin('infobases as ib', 'ib.id', 'e.infobase_id')
      .select((eb) => [
        'e.code',
        'e.feature',
        'e.user_name',
        'e.hostname',
        'e.infobase_id',
        'ib.name as infobase_name',
        eb.fn.sum<number>('e.n').as('n'),
        eb.fn.min('e.first_at').as('first_at'),
        eb.fn.max('e.last_at').as('last_at'),
      ])
      .groupBy(['e.code', 'e.feature', 'e.user_name', 'e.hostname', 'e.infobase_id'])
      .orderBy('last_at', 'desc')
      .orderBy('code')
      .orderBy('user_name');
  const admissions = await byInfobase('capture').where('e.code', '=', PERMISSION_CODE_USED).execute();
  const refusals = await byInfobase('refusal').execute();
  const infobaseOf = (r: { infobase_id: number | null; infobase_name: string | null }) =>
    r.infobase_id === null ? null : { id: Number(r.infobase_id), name: r.infobase_name ?? `#${r.infobase_id}` };
  return {
    from: range.from,
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
      infobase: infobaseOf(r),
      user: r.user_name,
      hostname: r.hostname,
      count: Number(r.n),
      firstAt: Number(r.first_at),
      lastAt: Number(r.last_at),
    })),
    admissions: admissions.map((r) => ({
      infobase: infobaseOf(r),
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

/** Capture and refusal counts from `from` up to `to`, over the same range as licenseHistory, for summaries. */
export async function historyCounts(db: Db, licenseId: number, asked: { from: number; to: number }): Promise<{ captures: number; refusals: number }> {
  const range = historyRange(asked.from, asked.to);
  const count = async (kind: Kind) => {
    const r = await db
      .selectFrom(eventRows(db, licenseId, kind, range).as('e'))
      .select((eb) => eb.fn.sum<number>('n').as('n'))
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  };
  return { captures: await count('capture'), refusals: await count('refusal') };
}
