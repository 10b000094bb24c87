import { Hono } from 'hono';
import { sql } from 'kysely';
import type { AppEnv } from '../middleware/context.js';

export const healthRoutes = new Hono<AppEnv>();

/** 200 when the database answers a query, 503 otherwise. */
healthRoutes.get('/healthz', async (c) => {
  try {
    await sql`select 1`.execute(c.var.deps.db);
    return c.json({ status: 'ok' });
  } catch {
    return c.json({ status: 'unavailable' }, 503);
  }
});
