import type Database from 'better-sqlite3';

/**
 * The SQL of every statement run on the connection while fn runs, through Kysely or straight on
 * the handle (better-sqlite3's statements, spied on where they execute).
 */
export async function statementsDuring(sqlite: Database.Database, fn: () => Promise<unknown>): Promise<string[]> {
  const proto = Object.getPrototypeOf(sqlite.prepare('select 1')) as Record<string, unknown>;
  const methods = ['all', 'get', 'run', 'iterate'] as const;
  const originals = methods.map((m) => proto[m] as (...a: unknown[]) => unknown);
  const seen: string[] = [];
  methods.forEach((m, i) => {
    proto[m] = function (this: Database.Statement, ...args: unknown[]) {
      seen.push(this.source);
      return originals[i].apply(this, args);
    };
  });
  try {
    await fn();
  } finally {
    methods.forEach((m, i) => (proto[m] = originals[i]));
  }
  return seen;
}

export interface PlannedStatement {
  sql: string;
  /** SQLite's EXPLAIN QUERY PLAN lines for the statement with the parameters it ran with. */
  plan: string[];
}

/** Like statementsDuring, with each statement's query plan (explained before it runs). */
export async function plansDuring(sqlite: Database.Database, fn: () => Promise<unknown>): Promise<PlannedStatement[]> {
  const proto = Object.getPrototypeOf(sqlite.prepare('select 1')) as Record<string, unknown>;
  const methods = ['all', 'get', 'run', 'iterate'] as const;
  const originals = methods.map((m) => proto[m] as (...a: unknown[]) => unknown);
  const seen: PlannedStatement[] = [];
  let explaining = false;
  methods.forEach((m, i) => {
    proto[m] = function (this: Database.Statement, ...args: unknown[]) {
      if (!explaining && !/^\s*(begin|commit|rollback|savepoint|release)\b/i.test(this.source)) {
        explaining = true;
        try {
          const rows = this.database.prepare(`explain query plan ${this.source}`).all(...args) as { detail: string }[];
          seen.push({ sql: this.source, plan: rows.map((r) => r.detail) });
        } finally {
          explaining = false;
        }
      }
      return originals[i].apply(this, args);
    };
  });
  try {
    await fn();
  } finally {
    methods.forEach((m, i) => (proto[m] = originals[i]));
  }
  return seen;
}
