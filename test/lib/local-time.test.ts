import { describe, expect, it } from 'vitest';
import { formatDateTime } from '../../src/lib/format.js';
import { isRepeatedWallTime, parseLocalDateTime, resolveLocalDateTime, toLocalInput } from '../../src/lib/local-time.js';

const NY = 'America/New_York';
const Z = (iso: string) => Date.parse(iso);

describe('wall times in a zone across daylight-saving changes', () => {
  it('reads an ordinary wall time, with and without seconds, in zones with and without DST', () => {
    expect(parseLocalDateTime('2026-11-21T13:00', 'Europe/Moscow')).toBe(Z('2026-11-21T10:00:00Z'));
    expect(parseLocalDateTime('2026-07-01T12:00:30', NY)).toBe(Z('2026-07-01T16:00:30Z'));
    expect(parseLocalDateTime('2026-12-01T12:00', NY)).toBe(Z('2026-12-01T17:00:00Z'));
    expect(parseLocalDateTime('2026-11-21T13:00', 'UTC')).toBe(Z('2026-11-21T13:00:00Z'));
    // Just either side of the gap.
    expect(parseLocalDateTime('2027-03-14T01:59', NY)).toBe(Z('2027-03-14T06:59:00Z'));
    expect(parseLocalDateTime('2027-03-14T03:00', NY)).toBe(Z('2027-03-14T07:00:00Z'));
  });

  it('refuses what is not a date and time', () => {
    for (const v of ['', 'now', '2026-02-30T10:00', '2026-13-01T10:00', '2026-11-21T24:00', '2026-11-21 10:00']) {
      expect(resolveLocalDateTime(v, NY), v).toEqual({ problem: 'invalid' });
    }
  });

  it('a wall time the clocks skip is named as such, not moved an hour', () => {
    expect(resolveLocalDateTime('2027-03-14T02:30', NY)).toEqual({ problem: 'skipped' });
    expect(resolveLocalDateTime('2027-03-14T02:00', NY)).toEqual({ problem: 'skipped' });
    expect(parseLocalDateTime('2027-03-14T02:30', NY)).toBeNull();
    // Europe/Berlin skips 02:00–03:00 on the last Sunday of March; a zone east of UTC.
    expect(resolveLocalDateTime('2027-03-28T02:15', 'Europe/Berlin')).toEqual({ problem: 'skipped' });
  });

  it('a wall time the clocks repeat is its first reading, and said to be ambiguous', () => {
    expect(resolveLocalDateTime('2027-11-07T01:30', NY)).toEqual({ at: Z('2027-11-07T05:30:00Z'), ambiguous: true });
    expect(resolveLocalDateTime('2027-10-31T02:30', 'Europe/Berlin')).toEqual({ at: Z('2027-10-31T00:30:00Z'), ambiguous: true });
    expect(resolveLocalDateTime('2027-11-07T03:00', NY)).toEqual({ at: Z('2027-11-07T08:00:00Z'), ambiguous: false });
  });

  it('toLocalInput and parseLocalDateTime go round for every quarter hour of a year with both changes', () => {
    for (let at = Z('2027-01-01T00:00:00Z'); at < Z('2028-01-01T00:00:00Z'); at += 15 * 60_000) {
      const shown = toLocalInput(at, NY);
      const back = parseLocalDateTime(shown, NY)!;
      // A repeated hour comes back as its first reading, an hour earlier; every other time exactly.
      expect(back === at || (back === at - 3600_000 && isRepeatedWallTime(at, NY)), shown).toBe(true);
    }
  });

  it('tells the repeated hour apart in shown times: each of the two readings carries its offset', () => {
    const first = Z('2027-11-07T05:30:00Z'); // 01:30 EDT
    const second = Z('2027-11-07T06:30:00Z'); // 01:30 EST
    expect(isRepeatedWallTime(first, NY)).toBe(true);
    expect(isRepeatedWallTime(second, NY)).toBe(true);
    expect(isRepeatedWallTime(Z('2027-11-07T07:30:00Z'), NY)).toBe(false); // 02:30 EST, once
    expect(isRepeatedWallTime(Z('2027-07-01T12:00:00Z'), NY)).toBe(false);
    expect(formatDateTime(first, 'en', NY)).toBe('07 Nov 2027, 01:30:00 UTC−04:00');
    expect(formatDateTime(second, 'en', NY)).toBe('07 Nov 2027, 01:30:00 UTC−05:00');
    expect(formatDateTime(second, 'ru', NY)).toBe('07.11.2027, 01:30:00 UTC−05:00');
    // Any other time reads as before, without an offset.
    expect(formatDateTime(Z('2027-11-07T08:00:00Z'), 'en', NY)).toBe('07 Nov 2027, 03:00:00');
    expect(formatDateTime(Z('2026-11-21T10:00:00Z'), 'ru', 'Europe/Moscow')).toBe('21.11.2026, 13:00:00');
  });
});
