import { Hono } from 'hono';
import type { AppEnv } from '../middleware/context.js';
import { databaseAnswers } from '../models/health.js';

export const healthRoutes = new Hono<AppEnv>();

/** 200 when the database answers a query, 503 otherwise. */
healthRoutes.get('/healthz', async (c) =>
  (await databaseAnswers(c.var.deps.db)) ? c.json({ status: 'ok' }) : c.json({ status: 'unavailable' }, 503),
);
