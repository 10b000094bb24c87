import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { concurrentSessionsSeries } from '../../src/models/history.js';
import { makeApp, type TestApp } from '../helpers/app.js';
import { adminLicense, insertHost, insertSession } from '../helpers/admin.js';

describe('concurrent sessions series', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.close());

  it('gives the most open at once per bucket, the peak and the time at a limit, from start and close times', async () => {
    const lic = await adminLicense(t);
    const other = await adminLicense(t);
    const host = await insertHost(t, lic.id);
    const T = t.clock.now();
    const at = (s: number) => T + s * 1000;
    await insertSession(t, { licenseId: lic.id, hostId: host.id, startedAt: at(-5), closedAt: at(5) });
    await insertSession(t, { licenseId: lic.id, hostId: host.id, startedAt: at(10), closedAt: at(60) });
    await insertSession(t, { licenseId: lic.id, hostId: host.id, startedAt: at(20), closedAt: at(30) });
    await insertSession(t, { licenseId: lic.id, hostId: host.id, startedAt: at(90) });
    await insertSession(t, { licenseId: lic.id, hostId: host.id, startedAt: at(-50), closedAt: at(-10) });
    const otherHost = await insertHost(t, other.id);
    await insertSession(t, { licenseId: other.id, hostId: otherHost.id, startedAt: at(0) });

    const s = await concurrentSessionsSeries(t.db, lic.id, at(0), at(100), 4, 2);
    expect(s.points).toEqual([
      { at: at(0), max: 2 },
      { at: at(25), max: 2 },
      { at: at(50), max: 1 },
      { at: at(75), max: 1 },
    ]);
    expect(s.peak).toBe(2);
    expect(s.peakAt).toBe(at(20));
    expect(s.msAtLimit).toBe(10_000);
    expect((await concurrentSessionsSeries(t.db, lic.id, at(0), at(100), 4, 1)).msAtLimit).toBe(65_000);
    expect((await concurrentSessionsSeries(t.db, lic.id, at(0), at(100), 4)).msAtLimit).toBeNull();
    const empty = await concurrentSessionsSeries(t.db, lic.id, at(200), at(300), 2);
    expect(empty).toMatchObject({ peak: 1, points: [{ max: 1 }, { max: 1 }] });
  });
});
