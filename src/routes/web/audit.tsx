import { Hono } from 'hono';
import { AuditPage, type AuditQueryValues } from '../../../views/admin/audit.js';
import type { AppEnv } from '../../middleware/context.js';
import { pageCtx } from '../../middleware/render.js';
import { requireRole } from '../../middleware/web-auth.js';
import { AUDIT_PAGE_SIZE, AUDIT_PARAMS, auditActions, auditEntries, parseAuditQuery } from '../../models/audit.js';

/** The audit log (admin and support): filters live in the query string so a view can be shared. */
export const auditRoutes = new Hono<AppEnv>();

auditRoutes.get('/audit', requireRole('admin', 'support'), async (c) => {
  const { db } = c.var.deps;
  const t = c.var.t;
  const raw = c.req.query();
  const query = Object.fromEntries(AUDIT_PARAMS.map((k) => [k, (raw[k] ?? '').slice(0, 300)])) as AuditQueryValues;
  const parsed = parseAuditQuery(query, c.var.timeZone);
  const actions = await auditActions(db);
  if (!parsed.ok) {
    const error = t('admin.audit.bad_param', { param: parsed.param, problem: t(`admin.audit.problem.${parsed.problem}`) });
    return c.html(<AuditPage ctx={pageCtx(c)} rows={[]} actions={actions} query={query} page={1} hasMore={false} error={error} />, 400);
  }
  const { rows, hasMore } = await auditEntries(db, parsed.filter, { limit: AUDIT_PAGE_SIZE, offset: (parsed.page - 1) * AUDIT_PAGE_SIZE });
  return c.html(<AuditPage ctx={pageCtx(c)} rows={rows} actions={actions} query={query} page={parsed.page} hasMore={hasMore} />);
});
