import type Database from 'better-sqlite3';

/**
 * Runs fn with every statement execution on the connection (through Kysely or straight on the
 * handle: better-sqlite3's statements, spied on where they execute) passed to `seen` first.
 */
async function spyOnStatements(
  sqlite: Database.Database,
  seen: (stmt: Database.Statement, args: unknown[]) => void,
  fn: () => Promise<unknown>,
): Promise<void> {
  const proto = Object.getPrototypeOf(sqlite.prepare('select 1')) as Record<string, unknown>;
  const methods = ['all', 'get', 'run', 'iterate'] as const;
  const originals = methods.map((m) => proto[m] as (...a: unknown[]) => unknown);
  methods.forEach((m, i) => {
    proto[m] = function (this: Database.Statement, ...args: unknown[]) {
      seen(this, args);
      return originals[i].apply(this, args);
    };
  });
  try {
    await fn();
  } finally {
    methods.forEach((m, i) => (proto[m] = originals[i]));
  }
}

/** The SQL of every statement run on the connection while fn runs. */
export async function statementsDuring(sqlite: Database.Database, fn: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  await spyOnStatements(sqlite, (stmt) => seen.push(stmt.source), fn);
  return seen;
}

export interface PlannedStatement {
  sql: string;
  /** SQLite's EXPLAIN QUERY PLAN lines for the statement with the parameters it ran with. */
  plan: string[];
}

/** Like statementsDuring, with each statement's query plan (explained before it runs). */
export async function plansDuring(sqlite: Database.Database, fn: () => Promise<unknown>): Promise<PlannedStatement[]> {
  const seen: PlannedStatement[] = [];
  let explaining = false;
  await spyOnStatements(
    sqlite,
    (stmt, args) => {
      if (explaining || /^\s*(begin|commit|rollback|savepoint|release)\b/i.test(stmt.source)) return;
      explaining = true; // the EXPLAIN's own execution passes through here too
      try {
        const rows = stmt.database.prepare(`explain query plan ${stmt.source}`).all(...args) as { detail: string }[];
        seen.push({ sql: stmt.source, plan: rows.map((r) => r.detail) });
      } finally {
        explaining = false;
      }
    },
    fn,
  );
  return seen;
}
