import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeApp, type TestApp } from '../helpers/app.js';
import { fingerprint, heartbeat, makeLicense, openOk, staffActor } from '../helpers/licensing.js';
import { hostPool } from '../../src/models/packages.js';
import { changeSettings } from '../../src/models/settings-changes.js';
import { changeMarker } from '../../src/models/session-lifecycle.js';

const pkg = (id: string) => ({ id, path: `/p/${id}.lgp`, state: 'idle', origin: 'batch' });

describe('package pool size setting', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.close());

  /** A host whose pool holds a, b, c (c most recently used). */
  async function hostWithPool(n: number) {
    const lic = await makeLicense(t, { maxHosts: 5 });
    const s = await openOk(t, lic.key, { fingerprint: fingerprint(n) });
    await heartbeat(t, s, { packages: [pkg('a'), pkg('b'), pkg('c')] }).expect(200);
    await heartbeat(t, s, { packages: [] }).expect(200);
    return s.hostId;
  }
  const paths = async (hostId: number) => (await hostPool(t.db, hostId)).map((p) => p.path);

  it('lowering it trims every host’s pool at once, least recently used first; 0 empties them', async () => {
    const one = await hostWithPool(1);
    const two = await hostWithPool(2);
    expect(await paths(one)).toEqual(['/p/c.lgp', '/p/b.lgp', '/p/a.lgp']);
    const before = await changeMarker(t.db);
    await changeSettings(t.db, staffActor('admin'), { poolSize: 2 }, t.clock.now());
    expect(await paths(one)).toEqual(['/p/c.lgp', '/p/b.lgp']);
    expect(await paths(two)).toEqual(['/p/c.lgp', '/p/b.lgp']);
    // The monitor's pool sections follow.
    expect(await changeMarker(t.db)).toBeGreaterThan(before);
    // Raising it takes nothing back; "0 turns the pool off" leaves nothing pooled.
    await changeSettings(t.db, staffActor('admin'), { poolSize: 5 }, t.clock.now());
    expect(await paths(one)).toHaveLength(2);
    await changeSettings(t.db, staffActor('admin'), { poolSize: 0 }, t.clock.now());
    expect(await paths(one)).toEqual([]);
    expect(await paths(two)).toEqual([]);
  });
});
