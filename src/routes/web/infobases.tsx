import { createHash } from 'node:crypto';
import { Hono } from 'hono';
import { InfobasePage, InfobasesList, InfobasesPage, type InfobaseListQuery, type LockFormState } from '../../../views/infobases/pages.js';
import { AppError, notFound } from '../../lib/errors.js';
import { dateTimeField, dateTimeFieldError, field } from '../../lib/forms.js';
import { toLocalInput, zoneLabel } from '../../lib/local-time.js';
import type { AppContext, AppEnv } from '../../middleware/context.js';
import { pageCtx } from '../../middleware/render.js';
import { isPoll, requireRole } from '../../middleware/web-auth.js';
import { scopeClientId } from '../../models/actor.js';
import { clientNames } from '../../models/clients.js';
import { infobaseById, listInfobases, removeLock, setLock, type Infobase, type LockInput } from '../../models/infobases.js';
import { terminateSession, terminateSessions } from '../../models/session-actions.js';
import { liveSessionIdsOfInfobase, sessionBriefs, type SessionBrief } from '../../models/session-briefs.js';
import { sessionRowById } from '../../models/session-queries.js';
import { badClientText, doneNotice, isIdText } from './licenses.js';

/** Infobase pages (staff): list with lock states, an infobase's lock and sessions, Terminate all. */
export const infobasesRoutes = new Hono<AppEnv>();
infobasesRoutes.use('/infobases', requireRole('admin', 'support'));
infobasesRoutes.use('/infobases/*', requireRole('admin', 'support'));

const ID = '{[0-9]{1,15}}';
const now = (c: AppContext) => c.var.deps.clock.now();
const PAGE_SESSIONS = 100;

// ---- the lock form and the infobase page (shared with the cabinet) ----

/** The lock the form starts from: the current one while it is set and not over. */
const shownLock = (ib: Infobase) => (ib.lock && ib.lock.state !== 'expired' ? ib.lock : null);

/** What the lock form is filled from: the lock it shows (its setting time), or none (an ended lock fills nothing). */
export const lockFormBasis = (ib: Infobase) => String(shownLock(ib)?.setAt ?? 'none');

/** The form for a new lock: the current one's values while it is set and not over, else the defaults. */
export function lockFormOf(ib: Infobase, timeZone: string): LockFormState {
  const lock = shownLock(ib);
  return {
    values: {
      from: toLocalInput(lock?.from, timeZone),
      to: toLocalInput(lock?.to, timeZone),
      message: lock?.message ?? '',
      permissionCode: '',
      denySessions: lock ? lock.denySessions : true,
      denyBackgroundJobs: lock ? lock.denyBackgroundJobs : false,
    },
    errors: {},
  };
}

/**
 * Reads the lock form. The datetime-local inputs are wall times in the
 * viewer's zone; one sent back as the infobase's lock showed it keeps that
 * lock's time. Returns the model's input, or the form with its problems
 * (to before from, to in the past, no message…), translated.
 */
export function parseLockForm(c: AppContext, body: Record<string, unknown>, ib: Infobase): { input: LockInput | null; form: LockFormState } {
  const t = c.var.t;
  const tz = c.var.timeZone;
  const form: LockFormState = {
    values: {
      from: field(body, 'from').slice(0, 40),
      to: field(body, 'to').slice(0, 40),
      message: field(body, 'message').slice(0, 2000),
      permissionCode: typeof body.permissionCode === 'string' ? body.permissionCode.slice(0, 2000) : '',
      denySessions: field(body, 'denySessions') !== '',
      denyBackgroundJobs: field(body, 'denyBackgroundJobs') !== '',
    },
    errors: {},
  };
  const v = form.values;
  const e = form.errors;
  const shown = shownLock(ib);
  const fromField = v.from ? dateTimeField(v.from, tz, shown?.from) : null;
  const toField = v.to ? dateTimeField(v.to, tz, shown?.to) : null;
  const from = fromField && 'at' in fromField ? fromField.at : null;
  const to = toField && 'at' in toField ? toField.at : null;
  if (fromField && 'problem' in fromField) e.from = dateTimeFieldError(fromField, t, 'infobases.lock.error.date', tz, now(c));
  if (toField && 'problem' in toField) e.to = dateTimeFieldError(toField, t, 'infobases.lock.error.date', tz, now(c));
  else if (to !== null && from !== null && to <= from) e.to = t('infobases.lock.error.to_before_from');
  else if (to !== null && to <= now(c)) e.to = t('infobases.lock.error.to_past');
  if (!v.message) e.message = t('infobases.lock.error.message');
  else if ([...v.message].length > 512) e.message = t('infobases.lock.error.too_long', { n: 512 });
  if ([...v.permissionCode].length > 512) e.permissionCode = t('infobases.lock.error.too_long', { n: 512 });
  if (!v.denySessions && !v.denyBackgroundJobs) e.refuses = t('infobases.lock.error.refuses_nothing');
  else if (!v.denySessions && v.permissionCode && !e.permissionCode) e.permissionCode = t('infobases.lock.error.code_without_sessions');
  if (Object.keys(e).length) return { input: null, form };
  return {
    form,
    input: { from, to, message: v.message, permissionCode: v.permissionCode || null, denySessions: v.denySessions, denyBackgroundJobs: v.denyBackgroundJobs },
  };
}

/** The model's refusal of a lock as form messages (it checks the same rules once more, at its own `now`). */
export function lockModelErrors(c: AppContext, err: unknown, form: LockFormState): LockFormState {
  if (!(err instanceof AppError) || err.code !== 'invalid_request') throw err;
  const t = c.var.t;
  const errors: LockFormState['errors'] = {};
  for (const key of Object.keys((err.details.fields ?? {}) as Record<string, string>)) {
    if (key === 'to') errors.to = t('infobases.lock.error.to_past');
    else if (key === 'message') errors.message = t('infobases.lock.error.message');
    else if (key === 'permissionCode') errors.permissionCode = form.values.denySessions ? t('infobases.lock.error.too_long', { n: 512 }) : t('infobases.lock.error.code_without_sessions');
    else if (key === 'denySessions') errors.refuses = t('infobases.lock.error.refuses_nothing');
  }
  return { ...form, errors };
}

export const INFOBASE_DONE = new Set(['locked', 'unlocked', 'terminated', 'already_closed', 'terminated_all']);

/** Renders an infobase page for staff or the cabinet; the infobase was found in the viewer's scope. */
export async function renderInfobasePage(
  c: AppContext,
  ib: Infobase,
  opts: { base: string; staff: boolean; terminateAction: (s: SessionBrief) => string; lockForm?: LockFormState; status?: 200 | 400 | 409; error?: string | null },
) {
  const { db } = c.var.deps;
  const scope = scopeClientId(c.var.viewer!.actor);
  const sessions = await sessionBriefs(db, { infobaseId: ib.id, scopeClientId: scope }, PAGE_SESSIONS, now(c));
  const tz = c.var.timeZone;
  const failed = opts.status !== undefined && opts.status !== 200;
  const formBasis = lockFormBasis(ib);
  // The page's own refresh, its form filled from the lock as it stands: leave the form out (it may be half typed).
  const refresh = isPoll(c) && c.req.header('hx-request') === 'true';
  const keepForm = refresh && c.req.query('formFor') === formBasis;
  return c.html(
    <InfobasePage
      ctx={pageCtx(c)}
      infobase={ib}
      sessions={sessions}
      base={opts.base}
      staff={opts.staff}
      terminateAction={opts.terminateAction}
      lockForm={opts.lockForm ?? lockFormOf(ib, tz)}
      zoneLabel={zoneLabel(tz, now(c))}
      formBasis={formBasis}
      keepForm={keepForm}
      notice={failed || refresh ? null : doneNotice(c, 'infobases', INFOBASE_DONE)}
      error={opts.error ?? (opts.lockForm && Object.keys(opts.lockForm.errors).length ? c.var.t('infobases.lock.error.fix') : null)}
    />,
    opts.status ?? 200,
  );
}

// ---- staff routes ----

/**
 * The marker of what the list part shows: a digest of its data (lock states at now, live counts) and
 * of the language and zone it is written in. Lock windows open and close by time alone, without a
 * write (the change marker does not move then), so the data itself is compared, not the change marker.
 */
const listMarker = (c: AppContext, page: { items: Infobase[]; nextCursor: string | null }) =>
  createHash('sha1').update(JSON.stringify([page.items, page.nextCursor, c.var.locale, c.var.timeZone])).digest('base64url').slice(0, 16);

/** The list's own 10-second refresh (not a history restore, which wants the whole page). */
const isListPoll = (c: AppContext) => isPoll(c) && c.req.header('hx-request') === 'true' && c.req.header('hx-history-restore-request') !== 'true';

infobasesRoutes.get('/infobases', async (c) => {
  const { db } = c.var.deps;
  const raw = c.req.query();
  const client = (raw.client ?? '').trim();
  const badClient = client !== '' && !isIdText(client);
  const query: InfobaseListQuery = {
    q: (raw.q ?? '').trim().slice(0, 200),
    client: badClient ? '' : client,
    cursor: (raw.cursor ?? '').slice(0, 1000),
  };
  const clients = await clientNames(db);
  const props = { ctx: pageCtx(c), query, clients };
  // A client filter that is not an id is refused, not dropped: the list would show every client's infobases.
  if (badClient) return c.html(<InfobasesPage {...props} infobases={[]} nextCursor={null} shown="" error={badClientText(c, 'infobases.field.client')} />, 400);
  try {
    const page = await listInfobases(db, { q: query.q || null, clientId: query.client ? Number(query.client) : null }, { limit: 100, cursor: query.cursor || null }, now(c));
    const shown = listMarker(c, page);
    if (isListPoll(c)) {
      // Unchanged: nothing at all (htmx swaps nothing on a 204); changed: the list part alone.
      if (raw.shown === shown) return c.body(null, 204);
      return c.html(<InfobasesList ctx={props.ctx} infobases={page.items} query={query} nextCursor={page.nextCursor} shown={shown} />);
    }
    return c.html(<InfobasesPage {...props} infobases={page.items} nextCursor={page.nextCursor} shown={shown} />);
  } catch (e) {
    if (!(e instanceof AppError) || e.code !== 'invalid_request') throw e;
    return c.html(<InfobasesPage {...props} query={{ ...query, cursor: '' }} infobases={[]} nextCursor={null} shown="" error={c.var.t('licenses.bad_cursor')} />, 400);
  }
});

async function infobaseOr404(c: AppContext): Promise<Infobase> {
  const ib = await infobaseById(c.var.deps.db, Number(c.req.param('id')), now(c));
  if (!ib) throw notFound();
  return ib;
}

const staffPage = (ib: Infobase) => ({
  base: `/infobases/${ib.id}`,
  staff: true,
  terminateAction: (s: SessionBrief) => `/infobases/${ib.id}/sessions/${encodeURIComponent(s.id)}/terminate`,
});

infobasesRoutes.get(`/infobases/:id${ID}`, async (c) => {
  const ib = await infobaseOr404(c);
  return renderInfobasePage(c, ib, staffPage(ib));
});

infobasesRoutes.post(`/infobases/:id${ID}/lock`, async (c) => {
  const ib = await infobaseOr404(c);
  const { input, form } = parseLockForm(c, await c.req.parseBody(), ib);
  if (!input) return renderInfobasePage(c, ib, { ...staffPage(ib), lockForm: form, status: 400 });
  try {
    await setLock(c.var.deps.db, c.var.viewer!.actor, ib.id, input, now(c));
  } catch (e) {
    return renderInfobasePage(c, ib, { ...staffPage(ib), lockForm: lockModelErrors(c, e, form), status: 400 });
  }
  return c.redirect(`/infobases/${ib.id}?done=locked`, 303);
});

/**
 * Unlock the lock the confirm described (the form names it by its set time; without it, whatever
 * lock stands). One set anew meanwhile stays: the page shows it and says nothing was unlocked.
 */
export async function unlockAsConfirmed(c: AppContext, ib: Infobase, opts: Parameters<typeof renderInfobasePage>[2], done: string) {
  const sent = field(await c.req.parseBody(), 'lockSetAt');
  const expected = /^\d{1,15}$/.test(sent) ? Number(sent) : undefined;
  try {
    await removeLock(c.var.deps.db, c.var.viewer!.actor, ib.id, now(c), expected);
  } catch (e) {
    if (!(e instanceof AppError) || e.code !== 'lock_changed') throw e;
    const fresh = (await infobaseById(c.var.deps.db, ib.id, now(c)))!;
    return renderInfobasePage(c, fresh, { ...opts, status: 409, error: c.var.t('infobases.unlock_changed') });
  }
  return c.redirect(done, 303);
}

infobasesRoutes.post(`/infobases/:id${ID}/unlock`, async (c) => {
  const ib = await infobaseOr404(c);
  return unlockAsConfirmed(c, ib, staffPage(ib), `/infobases/${ib.id}?done=unlocked`);
});

/** Terminate all: the sessions the confirm counted; if the count changed meanwhile, ask again with the new one. */
infobasesRoutes.post(`/infobases/:id${ID}/terminate-all`, async (c) => {
  const ib = await infobaseOr404(c);
  const { db } = c.var.deps;
  const counted = field(await c.req.parseBody(), 'count');
  const ids = await liveSessionIdsOfInfobase(db, ib.id);
  if (String(ids.length) !== counted) {
    return renderInfobasePage(c, ib, { ...staffPage(ib), status: 409, error: c.var.t.n('infobases.terminate_all_changed', ids.length) });
  }
  const n = await terminateSessions(db, c.var.viewer!.actor, ids, null, now(c));
  return c.redirect(`/infobases/${ib.id}?done=terminated_all&n=${n}#sessions`, 303);
});

infobasesRoutes.post(`/infobases/:id${ID}/sessions/:sid/terminate`, async (c) => {
  const ib = await infobaseOr404(c);
  const { db } = c.var.deps;
  const sid = c.req.param('sid');
  const s = sid.length <= 64 ? await sessionRowById(db, sid) : undefined;
  if (!s || s.infobase_id !== ib.id) throw notFound();
  const closed = await terminateSession(db, c.var.viewer!.actor, s.id, null, now(c));
  return c.redirect(`/infobases/${ib.id}?done=${closed ? 'terminated' : 'already_closed'}#sessions`, 303);
});
