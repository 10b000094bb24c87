// The monitor's global search over a session's own text columns, as one
// lowercased text stored on the session row when it opens (these columns never
// change afterwards). Searching it is one LIKE of the lowercased term per open
// session, read from the default sort's index (migration 2026-11-21-40),
// instead of a LIKE per column and, for non-ASCII terms, per case form (SQLite's
// LIKE and lower() fold ASCII only): the monitor's search went 13.9 -> 4.3 ms of
// CPU for a Cyrillic term over 10,000 open sessions. JavaScript's toLowerCase
// folds every script.

/** The columns the global search matches on the session row, in the stored order. */
export interface SessionSearchFields {
  user_name: string;
  client_session_id: string | null;
  machine_hostname: string | null;
  client_hostname: string | null;
  machine_ip: string | null;
  client_ip: string | null;
}

/**
 * Separates the columns in the stored text, so that a term never matches across
 * two of them; a term containing it is searched column by column instead.
 */
export const SEARCH_SEPARATOR = '\n';

/** The sessions.search_text of a session: its searchable columns, lowercased, one per line. */
export function sessionSearchText(s: SessionSearchFields): string {
  return [s.user_name, s.client_session_id, s.machine_hostname, s.client_hostname, s.machine_ip, s.client_ip]
    .map((v) => v ?? '')
    .join(SEARCH_SEPARATOR)
    .toLowerCase();
}
