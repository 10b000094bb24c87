import { sql } from 'kysely';
import type { Db } from '../db/connection.js';

/**
 * Refreshes the query planner's table statistics where the data has changed much
 * (SQLite's PRAGMA optimize; cheap when nothing has), keeping per-key counts only
 * (value samples dropped: see openDatabase in src/db/connection.ts).
 */
export async function refreshPlannerStatistics(db: Db): Promise<void> {
  await sql`pragma optimize`.execute(db);
  const { rows } = await sql`select 1 from sqlite_schema where name = 'sqlite_stat4'`.execute(db);
  if (rows.length) {
    await sql`delete from sqlite_stat4`.execute(db);
    await sql`analyze sqlite_schema`.execute(db);
  }
}
