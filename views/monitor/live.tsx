import { DEFAULT_PAGE_SIZE, monitorHref, monitorSearch, type MonitorQuery } from '../../src/lib/monitor-query.js';
import type { MonitorPage } from '../../src/models/monitor.js';
import { SessionsTable, type SettledHtml } from './sessions-table.js';
import { Pool, SharedPackages } from './shared.js';
import { LockBadge } from '../infobases/parts.js';
import { audienceOf } from '../licenses/parts.js';
import type { MonitorView } from './view.js';

/**
 * The part of the monitor that refreshes: the page renders it inside, the
 * 5-second poll, searches, sorting, paging and actions answer it alone. It
 * polls its own URL, so a new query brings its own poller along. A poll's
 * answer leaves the table header to the page (hx-preserve).
 */
export function MonitorLive(props: MonitorView & { data: MonitorPage; digest: string; settled?: SettledHtml; keep?: boolean; notice?: string | null; poll?: boolean }) {
  const { base, query, data } = props;
  // data-rows: the digest of the rows' settled cells (settledCells); data-keep: this answer leaves them to the page.
  return (
    <div
      id="monitor-live"
      hx-get={monitorHref(base, query)}
      hx-trigger="every 5s, monitor-refresh"
      hx-swap="outerHTML"
      {...{ 'hx-status:5xx': 'swap:none' }}
      data-total={data.total}
      data-rows={props.digest}
      data-keep={props.keep ? '' : undefined}
    >
      <QueryState query={query} />
      {props.notice && (
        <p class="msg ok" role="status">
          {props.notice}
        </p>
      )}
      <LicenseTabs {...props} />
      <FilterChips {...props} />
      <SessionsTable {...props} rows={data.rows} info={data.info} keep={props.keep} />
      <Pager {...props} />
      <SharedPackages {...props} hosts={data.hosts} shared={data.shared} />
      <Pool {...props} hosts={data.hosts} pool={data.pool} />
    </div>
  );
}

/**
 * The query's parts that links change (sort, entry filters, expanded rows) as
 * hidden fields of the search form: they live here so that every refresh
 * brings them up to date, and a search keeps them.
 */
function QueryState(props: { query: MonitorQuery }) {
  const q = props.query;
  const kept = new URLSearchParams(monitorSearch({ ...q, q: '', f: {}, page: 1, size: DEFAULT_PAGE_SIZE }));
  return (
    <>
      {[...kept].map(([name, value]) => (
        <input type="hidden" form="monitor-search" name={name} value={value} />
      ))}
    </>
  );
}

/**
 * Filtered by a license key the viewer may see: the History tab beside Active
 * sessions (PRODUCT §5), to that license's history within the monitor (history-page.tsx).
 */
function LicenseTabs(props: MonitorView & { data: MonitorPage }) {
  const { query: q, base, data, ctx } = props;
  const { t } = ctx;
  if (q.license === null || data.labels.license === undefined) return null;
  const history = `/monitor/licenses/${q.license}/history`;
  return (
    <nav class="tabs" aria-label={t('monitor.tabs')}>
      <a href={monitorHref(base, q)} aria-current="page">
        {t('monitor.tab.sessions')}
      </a>
      <a href={history}>{t('monitor.tab.history')}</a>
    </nav>
  );
}

/** The entry filters (from a license page, a client card…) shown as removable chips. */
function FilterChips(props: MonitorView & { data: MonitorPage }) {
  const { query: q, base, data, ctx } = props;
  const chips = (['license', 'client', 'infobase', 'host'] as const).filter((k) => q[k] !== null);
  if (!chips.length) return null;
  // A client user's monitor says "computer" where staff read "host", as their cabinet does.
  const name = (k: (typeof chips)[number]) => (k === 'host' && audienceOf(ctx) === 'client' ? ctx.t('licenses.hosts.computer') : ctx.t(`monitor.chip.${k}`));
  return (
    <p class="chips">
      {chips.map((k) => (
        <span class="chip">
          {name(k)}: <b>{data.labels[k] ?? `#${q[k]}`}</b>{' '}
          {k === 'infobase' && data.infobaseLock && data.infobaseLock !== 'none' && (
            // Locked, scheduled or over: said beside the name, and followed by the refresh when the window opens or closes.
            <a href={`${audienceOf(ctx) === 'client' ? '/cabinet' : ''}/infobases/${q.infobase}`}>
              <LockBadge ctx={ctx} infobase={{ lock: { state: data.infobaseLock, denySessions: !data.infobaseLockJobsOnly } }} />
            </a>
          )}
          {/* Each remove link says which filter it removes: a list of links all named alike tells nothing. */}
          <a href={monitorHref(base, q, { [k]: null, page: 1 })} data-nav="" aria-label={ctx.t('monitor.chip.remove_named', { filter: name(k), value: data.labels[k] ?? `#${q[k]}` })}>
            ×
          </a>
        </span>
      ))}
    </p>
  );
}

/** "N sessions · page X of Y" with previous/next links. */
function Pager(props: MonitorView & { data: MonitorPage }) {
  const { query: q, base, data, ctx } = props;
  const { t } = ctx;
  const page = Math.min(q.page, data.pages);
  return (
    <nav class="pager" aria-label={t('monitor.pages')}>
      <span>
        {t.n('monitor.count', data.total)}
        {data.pages > 1 && <> · {t('monitor.page_of', { page, pages: data.pages })}</>}
      </span>
      {page > 1 && (
        <a href={monitorHref(base, q, { page: page - 1 })} data-nav="" rel="prev">
          {t('common.prev')}
        </a>
      )}
      {page < data.pages && (
        <a href={monitorHref(base, q, { page: page + 1 })} data-nav="" rel="next">
          {t('common.next')}
        </a>
      )}
    </nav>
  );
}
