import { createHash } from 'node:crypto';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { PackageRow as PackageRowData } from '../../src/db/schema.js';
import type { T } from '../../src/i18n/index.js';
import { renderedOnce } from '../../src/lib/jsx-context.js';
import { isFilterKey, isMetric, METRICS, monitorHref, nextDir, type ColumnId, type MetricColumn } from '../../src/lib/monitor-query.js';
import type { MonitorSession, SessionInfo } from '../../src/models/monitor.js';
import { formatMetric, shortTime } from './format.js';
import { InfoPanel } from './info-panel.js';
import { columnLabel, type MonitorView } from './view.js';

/** How many cells a row has: metric columns span one cell per figure. */
export const rowWidth = (columns: readonly ColumnId[]) => columns.reduce((n, c) => n + (isMetric(c) ? METRICS[c].length : 1), 0);

function SortHeader(props: MonitorView & { sort: string; label: string; filter?: ColumnId; rowspan?: number; num?: boolean }) {
  const { query: q, base, sort } = props;
  const current = q.sort === sort;
  const href = monitorHref(base, q, { sort, dir: nextDir(q, sort), page: 1 });
  return (
    <th scope="col" rowspan={props.rowspan} class={props.num ? 'num' : undefined} aria-sort={current ? (q.dir === 'asc' ? 'ascending' : 'descending') : undefined}>
      <a href={href} data-nav="">
        {props.label}
        {/* aria-sort speaks only in table navigation; the link says it when tabbed to. */}
        {current && <span class="sr-only"> ({props.ctx.t(q.dir === 'asc' ? 'monitor.sorted_asc' : 'monitor.sorted_desc')})</span>}
      </a>
      {props.filter && isFilterKey(props.filter) && (
        <a class="flt" href={`#f_${props.filter}`} data-filter={props.filter} aria-label={props.ctx.t('monitor.filter_by', { column: props.label })}></a>
      )}
    </th>
  );
}

/** The table header: a sort link (and a filter) per column; metric columns get a second row for their figures. */
function Header(props: MonitorView & { poll?: boolean }) {
  const { columns, ctx } = props;
  // A poll never changes the header (columns and sort change by navigation): the page keeps the one it has.
  if (props.poll) return <thead id="monitor-head" hx-preserve=""></thead>;
  const { t } = ctx;
  const metrics = columns.filter(isMetric);
  return (
    <thead id="monitor-head">
      <tr>
        {columns.map((c) =>
          isMetric(c) ? (
            <th colspan={METRICS[c].length} scope="colgroup" class="grp">
              {t(`monitor.col.${c}`)}
            </th>
          ) : (
            <SortHeader {...props} sort={c} label={columnLabel(ctx, c)} filter={c} rowspan={metrics.length ? 2 : undefined} />
          ),
        )}
      </tr>
      {metrics.length > 0 && (
        <tr>
          {metrics.flatMap((c) => METRICS[c].map((f) => <SortHeader {...props} sort={`${c}_${f}`} label={t(`monitor.fig.${f}`)} num />))}
        </tr>
      )}
    </thead>
  );
}

/** The sessions table: header, then each session with its expanded packages and open info panel. */
export function SessionsTable(props: MonitorView & { rows: MonitorSession[]; info: SessionInfo | null; poll?: boolean; keep?: boolean; settled?: SettledHtml }) {
  const { rows, ctx } = props;
  // Wide column sets scroll inside their box instead of widening the page.
  return (
    <div class="table-wrap">
      <table id="monitor-sessions" class="mon" aria-label={ctx.t('monitor.title')}>
        <Header {...props} />
        <tbody>
          {rows.length === 0 && (
            <tr>
              <td colspan={rowWidth(props.columns)} class="muted">
                {ctx.t('monitor.empty')}
              </td>
            </tr>
          )}
          {rows.map((s) => (
            <SessionRow {...props} session={s} info={props.info?.session.id === s.id ? props.info : null} keep={props.keep} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * The application's session id as the table shows it: a long one (a UUID) by
 * its first characters, enough to tell rows apart and to search by; the info
 * panel shows it whole. Each refresh carries every row, so this is most of a row's bytes.
 */
const shortId = (id: string) => (id.length > 12 ? `${id.slice(0, 8)}…` : id);

const PENDING_LABEL: Record<string, string> = { stop: 'monitor.pending.stop', closePackage: 'monitor.pending.close', message: 'monitor.pending.message' };

function Pending(props: { ctx: MonitorView['ctx']; types: readonly string[] }) {
  const shown = [...new Set(props.types)].filter((x) => PENDING_LABEL[x]);
  return <>{shown.map((x) => <span class="badge warn">{props.ctx.t(PENDING_LABEL[x])}</span>)}</>;
}

function hostCell(v: MonitorView, s: MonitorSession) {
  const { resolveNames, names } = v;
  const resolved = resolveNames && s.machineIp ? names[s.machineIp] : undefined;
  const main = resolveNames ? (resolved ?? s.machineHostname ?? s.machineIp) : (s.machineIp ?? s.machineHostname);
  const sub = s.machineHostname && s.machineHostname !== main ? s.machineHostname : null;
  return (
    <td>
      {main}
      {sub && <small> {sub}</small>}
    </td>
  );
}

function metricCells(col: MetricColumn, t: T, s?: MonitorSession) {
  return METRICS[col].map((f) => <td class="num">{s ? formatMetric(col, s.metrics[col][f] ?? 0, t) : ''}</td>);
}

// Cells are plain functions, not components: a page has thousands of them, and a component per cell
// costs a props object and a render step each.
function sessionCell(v: MonitorView, col: ColumnId, s: MonitorSession, expanded: boolean, infoOpen: boolean) {
  const { ctx } = v;
  const { t, locale, timeZone } = ctx;
  switch (col) {
    case 'session': {
      // Every byte of a row counts on each refresh: the toggles name no URL (the row's id is enough
      // for the script), need no type (no form around), and only say "expanded" when they are
      // (they work with the script only, which marks the others aria-expanded=false).
      const canExpand = s.packageCount > 0 || s.features.length > 0;
      return (
        <td class="sn">
          {canExpand ? (
            <button class="tg" aria-expanded={expanded ? 'true' : undefined} aria-label={t('monitor.expand')}>
              {expanded ? '−' : '+'}
            </button>
          ) : (
            <span class="tg"></span>
          )}
          <b>{s.user}</b> <span class="sid">{s.clientSessionId ? shortId(s.clientSessionId) : `#${s.number}`}</span>{' '}
          <button class="ib" aria-expanded={infoOpen ? 'true' : undefined} aria-label={t('monitor.info')}>
            i
          </button>
          <Pending ctx={ctx} types={s.pending.session} />
        </td>
      );
    }
    case 'state':
      return (
        <td>
          <span class={`st ${s.state}`}>{t(`monitor.state.${s.state}`)}</span>
          {s.running && <span class="st running">{t('monitor.state.running')}</span>}
        </td>
      );
    case 'activity':
      return <td class="act">{shortTime(s.activityAt, locale, timeZone)}</td>;
    case 'host':
      return hostCell(v, s);
    case 'role':
      // role="img" takes its accessible name from the title: one label serves the pointer and the screen reader.
      return <td>{s.topRole && <span class={`role ${s.topRole}`} role="img" title={t(`monitor.role.${s.topRole}`)}></span>}</td>;
    case 'version':
      return <td>{s.appVersion}</td>;
    case 'created':
    case 'started':
      return <td>{shortTime(s.startedAt, locale, timeZone)}</td>;
    case 'saved':
    case 'path':
      return <td></td>;
    case 'license':
      return <td class="mono">{s.licenseKey}</td>;
    case 'client':
      return <td>{s.clientName}</td>;
    case 'user':
      return <td>{s.user}</td>;
    case 'infobase':
      return <td>{s.infobase?.name}</td>;
    case 'connection':
      return <td>{t(`monitor.conn.${s.connection}`)}</td>;
    case 'sleeping':
      return <td>{t(s.sleeping ? 'common.yes' : 'common.no')}</td>;
    case 'number':
      return <td class="num">{s.number}</td>;
    case 'clientIp':
      return (
        <td>
          {s.clientIp}
          {s.clientHostname && <small> {s.clientHostname}</small>}
        </td>
      );
    case 'features':
      return <td>{s.features.join(', ')}</td>;
    default:
      return metricCells(col, t, s);
  }
}

// ---------------------------------------------------------------------------
// The refresh sends a row's settled cells once. What a heartbeat moves (state, activity, figures,
// features) is "live"; the rest of a session row (its id, user, host, license, client, start…) is
// "settled". Every answer names, in #monitor-live[data-rows], a digest of the settled part of its
// rows in order; a refresh whose If-None-Match names the same digest gets the rows with their
// settled cells left out (<td data-k="">, the row marked data-k), and monitor.js puts back the
// cells it already shows — after checking that what it shows has that digest, else it asks again
// in full. A changed refresh of 50 rows is then ~0.8 KB instead of ~4.5 KB.

const LIVE_COLUMNS: ReadonlySet<ColumnId> = new Set<ColumnId>(['state', 'activity', 'sleeping', 'features']);
const isLive = (col: ColumnId) => LIVE_COLUMNS.has(col) || isMetric(col);

/** Per row, per column: the row's settled cells as rendered for this view (live columns null). */
export type SettledHtml = ReadonlyMap<MonitorSession, readonly (HtmlEscapedString | null)[]>;

/**
 * The settled part of the rows, rendered once: its digest (the table's "data-rows") and the cells
 * themselves, which the rows then show as they are instead of rendering them a second time.
 */
export function settledCells(v: MonitorView, rows: readonly MonitorSession[], info: SessionInfo | null): { digest: string; html: SettledHtml } {
  const html = new Map<MonitorSession, (HtmlEscapedString | null)[]>();
  const parts: string[] = [];
  for (const s of rows) {
    parts.push(s.id);
    const cells = v.columns.map((col) => {
      if (isLive(col)) return null;
      const cell = renderedOnce(sessionCell(v, col, s, s.packages !== null, info?.session.id === s.id));
      parts.push(cell.text);
      return cell.html;
    });
    html.set(s, cells);
    parts.push('\n');
  }
  return { digest: createHash('sha1').update(parts.join('')).digest('base64url').slice(0, 10), html };
}

/** One session, followed by its packages and features when expanded and its info panel when open. */
export function SessionRow(props: MonitorView & { session: MonitorSession; info: SessionInfo | null; keep?: boolean; settled?: SettledHtml }) {
  const { session: s, columns, ctx } = props;
  const expanded = s.packages !== null;
  const cls = [s.running ? 'run' : '', s.state === 'late' ? 'late' : ''].filter(Boolean).join(' ') || undefined;
  const width = rowWidth(columns);
  const settled = props.settled?.get(s);
  return (
    <>
      {props.keep ? (
        <tr data-k="" class={cls}>
          {columns.map((col) => (isLive(col) ? sessionCell(props, col, s, expanded, props.info !== null) : <td data-k=""></td>))}
        </tr>
      ) : (
        <tr data-session-id={s.id} class={cls} tabindex={-1}>
          {columns.map((col, i) => {
            const done = settled?.[i];
            return done ?? sessionCell(props, col, s, expanded, props.info !== null);
          })}
        </tr>
      )}
      {expanded && s.packages!.map((p) => <PackageRow {...props} session={s} pkg={p} />)}
      {expanded && s.features.length > 0 && (
        <tr class="ft" data-session-id={s.id}>
          <td colspan={width}>
            {ctx.t('monitor.features')}: {s.features.join(', ')}
          </td>
        </tr>
      )}
      {props.info && (
        <tr class="info">
          <td colspan={width}>
            <InfoPanel {...props} info={props.info} />
          </td>
        </tr>
      )}
    </>
  );
}

const baseName = (path: string | null) => (path ? path.replace(/^.*[\\/]/, '') : null);

/** A package open in a session, in the session's columns: name, running progress, version, times, path. */
export function PackageRow(props: MonitorView & { session: MonitorSession; pkg: PackageRowData }) {
  const { pkg: p, session: s, columns, ctx } = props;
  const { t, locale, timeZone } = ctx;
  const running = p.state === 'running';
  const cell = (col: ColumnId) => {
    switch (col) {
      case 'session':
        return (
          <td class="pn">
            {p.name ?? baseName(p.path) ?? t('monitor.draft')}
            <Pending ctx={ctx} types={s.pending.packages[p.package_id] ?? []} />
          </td>
        );
      case 'state':
        return <td>{running && <span class="st running">{t('monitor.state.running')}</span>}</td>;
      case 'activity':
        return (
          <td class="act">
            {running && (
              <progress max={100} value={p.progress ?? undefined} title={t('monitor.node_started', { node: p.node ?? '', at: shortTime(p.node_started_at, locale, timeZone) })}>
                {p.progress ?? ''}
              </progress>
            )}
          </td>
        );
      case 'version':
        return <td>{p.version}</td>;
      case 'created':
        return <td>{shortTime(p.created_at, locale, timeZone)}</td>;
      case 'saved':
        return <td>{shortTime(p.saved_at, locale, timeZone)}</td>;
      case 'path':
        return <td class="path">{p.path}</td>;
      default:
        return isMetric(col) ? metricCells(col, t) : <td></td>;
    }
  };
  return (
    <tr class={running ? 'pk run' : 'pk'} data-session-id={s.id} data-package-id={p.package_id} tabindex={-1}>
      {columns.map(cell)}
    </tr>
  );
}
