import type { PageContext } from '../../views/page-context.js';
import { translator } from '../i18n/index.js';
import type { AppContext } from './context.js';

/** The plain values a view needs from the request, so views never see the context. */
export function pageCtx(c: AppContext): PageContext {
  const viewer = c.var.viewer;
  const assets = c.var.deps.assets;
  return {
    t: c.var.t ?? translator('en'),
    locale: c.var.locale ?? 'en',
    timeZone: c.var.timeZone ?? 'UTC',
    user: viewer ? { email: viewer.user.email, role: viewer.user.role, clientId: viewer.user.client_id } : null,
    csrfToken: viewer?.csrfToken ?? null,
    path: new URL(c.req.url).pathname,
    asset: (name) => assets.url(name),
  };
}
