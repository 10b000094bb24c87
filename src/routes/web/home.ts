import { Hono } from 'hono';
import { existingSections } from '../../../views/layouts/page.js';
import type { AppEnv } from '../../middleware/context.js';
import { requireLogin } from '../../middleware/web-auth.js';

export const homeRoutes = new Hono<AppEnv>();

/** The start page is the role's main section. */
homeRoutes.get('/', requireLogin, (c) => {
  const role = c.var.viewer!.user.role;
  if (role === 'client') return c.redirect('/cabinet', 303);
  const first = ['/monitor', '/licenses', '/audit'].find((p) => existingSections.has(p)) ?? '/account';
  return c.redirect(first, 303);
});
