// Wall-clock times of <input type="datetime-local"> ("2026-11-21T13:30") in a
// named time zone, to and from epoch milliseconds. Pure; no Date parsing of
// strings (which would use the server's own zone).

const LOCAL_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;

const partsFormatters = new Map<string, Intl.DateTimeFormat>();

function partsFormatter(timeZone: string): Intl.DateTimeFormat {
  let f = partsFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    partsFormatters.set(timeZone, f);
  }
  return f;
}

/** The wall clock in the zone at the instant, as UTC fields (year, month 1-12, day, hour, minute, second). */
function wallClock(instant: number, timeZone: string) {
  const parts = partsFormatter(timeZone).formatToParts(instant);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return { y: get('year'), mo: get('month'), d: get('day'), h: get('hour'), mi: get('minute'), s: get('second') };
}

/** How far the zone's wall clock is ahead of UTC at the instant, in ms. */
export function zoneOffsetMs(instant: number, timeZone: string): number {
  const w = wallClock(instant, timeZone);
  const asUtc = Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s);
  return asUtc - (instant - (((instant % 1000) + 1000) % 1000));
}

const DAY_MS = 86_400_000;

/**
 * Every instant whose wall clock in the zone reads `wall` (the wall clock's
 * fields as if in UTC, whole seconds), earliest first: none for a time the
 * clocks skip (spring forward), two for one they repeat (fall back). The
 * offsets a day either side cover both sides of any change within the ±14 h
 * a zone's instant can lie from its wall clock.
 */
function instantsOfWall(wall: number, timeZone: string): number[] {
  const offsets = new Set([zoneOffsetMs(wall - DAY_MS, timeZone), zoneOffsetMs(wall, timeZone), zoneOffsetMs(wall + DAY_MS, timeZone)]);
  const found = new Set<number>();
  for (const o of offsets) if (zoneOffsetMs(wall - o, timeZone) === o) found.add(wall - o);
  return [...found].sort((a, b) => a - b);
}

/** The wall clock a datetime-local value names, as UTC fields in epoch ms; null when it is not a real date and time. */
function wallOfInput(value: string): number | null {
  const m = LOCAL_RE.exec(value.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0));
  if (y < 1970 || y > 9999 || h > 23 || mi > 59 || s > 59) return null;
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  const check = new Date(wall);
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return null;
  return wall;
}

/**
 * What a datetime-local value names in the zone: the instant, and whether
 * the wall time occurs twice (the hour repeated when clocks go back; then the
 * earlier instant, the first time the clock reads it, in every zone) — or
 * why there is none: 'invalid' (not a date and time), 'skipped' (a wall time
 * the clocks jump over, e.g. 02:30 on the spring-forward night in New York:
 * refused rather than silently moved an hour).
 */
export function resolveLocalDateTime(value: string, timeZone: string): { at: number; ambiguous: boolean } | { problem: 'invalid' | 'skipped' } {
  const wall = wallOfInput(value);
  if (wall === null) return { problem: 'invalid' };
  const at = instantsOfWall(wall, timeZone);
  return at.length ? { at: at[0], ambiguous: at.length > 1 } : { problem: 'skipped' };
}

/**
 * The instant a datetime-local value names in the zone, or null when it is not
 * a real date and time or names a wall time the clocks skip (DST gap). A wall
 * time the clocks repeat (DST fall-back) is its earlier instant.
 */
export function parseLocalDateTime(value: string, timeZone: string): number | null {
  const r = resolveLocalDateTime(value, timeZone);
  return 'at' in r ? r.at : null;
}

/** Days (per zone) whose offset is the same from a day before to a day after: most of them. Bounded. */
const steadyDays = new Map<string, boolean>();

/**
 * Whether the zone's offset is the same a day either side of the instant (so no
 * wall time near it is repeated or skipped), remembered per zone and UTC day: a
 * page formats hundreds of times, and each offset costs a formatToParts.
 */
function offsetSteadyAround(instant: number, timeZone: string): boolean {
  const day = Math.floor(instant / DAY_MS);
  const key = `${timeZone}|${day}`;
  let steady = steadyDays.get(key);
  if (steady === undefined) {
    // The day before this one through the day after it: covers instant ± a day.
    steady = zoneOffsetMs((day - 1) * DAY_MS, timeZone) === zoneOffsetMs((day + 2) * DAY_MS, timeZone);
    if (steadyDays.size >= 10_000) steadyDays.clear();
    steadyDays.set(key, steady);
  }
  return steady;
}

/** Whether the instant's wall clock in the zone (to the second) reads the same at another instant too (the repeated hour of a fall-back). */
export function isRepeatedWallTime(instant: number, timeZone: string): boolean {
  if (offsetSteadyAround(instant, timeZone)) return false;
  const second = instant - (((instant % 1000) + 1000) % 1000);
  return instantsOfWall(second + zoneOffsetMs(instant, timeZone), timeZone).length > 1;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** The datetime-local value ("YYYY-MM-DDTHH:MM") of the instant in the zone; '' for null. */
export function toLocalInput(ms: number | null | undefined, timeZone: string): string {
  if (ms === null || ms === undefined) return '';
  const w = wallClock(ms, timeZone);
  return `${pad(w.y, 4)}-${pad(w.mo)}-${pad(w.d)}T${pad(w.h)}:${pad(w.mi)}`;
}

/** The zone's offset at the instant as "UTC+03:00", for labels beside the inputs. */
export function offsetLabel(instant: number, timeZone: string): string {
  const off = Math.round(zoneOffsetMs(instant, timeZone) / 60_000);
  const sign = off < 0 ? '−' : '+';
  const a = Math.abs(off);
  return `UTC${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

/** The zone as people read it beside an input: "Europe/Moscow (UTC+03:00)", or just "UTC". */
export function zoneLabel(timeZone: string, instant: number): string {
  const offset = offsetLabel(instant, timeZone);
  return timeZone === 'UTC' || timeZone === 'Etc/UTC' ? 'UTC' : `${timeZone} (${offset})`;
}

const QUARTER_HOUR = 15 * 60_000;

/**
 * Where the time axis has its marks: at round times on the viewer's clock —
 * every 15 minutes over an hour, at 00, 06, 12 and 18 o'clock over a day, at
 * midnight over a week — so they read as people read a clock, not at fifths of
 * the period. Every zone's offset is a whole number of quarter hours, so the
 * quarter hours of UTC are the candidates.
 */
export function axisTicks(from: number, to: number, timeZone: string): { at: number; days: boolean }[] {
  const span = to - from;
  const days = span > 36 * 3600_000;
  const ticks: { at: number; days: boolean }[] = [];
  for (let at = Math.ceil(from / QUARTER_HOUR) * QUARTER_HOUR; at <= to; at += QUARTER_HOUR) {
    const wall = at + zoneOffsetMs(at, timeZone);
    const minuteOfDay = Math.floor((((wall % 86_400_000) + 86_400_000) % 86_400_000) / 60_000);
    const round = span <= 2 * 3600_000 ? true : days ? minuteOfDay === 0 : minuteOfDay % 360 === 0;
    if (round) ticks.push({ at, days });
  }
  return ticks;
}
