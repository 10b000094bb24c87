import type Database from 'better-sqlite3';
import { startCheckpointer } from '../db/checkpointer.js';
import type { Deps } from '../deps.js';
import { deleteExpiredWebSessions } from '../models/web-sessions.js';
import { forgiveRestart, leaseTick } from '../models/reaper.js';
import { applyRetention, pruneClosedSessionRows, pruneMetricSamples } from '../models/retention.js';
import { refreshPlannerStatistics } from '../models/maintenance.js';

/** The lease sweep's period; it also refreshes server_state.alive_at, the server's sign of life. */
const LEASE_TICK_MS = 5_000;

/**
 * The slower jobs run first this long after start, then at their period: a
 * server restarted more often than every 10 minutes (a crash loop, frequent
 * deploys) still applies retention and drops expired logins.
 */
export const FIRST_RUN_AFTER_MS = 60_000;

/**
 * History hours one retention run folds at most (~30 ms of write lock each, the
 * event loop let through between them): a month's backlog after an upgrade or
 * a long downtime is worked off in about five hours of runs, never as a stall.
 */
const ROLL_UP_HOURS_PER_RUN = 24;

export interface Jobs {
  stop(): Promise<void>;
}

/** Starts the background timers (each only calls model functions) and the WAL checkpoint worker. */
export async function startJobs(deps: Deps, sqlite: Database.Database): Promise<Jobs> {
  const timers: NodeJS.Timeout[] = [];
  let stopped = false;
  /** Runs fn every `ms`, the first time after `firstMs`; a run still going skips the next. */
  const every = (ms: number, name: string, fn: () => Promise<void>, firstMs = ms) => {
    let running = false;
    const run = async () => {
      if (running || stopped) return;
      running = true;
      try {
        await fn();
      } catch (e) {
        deps.logger.error(`job ${name} failed`, { error: e instanceof Error ? e.message : String(e) });
      } finally {
        running = false;
      }
    };
    const repeat = () => {
      const t = setInterval(run, ms);
      t.unref();
      timers.push(t);
    };
    if (firstMs === ms) return repeat();
    const first = setTimeout(() => {
      repeat();
      void run();
    }, firstMs);
    first.unref();
    timers.push(first);
  };
  every(
    10 * 60_000,
    'web-session-cleanup',
    () => deleteExpiredWebSessions(deps.db, deps.clock.now(), deps.config.webSessionIdleMinutes * 60_000),
    FIRST_RUN_AFTER_MS,
  );
  // The server's own downtime evicts nobody: open leases move forward by it (at most one lease timeout).
  // A process already ticking (alive within 3 ticks, as leaseTick judges a stall) is no downtime.
  const forgiven = await forgiveRestart(deps.db, deps.clock.now(), 3 * LEASE_TICK_MS);
  if (forgiven > 0) deps.logger.info('extended open leases by the downtime', { ms: forgiven });
  every(LEASE_TICK_MS, 'lease-reaper', async () => {
    const r = await leaseTick(deps.db, deps.clock.now(), LEASE_TICK_MS);
    if (r.shiftedMs !== 0) deps.logger.warn('clock jump or stall: shifted open leases', { ms: r.shiftedMs });
    if (r.closed > 0) deps.logger.info('closed timed-out sessions', { count: r.closed });
  });
  every(60_000, 'prune-closed', async () => {
    await pruneMetricSamples(deps.db, deps.clock.now());
    await pruneClosedSessionRows(deps.db);
  });
  every(
    10 * 60_000,
    'retention',
    async () => {
      await applyRetention(deps.db, deps.clock.now(), { maxRollUpHours: ROLL_UP_HOURS_PER_RUN });
    },
    FIRST_RUN_AFTER_MS,
  );
  // The planner's statistics follow the data (opening the database gathers the first ones).
  every(3600_000, 'planner-statistics', () => refreshPlannerStatistics(deps.db));
  // WAL pages move into the database file in a worker thread, not inside a request's COMMIT.
  const checkpointer = await startCheckpointer(sqlite, { onError: (message) => deps.logger.warn(message) });
  return {
    async stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      // Agent writes still queued for their group are written before the database closes.
      await deps.groupCommit.flush();
      await checkpointer.stop();
    },
  };
}
