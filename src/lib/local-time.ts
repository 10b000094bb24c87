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

/**
 * The instant a datetime-local value names in the zone, or null when it is not
 * a real date and time. A wall time skipped by a DST change maps to the
 * instant the clocks jumped over it (the same hour, later offset).
 */
export function parseLocalDateTime(value: string, timeZone: string): number | null {
  const m = LOCAL_RE.exec(value.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0));
  if (y < 1970 || y > 9999 || h > 23 || mi > 59 || s > 59) return null;
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  const check = new Date(wall);
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return null;
  // The offset at a first guess, then at the corrected instant (a DST change may lie between).
  const guess = wall - zoneOffsetMs(wall, timeZone);
  return wall - zoneOffsetMs(guess, timeZone);
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
