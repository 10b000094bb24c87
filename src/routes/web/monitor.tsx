import { createHash } from 'node:crypto';
import { Hono, type MiddlewareHandler } from 'hono';
import { ConfirmForm, ConfirmPage, GoneNotice, GonePage, type ConfirmSpec } from '../../../views/monitor/confirm.js';
import { MonitorHistoryPage } from '../../../views/monitor/history-page.js';
import { MonitorLive } from '../../../views/monitor/live.js';
import { MonitorPage } from '../../../views/monitor/monitor-page.js';
import { settledCells } from '../../../views/monitor/sessions-table.js';
import { columnLabel, type MonitorPerms, type MonitorView } from '../../../views/monitor/view.js';
import type { UserRow } from '../../db/schema.js';
import { isDotName } from '../../lib/path-segment.js';
import { AppError, badQuery, errorDetail, forbidden, notFound } from '../../lib/errors.js';
import { countParam, field, typedText } from '../../lib/forms.js';
import {
  isFilterKey,
  isFiltered,
  MONITOR_TEXT_MAX,
  monitorHref,
  monitorQueryProblem,
  monitorSearch,
  PAGE_SIZES,
  parseMonitorQuery,
  type MonitorQuery,
  type MonitorQueryProblem,
} from '../../lib/monitor-query.js';
import { hashToken } from '../../lib/tokens.js';
import type { AppContext, AppEnv } from '../../middleware/context.js';
import { pageCtx } from '../../middleware/render.js';
import { isPoll, loginIsLive, requireLogin, sessionTokenOf, viewerLocale, viewerTimeZone } from '../../middleware/web-auth.js';
import { isStaff, scopeClientId } from '../../models/actor.js';
import {
  actionHost,
  actionPackage,
  actionSession,
  actionShared,
  idsDigest,
  monitorPage,
  monitorPrefs,
  namesOthers,
  poolTotals,
  saveMonitorColumns,
  sessionIdsOpenAt,
  setResolveNames,
  type MonitorPage as MonitorData,
  type MonitorPrefs,
  type MonitorScope,
} from '../../models/monitor.js';
import {
  clearAllPools,
  clearHostPool,
  closeSharedPackage,
  enqueueCommand,
  resetBinding,
  terminateSession,
  terminateSessions,
} from '../../models/session-actions.js';
import { licenseById } from '../../models/licenses.js';
import { changeMarker } from '../../models/session-lifecycle.js';
import { loadHistory } from './licenses.js';
import { webSessionAndChangeMarker } from '../../models/web-sessions.js';

/** The session monitor: the page, its refreshing fragment, and the actions on what it shows. */
export const monitorRoutes = new Hono<AppEnv>();

const BASE = '/monitor';
/** How long a "Terminate all" count stays valid for its confirmation. */
const BULK_CONFIRM_MS = 3600_000;

const viewerOf = (c: AppContext) => c.var.viewer!;
const scopeOf = (c: AppContext): MonitorScope => ({ clientId: scopeClientId(viewerOf(c).actor) });

function permsOf(c: AppContext): MonitorPerms {
  const staff = isStaff(viewerOf(c).actor);
  return { operate: staff, terminate: true, terminateAll: staff, terminateAllNeedsFilter: viewerOf(c).user.role !== 'admin' };
}

/** An htmx request for the refreshing part (not a history restore, which wants the whole page). */
const wantsFragment = (c: AppContext) =>
  c.req.header('hx-request') === 'true' && c.req.header('hx-history-restore-request') !== 'true' && c.req.header('hx-request-type') !== 'full';

// ---------------------------------------------------------------------------
// Conditional refresh. The validator is the change marker (one primary-key
// read), a digest of everything else the fragment depends on (viewer, query,
// columns, preferences, language, time zone) and the moment a row shown turns
// late by itself, so "unchanged" is answered before any query or rendering.

/** View keys by what they digest: each poll asks again for the same few views. Bounded (emptied when full). */
const viewKeys = new Map<string, string>();

function viewKeyOf(u: UserRow, locale: string, timeZone: string, query: MonitorQuery): string {
  const prefs = monitorPrefs(u);
  const text = [u.id, u.role, u.client_id, prefs.columns.join(','), prefs.resolveNames ? 1 : 0, locale, timeZone, monitorSearch(query)].join('|');
  let key = viewKeys.get(text);
  if (key === undefined) {
    key = createHash('sha1').update(text).digest('base64url').slice(0, 12);
    if (viewKeys.size >= 1000) viewKeys.clear();
    viewKeys.set(text, key);
  }
  return key;
}

const viewKey = (c: AppContext, query: MonitorQuery) => viewKeyOf(viewerOf(c).user, c.var.locale, c.var.timeZone, query);

// The fourth part names the rows' settled cells (settledCells): not part of "unchanged", but a changed
// refresh whose page already shows those cells gets the rows without them. The fifth names what the
// view shows (contentOf): when the marker moved (any heartbeat anywhere moves it) but this view's
// data did not, the refresh is still a 304, answered after the query and before any rendering.
const etag = (marker: number, key: string, staleAt: number | null, digest: string, content: string | null) =>
  `W/"${marker.toString(36)}.${key}.${staleAt === null ? '' : staleAt.toString(36)}.${digest}${content === null ? '' : '.' + content}"`;

const TAG = /^(?:W\/)?"([0-9a-z]+)\.([\w-]+)\.([0-9a-z]*)(?:\.([\w-]+))?(?:\.([\w-]+))?"$/;

/** A digest of everything the refreshing part shows for a view: its data (states included) and the names resolved for it. ~0.6 ms for 100 rows. */
const contentOf = (data: MonitorData, names: Record<string, string>) =>
  createHash('sha1').update(JSON.stringify([data, names])).digest('base64url').slice(0, 12);
const parseTag = (ifNoneMatch: string | undefined) => (ifNoneMatch ? TAG.exec(ifNoneMatch.trim()) : null);

function unchanged(ifNoneMatch: string | undefined, marker: number, key: string, now: number): boolean {
  const m = parseTag(ifNoneMatch);
  if (!m || m[1] !== marker.toString(36) || m[2] !== key) return false;
  return m[3] === '' || now < parseInt(m[3], 36);
}

function view(c: AppContext, query: MonitorQuery, prefs: MonitorPrefs, names: Record<string, string>): MonitorView {
  return { ctx: pageCtx(c), base: BASE, query, columns: prefs.columns, resolveNames: prefs.resolveNames, names, perms: permsOf(c) };
}

/** Host names by IP for the rows shown, from the resolver's cache (never a lookup on the request path). */
function resolvedNames(c: AppContext, prefs: MonitorPrefs, ips: (string | null)[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (!prefs.resolveNames) return out;
  for (const ip of ips) {
    if (!ip || ip in out) continue;
    const name = c.var.deps.resolveName(ip);
    if (name) out[ip] = name;
  }
  return out;
}

/** The page's data for a query and its validator; the marker is read before the data, so a change in between shows next time. */
async function load(c: AppContext, query: MonitorQuery, marker?: number, withContent = true) {
  const { db, clock } = c.var.deps;
  const prefs = monitorPrefs(viewerOf(c).user);
  const key = viewKey(c, query);
  marker ??= await changeMarker(db);
  const data = await monitorPage(db, scopeOf(c), query, clock.now());
  const names = resolvedNames(c, prefs, data.rows.map((r) => r.machineIp));
  c.header('Vary', 'HX-Request');
  const content = withContent ? contentOf(data, names) : null;
  /** The rendering, only when it is needed (a refresh of the same content answers 304 without it). */
  const render = () => {
    const props = view(c, query, prefs, names);
    const { digest, html: settled } = settledCells(props, data.rows, data.info);
    return { props, digest, settled, tag: etag(marker, key, data.staleAt, digest, content) };
  };
  return { data, key, marker, content, render };
}

/**
 * Renders the refreshing part for a query, with its validator. A poll's answer leaves the table
 * header to the page; a refresh of what the page shows (If-None-Match with the same view and
 * settled rows) leaves the rows' settled cells to it too.
 */
async function renderLive(c: AppContext, query: MonitorQuery, notice: string | null = null, marker?: number, ifNoneMatch?: string) {
  const loaded = await load(c, query, marker);
  const { data, key } = loaded;
  const shown = parseTag(ifNoneMatch);
  // The page shows this very content already: 304 with the new validator (its marker), nothing rendered.
  if (shown && notice === null && loaded.content !== null && shown[2] === key && shown[4] && shown[5] === loaded.content) {
    return notModified(etag(loaded.marker, key, data.staleAt, shown[4], loaded.content));
  }
  const { props, digest, settled, tag } = loaded.render();
  const keep = !!shown && shown[2] === key && shown[4] === digest;
  c.header('ETag', tag);
  return c.html(<MonitorLive {...props} data={data} digest={digest} settled={settled} keep={keep} notice={notice} poll={c.req.header('x-auto-refresh') === '1'} />);
}

/** "Unchanged": no body, and no header but the validator and Vary (every byte counts on a metered link). */
const notModified = (ifNoneMatch: string) => new Response(null, { status: 304, headers: { ETag: ifNoneMatch, Vary: 'HX-Request' } });

/**
 * The monitor's query, or a 400 naming the first parameter it cannot read: a malformed filter must
 * never quietly become "every session" (a "Terminate all" there would act on all of them).
 */
function strictQuery(c: AppContext, params: URLSearchParams): MonitorQuery {
  const bad = monitorQueryProblem(params);
  if (bad) throw monitorQueryError(c, bad.param, bad.problem);
  return parseMonitorQuery(params);
}

function monitorQueryError(c: AppContext, param: string, problem: MonitorQueryProblem): AppError {
  const t = c.var.t;
  const f = param.startsWith('f_') ? param.slice(2) : '';
  const label =
    param === 'license' || param === 'client' || param === 'infobase' || param === 'host'
      ? t(`monitor.chip.${param}`)
      : param === 'q'
        ? t('monitor.search')
        : param === 'size'
          ? t('monitor.page_size')
          : isFilterKey(f)
            ? columnLabel(pageCtx(c), f)
            : t(`query.param.${param}`);
  const worded =
    problem === 'dir'
      ? t('query.problem.choice', { choices: 'asc, desc' })
      : problem === 'size'
        ? t('query.problem.choice', { choices: PAGE_SIZES.join(', ') })
        : t(`query.problem.${problem}`, { max: param === 'open' || param === 'info' ? 64 : MONITOR_TEXT_MAX });
  return badQuery(t, param, label, worded);
}

// Who may see the monitor: any live login (requireLogin; client users see their own client's
// sessions). answerUnchangedPoll below asks the same before it answers 304: change both together.
/** The History tab of the monitor filtered by a license key: that license's history (a client user's own only, else 404). */
monitorRoutes.get(`${BASE}/licenses/:id{[0-9]{1,15}}/history`, requireLogin, async (c) => {
  const { db } = c.var.deps;
  const license = await licenseById(db, Number(c.req.param('id')), scopeOf(c).clientId);
  if (!license) throw notFound();
  const data = await loadHistory(c, license);
  return c.html(<MonitorHistoryPage ctx={pageCtx(c)} license={license} data={data} />);
});

monitorRoutes.get(BASE, requireLogin, async (c) => {
  const { db, clock } = c.var.deps;
  const query = strictQuery(c, new URL(c.req.url).searchParams);
  if (await namesOthers(db, scopeOf(c), query)) throw notFound();
  if (wantsFragment(c)) {
    // Unchanged is answered from the marker and the request alone, before any other query or rendering.
    const marker = await changeMarker(db);
    const inm = c.req.header('if-none-match');
    if (inm && unchanged(inm, marker, viewKey(c, query), clock.now())) return notModified(inm);
    return renderLive(c, query, null, marker, inm);
  }
  // The page names its content too (~0.6 ms): its first poll, 5 s later, is then a 304 when only other
  // views changed, rather than the whole live part again (the marker moves with every heartbeat anywhere).
  const { data, render } = await load(c, query);
  const { props, digest, settled, tag } = render();
  return c.html(<MonitorPage {...props} data={data} digest={digest} settled={settled} notice={doneNotice(c)} title={c.var.t('monitor.title')} etag={tag} />);
});

/**
 * The 5-second poll (X-Auto-Refresh with a validator) answered "unchanged" before the web middleware
 * chain (compression, loadViewer, CSRF, routing): mounted in src/app.ts ahead of it. It decides as
 * the route above does, with loadViewer's own functions: a live login (not expired, not idle, user
 * not disabled — the login is only read, so a poll never moves the idle clock), the same view key
 * (user, role, client, columns, language, time zone, query) and the same marker. Anything else — no
 * or another validator, a login to end, a changed marker, a non-poll request — goes on to the
 * normal path, which answers it as before (and ends an expired login there).
 */
export const answerUnchangedPoll: MiddlewareHandler<AppEnv> = async (c, next) => {
  const inm = c.req.header('if-none-match');
  if (!inm || !isPoll(c) || !wantsFragment(c) || !parseTag(inm)) return next();
  // Not validated here (it costs ~5 µs of the poll's 100): a page whose query the route refuses is a 400
  // and has no validator to poll with, and a 304 sends nothing; the route refuses it on any other answer.
  const params = new URL(c.req.url).searchParams;
  const token = sessionTokenOf(c);
  if (!token) return next();
  const { db, config, clock } = c.get('deps'); // c.get: c.var copies every variable on each access
  const now = clock.now();
  // One statement for the login and the marker (the route reads the marker after the login too).
  const found = await webSessionAndChangeMarker(db, hashToken(token));
  if (!found || !loginIsLive(found.ws, now, config.webSessionIdleMinutes)) return next();
  const user = found.ws.user;
  const key = viewKeyOf(user, viewerLocale(c, user), viewerTimeZone(c, user), parseMonitorQuery(params));
  return unchanged(inm, found.changeMarker, key, now) ? notModified(inm) : next();
};

// ---------------------------------------------------------------------------
// Actions: a confirm step (GET, a dialog or a page), then the POST.

type Params = Record<string, string>;

type GoneKind = 'session' | 'package' | 'shared' | 'host';
/**
 * The target of an action is not there (any more, or for this viewer): still a 404, but one the confirm
 * step words as "no longer there". A refusal for want of permission stays a bare not_found.
 */
const gone = (kind: GoneKind) => new AppError('not_found', 404, {}, { gone: kind });
const goneKind = (e: unknown): GoneKind | null => (e instanceof AppError && e.code === 'not_found' && typeof e.params.gone === 'string' ? (e.params.gone as GoneKind) : null);

/** The "no longer there" answer: into the dialog with htmx, a page of its own without. */
function goneAnswer(c: AppContext, kind: GoneKind, back: MonitorQuery) {
  const props = { ctx: pageCtx(c), base: BASE, back: monitorSearch(back), text: c.var.t(`monitor.gone.${kind}`) };
  return c.html(wantsFragment(c) ? <GoneNotice {...props} /> : <GonePage {...props} />, 404);
}

/** Words the confirm step of an action, checking that the viewer may take it on that target. */
async function confirmSpec(c: AppContext, act: string, p: Params, back: MonitorQuery): Promise<ConfirmSpec> {
  const { db, clock } = c.var.deps;
  const t = c.var.t;
  const scope = scopeOf(c);
  const perms = permsOf(c);
  const backStr = monitorSearch(back);
  const base = { back: backStr, fields: [] as ConfirmSpec['fields'], hidden: {} as Record<string, string>, danger: false };
  const operateOnly = () => {
    if (!perms.operate) throw notFound();
  };
  const session = async () => {
    const s = await actionSession(db, scope, p.session ?? '');
    if (!s) throw gone('session');
    return s;
  };
  const hostOf = async () => {
    const hostId = p.host ? Number(p.host) : (await session()).hostId;
    const h = Number.isInteger(hostId) && hostId > 0 ? await actionHost(db, scope, hostId) : undefined;
    if (!h) throw gone('host');
    return h;
  };
  const hostName = (h: { hostname: string | null; ip: string | null; hostId: number }) => h.hostname ?? h.ip ?? `#${h.hostId}`;
  const sid = (id: string) => encodeURIComponent(id);
  switch (act) {
    case 'stop': {
      operateOnly();
      const s = await session();
      return {
        ...base,
        title: t('monitor.confirm.stop.title'),
        text: t('monitor.confirm.stop.text', { name: s.label }),
        refusal: s.running ? null : t('monitor.confirm.not_running'),
        button: t('monitor.act.stop'),
        action: `${BASE}/sessions/${sid(s.id)}/stop`,
      };
    }
    case 'terminate': {
      const s = await session();
      return {
        ...base,
        danger: true,
        title: t('monitor.confirm.terminate.title'),
        text: t('monitor.confirm.terminate.text', { name: s.label }),
        button: t('monitor.act.terminate'),
        action: `${BASE}/sessions/${sid(s.id)}/terminate`,
        fields: [{ name: 'message', label: t('monitor.confirm.message_optional'), required: false }],
      };
    }
    case 'message': {
      operateOnly();
      const s = await session();
      return {
        ...base,
        title: t('monitor.confirm.message.title'),
        text: t('monitor.confirm.message.text', { name: s.label }),
        button: t('monitor.act.send'),
        action: `${BASE}/sessions/${sid(s.id)}/message`,
        fields: [{ name: 'text', label: t('monitor.confirm.message_text'), required: true }],
      };
    }
    case 'stop-package':
    case 'close-package': {
      operateOnly();
      const found = await actionPackage(db, scope, p.session ?? '', p.pkg ?? '');
      if (!found) throw gone('package');
      const stop = act === 'stop-package';
      const vars = { name: found.label, session: found.session.label };
      return {
        ...base,
        danger: !stop,
        title: t(stop ? 'monitor.confirm.stop_package.title' : 'monitor.confirm.close_package.title'),
        text: t(stop ? 'monitor.confirm.stop_package.text' : 'monitor.confirm.close_package.text', vars),
        // A package called "." or ".." cannot be named in the action's address: every URL parser folds it
        // away, and the form would post to the session's own Stop instead (test/security/agent-names.test.ts).
        refusal: isDotName(found.pkg.package_id) ? t('monitor.confirm.package_unaddressable') : stop && found.pkg.state !== 'running' ? t('monitor.confirm.not_running') : null,
        button: t(stop ? 'monitor.act.stop' : 'monitor.act.close'),
        action: `${BASE}/sessions/${sid(found.session.id)}/packages/${sid(found.pkg.package_id)}/${stop ? 'stop' : 'close'}`,
      };
    }
    case 'reset': {
      operateOnly();
      const h = await hostOf();
      return {
        ...base,
        danger: true,
        title: t('monitor.confirm.reset.title'),
        text: t.n('monitor.confirm.reset.text', h.openSessions, { host: hostName(h), key: h.licenseKey }),
        button: t('monitor.act.reset'),
        action: `${BASE}/hosts/${h.hostId}/reset`,
        fields: [{ name: 'reason', label: t('monitor.confirm.reason'), required: true }],
      };
    }
    case 'clear-pool': {
      operateOnly();
      const h = await hostOf();
      return {
        ...base,
        danger: true,
        title: t('monitor.confirm.clear_pool.title'),
        text: t.n('monitor.confirm.clear_pool.text', h.pooled, { host: hostName(h), sessions: h.openSessions }),
        button: t('monitor.act.clear_pool'),
        action: `${BASE}/hosts/${h.hostId}/pool/clear`,
      };
    }
    case 'clear-all-pools': {
      operateOnly();
      const totals = await poolTotals(db, scope);
      return {
        ...base,
        danger: true,
        title: t('monitor.confirm.clear_all_pools.title'),
        text: t.n('monitor.confirm.clear_all_pools.text', totals.instances, { hosts: totals.hosts }),
        refusal: totals.instances === 0 ? t('monitor.pool.empty') : null,
        button: t('monitor.act.clear_all_pools'),
        action: `${BASE}/pools/clear`,
      };
    }
    case 'close-shared': {
      operateOnly();
      const found = await actionShared(db, scope, Number(p.host), p.path ?? '');
      if (!found) throw gone('shared');
      const { host: h, shared } = found;
      return {
        ...base,
        danger: true,
        title: t('monitor.confirm.close_shared.title'),
        text: t.n('monitor.confirm.close_shared.text', h.openSessions, { path: shared.path, host: hostName(h) }),
        refusal: shared.count > 1 ? t.n('monitor.shared.in_use', shared.count - 1) : null,
        button: t('monitor.act.close'),
        action: `${BASE}/hosts/${h.hostId}/shared/close`,
        hidden: { path: shared.path },
      };
    }
    case 'terminate-all': {
      if (!perms.terminateAll) throw notFound();
      const now = clock.now();
      const ids = await sessionIdsOpenAt(db, scope, back, now);
      const needsFilter = viewerOf(c).user.role !== 'admin' && !isFiltered(back);
      return {
        ...base,
        danger: true,
        title: t('monitor.confirm.terminate_all.title'),
        // Refused for want of a filter: no count of what will not happen.
        text: needsFilter ? '' : t.n('monitor.confirm.terminate_all.text', ids.length),
        refusal: needsFilter ? t('monitor.confirm.filter_required') : ids.length === 0 ? t('monitor.empty') : null,
        button: t('monitor.act.terminate_all'),
        action: `${BASE}/terminate-all`,
        fields: [{ name: 'message', label: t('monitor.confirm.message_optional'), required: false }],
        hidden: { asOf: String(now), count: String(ids.length), digest: idsDigest(ids) },
      };
    }
    default:
      throw notFound();
  }
}

/** The monitor query an action returns to (`back`): read as strictly as the page's own, so a bad one is a 400 before anything is done. */
const backOf = (c: AppContext, value: string | undefined | null) => strictQuery(c, new URLSearchParams(value ?? ''));

monitorRoutes.get(`${BASE}/confirm`, requireLogin, async (c) => {
  const p = c.req.query();
  let spec: ConfirmSpec;
  try {
    spec = await confirmSpec(c, p.do ?? '', p, backOf(c, p.back));
  } catch (e) {
    const kind = goneKind(e);
    if (kind) return goneAnswer(c, kind, backOf(c, p.back));
    throw e;
  }
  const props = { ctx: pageCtx(c), base: BASE, spec };
  return c.html(wantsFragment(c) ? <ConfirmForm {...props} /> : <ConfirmPage {...props} />);
});

const DONE = new Set(['stop', 'terminated', 'message', 'reset', 'pool_cleared', 'pools_cleared', 'close_requested', 'shared_closed', 'terminated_all']);

/** The notice of a finished action after a plain form's redirect (`done`, `n` in the URL). */
function doneNotice(c: AppContext): string | null {
  const done = c.req.query('done');
  const n = countParam(c.req.query('n'));
  if (!done || !DONE.has(done) || n === null) return null;
  return c.var.t.n(`monitor.done.${done}`, n);
}

/**
 * Runs a confirmed action: htmx gets the refreshed monitor with a notice (or,
 * on a refusal, the confirm form again with the reason, into the dialog); a
 * plain form is redirected back to the monitor.
 */
async function perform(c: AppContext, act: string, p: Params, run: (body: Params) => Promise<{ done: string; n?: number }>) {
  const form = (await c.req.parseBody()) as Record<string, unknown>;
  const body: Params = {};
  for (const k of ['back', 'path', 'asOf', 'digest', 'count']) body[k] = field(form, k);
  // What people type is cut to the dialog's maxlength, as the license card and the cabinet cut a reason.
  for (const k of ['message', 'reason', 'text']) body[k] = typedText(form, k);
  const back = backOf(c, body.back);
  let result: { done: string; n?: number };
  try {
    result = await run(body);
  } catch (e) {
    if (!(e instanceof AppError) || e.status >= 500 || e.status === 403) throw e;
    // Asked again, the confirm step tells a target gone meanwhile from a refusal.
    let spec: ConfirmSpec;
    try {
      spec = await confirmSpec(c, act, { ...p, ...body }, back);
    } catch (again) {
      const kind = goneKind(again);
      if (kind) return goneAnswer(c, kind, back);
      throw again;
    }
    if (e.status === 404) throw e;
    // When the confirm step itself now refuses (nothing running any more), its reason says it: not twice.
    if (!spec.refusal) spec.error = e.code === 'bulk_changed' ? c.var.t.n('monitor.confirm.changed', Number(e.params.count)) : errorText(c, e);
    const props = { ctx: pageCtx(c), base: BASE, spec };
    if (c.req.header('hx-request')) return c.html(<ConfirmForm {...props} />, e.status);
    return c.html(<ConfirmPage {...props} />, e.status);
  }
  const n = result.n ?? 1;
  if (c.req.header('hx-request')) return renderLive(c, back, c.var.t.n(`monitor.done.${result.done}`, n));
  const s = monitorSearch(back);
  return c.redirect(`${BASE}?${s ? s + '&' : ''}done=${result.done}&n=${n}`, 303);
}

function errorText(c: AppContext, e: AppError): string {
  const t = c.var.t;
  const key = `monitor.error.${e.code}`;
  const text = t(key);
  return text === key ? t('error.bad_request', { detail: errorDetail(e, t) || e.code }) : text;
}

const text = (s: string) => s.trim() || null;

monitorRoutes.post(`${BASE}/sessions/:id/terminate`, requireLogin, (c) =>
  perform(c, 'terminate', { session: c.req.param('id') }, async (b) => {
    if (!(await actionSession(c.var.deps.db, scopeOf(c), c.req.param('id')))) throw notFound();
    await terminateSession(c.var.deps.db, viewerOf(c).actor, c.req.param('id'), text(b.message), c.var.deps.clock.now());
    return { done: 'terminated' };
  }),
);

monitorRoutes.post(`${BASE}/sessions/:id/stop`, requireLogin, (c) =>
  perform(c, 'stop', { session: c.req.param('id') }, async () => {
    await enqueueCommand(c.var.deps.db, viewerOf(c).actor, c.req.param('id'), { type: 'stop' }, c.var.deps.clock.now());
    return { done: 'stop' };
  }),
);

monitorRoutes.post(`${BASE}/sessions/:id/message`, requireLogin, (c) =>
  perform(c, 'message', { session: c.req.param('id') }, async (b) => {
    await enqueueCommand(c.var.deps.db, viewerOf(c).actor, c.req.param('id'), { type: 'message', text: b.text }, c.var.deps.clock.now());
    return { done: 'message' };
  }),
);

monitorRoutes.post(`${BASE}/sessions/:id/packages/:pkg/stop`, requireLogin, (c) =>
  perform(c, 'stop-package', { session: c.req.param('id'), pkg: c.req.param('pkg') }, async () => {
    await enqueueCommand(c.var.deps.db, viewerOf(c).actor, c.req.param('id'), { type: 'stop', packageId: c.req.param('pkg') }, c.var.deps.clock.now());
    return { done: 'stop' };
  }),
);

monitorRoutes.post(`${BASE}/sessions/:id/packages/:pkg/close`, requireLogin, (c) =>
  perform(c, 'close-package', { session: c.req.param('id'), pkg: c.req.param('pkg') }, async () => {
    const { db } = c.var.deps;
    if (!(await actionPackage(db, scopeOf(c), c.req.param('id'), c.req.param('pkg')))) throw notFound();
    await enqueueCommand(db, viewerOf(c).actor, c.req.param('id'), { type: 'closePackage', packageId: c.req.param('pkg') }, c.var.deps.clock.now());
    return { done: 'close_requested' };
  }),
);

const hostParam = (c: AppContext) => {
  const id = Number(c.req.param('id'));
  if (!Number.isInteger(id) || id <= 0) throw notFound();
  return id;
};

monitorRoutes.post(`${BASE}/hosts/:id/reset`, requireLogin, (c) =>
  perform(c, 'reset', { host: c.req.param('id') }, async (b) => {
    if (!permsOf(c).operate) throw notFound();
    const r = await resetBinding(c.var.deps.db, viewerOf(c).actor, hostParam(c), b.reason, c.var.deps.clock.now());
    return { done: 'reset', n: r.closedSessions };
  }),
);

monitorRoutes.post(`${BASE}/hosts/:id/pool/clear`, requireLogin, (c) =>
  perform(c, 'clear-pool', { host: c.req.param('id') }, async () => {
    await clearHostPool(c.var.deps.db, viewerOf(c).actor, hostParam(c), c.var.deps.clock.now());
    return { done: 'pool_cleared' };
  }),
);

monitorRoutes.post(`${BASE}/pools/clear`, requireLogin, (c) =>
  perform(c, 'clear-all-pools', {}, async () => {
    if (!permsOf(c).operate) throw notFound();
    const n = await clearAllPools(c.var.deps.db, viewerOf(c).actor, c.var.deps.clock.now());
    return { done: 'pools_cleared', n };
  }),
);

monitorRoutes.post(`${BASE}/hosts/:id/shared/close`, requireLogin, (c) =>
  perform(c, 'close-shared', { host: c.req.param('id') }, async (b) => {
    await closeSharedPackage(c.var.deps.db, viewerOf(c).actor, hostParam(c), b.path, c.var.deps.clock.now());
    return { done: 'shared_closed' };
  }),
);

/**
 * Terminate all: exactly the sessions the confirm step counted. The POST
 * recomputes the set as it was at the counting moment; a different set (a
 * renamed client, say) is refused with the new count to confirm again.
 */
monitorRoutes.post(`${BASE}/terminate-all`, requireLogin, (c) =>
  perform(c, 'terminate-all', {}, async (b) => {
    const { db, clock } = c.var.deps;
    const now = clock.now();
    const back = backOf(c, b.back);
    if (!permsOf(c).terminateAll) throw notFound();
    if (viewerOf(c).user.role !== 'admin' && !isFiltered(back)) throw forbidden();
    const asOf = Number(b.asOf);
    const ids = Number.isInteger(asOf) && asOf <= now && now - asOf <= BULK_CONFIRM_MS ? await sessionIdsOpenAt(db, scopeOf(c), back, asOf) : null;
    if (!ids || idsDigest(ids) !== b.digest || String(ids.length) !== b.count) {
      const current = await sessionIdsOpenAt(db, scopeOf(c), back, now);
      throw new AppError('bulk_changed', 409, {}, { count: current.length });
    }
    const n = await terminateSessions(db, viewerOf(c).actor, ids, text(b.message), now);
    return { done: 'terminated_all', n };
  }),
);

// ---------------------------------------------------------------------------
// Preferences.

monitorRoutes.post(`${BASE}/columns`, requireLogin, async (c) => {
  const form = await c.req.parseBody({ all: true });
  const cols = ([] as unknown[]).concat(form.col ?? []).filter((x): x is string => typeof x === 'string');
  const back = backOf(c, typeof form.back === 'string' ? form.back : '');
  const viewer = viewerOf(c);
  viewer.user.monitor_columns = JSON.stringify(await saveMonitorColumns(c.var.deps.db, viewer.user.id, cols));
  if (c.req.header('hx-request')) return renderLive(c, back);
  return c.redirect(monitorHref(BASE, back), 303);
});

monitorRoutes.post(`${BASE}/resolve-names`, requireLogin, async (c) => {
  if (!permsOf(c).operate) throw notFound();
  const form = (await c.req.parseBody()) as Record<string, unknown>;
  const on = field(form, 'on') === '1';
  const back = backOf(c, field(form, 'back'));
  const viewer = viewerOf(c);
  await setResolveNames(c.var.deps.db, viewer.actor, on, c.var.deps.clock.now());
  viewer.user.monitor_resolve_names = on ? 1 : 0;
  if (c.req.header('hx-request')) return renderLive(c, back);
  return c.redirect(monitorHref(BASE, back), 303);
});
