import type { Locale, T } from '../../src/i18n/index.js';
import { formatBytes, formatCpuSeconds } from '../../src/lib/format.js';
import type { MetricColumn } from '../../src/lib/monitor-query.js';

// Building an Intl.DateTimeFormat costs far more than using one; a page formats hundreds of times.
const formatters = new Map<string, Intl.DateTimeFormat>();

/** A compact date and time for table cells, "21.11 13:00:05" in the viewer's zone. */
export function shortTime(ms: number | null | undefined, locale: Locale, timeZone: string): string {
  if (ms === null || ms === undefined) return '';
  const key = `${locale}|${timeZone}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(locale === 'ru' ? 'ru-RU' : 'en-GB', {
      // English by the month's name: 07/12 reads as 7 December here and as 12 July in the US.
      timeZone, day: '2-digit', month: locale === 'ru' ? '2-digit' : 'short', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
    });
    formatters.set(key, f);
  }
  return f.format(ms);
}

/** The byte units in the viewer's language ("B KB MB…" / "Б КБ МБ…"), split once per language. */
const byteUnits = new Map<string, string[]>();
function unitsOf(t: T): string[] {
  let units = byteUnits.get(t.locale);
  if (!units) byteUnits.set(t.locale, (units = t('format.byte_units').split(' ')));
  return units;
}

/** A metric figure in human units: CPU seconds, bytes, or a plain count. */
export function formatMetric(col: MetricColumn, value: number, t: T): string {
  const decimal = t('format.decimal_mark');
  if (col === 'cpu') return formatCpuSeconds(value, decimal);
  if (col === 'calls') return String(value);
  return formatBytes(value, unitsOf(t), decimal);
}
