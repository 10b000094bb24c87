import { sql, type RawBuilder } from 'kysely';

/** `column LIKE '%text%'` with the user's % and _ taken literally (case-insensitive for ASCII in SQLite). */
export function contains(column: string, text: string): RawBuilder<boolean> {
  const pattern = '%' + text.replace(/[\\%_]/g, (m) => '\\' + m) + '%';
  return sql<boolean>`${sql.ref(column)} like ${pattern} escape '\\'`;
}

/** True for a UNIQUE or PRIMARY KEY violation (SQLite's code; PostgreSQL's 23505 later). */
export function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: string } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}
