import type { CaptureGroup, ConcurrencySeries, LicenseHistory } from '../../src/models/history.js';
import type { License } from '../../src/models/licenses.js';
import { RAW_WINDOW_MS } from '../../src/models/history-rollup.js';
import { axisTicks, zoneLabel } from '../../src/lib/local-time.js';
import { ListTable } from '../components/table.js';
import type { PageContext } from '../page-context.js';
import { audienceOf, when } from './parts.js';

/** The periods the History tab offers, in hours. */
export const HISTORY_PERIODS = { '1h': 1, '24h': 24, '7d': 168 } as const;
export type HistoryPeriod = keyof typeof HISTORY_PERIODS;

export interface HistoryData {
  period: HistoryPeriod;
  /** Periods within the retention of history. */
  available: HistoryPeriod[];
  from: number;
  to: number;
  history: LicenseHistory;
  series: ConcurrencySeries;
}

/** "1 h 20 min", "45 min", "< 1 min". */
export function formatDuration(ctx: PageContext, ms: number): string {
  const { t } = ctx;
  const min = Math.floor(ms / 60_000);
  if (min < 1) return ms > 0 ? t('licenses.duration.under_minute') : t('licenses.duration.minutes', { m: 0 });
  const h = Math.floor(min / 60);
  const m = min % 60;
  if (h === 0) return t('licenses.duration.minutes', { m });
  return m === 0 ? t('licenses.duration.hours', { h }) : t('licenses.duration.hours_minutes', { h, m });
}

function refusalLabel(ctx: PageContext, code: string | null): string {
  if (!code) return ctx.t('common.none');
  // A client reads "computer" where staff read "host".
  const key = code === 'host_limit_reached' && audienceOf(ctx) === 'client' ? 'cabinet.refusal.host_limit_reached' : `licenses.refusal.${code}`;
  const label = ctx.t(key);
  return label === key ? code : label;
}

/** A compact axis label: "13:05" within a day, "21.11" for a day's start over a week. */
function axisLabel(ctx: PageContext, ms: number, days: boolean): string {
  return new Intl.DateTimeFormat(ctx.locale === 'ru' ? 'ru-RU' : 'en-GB', {
    timeZone: ctx.timeZone,
    ...(days ? { day: '2-digit', month: ctx.locale === 'ru' ? '2-digit' : 'short' } : { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }),
  }).format(ms);
}

const W = 640;
const H = 180;
const PAD = { left: 34, right: 10, top: 12, bottom: 24 };

/**
 * Concurrent sessions over the period as a step line, with the session
 * limit as a dashed line (not the host limit: a host may run many sessions,
 * so sessions above it break nothing). Drawn on the server: no script, no style
 * attributes (CSP) — classes and presentation attributes only. The text
 * summary beside it carries the same facts for screen readers.
 */
export function ConcurrencyChart(props: { ctx: PageContext; series: ConcurrencySeries; maxSessions: number | null; summaryId: string }) {
  const { ctx, series, maxSessions } = props;
  const { t } = ctx;
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const yMax = Math.max(1, series.peak, maxSessions ?? 0);
  const y = (v: number) => PAD.top + plotH - (v / yMax) * plotH;
  const n = series.points.length;
  const x = (i: number) => PAD.left + (i / n) * plotW;
  let d = '';
  series.points.forEach((p, i) => {
    d += i === 0 ? `M${x(0).toFixed(1)} ${y(p.max).toFixed(1)}` : ` V${y(p.max).toFixed(1)}`;
    d += ` H${x(i + 1).toFixed(1)}`;
  });
  const area = `${d} V${y(0).toFixed(1)} H${x(0).toFixed(1)} Z`;
  const ticks = axisTicks(series.from, series.to, ctx.timeZone);
  const xAt = (at: number) => PAD.left + ((at - series.from) / (series.to - series.from)) * plotW;
  const limitLine = (value: number, cls: string, label: string) => (
    <g class={cls}>
      <line x1={PAD.left} x2={W - PAD.right} y1={y(value)} y2={y(value)} stroke-dasharray="6 4" stroke-width="1.5" />
      <text x={PAD.left + 4} y={y(value) - 4} text-anchor="start" font-size="11">
        {label}
      </text>
    </g>
  );
  return (
    <svg class="chart" viewBox={`0 0 ${W} ${H}`} width="100%" role="img" aria-labelledby={`${props.summaryId}-title`} aria-describedby={props.summaryId}>
      <title id={`${props.summaryId}-title`}>{t('licenses.history.chart_title')}</title>
      <g class="chart-axis" font-size="11">
        <line x1={PAD.left} x2={W - PAD.right} y1={y(0)} y2={y(0)} stroke-width="1" />
        <line x1={PAD.left} x2={PAD.left} y1={PAD.top} y2={y(0)} stroke-width="1" />
        <text x={PAD.left - 6} y={y(0) + 4} text-anchor="end">
          0
        </text>
        <text x={PAD.left - 6} y={y(yMax) + 4} text-anchor="end">
          {yMax}
        </text>
        {ticks.map(({ at, days }) => {
          const tx = xAt(at);
          // A label near an edge is anchored inside the chart.
          const anchor = tx < PAD.left + 20 ? 'start' : tx > W - PAD.right - 20 ? 'end' : 'middle';
          return (
            <>
              {tx > PAD.left + 1 && <line class="chart-grid" x1={tx.toFixed(1)} x2={tx.toFixed(1)} y1={PAD.top} y2={y(0)} stroke-width="1" />}
              <text x={tx.toFixed(1)} y={H - 6} text-anchor={anchor}>
                {axisLabel(ctx, at, days)}
              </text>
            </>
          );
        })}
      </g>
      <path class="chart-area" d={area} stroke="none" />
      <path class="chart-line" d={d} fill="none" stroke-width="2" />
      {maxSessions !== null && limitLine(maxSessions, 'chart-limit sessions', t('licenses.history.session_limit', { n: maxSessions }))}
    </svg>
  );
}

/** The facts of the chart in words: the peak and the time spent at the session limit. */
function ChartSummary(props: { ctx: PageContext; series: ConcurrencySeries; maxSessions: number | null; id: string }) {
  const { ctx, series, maxSessions } = props;
  const { t } = ctx;
  return (
    <p id={props.id} class="chart-summary">
      {series.peak === 0
        ? t('licenses.history.no_sessions')
        : t.n('licenses.history.peak', series.peak, { at: when(ctx, series.peakAt) })}{' '}
      {maxSessions === null
        ? t('licenses.history.no_session_limit')
        : t('licenses.history.at_limit', { n: maxSessions, duration: formatDuration(ctx, series.msAtLimit ?? 0) })}
    </p>
  );
}

const bindingKey = (g: CaptureGroup) => `${g.feature}\u0000${g.user}\u0000${g.hostname}`;

/** The History tab: period switch, the concurrency chart with its summary, captures and refusals grouped. */
export function HistoryPanel(props: { ctx: PageContext; license: License; data: HistoryData; base: string }) {
  const { ctx, license, data, base } = props;
  const { t } = ctx;
  const { captures, refusals, admissions } = data.history;
  const infobaseHref = (id: number) => `${audienceOf(ctx) === 'client' ? '/cabinet' : ''}/infobases/${id}`;
  // Feature × user × computer shown on more than one binding (the computer was reset and bound again).
  const seen = new Map<string, Set<number | null>>();
  for (const g of captures) seen.set(bindingKey(g), (seen.get(bindingKey(g)) ?? new Set()).add(g.hostId));
  const rebound = new Set([...seen].filter(([, hosts]) => hosts.size > 1).map(([k]) => k));
  return (
    <>
      <nav class="periods" aria-label={t('licenses.history.period')}>
        <span class="muted">{t('licenses.history.period')}:</span>
        {(Object.keys(HISTORY_PERIODS) as HistoryPeriod[]).map((p) =>
          data.available.includes(p) ? (
            <a class="button" href={`${base}/history?period=${p}`} aria-current={p === data.period ? 'true' : undefined}>
              {t(`licenses.history.period.${p}`)}
            </a>
          ) : (
            <span class="button disabled" title={t('licenses.history.beyond_retention')}>
              {t(`licenses.history.period.${p}`)}
            </span>
          ),
        )}
        <span class="muted">
          {when(ctx, data.from)} – {when(ctx, data.to)}
        </span>
      </nav>
      <p class="muted">
        {t('licenses.history.times_in', { zone: zoneLabel(ctx.timeZone, data.to) })}
        {/* Past the raw window the period starts on a whole hour of UTC (models/history-rollup.ts); say why it is not exactly N hours. */}
        {data.from !== data.to - HISTORY_PERIODS[data.period] * 3600_000 && <> {t('licenses.history.hour_start', { hours: RAW_WINDOW_MS / 3600_000 })}</>}
      </p>

      <section class="card">
        <h2>{t('licenses.history.concurrency')}</h2>
        <ConcurrencyChart ctx={ctx} series={data.series} maxSessions={license.maxSessions} summaryId="history-summary" />
        <ChartSummary ctx={ctx} series={data.series} maxSessions={license.maxSessions} id="history-summary" />
      </section>

      <section class="card">
        <h2>{t('licenses.history.captures')}</h2>
        <ListTable
          class="history captures"
          label={t('licenses.history.captures')}
          columns={[t('licenses.history.feature'), t('licenses.history.user'), t('licenses.history.computer'), { num: t('licenses.history.count') }, t('licenses.history.first'), t('licenses.history.last')]}
          items={captures}
          empty={t('licenses.history.no_captures')}
          row={(g) => (
            <tr>
              <td>
                <code>{g.feature ?? t('common.none')}</code>
              </td>
              <td>{g.user}</td>
              <td>
                {g.hostname}
                {/* Groups are per binding: a computer bound again after a reset has a second one. */}
                {g.hostId !== null && rebound.has(bindingKey(g)) && (
                  <>
                    {' '}
                    <small class="muted" title={t('licenses.history.binding_hint')}>
                      {t('licenses.history.binding', { id: g.hostId })}
                    </small>
                  </>
                )}
              </td>
              <td class="num">{g.count}</td>
              <td class="nowrap">{when(ctx, g.firstAt)}</td>
              <td class="nowrap">{when(ctx, g.lastAt)}</td>
            </tr>
          )}
        />
      </section>

      <section class="card">
        <h2>{t('licenses.history.refusals')}</h2>
        <ListTable
          class="history refusals"
          label={t('licenses.history.refusals')}
          columns={[
            t('licenses.history.reason'),
            t('licenses.history.feature'),
            t('licenses.history.user'),
            t('licenses.history.computer'),
            { num: t('licenses.history.count') },
            t('licenses.history.first'),
            t('licenses.history.last'),
          ]}
          items={refusals}
          empty={t('licenses.history.no_refusals')}
          row={(g) => (
            <tr>
              <td>
                {refusalLabel(ctx, g.code)} {g.code && <small class="muted mono">{g.code}</small>}
                {/* Which base's lock refused: a client with several bases on one license needs to know. */}
                {g.infobase && (
                  <>
                    {' '}
                    <a href={infobaseHref(g.infobase.id)}>{g.infobase.name}</a>
                  </>
                )}
              </td>
              <td>{g.feature === null ? <span class="muted">{t('common.none')}</span> : <code>{g.feature}</code>}</td>
              <td>{g.user}</td>
              <td>{g.hostname}</td>
              <td class="num">{g.count}</td>
              <td class="nowrap">{when(ctx, g.firstAt)}</td>
              <td class="nowrap">{when(ctx, g.lastAt)}</td>
            </tr>
          )}
        />
      </section>

      {/* Who got into a locked infobase with its permission code: only when someone did. */}
      {admissions.length > 0 && (
        <section class="card">
          <h2>{t('licenses.history.admissions')}</h2>
          <p class="muted">{t('licenses.history.admissions_hint')}</p>
          <ListTable
            class="history admissions"
            label={t('licenses.history.admissions')}
            columns={[
              t('licenses.sessions.infobase'),
              t('licenses.history.user'),
              t('licenses.history.computer'),
              { num: t('licenses.history.count') },
              t('licenses.history.first'),
              t('licenses.history.last'),
            ]}
            items={admissions}
            empty=""
            row={(g) => (
              <tr>
                <td>{g.infobase ? <a href={infobaseHref(g.infobase.id)}>{g.infobase.name}</a> : <span class="muted">{t('common.none')}</span>}</td>
                <td>{g.user}</td>
                <td>{g.hostname ?? <span class="muted">{t('common.none')}</span>}</td>
                <td class="num">{g.count}</td>
                <td class="nowrap">{when(ctx, g.firstAt)}</td>
                <td class="nowrap">{when(ctx, g.lastAt)}</td>
              </tr>
            )}
          />
        </section>
      )}
    </>
  );
}
