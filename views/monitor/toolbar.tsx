import { COLUMNS, FILTERS, monitorHref, monitorSearch, PAGE_SIZES, type FilterKey } from '../../src/lib/monitor-query.js';
import { audienceOf } from '../licenses/parts.js';
import { columnLabel, confirmHref, type MonitorView } from './view.js';

/**
 * Search (as you type; a plain GET form without JavaScript), per-column
 * filters, page size, the actions on the selected row, and the viewer's
 * preferences. Lives outside the refreshing part, so typing is never disturbed.
 */
export function Toolbar(props: MonitorView) {
  const { ctx, base, query: q, perms } = props;
  const { t } = ctx;
  return (
    <div class="mon-bar">
      <form
        id="monitor-search"
        role="search"
        method="get"
        action={base}
        hx-get={base}
        hx-trigger="input changed delay:300ms, submit"
        hx-target="#monitor-live"
        hx-swap="outerHTML"
        hx-push-url="true"
      >
        <label class="sr-only" for="monitor-q">
          {t('monitor.search')}
        </label>
        <input id="monitor-q" type="search" name="q" value={q.q} placeholder={t(audienceOf(ctx) === 'client' ? 'monitor.search_placeholder_client' : 'monitor.search_placeholder')} autocomplete="off" maxlength={200} title="Ctrl+F · ↓" />
        <label class="sr-only" for="monitor-size">
          {t('monitor.page_size')}
        </label>
        <select id="monitor-size" name="size">
          {PAGE_SIZES.map((n) => (
            <option value={n} selected={n === q.size}>
              {t('monitor.per_page', { n })}
            </option>
          ))}
        </select>
        <button type="submit" class="nojs">
          {t('common.search')}
        </button>
        <FilterPanel {...props} />
      </form>
      <div id="monitor-actions" class="mon-actions" role="toolbar" aria-label={t('common.actions')}>
        <a class="button" href={monitorHref(base, q)} data-act="refresh" title="Alt+F5">
          {t('monitor.act.refresh')}
        </a>
        <button type="button" class="js-only" data-act="pause" aria-pressed="false">
          {t('monitor.act.pause')}
        </button>
        {perms.operate && (
          <button type="button" class="js-only" data-act="stop" disabled>
            {t('monitor.act.stop')}
          </button>
        )}
        {perms.terminate && (
          <button type="button" class="js-only" data-act="close" disabled title="Delete">
            {t('monitor.act.close')}
          </button>
        )}
        {perms.operate && (
          <>
            <button type="button" class="js-only" data-act="message" disabled>
              {t('monitor.act.message')}
            </button>
            <button type="button" class="js-only" data-act="reset" disabled>
              {t('monitor.act.reset')}
            </button>
            <button type="button" class="js-only" data-act="clear-pool" disabled>
              {t('monitor.act.clear_pool')}
            </button>
          </>
        )}
        {perms.terminateAll && (
          <a
            class="button danger"
            href={confirmHref(base, q, { do: 'terminate-all' })}
            data-act="terminate-all"
            // Support: unavailable until a search or filter narrows the list (monitor.js keeps it so as one is typed).
            data-needs-filter={perms.terminateAllNeedsFilter ? t('monitor.confirm.filter_required') : undefined}
          >
            {t('monitor.act.terminate_all')}
          </a>
        )}
      </div>
      <div class="mon-prefs">
        {perms.operate && <ResolveToggle {...props} />}
        <ColumnChooser {...props} />
      </div>
    </div>
  );
}

/** One filter per filterable column, part of the search form (so a filter link from a header lands here). */
function FilterPanel(props: MonitorView) {
  const { ctx, query: q } = props;
  const { t } = ctx;
  const active = Object.keys(q.f).length;
  return (
    // Closed on arrival even with filters on (the count says so): open, it lies over the table.
    <details id="monitor-filters" class="mon-drop">
      <summary>
        {t('monitor.filters')}
        {active > 0 && ` (${active})`}
      </summary>
      <div class="mon-filters">
        {(Object.entries(FILTERS) as [FilterKey, 'text' | readonly string[]][]).map(([k, kind]) => (
          <div class="field">
            <label for={`f_${k}`}>{columnLabel(ctx, k)}</label>
            {kind === 'text' ? (
              <input id={`f_${k}`} name={`f_${k}`} value={q.f[k] ?? ''} maxlength={200} autocomplete="off" />
            ) : (
              <select id={`f_${k}`} name={`f_${k}`}>
                <option value="">{t('monitor.any')}</option>
                {kind.map((v) => (
                  <option value={v} selected={q.f[k] === v}>
                    {t(k === 'sleeping' ? `common.${v}` : `monitor.${k === 'connection' ? 'conn' : k}.${v}`)}
                  </option>
                ))}
              </select>
            )}
          </div>
        ))}
      </div>
    </details>
  );
}

/** The column chooser: every column but the first; the choice is saved for the user on change. */
export function ColumnChooser(props: MonitorView) {
  const { ctx, base, query, columns } = props;
  const { t } = ctx;
  return (
    <details id="monitor-columns" class="mon-drop">
      <summary>{t('monitor.columns')}</summary>
      <form method="post" action={`${base}/columns`} hx-post={`${base}/columns`} hx-trigger="change" hx-target="#monitor-live" hx-swap="outerHTML" class="mon-cols">
        {ctx.csrfToken && <input type="hidden" name="_csrf" value={ctx.csrfToken} />}
        <input type="hidden" name="back" value={monitorSearch(query)} />
        <fieldset>
          <legend class="sr-only">{t('monitor.columns')}</legend>
          {COLUMNS.filter((c) => c !== 'session').map((c) => (
            <label>
              <input type="checkbox" name="col" value={c} checked={columns.includes(c)} /> {columnLabel(ctx, c)}
            </label>
          ))}
        </fieldset>
        <button class="nojs">{t('common.save')}</button>
      </form>
    </details>
  );
}

/** "Resolve names by IP": the Host column shows names instead of addresses; remembered per user. */
function ResolveToggle(props: MonitorView) {
  const { ctx, base, query, resolveNames } = props;
  const { t } = ctx;
  return (
    <form method="post" action={`${base}/resolve-names`} hx-post={`${base}/resolve-names`} hx-trigger="change" hx-target="#monitor-live" hx-swap="outerHTML" class="inline">
      {ctx.csrfToken && <input type="hidden" name="_csrf" value={ctx.csrfToken} />}
      <input type="hidden" name="back" value={monitorSearch(query)} />
      <label>
        <input type="checkbox" id="monitor-resolve" name="on" value="1" checked={resolveNames} /> {t('monitor.resolve_names')}
      </label>{' '}
      <button class="nojs">{t('common.apply')}</button>
    </form>
  );
}
