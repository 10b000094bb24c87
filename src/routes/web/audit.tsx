import { Hono } from 'hono';
import { AuditPage, type AuditQueryValues } from '../../../views/admin/audit.js';
import type { AppEnv } from '../../middleware/context.js';
import { pageCtx } from '../../middleware/render.js';
import { requireRole } from '../../middleware/web-auth.js';
import { AUDIT_PAGE_SIZE, AUDIT_PARAMS, auditActions, auditEntries, parseAuditQuery } from '../../models/audit.js';
import { clientNames } from '../../models/clients.js';

/** The audit log (admin and support): filters live in the query string so a view can be shared. */
export const auditRoutes = new Hono<AppEnv>();

auditRoutes.get('/audit', requireRole('admin', 'support'), async (c) => {
  const { db } = c.var.deps;
  const raw = c.req.query();
  const query = Object.fromEntries(AUDIT_PARAMS.map((k) => [k, (raw[k] ?? '').slice(0, 300)])) as AuditQueryValues;
  const parsed = parseAuditQuery(query, c.var.timeZone);
  const [actions, clients] = await Promise.all([auditActions(db), clientNames(db)]);
  const props = { ctx: pageCtx(c), actions, clients, query };
  if (!parsed.ok) return c.html(<AuditPage {...props} rows={[]} page={1} hasMore={false} bad={parsed} />, 400);
  const { rows, hasMore } = await auditEntries(db, parsed.filter, { limit: AUDIT_PAGE_SIZE, offset: (parsed.page - 1) * AUDIT_PAGE_SIZE });
  return c.html(<AuditPage {...props} rows={rows} page={parsed.page} hasMore={hasMore} />);
});
