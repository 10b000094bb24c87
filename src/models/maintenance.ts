import { sql } from 'kysely';
import type { Db } from '../db/connection.js';

/** Refreshes the query planner's table statistics where the data has changed much (SQLite's PRAGMA optimize; cheap when nothing has). */
export async function refreshPlannerStatistics(db: Db): Promise<void> {
  await sql`pragma optimize`.execute(db);
}
