import type { Locale } from '../i18n/define.js';
import { isRepeatedWallTime, offsetLabel } from './local-time.js';

const dateTimeFormats = new Map<string, Intl.DateTimeFormat>();

/**
 * Date and time in the viewer's zone, e.g. "21.11.2026, 13:00:05" /
 * "21/11/2026, 13:00:05". A wall time the clocks show twice (the hour
 * repeated when they go back) carries its offset, "01.11.2026, 01:30:00
 * UTC−05:00", so the two readings (a first and a last seen an hour apart)
 * are told apart and read in order.
 */
export function formatDateTime(ms: number | null | undefined, locale: Locale, timeZone: string): string {
  if (ms === null || ms === undefined) return '';
  const key = `${locale}|${timeZone}`;
  let f = dateTimeFormats.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(locale === 'ru' ? 'ru-RU' : 'en-GB', {
      timeZone,
      year: 'numeric',
      // English by the month's name: 07/12 reads as 7 December here and as 12 July in the US.
      month: locale === 'ru' ? '2-digit' : 'short',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    // Bounded: the zone comes from a cookie (known zones only, but many).
    if (dateTimeFormats.size < 1000) dateTimeFormats.set(key, f);
  }
  const text = f.format(ms);
  return isRepeatedWallTime(ms, timeZone) ? `${text} ${offsetLabel(ms, timeZone)}` : text;
}

const countFormats: Record<Locale, Intl.NumberFormat> = { en: new Intl.NumberFormat('en-GB'), ru: new Intl.NumberFormat('ru-RU') };

/** A count with the language's grouping, as the messages write numbers: "1,000,000" / "1 000 000". */
export function formatCount(n: number, locale: Locale): string {
  return countFormats[locale].format(n);
}

export function isoUtc(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}

/** Answers of isTimeZone: building a DateTimeFormat costs ~0.15 ms, and every request asks (the sm_tz cookie). */
const zoneChecks = new Map<string, boolean>();

/** Whether the IANA time zone name is known to this runtime. */
export function isTimeZone(tz: string): boolean {
  let known = zoneChecks.get(tz);
  if (known === undefined) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
      known = true;
    } catch {
      known = false;
    }
    // Bounded: the name comes from a cookie.
    if (zoneChecks.size < 1000) zoneChecks.set(tz, known);
  }
  return known;
}

const BYTE_UNITS: readonly string[] = ['B', 'KB', 'MB', 'GB', 'TB'];

/** 1536 → "1.5 KB" (units and decimal mark as given: the viewer's language's, "1,5 КБ"); keeps the sign (net memory may be negative). */
export function formatBytes(n: number, units: readonly string[] = BYTE_UNITS, decimal = '.'): string {
  const sign = n < 0 ? '-' : '';
  let v = Math.abs(n);
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${sign}${u === 0 ? v : withDecimal(v.toFixed(v < 10 ? 1 : 0), decimal)} ${units[u]}`;
}

/** CPU milliseconds → seconds with two decimals below 10 s, else one ("82.6" / "82,6"). */
export function formatCpuSeconds(ms: number, decimal = '.'): string {
  return withDecimal((ms / 1000).toFixed(ms < 10_000 ? 2 : 1), decimal);
}

const withDecimal = (fixed: string, decimal: string) => (decimal === '.' ? fixed : fixed.replace('.', decimal));
