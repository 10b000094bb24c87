import type { Role } from '../src/db/schema.js';
import type { Locale, T } from '../src/i18n/index.js';

/** What every page view needs besides its own data: plain values, never the request. */
export interface PageContext {
  t: T;
  locale: Locale;
  timeZone: string;
  /** Signed-in user, or null on public pages. */
  user: { email: string; role: Role; clientId: number | null } | null;
  csrfToken: string | null;
  /** Current path, to mark the active menu item and come back after a locale switch. */
  path: string;
  asset: (name: string) => string;
}
