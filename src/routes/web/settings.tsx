import { Hono } from 'hono';
import { SettingsPage, type SettingName, type SettingsFormState } from '../../../views/settings/settings-page.js';
import { AppError } from '../../lib/errors.js';
import { field } from '../../lib/forms.js';
import type { AppContext, AppEnv } from '../../middleware/context.js';
import { pageCtx } from '../../middleware/render.js';
import { requireRole } from '../../middleware/web-auth.js';
import { changeSettings, changeSupportContact } from '../../models/settings-changes.js';
import { getSettings, SETTINGS_LIMITS, SUPPORT_CONTACT_MAX, supportContact, type Settings } from '../../models/settings.js';

/** The server settings page (admins only): lease, pool, self-reset quota and retention. */
export const settingsRoutes = new Hono<AppEnv>();
settingsRoutes.use('/settings', requireRole('admin'));
settingsRoutes.use('/settings/*', requireRole('admin'));

const NAMES = Object.keys(SETTINGS_LIMITS) as SettingName[];

async function render(
  c: AppContext,
  status: 200 | 400,
  values: SettingsFormState['values'],
  errors: SettingsFormState['errors'],
  notice?: string | null,
  contact?: { value: string; error: string },
) {
  const support = contact ?? { value: (await supportContact(c.var.deps.db)) ?? '', error: null };
  return c.html(
    <SettingsPage ctx={pageCtx(c)} form={{ values, errors, limits: SETTINGS_LIMITS }} notice={notice} supportContact={{ ...support, max: SUPPORT_CONTACT_MAX }} />,
    status,
  );
}

async function savedValues(c: AppContext): Promise<SettingsFormState['values']> {
  const s = await getSettings(c.var.deps.db);
  return Object.fromEntries(NAMES.map((n) => [n, String(s[n])])) as SettingsFormState['values'];
}

/** The model's field problems in the viewer's language. */
function translateProblems(c: AppContext, fields: Record<string, unknown>, typed: Partial<Settings>): SettingsFormState['errors'] {
  const t = c.var.t;
  const errors: SettingsFormState['errors'] = {};
  for (const name of NAMES) {
    if (!(name in fields)) continue;
    const [min, max] = SETTINGS_LIMITS[name];
    const v = typed[name];
    const inRange = v !== undefined && Number.isInteger(v) && v >= min && v <= max;
    errors[name] =
      name === 'leaseTimeoutSec' && inRange
        ? t('settings.error.lease', { min: 3 * (typed.heartbeatIntervalSec ?? 0) })
        : t('settings.error.range', { min, max });
  }
  return errors;
}

settingsRoutes.get('/settings', async (c) =>
  render(c, 200, await savedValues(c), {}, c.req.query('saved') !== undefined ? c.var.t('settings.saved') : null),
);

settingsRoutes.post('/settings', async (c) => {
  const body = await c.req.parseBody();
  const values = Object.fromEntries(NAMES.map((n) => [n, field(body, n).slice(0, 20)])) as SettingsFormState['values'];
  // Anything but plain digits is NaN, which the model refuses like any other bad value.
  const typed = Object.fromEntries(NAMES.map((n) => [n, /^\d{1,9}$/.test(values[n]) ? Number(values[n]) : Number.NaN])) as unknown as Settings;
  const { db, clock } = c.var.deps;
  try {
    await changeSettings(db, c.var.viewer!.actor, typed, clock.now());
  } catch (e) {
    if (e instanceof AppError && e.code === 'invalid_request') {
      return render(c, 400, values, translateProblems(c, (e.details.fields ?? {}) as Record<string, unknown>, typed));
    }
    throw e;
  }
  return c.redirect('/settings?saved', 303);
});

settingsRoutes.post('/settings/support-contact', async (c) => {
  const body = await c.req.parseBody();
  const raw = typeof body.supportContact === 'string' ? body.supportContact : '';
  const { db, clock } = c.var.deps;
  if ([...raw.trim()].length > SUPPORT_CONTACT_MAX) {
    const error = c.var.t('settings.support.too_long', { max: SUPPORT_CONTACT_MAX });
    return render(c, 400, await savedValues(c), {}, null, { value: raw.slice(0, SUPPORT_CONTACT_MAX * 2), error });
  }
  await changeSupportContact(db, c.var.viewer!.actor, raw, clock.now());
  return c.redirect('/settings?saved', 303);
});
