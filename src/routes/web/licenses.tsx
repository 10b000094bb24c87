import { Hono } from 'hono';
import { LicenseCardPage, LicenseHistoryPage, type LicenseCardData } from '../../../views/licenses/card.js';
import { LICENSE_FORM_FIELDS, LicenseFormPage, type LicenseFormField, type LicenseFormState } from '../../../views/licenses/form.js';
import { HISTORY_PERIODS, type HistoryData, type HistoryPeriod } from '../../../views/licenses/history.js';
import { LicensesPage, type LicenseListQuery } from '../../../views/licenses/list.js';
import type { Db } from '../../db/connection.js';
import { hasMessage } from '../../i18n/index.js';
import { AppError, badQuery, errorDetail, notFound } from '../../lib/errors.js';
import { formatCount } from '../../lib/format.js';
import { countParam, dateTimeField, dateTimeFieldError, field, typedText } from '../../lib/forms.js';
import { isDotName } from '../../lib/path-segment.js';
import { toLocalInput, zoneLabel } from '../../lib/local-time.js';
import type { AppContext, AppEnv } from '../../middleware/context.js';
import { pageCtx } from '../../middleware/render.js';
import { requireRole } from '../../middleware/web-auth.js';
import { clientNames } from '../../models/clients.js';
import { concurrentSessionsSeries, licenseHistory } from '../../models/history.js';
import {
  boundHosts,
  createLicense,
  featuresAboveLimits,
  hostById,
  licenseById,
  licenseInputProblems,
  listLicenses,
  selfResetStatus,
  setLicenseSuspended,
  updateLicense,
  usageAboveLimits,
  type License,
  type LicenseChanges,
} from '../../models/licenses.js';
import { resetBinding, terminateSession } from '../../models/session-actions.js';
import { sessionBriefs } from '../../models/session-briefs.js';
import { sessionRowById } from '../../models/session-queries.js';
import { getSettings } from '../../models/settings.js';

/** License pages (staff): list, card with bound hosts and sessions, history; admins create, edit and suspend. */
export const licensesRoutes = new Hono<AppEnv>();
const staffOnly = requireRole('admin', 'support');
const adminOnly = requireRole('admin');
licensesRoutes.use('/licenses', staffOnly);
licensesRoutes.use('/licenses/*', staffOnly);

const ID = '{[0-9]{1,15}}';
const LIST_PAGE_SIZE = 50;
const CARD_SESSIONS = 50;

const now = (c: AppContext) => c.var.deps.clock.now();
const actor = (c: AppContext) => c.var.viewer!.actor;
const isAdmin = (c: AppContext) => c.var.viewer!.user.role === 'admin';
const idParam = (c: AppContext, name = 'id') => Number(c.req.param(name));

// ---- history (shared with the cabinet) ----

const BUCKETS: Record<HistoryPeriod, number> = { '1h': 60, '24h': 96, '7d': 168 };

/**
 * The History tab's data for the page's `period` ("1h" | "24h" | "7d", within the retention of history;
 * none or empty: 24 h). Any other period is a 400 naming it, never another period shown instead.
 */
export async function loadHistory(c: AppContext, license: License): Promise<HistoryData> {
  const db = c.var.deps.db;
  const at = now(c);
  const periodParam = (c.req.query('period') ?? '').trim();
  const { retentionDays } = await getSettings(db);
  const available = (Object.keys(HISTORY_PERIODS) as HistoryPeriod[]).filter((p) => HISTORY_PERIODS[p] <= retentionDays * 24);
  if (periodParam && !available.includes(periodParam as HistoryPeriod)) {
    const t = c.var.t;
    const choices = available.map((p) => `${p} (${t(`licenses.history.period.${p}`)})`).join(', ');
    throw badQuery(t, 'period', t('licenses.history.period'), t('query.problem.choice', { choices }));
  }
  const period: HistoryPeriod = (periodParam || '24h') as HistoryPeriod;
  // A period reaching past the raw window (7 d) starts on an hour: the history's per-hour roll-ups are whole.
  const history = await licenseHistory(db, license.id, { from: at - HISTORY_PERIODS[period] * 3600_000, to: at });
  const series = await concurrentSessionsSeries(db, license.id, history.from, at, BUCKETS[period], license.maxSessions);
  return { period, available, from: history.from, to: at, history, series };
}

// ---- list ----

/** A positive id as the URL writes it (1 to 15 digits). */
export const isIdText = (s: string) => /^\d{1,15}$/.test(s) && Number(s) > 0;

/** The page's message for a client filter that is not an id, the filter named by its label (a catalogue key). */
export const badClientText = (c: AppContext, labelKey: string) =>
  c.var.t('query.bad_param', { label: c.var.t(labelKey), param: 'client', problem: c.var.t('query.problem.client') });

const LIST_FLAGS = ['expired', 'suspended', 'near'] as const;

/** The list's first filter that cannot be read (a client that is not an id, a check box other than "1"), as the page says it. */
function listQueryError(c: AppContext): string | null {
  const q = c.req.query();
  const client = (q.client ?? '').trim();
  if (client && !isIdText(client)) return badClientText(c, 'licenses.field.client');
  const t = c.var.t;
  for (const k of LIST_FLAGS) {
    const v = (q[k] ?? '').trim();
    if (v && v !== '1' && v !== 'on') return t('query.bad_param', { label: t(`licenses.filter.${k}`), param: k, problem: t('query.problem.choice', { choices: '1' }) });
  }
  return null;
}

function listQuery(c: AppContext): LicenseListQuery {
  const q = c.req.query();
  const flag = (k: string) => q[k]?.trim() === '1' || q[k]?.trim() === 'on';
  const client = (q.client ?? '').trim();
  return {
    q: (q.q ?? '').trim().slice(0, 200),
    client: isIdText(client) ? client : '',
    product: (q.product ?? '').trim().slice(0, 200),
    expired: flag('expired'),
    suspended: flag('suspended'),
    near: flag('near'),
    cursor: (q.cursor ?? '').slice(0, 1000),
  };
}

licensesRoutes.get('/licenses', async (c) => {
  const { db } = c.var.deps;
  const query = listQuery(c);
  const clients = await clientNames(db);
  const filter = {
    q: query.q || null,
    clientId: query.client ? Number(query.client) : null,
    product: query.product || null,
    expired: query.expired ? true : undefined,
    suspended: query.suspended ? true : undefined,
    nearHostLimit: query.near,
  };
  const props = { ctx: pageCtx(c), query, clients, now: now(c), canCreate: isAdmin(c) };
  // A filter that cannot be read is refused, not dropped: the list would show more than was asked for.
  const bad = listQueryError(c);
  if (bad) return c.html(<LicensesPage {...props} licenses={[]} nextCursor={null} error={bad} />, 400);
  try {
    const page = await listLicenses(db, filter, { limit: LIST_PAGE_SIZE, cursor: query.cursor || null }, now(c));
    return c.html(<LicensesPage {...props} licenses={page.items} nextCursor={page.nextCursor} />);
  } catch (e) {
    if (!(e instanceof AppError) || e.code !== 'invalid_request') throw e;
    return c.html(<LicensesPage {...props} query={{ ...query, cursor: '' }} licenses={[]} nextCursor={null} error={c.var.t('licenses.bad_cursor')} />, 400);
  }
});

// ---- create and edit (admins) ----

const emptyValues = (): Record<LicenseFormField, string> => Object.fromEntries(LICENSE_FORM_FIELDS.map((f) => [f, ''])) as Record<LicenseFormField, string>;

/** The form's text fields as typed, each cut to a sane length. */
function formValues(body: Record<string, unknown>): Record<LicenseFormField, string> {
  const v = emptyValues();
  for (const f of LICENSE_FORM_FIELDS) v[f] = field(body, f).slice(0, f === 'notes' || f === 'features' ? 20_000 : 200);
  return v;
}

interface ParsedLicenseForm {
  clientId: number;
  product: string;
  features: string[];
  featureLimits: Record<string, number>;
  maxHosts: number | undefined;
  maxSessions: number | null;
  expiresAt: number | null;
  selfResetQuota: number | null;
  notes: string | null;
}

/** Digits → number; empty → null; anything else → NaN, which the model refuses with the field named. */
const wholeNumber = (s: string): number | null => (s === '' ? null : /^\d{1,9}$/.test(s) ? Number(s) : Number.NaN);

/** A browser sends a textarea's line breaks as CRLF, whatever they were when shown. */
const sameLines = (sent: string, shown: string | null) => sent.replace(/\r\n?/g, '\n') === (shown ?? '').replace(/\r\n?/g, '\n');

type FormErrors = LicenseFormState['errors'];

/** Adds a field's message (once: three lines of one name say it once). */
function addError(errors: FormErrors, field: LicenseFormField, message: string): void {
  const list = (errors[field] ??= []);
  if (!list.includes(message)) list.push(message);
}

/** A name as a message quotes it: a pasted paragraph is cut. */
const quoted = (name: string) => ([...name].length > 40 ? `${[...name].slice(0, 40).join('')}…` : name);

/**
 * Reads the form into the model's input. Features are one per line, "name" or
 * "name = limit". Problems the model cannot see (syntax, dates) are returned.
 * When editing, a field sent back as it was shown keeps the stored value.
 */
function parseLicenseForm(c: AppContext, v: Record<LicenseFormField, string>, shown?: License): { input: ParsedLicenseForm; errors: FormErrors } {
  const t = c.var.t;
  const errors: FormErrors = {};
  const features: string[] = [];
  const limits: [string, number][] = [];
  const named = new Set<string>();
  // Every bad line is named, not only the last one read.
  for (const raw of v.features.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    const eq = line.lastIndexOf('=');
    const name = (eq < 0 ? line : line.slice(0, eq)).trim();
    const limit = eq < 0 ? null : line.slice(eq + 1).trim();
    if (!name) {
      addError(errors, 'features', t('licenses.form.error.feature_line', { line: quoted(line) }));
      continue;
    }
    // The model's sameness: "café" typed two ways is one feature.
    const twice = named.has(name.normalize('NFC'));
    named.add(name.normalize('NFC'));
    if (twice) addError(errors, 'features', t('licenses.form.error.feature_twice', { name: quoted(name) }));
    else if (limit !== null && !/^\d{1,7}$/.test(limit)) addError(errors, 'features', t('licenses.form.error.feature_limit', { name: quoted(name) }));
    else if (isDotName(name)) addError(errors, 'features', t('licenses.form.error.feature_dots'));
    else {
      features.push(name);
      if (limit !== null) limits.push([name, Number(limit)]);
    }
  }
  // Entries, not assignments: a feature may be called "__proto__".
  const featureLimits: Record<string, number> = Object.fromEntries(limits);
  let expiresAt: number | null = null;
  if (v.expiresAt) {
    const r = dateTimeField(v.expiresAt, c.var.timeZone, shown?.expiresAt);
    if ('at' in r) expiresAt = r.at;
    else addError(errors, 'expiresAt', dateTimeFieldError(r, t, 'licenses.form.error.date', c.var.timeZone, now(c)));
  }
  // An expiry typed in the past is a typo (2025 for 2027): the client would be refused at once. A guard
  // for a person typing, not a rule of the model: the admin API takes any date, so that an integration
  // can import the licenses of an older system, expired ones included (the demo does). An expired
  // license's expiry left as it was still saves: its other terms may be edited.
  if (expiresAt !== null && expiresAt !== shown?.expiresAt && expiresAt <= now(c)) {
    addError(errors, 'expiresAt', t(shown ? 'licenses.form.error.expires_past_edit' : 'licenses.form.error.expires_past'));
  }
  const maxHosts = wholeNumber(v.maxHosts);
  return {
    errors,
    input: {
      clientId: shown ? shown.clientId : /^\d{1,15}$/.test(v.clientId) ? Number(v.clientId) : 0,
      product: v.product,
      features,
      featureLimits,
      maxHosts: maxHosts ?? undefined,
      maxSessions: wholeNumber(v.maxSessions),
      expiresAt,
      selfResetQuota: wholeNumber(v.selfResetQuota),
      notes: shown && sameLines(v.notes, shown.notes) ? shown.notes : v.notes || null,
    },
  };
}

/** The model's field problems as the form's messages, in the viewer's language, added to `errors`. */
function addModelProblems(c: AppContext, fields: Record<string, string>, input: ParsedLicenseForm, errors: FormErrors): FormErrors {
  const t = c.var.t;
  for (const [key, problem] of Object.entries(fields)) {
    const [head, ...rest] = key.split('.');
    if (head === 'featureLimits') addError(errors, 'features', t('licenses.form.error.feature_limit', { name: quoted(rest.join('.')) }));
    else if (head === 'features' && rest.length) {
      // "features.3": the input's fourth feature.
      const name = quoted(input.features[Number(rest[0])] ?? '');
      addError(errors, 'features', t(problem === 'api.v.duplicate_feature' ? 'licenses.form.error.feature_twice' : 'licenses.form.error.feature_name', { name }));
    } else if (head === 'features') addError(errors, 'features', t('licenses.form.error.features'));
    else if ((LICENSE_FORM_FIELDS as readonly string[]).includes(head)) addError(errors, head as LicenseFormField, t(`licenses.form.error.${head}`));
  }
  return errors;
}

/** The form's input and every problem of it at once: what the form reads and what the model's rules say. */
function checkLicenseForm(c: AppContext, v: Record<LicenseFormField, string>, shown?: License): { input: ParsedLicenseForm; errors: FormErrors } {
  const { input, errors } = parseLicenseForm(c, v, shown);
  if (!input.clientId) addError(errors, 'clientId', c.var.t('licenses.form.error.clientId'));
  addModelProblems(c, licenseInputProblems({ ...input, maxHosts: input.maxHosts as number }), input, errors);
  return { input, errors };
}

/** A refusal of the model at saving (a client deleted meanwhile) as the form's messages. */
function modelErrors(c: AppContext, e: unknown, input: ParsedLicenseForm): FormErrors {
  if (!(e instanceof AppError) || e.code !== 'invalid_request') throw e;
  const errors = addModelProblems(c, (e.details.fields ?? {}) as Record<string, string>, input, {});
  if (!Object.keys(errors).length) errors.product = [c.var.t('error.bad_request', { detail: errorDetail(e, c.var.t) })];
  return errors;
}

async function formPage(c: AppContext, status: 200 | 400, mode: 'create' | 'edit', form: LicenseFormState, license?: License) {
  const { db } = c.var.deps;
  const [clients, settings] = await Promise.all([mode === 'create' ? clientNames(db) : Promise.resolve([]), getSettings(db)]);
  const t = c.var.t;
  return c.html(
    <LicenseFormPage
      ctx={pageCtx(c)}
      mode={mode}
      action={license ? `/licenses/${license.id}` : '/licenses'}
      form={form}
      clients={clients}
      editing={license && { key: license.key, clientName: license.clientName }}
      quotaDefault={settings.selfResetQuotaDefault}
      zoneLabel={zoneLabel(c.var.timeZone, now(c))}
      error={Object.keys(form.errors).length ? t('licenses.form.fix') : null}
    />,
    status,
  );
}

licensesRoutes.get('/licenses/new', adminOnly, (c) => {
  const values = emptyValues();
  const client = (c.req.query('client') ?? '').trim();
  // The client card's "New license" link names its client; anything else there is refused, not a blank choice.
  if (client && !isIdText(client)) throw badQuery(c.var.t, 'client', c.var.t('licenses.field.client'), c.var.t('query.problem.client'));
  if (client) values.clientId = client;
  values.maxHosts = '1';
  return formPage(c, 200, 'create', { values, errors: {} });
});

licensesRoutes.post('/licenses', adminOnly, async (c) => {
  const values = formValues(await c.req.parseBody());
  const { input, errors } = checkLicenseForm(c, values);
  if (Object.keys(errors).length) return formPage(c, 400, 'create', { values, errors });
  try {
    const license = await createLicense(c.var.deps.db, actor(c), { ...input, maxHosts: input.maxHosts as number }, now(c));
    return c.redirect(`/licenses/${license.id}?done=created`, 303);
  } catch (e) {
    return formPage(c, 400, 'create', { values, errors: modelErrors(c, e, input) });
  }
});

async function licenseOr404(c: AppContext): Promise<License> {
  const license = await licenseById(c.var.deps.db, idParam(c));
  if (!license) throw notFound();
  return license;
}

licensesRoutes.get(`/licenses/:id${ID}/edit`, adminOnly, async (c) => {
  const l = await licenseOr404(c);
  const values = emptyValues();
  values.product = l.product;
  values.features = l.features.map((f) => (l.featureLimits[f] !== undefined ? `${f} = ${l.featureLimits[f]}` : f)).join('\n');
  values.maxHosts = String(l.maxHosts);
  values.maxSessions = l.maxSessions === null ? '' : String(l.maxSessions);
  values.expiresAt = toLocalInput(l.expiresAt, c.var.timeZone);
  values.selfResetQuota = l.selfResetQuota === null ? '' : String(l.selfResetQuota);
  values.notes = l.notes ?? '';
  return formPage(c, 200, 'edit', { values, errors: {} }, l);
});

licensesRoutes.post(`/licenses/:id${ID}`, adminOnly, async (c) => {
  const l = await licenseOr404(c);
  const values = formValues(await c.req.parseBody());
  const { input, errors } = checkLicenseForm(c, values, l);
  if (Object.keys(errors).length) return formPage(c, 400, 'edit', { values, errors }, l);
  const changes: LicenseChanges = {
    product: input.product,
    features: input.features,
    featureLimits: input.featureLimits,
    maxHosts: input.maxHosts ?? Number.NaN,
    maxSessions: input.maxSessions,
    expiresAt: input.expiresAt,
    selfResetQuota: input.selfResetQuota,
    notes: input.notes,
  };
  let saved: License;
  try {
    saved = await updateLicense(c.var.deps.db, actor(c), l.id, changes, now(c));
  } catch (e) {
    return formPage(c, 400, 'edit', { values, errors: modelErrors(c, e, input) }, l);
  }
  // A limit changed to below what is in use: the card says so, and that nothing was freed or closed.
  const above = usageAboveLimits(saved);
  const lowered = (f: string) => saved.featureLimits[f] !== l.featureLimits[f];
  const featuresOver = Object.keys(await featuresAboveLimits(c.var.deps.db, saved)).some(lowered);
  const over = [saved.maxHosts !== l.maxHosts && above.hosts > 0 && 'hosts', saved.maxSessions !== l.maxSessions && above.sessions > 0 && 'sessions', featuresOver && 'features'].filter(Boolean);
  return c.redirect(`/licenses/${l.id}?done=updated${over.length ? `&over=${over.join(',')}` : ''}`, 303);
});

// ---- the card ----

/** What the card shows, with the viewer's scope already applied by the caller. */
export async function licenseCardData(db: Db, license: License, at: number, scopeClientId: number | null = null): Promise<LicenseCardData> {
  const [hosts, quota, sessions] = await Promise.all([
    boundHosts(db, license.id),
    selfResetStatus(db, license, at),
    sessionBriefs(db, { licenseId: license.id, scopeClientId }, CARD_SESSIONS, at),
  ]);
  return { license, hosts, quota, sessions };
}

const DONE = new Set(['created', 'updated', 'suspended', 'unsuspended', 'reset', 'terminated', 'already_closed']);

/** The notice for `?done=…&n=…` after an action's redirect. */
export function doneNotice(c: AppContext, area: string, done: Set<string>): string | null {
  const d = c.req.query('done');
  if (!d || !done.has(d)) return null;
  const key = `${area}.done.${d}`;
  // Notices with a count (sessions closed) have plural forms; the others are one sentence.
  if (!hasMessage(`${key}.other`)) return c.var.t(key);
  // The URL is anyone's to write: a count that no action could have given says nothing.
  const n = countParam(c.req.query('n'));
  return n === null ? null : c.var.t.n(key, n);
}

/**
 * After an edit that left the license above a limit it changed (`&over=hosts,sessions,features`): how
 * far above, from the license itself, not from the URL; and that nothing was freed or closed.
 */
async function overLimitNotice(c: AppContext, l: License): Promise<string | null> {
  if (c.req.query('done') !== 'updated') return null;
  const named = (c.req.query('over') ?? '').split(',');
  const above = usageAboveLimits(l);
  const t = c.var.t;
  const count = (n: number) => formatCount(n, t.locale);
  const parts: string[] = [];
  if (named.includes('hosts') && above.hosts) parts.push(t.n('licenses.done.over_hosts', l.boundHosts, { over: count(above.hosts), max: count(l.maxHosts) }));
  if (named.includes('sessions') && above.sessions && l.maxSessions !== null) {
    parts.push(t.n('licenses.done.over_sessions', l.liveSessions, { over: count(above.sessions), max: count(l.maxSessions) }));
  }
  if (named.includes('features')) {
    for (const [feature, holders] of Object.entries(await featuresAboveLimits(c.var.deps.db, l))) {
      const max = l.featureLimits[feature];
      parts.push(t.n('licenses.done.over_feature', holders, { feature, over: count(holders - max), max: count(max) }));
    }
  }
  return parts.length ? [t('licenses.done.updated'), ...parts, t('licenses.done.over_note')].join(' ') : null;
}

async function cardPage(c: AppContext, license: License, status: 200 | 400 | 409 = 200, error: string | null = null) {
  const { db } = c.var.deps;
  const data = await licenseCardData(db, license, now(c));
  return c.html(
    <LicenseCardPage
      ctx={pageCtx(c)}
      data={data}
      quotaIsDefault={license.selfResetQuota === null}
      now={now(c)}
      isAdmin={isAdmin(c)}
      notice={error ? null : ((await overLimitNotice(c, data.license)) ?? doneNotice(c, 'licenses', DONE))}
      error={error}
    />,
    status,
  );
}

licensesRoutes.get(`/licenses/:id${ID}`, async (c) => cardPage(c, await licenseOr404(c)));

licensesRoutes.get(`/licenses/:id${ID}/history`, async (c) => {
  const license = await licenseOr404(c);
  const data = await loadHistory(c, license);
  return c.html(<LicenseHistoryPage ctx={pageCtx(c)} license={license} data={data} now={now(c)} isAdmin={isAdmin(c)} />);
});

licensesRoutes.post(`/licenses/:id${ID}/suspend`, adminOnly, async (c) => {
  const license = await licenseOr404(c);
  const reason = typedText(await c.req.parseBody(), 'reason') || null;
  const r = await setLicenseSuspended(c.var.deps.db, actor(c), license.id, true, now(c), reason);
  return c.redirect(`/licenses/${license.id}?done=suspended&n=${r.closedSessions}`, 303);
});

licensesRoutes.post(`/licenses/:id${ID}/unsuspend`, adminOnly, async (c) => {
  const license = await licenseOr404(c);
  await setLicenseSuspended(c.var.deps.db, actor(c), license.id, false, now(c));
  return c.redirect(`/licenses/${license.id}?done=unsuspended`, 303);
});

licensesRoutes.post(`/licenses/:id${ID}/hosts/:hostId${ID}/reset`, async (c) => {
  const license = await licenseOr404(c);
  const { db } = c.var.deps;
  const host = await hostById(db, idParam(c, 'hostId'));
  if (!host || host.license_id !== license.id || host.reset_at !== null) throw notFound();
  const reason = typedText(await c.req.parseBody(), 'reason');
  if (!reason) return cardPage(c, license, 400, c.var.t('licenses.hosts.reason_required'));
  const r = await resetBinding(db, actor(c), host.id, reason, now(c));
  return c.redirect(`/licenses/${license.id}?done=reset&n=${r.closedSessions}#hosts`, 303);
});

licensesRoutes.post(`/licenses/:id${ID}/sessions/:sid/terminate`, async (c) => {
  const license = await licenseOr404(c);
  const { db } = c.var.deps;
  const sid = c.req.param('sid');
  const s = sid.length <= 64 ? await sessionRowById(db, sid) : undefined;
  if (!s || s.license_id !== license.id) throw notFound();
  const closed = await terminateSession(db, actor(c), s.id, null, now(c));
  return c.redirect(`/licenses/${license.id}?done=${closed ? 'terminated' : 'already_closed'}#sessions`, 303);
});
