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
