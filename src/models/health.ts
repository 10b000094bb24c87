import { sql } from 'kysely';
import type { Db } from '../db/connection.js';

/**
 * True when the database answers a query of its own data: the settings row, which every
 * request reads. `select 1` touches no file, so it passed on a database whose pages were
 * unreadable (a corrupted file, a missing table) while every page of the product failed.
 */
export async function databaseAnswers(db: Db): Promise<boolean> {
  try {
    const row = await sql<{ id: number }>`select id from settings where id = 1`.execute(db);
    return row.rows.length === 1;
  } catch {
    return false;
  }
}
