// What the monitor shows and how it is asked for: columns, sorts, filters and the
// URL form of a query. Pure, shared by the model (SQL), the route and the views.

/** Every column; the first ("session") cannot be hidden. */
export const COLUMNS = [
  'session', 'state', 'activity', 'host', 'role', 'version', 'created', 'saved', 'path', 'license', 'client', 'user',
  'infobase', 'connection', 'started', 'sleeping', 'number', 'clientIp', 'cpu', 'memory', 'data', 'calls', 'dbms', 'features',
] as const;
export type ColumnId = (typeof COLUMNS)[number];

/** What a new user sees: who, where, since when and how busy; the rest is one click away in the chooser. */
export const DEFAULT_COLUMNS: readonly ColumnId[] = [
  'session', 'state', 'activity', 'host', 'role', 'license', 'client', 'infobase', 'connection', 'started', 'cpu',
];

/** Metric columns and the figures each shows (PROTOCOL §2: only CPU and memory have a current figure). */
export const METRICS = {
  cpu: ['cur', '5m', 'total'],
  memory: ['cur', '5m', 'total'],
  data: ['5m', 'total'],
  calls: ['5m', 'total'],
  dbms: ['5m', 'total'],
} as const;
export type MetricColumn = keyof typeof METRICS;
export type MetricFigure = 'cur' | '5m' | 'total';
export const isMetric = (c: string): c is MetricColumn => c in METRICS;

const METRIC_SORTS = Object.entries(METRICS).flatMap(([m, figs]) => figs.map((f) => `${m}_${f}`));

/** Sort keys: every plain column, and each figure of a metric column ("cpu_5m"). */
export const SORTS: readonly string[] = [...COLUMNS.filter((c) => !isMetric(c)), ...METRIC_SORTS];

/** Columns a header offers a filter for; select-like ones list their values. */
export const FILTERS = {
  session: 'text', state: ['alive', 'late', 'sleeping', 'running'], host: 'text', role: ['admin', 'design', 'viewer', 'execute'],
  version: 'text', path: 'text', license: 'text', client: 'text', user: 'text', infobase: 'text',
  connection: ['client', 'external', 'background', 'webservice'], sleeping: ['yes', 'no'], number: 'text', clientIp: 'text', features: 'text',
} as const satisfies Partial<Record<ColumnId, 'text' | readonly string[]>>;
export type FilterKey = keyof typeof FILTERS;
export const isFilterKey = (k: string): k is FilterKey => k in FILTERS;

export const PAGE_SIZES = [25, 50, 100, 200] as const;
export const DEFAULT_PAGE_SIZE = 50;
const MAX_TEXT = 200;
const MAX_OPEN = 50;

export interface MonitorQuery {
  /** Global search: user, infobase name or id, host, IPs, license key, client. */
  q: string;
  /** Per-column filters. */
  f: Partial<Record<FilterKey, string>>;
  license: number | null;
  client: number | null;
  infobase: number | null;
  host: number | null;
  sort: string;
  dir: 'asc' | 'desc';
  page: number;
  size: number;
  /** Sessions expanded into their packages and features. */
  open: string[];
  /** The session whose info panel is open. */
  info: string | null;
}

export const DEFAULT_SORT = 'started';
const defaultDir = (sort: string): 'asc' | 'desc' => (sort === 'started' || sort === 'activity' || sort === 'created' || sort === 'saved' || METRIC_SORTS.includes(sort) ? 'desc' : 'asc');

type Params = URLSearchParams | Record<string, string | string[] | undefined>;

function get(p: Params, k: string): string {
  const v = p instanceof URLSearchParams ? p.get(k) : p[k];
  return (Array.isArray(v) ? v[0] : v ?? '').trim();
}

const id = (s: string): number | null => (/^\d{1,15}$/.test(s) && Number(s) > 0 ? Number(s) : null);
const text = (s: string) => [...s].slice(0, MAX_TEXT).join('');

/** Reads a query from URL parameters; anything unknown or malformed falls back to the default. */
export function parseMonitorQuery(p: Params): MonitorQuery {
  const f: MonitorQuery['f'] = {};
  for (const [k, kind] of Object.entries(FILTERS) as [FilterKey, 'text' | readonly string[]][]) {
    const v = text(get(p, `f_${k}`));
    if (v && (kind === 'text' || kind.includes(v))) f[k] = v;
  }
  const sortRaw = get(p, 'sort');
  const sort = SORTS.includes(sortRaw) ? sortRaw : DEFAULT_SORT;
  const dirRaw = get(p, 'dir');
  const size = Number(get(p, 'size'));
  const page = Number(get(p, 'page'));
  const open = get(p, 'open').split(',').map((s) => s.trim()).filter((s) => s && s.length <= 64);
  const info = get(p, 'info');
  return {
    q: text(get(p, 'q')),
    f,
    license: id(get(p, 'license')),
    client: id(get(p, 'client')),
    infobase: id(get(p, 'infobase')),
    host: id(get(p, 'host')),
    sort,
    dir: dirRaw === 'asc' || dirRaw === 'desc' ? dirRaw : defaultDir(sort),
    page: Number.isInteger(page) && page > 1 && page < 1e6 ? page : 1,
    size: (PAGE_SIZES as readonly number[]).includes(size) ? size : DEFAULT_PAGE_SIZE,
    open: [...new Set(open)].slice(0, MAX_OPEN),
    info: info && info.length <= 64 ? info : null,
  };
}

/** Why a monitor URL parameter could not be read (worded by the route, src/routes/web/query-errors.tsx). */
export type MonitorQueryProblem = 'id' | 'list' | 'too_long' | 'sort' | 'dir' | 'size' | 'page';

/** The first URL parameter the monitor cannot read, if any. Empty values mean "not set", as the page's own forms send them. */
export function monitorQueryProblem(p: Params): { param: string; problem: MonitorQueryProblem } | null {
  const bad = (param: string, problem: MonitorQueryProblem) => ({ param, problem });
  for (const k of ['license', 'client', 'infobase', 'host'] as const) {
    const v = get(p, k);
    if (v && id(v) === null) return bad(k, 'id');
  }
  if ([...get(p, 'q')].length > MAX_TEXT) return bad('q', 'too_long');
  for (const [k, kind] of Object.entries(FILTERS) as [FilterKey, 'text' | readonly string[]][]) {
    const v = get(p, `f_${k}`);
    if (!v) continue;
    if (kind === 'text' ? [...v].length > MAX_TEXT : !kind.includes(v)) return bad(`f_${k}`, kind === 'text' ? 'too_long' : 'list');
  }
  const sort = get(p, 'sort');
  if (sort && !SORTS.includes(sort)) return bad('sort', 'sort');
  const dir = get(p, 'dir');
  if (dir && dir !== 'asc' && dir !== 'desc') return bad('dir', 'dir');
  const size = get(p, 'size');
  if (size && !(PAGE_SIZES as readonly number[]).map(String).includes(size)) return bad('size', 'size');
  const page = get(p, 'page');
  if (page && (!/^\d{1,6}$/.test(page) || Number(page) < 1)) return bad('page', 'page');
  if (get(p, 'open').split(',').some((s) => s.trim().length > 64)) return bad('open', 'too_long');
  if (get(p, 'info').length > 64) return bad('info', 'too_long');
  return null;
}

/** The longest search or text filter the monitor reads. */
export const MONITOR_TEXT_MAX = MAX_TEXT;

/** The canonical URL query of a monitor query (defaults left out), without "?". */
export function monitorSearch(q: MonitorQuery, patch: Partial<MonitorQuery> = {}): string {
  const m = { ...q, ...patch };
  const out = new URLSearchParams();
  if (m.q) out.set('q', m.q);
  for (const k of Object.keys(FILTERS) as FilterKey[]) if (m.f[k]) out.set(`f_${k}`, m.f[k]!);
  for (const k of ['license', 'client', 'infobase', 'host'] as const) if (m[k] !== null) out.set(k, String(m[k]));
  if (m.sort !== DEFAULT_SORT || m.dir !== defaultDir(m.sort)) {
    out.set('sort', m.sort);
    out.set('dir', m.dir);
  }
  if (m.size !== DEFAULT_PAGE_SIZE) out.set('size', String(m.size));
  if (m.page > 1) out.set('page', String(m.page));
  if (m.open.length) out.set('open', m.open.join(','));
  if (m.info) out.set('info', m.info);
  return out.toString();
}

/** A link to the query, changed by the patch. */
export function monitorHref(base: string, q: MonitorQuery, patch: Partial<MonitorQuery> = {}): string {
  const s = monitorSearch(q, patch);
  return s ? `${base}?${s}` : base;
}

/** The direction a click on a sort header asks for: the other one if already sorted by it. */
export function nextDir(q: MonitorQuery, sort: string): 'asc' | 'desc' {
  if (q.sort !== sort) return defaultDir(sort);
  return q.dir === 'asc' ? 'desc' : 'asc';
}

/** True when the query narrows the list (what support needs before "Terminate all"). */
export function isFiltered(q: MonitorQuery): boolean {
  return !!q.q || Object.keys(q.f).length > 0 || q.license !== null || q.client !== null || q.infobase !== null || q.host !== null;
}

/** The default set for a role: a client user sees their own company's sessions only, so its Client column would repeat one name. */
export function defaultColumns(role: string): ColumnId[] {
  return DEFAULT_COLUMNS.filter((c) => role !== 'client' || c !== 'client');
}

/** A user's saved column choice, or the default set for their role; the first column is always shown. */
export function parseColumns(saved: string | null, role: string): ColumnId[] {
  if (!saved) return defaultColumns(role);
  try {
    const list = JSON.parse(saved) as unknown;
    if (!Array.isArray(list)) return defaultColumns(role);
    return cleanColumns(list.filter((c): c is string => typeof c === 'string'));
  } catch {
    return defaultColumns(role);
  }
}

/** Known columns in display order, the first always included. */
export function cleanColumns(list: readonly string[]): ColumnId[] {
  const set = new Set(list);
  return COLUMNS.filter((c) => c === 'session' || set.has(c));
}
