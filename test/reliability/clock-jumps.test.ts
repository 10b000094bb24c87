import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgiveRestart, leaseTick } from '../../src/models/reaper.js';
import { makeApp, type TestApp } from '../helpers/app.js';
import { fingerprint, heartbeat, makeLicense, openOk, sessionRow, type OpenedSession } from '../helpers/licensing.js';

// The lease job against random timelines: the server clock jumps an hour back or
// forward, the server goes down and comes back (maybe with the clock moved
// meanwhile), agents heartbeat every minute or die. Time is counted in real
// (agent) seconds; the server only sees its own clock. Live sessions are never
// closed; dead ones close about one lease after their last heartbeat — plus at
// most one lease of forgiveness per restart — and never earlier.

const TICK = 5_000; // the job's period (src/jobs/index.ts)
const LEASE = 300_000;
const HOUR = 3600_000;
const AGENTS = 4;
const TIMELINE_TICKS = 300; // 25 real minutes

type Event = { at: number; kind: 'forward' | 'backward' | 'restart' | 'restart-back' | 'restart-forward'; downTicks: number };

describe('clock jumps and restarts against the lease job (property)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeApp();
  });
  afterAll(() => t.close());

  async function runTimeline(deaths: (number | null)[], events: Event[]) {
    // A fresh timeline on the shared app: new license, fresh server_state.
    const start = Date.parse('2026-11-21T10:00:00.000Z') + Math.floor(Math.random() * 1e6) * HOUR;
    t.clock.set(start);
    await t.db.updateTable('server_state').set({ alive_at: start }).execute();
    const lic = await makeLicense(t, { maxHosts: AGENTS });
    const agents: { s: OpenedSession; lastBeat: number; dead: boolean; restartsSinceBeat: number }[] = [];
    let real = 0;
    let offset = 0;
    for (let i = 0; i < AGENTS; i++) agents.push({ s: await openOk(t, lic.key, { fingerprint: fingerprint(`clk-${i}`) }), lastBeat: 0, dead: false, restartsSinceBeat: 0 });
    let downUntil = -1;
    let pendingJumpAtRestart = 0;

    for (let tick = 1; tick <= TIMELINE_TICKS; tick++) {
      real = tick * TICK;
      // The server going down is applied before a forward jump of the same tick: the server never ran on
      // the jumped clock, so that jump happened while it was down (see below).
      const now = events.filter((x) => x.at === tick).sort((a, b) => Number(a.kind === 'forward') - Number(b.kind === 'forward'));
      for (const e of now) {
        // A forward jump while the server is down looks exactly like a long downtime, which
        // evicts by design (at most one lease is forgiven): not a jump this test can judge.
        // Nor is one at the tick it comes back: it restarts on the jumped clock (below).
        if (e.kind === 'forward' && tick > downUntil + 1) offset += HOUR;
        else if (e.kind === 'backward') offset -= HOUR;
        else if (e.kind !== 'forward' && downUntil < tick) {
          downUntil = tick + e.downTicks;
          pendingJumpAtRestart = e.kind === 'restart-back' ? -HOUR : e.kind === 'restart-forward' ? HOUR : 0;
        }
      }
      const up = tick > downUntil;
      if (tick === downUntil + 1) {
        // The server comes back (its clock moved while it was down, for the restart-* kinds).
        offset += pendingJumpAtRestart;
        pendingJumpAtRestart = 0;
        t.clock.set(start + real + offset);
        await forgiveRestart(t.db, t.clock.now());
        for (const a of agents) a.restartsSinceBeat++;
      }
      t.clock.set(start + real + offset);
      if (!up) continue;

      for (const [i, a] of agents.entries()) {
        const death = deaths[i];
        if (death !== null && tick >= death) a.dead = true;
        // Agents beat every 60 s (12 ticks), staggered.
        if (!a.dead && (tick + i * 3) % 12 === 0) {
          const res = await heartbeat(t, a.s);
          expect(res.status, `live agent ${i} refused at real ${real / 1000}s: ${JSON.stringify(res.body)}`).toBe(200);
          a.lastBeat = real;
          a.restartsSinceBeat = 0;
        }
      }
      await leaseTick(t.db, t.clock.now(), TICK);

      for (const [i, a] of agents.entries()) {
        const row = await sessionRow(t, a.s.sessionId);
        const silent = real - a.lastBeat;
        if (!a.dead) {
          expect(row.closed_at, `live agent ${i} closed at real ${real / 1000}s`).toBeNull();
          continue;
        }
        if (row.closed_at !== null) {
          expect(row.close_reason).toBe('timeout');
          expect(silent, `agent ${i} closed after only ${silent / 1000}s of silence`).toBeGreaterThanOrEqual(LEASE - 2 * TICK);
        } else {
          const allowance = LEASE + a.restartsSinceBeat * LEASE + 2 * TICK;
          expect(silent, `dead agent ${i} still open after ${silent / 1000}s of silence (restarts: ${a.restartsSinceBeat})`).toBeLessThanOrEqual(allowance);
        }
      }
    }
  }

  it('never closes a live session, never keeps a dead one beyond its lease (+ one per restart)', async () => {
    const event = fc.record({
      at: fc.integer({ min: 2, max: TIMELINE_TICKS - 80 }),
      kind: fc.constantFrom<Event['kind']>('forward', 'backward', 'restart', 'restart-back'),
      downTicks: fc.integer({ min: 1, max: 24 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.option(fc.integer({ min: 1, max: TIMELINE_TICKS - 100 }), { nil: null }), { minLength: AGENTS, maxLength: AGENTS }),
        fc.array(event, { minLength: 1, maxLength: 4 }),
        (deaths, events) => runTimeline(deaths, events),
      ),
      { numRuns: Number(process.env.CLOCK_RUNS ?? 20), endOnFailure: true, ...(process.env.CLOCK_SEED ? { seed: Number(process.env.CLOCK_SEED), path: process.env.CLOCK_PATH } : {}) },
    );
  }, 120_000);
});
