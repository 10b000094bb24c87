import { sql, type RawBuilder } from 'kysely';

/** `column LIKE '%text%'` with the user's % and _ taken literally; SQLite folds the case of ASCII letters only. */
export function likeContains(column: string, text: string): RawBuilder<boolean> {
  // SQLite reads a LIKE pattern up to its first NUL: "%\0%" would be "%", matching everything.
  if (text.includes('\0')) return sql<boolean>`instr(${sql.ref(column)}, ${text}) > 0`;
  const pattern = '%' + text.replace(/[\\%_]/g, (m) => '\\' + m) + '%';
  return sql<boolean>`${sql.ref(column)} like ${pattern} escape '\\'`;
}

/**
 * The column contains the text, ignoring case. SQLite's LIKE folds case for
 * ASCII only; for other letters (Cyrillic names) also try the lower, upper
 * and capitalised forms of the term. A scan either way (a leading % uses no index).
 */
export function contains(column: string, text: string): RawBuilder<boolean> {
  if (!/[^\x00-\x7f]/.test(text)) return likeContains(column, text);
  const forms = new Set([text, text.toLowerCase(), text.toUpperCase(), text.charAt(0).toUpperCase() + text.slice(1).toLowerCase()]);
  return sql<boolean>`(${sql.join([...forms].map((f) => likeContains(column, f)), sql` or `)})`;
}

/**
 * The words of a search: every one must match (somewhere), so "1C-APP-02 Петров" finds Petrov's
 * sessions on that machine. A phrase still finds what it found, its words being in it. At most 8.
 */
export function searchWords(text: string): string[] {
  return text.split(/\s+/).filter(Boolean).slice(0, 8);
}

/** True for a UNIQUE or PRIMARY KEY violation (SQLite's code; PostgreSQL's 23505 later). */
export function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: string } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}

/**
 * Sessions (the table or alias `sessions`) of one bound host, which may be a column of the outer
 * query: by the host's license and then the host. Open sessions are indexed by license and not by
 * host (every capture and close would write a host entry too: migration 2026-12-07-20), and a host
 * is bound within one license, so this reads that license's open sessions only.
 */
export function sessionOfHost(sessions: string, hostId: number | RawBuilder<unknown>): RawBuilder<boolean> {
  return sql<boolean>`(${sql.ref(`${sessions}.license_id`)} = (select bh.license_id from hosts bh where bh.id = ${hostId}) and ${sql.ref(`${sessions}.host_id`)} = ${hostId})`;
}
