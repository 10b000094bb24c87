import type { T } from '../i18n/index.js';
import { resolveLocalDateTime, toLocalInput, zoneLabel } from './local-time.js';

/** The longest reason or message a person types in a form (the fields' maxlength). */
export const TYPED_TEXT_MAX = 500;

/** A reason or message as typed, trimmed and cut to TYPED_TEXT_MAX (a crafted request may send more than the field allows). */
export const typedText = (body: Record<string, unknown>, name: string) => field(body, name).slice(0, TYPED_TEXT_MAX);

/** Reads a form field as a trimmed string; absent or non-string (a file) gives ''. */
export function field(body: Record<string, unknown>, name: string): string {
  const v = body[name];
  return typeof v === 'string' ? v.trim() : '';
}

/**
 * A relative path safe to redirect to after login; anything else becomes '/'.
 * Browsers drop tabs and newlines from a URL and read "\" as "/", so "/\t/evil.example"
 * would leave the site: no control character or backslash anywhere.
 */
export function safeNext(next: string | undefined | null): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || /[\u0000-\u001f\u007f-\u009f\\]/.test(next) || next.length > 2000) return '/';
  return next;
}

/** A count from the URL ("0", "12"); anything else (negative, fraction, absent) gives null. */
export function countParam(value: string | undefined | null): number | null {
  return value && /^\d{1,9}$/.test(value) ? Number(value) : null;
}

/** What a datetime-local field names: the instant, or why there is none (not a date and time; a wall time the clocks skip). */
export type DateTimeField = { at: number } | { problem: 'invalid' | 'skipped' };

/**
 * The instant a datetime-local field names in the zone. The field shows a
 * stored time to the minute: sent back as shown, it stands for that stored
 * time exactly, so an untouched field is no change. A wall time the clocks
 * repeat (the hour when they go back) is its first reading.
 */
export function dateTimeField(value: string, timeZone: string, shown?: number | null): DateTimeField {
  if (shown !== null && shown !== undefined && value === toLocalInput(shown, timeZone)) return { at: shown };
  return resolveLocalDateTime(value, timeZone);
}

/** A date field's message when it names no instant: the form's own "not a date and time", or that the clocks skip that time. */
export function dateTimeFieldError(r: { problem: 'invalid' | 'skipped' }, t: T, invalidKey: string, timeZone: string, now: number): string {
  return r.problem === 'skipped' ? t('common.error.time_skipped', { zone: zoneLabel(timeZone, now) }) : t(invalidKey);
}
