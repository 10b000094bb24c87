import type Database from 'better-sqlite3';
import type { Deps } from '../deps.js';
import { deleteExpiredWebSessions } from '../models/web-sessions.js';

export interface Jobs {
  stop(): Promise<void>;
}

/** Starts the background timers; each only calls model functions. */
export async function startJobs(deps: Deps, _sqlite: Database.Database): Promise<Jobs> {
  const timers: NodeJS.Timeout[] = [];
  const every = (ms: number, name: string, fn: () => Promise<void>) => {
    let running = false;
    const t = setInterval(async () => {
      if (running) return;
      running = true;
      try {
        await fn();
      } catch (e) {
        deps.logger.error(`job ${name} failed`, { error: e instanceof Error ? e.message : String(e) });
      } finally {
        running = false;
      }
    }, ms);
    t.unref();
    timers.push(t);
  };
  every(10 * 60_000, 'web-session-cleanup', () =>
    deleteExpiredWebSessions(deps.db, deps.clock.now(), deps.config.webSessionIdleMinutes * 60_000),
  );
  return {
    async stop() {
      for (const t of timers) clearInterval(t);
    },
  };
}
