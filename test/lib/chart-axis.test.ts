import { describe, expect, it } from 'vitest';
import { axisTicks } from '../../src/lib/local-time.js';

const Z = (iso: string) => Date.parse(iso);
const HOUR = 3600_000;
/** The ticks as wall-clock strings in the zone. */
const wall = (ticks: { at: number }[], timeZone: string) =>
  ticks.map(({ at }) => new Intl.DateTimeFormat('sv-SE', { timeZone, dateStyle: 'short', timeStyle: 'short' }).format(at));

describe('the History chart marks its time axis at round times on the viewer\'s clock', () => {
  it('a day: 00, 06, 12 and 18 o\'clock in Moscow, whatever minute the period starts', () => {
    const to = Z('2026-12-07T05:34:14Z'); // 08:34 in Moscow
    expect(wall(axisTicks(to - 24 * HOUR, to, 'Europe/Moscow'), 'Europe/Moscow')).toEqual(['2026-12-06 12:00', '2026-12-06 18:00', '2026-12-07 00:00', '2026-12-07 06:00']);
  });

  it('a week: every midnight, also in a zone half an hour off UTC and across a DST change', () => {
    const to = Z('2026-12-07T05:34:00Z');
    const kolkata = wall(axisTicks(to - 168 * HOUR, to, 'Asia/Kolkata'), 'Asia/Kolkata');
    expect(kolkata).toHaveLength(7);
    for (const w of kolkata) expect(w).toMatch(/ 00:00$/);
    // New York leaves summer time on 1 November 2026: still one mark per midnight.
    const end = Z('2026-11-04T12:00:00Z');
    const ny = wall(axisTicks(end - 168 * HOUR, end, 'America/New_York'), 'America/New_York');
    expect(ny).toEqual(['2026-10-29 00:00', '2026-10-30 00:00', '2026-10-31 00:00', '2026-11-01 00:00', '2026-11-02 00:00', '2026-11-03 00:00', '2026-11-04 00:00']);
  });

  it('an hour: every quarter hour', () => {
    const to = Z('2026-12-07T05:34:14Z');
    expect(wall(axisTicks(to - HOUR, to, 'UTC'), 'UTC')).toEqual(['2026-12-07 04:45', '2026-12-07 05:00', '2026-12-07 05:15', '2026-12-07 05:30']);
  });
});
