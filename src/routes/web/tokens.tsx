import { Hono } from 'hono';
import { TokenCreatedPage, TokensPage, tokenLabel, type NewTokenForm } from '../../../views/admin/tokens.js';
import type { AppContext, AppEnv } from '../../middleware/context.js';
import { pageCtx } from '../../middleware/render.js';
import { requireRole } from '../../middleware/web-auth.js';
import { notFound } from '../../lib/errors.js';
import { field } from '../../lib/forms.js';
import { apiTokenById, issueApiToken, listApiTokens, revokeApiTokenAs } from '../../models/api-tokens.js';

/** API tokens page (admins only): create (then shown once, on a page of its own), list, revoke. */
export const tokensRoutes = new Hono<AppEnv>();
tokensRoutes.use('/tokens', requireRole('admin'));
tokensRoutes.use('/tokens/*', requireRole('admin'));

async function listPage(c: AppContext, status: 200 | 400, msg: { form?: NewTokenForm; error?: string; notice?: string | null } = {}) {
  const tokens = await listApiTokens(c.var.deps.db);
  return c.html(<TokensPage ctx={pageCtx(c)} tokens={tokens} {...msg} />, status);
}

tokensRoutes.get('/tokens', async (c) => {
  const revoked = Number(c.req.query('revoked'));
  const row = Number.isSafeInteger(revoked) && revoked > 0 ? await apiTokenById(c.var.deps.db, revoked) : undefined;
  // Only about a token that is revoked: a link naming a live one must not say it is dead.
  return listPage(c, 200, { notice: row && row.revoked_at !== null ? c.var.t('admin.tokens.revoked_done', { name: row.name, token: tokenLabel(c.var.t, row) }) : null });
});

tokensRoutes.post('/tokens', async (c) => {
  const body = await c.req.parseBody();
  const form: NewTokenForm = { name: field(body, 'name'), role: field(body, 'role') || 'support' };
  const t = c.var.t;
  const error = !form.name
    ? t('admin.tokens.error.name_required')
    : [...form.name].length > 100
      ? t('admin.tokens.error.name_too_long')
      : form.role !== 'admin' && form.role !== 'support'
        ? t('admin.tokens.error.role_invalid')
        : null;
  if (error) return listPage(c, 400, { form, error });
  const { db, clock } = c.var.deps;
  const { token, row } = await issueApiToken(db, c.var.viewer!.actor, { name: form.name, role: form.role as 'admin' | 'support' }, clock.now());
  // Redirected, so that a reload (or Back and "resubmit") shows a page instead of creating another token;
  // the plaintext waits in memory for this login's first view of that page.
  c.var.deps.newTokens.put(c.var.viewer!.tokenHash, String(row.id), token, clock.now());
  return c.redirect(`/tokens/${row.id}/created`, 303);
});

tokensRoutes.get('/tokens/:id{[0-9]{1,15}}/created', async (c) => {
  const { db, clock, newTokens } = c.var.deps;
  const row = await apiTokenById(db, Number(c.req.param('id')));
  if (!row) throw notFound();
  // A HEAD (a link checker, a prefetch) runs this handler too; it must not spend the one showing.
  const token = c.req.method === 'GET' ? newTokens.take(c.var.viewer!.tokenHash, String(row.id), clock.now()) : undefined;
  return c.html(<TokenCreatedPage ctx={pageCtx(c)} token={row} secret={row.revoked_at === null ? (token ?? null) : null} />);
});

tokensRoutes.post('/tokens/:id{[0-9]{1,15}}/revoke', async (c) => {
  const id = Number(c.req.param('id'));
  await revokeApiTokenAs(c.var.deps.db, c.var.viewer!.actor, id, c.var.deps.clock.now());
  return c.redirect(`/tokens?revoked=${id}`, 303);
});
