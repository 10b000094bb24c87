import { formatDateTime } from '../../src/lib/format.js';
import { METRICS, type MetricColumn } from '../../src/lib/monitor-query.js';
import type { SessionInfo } from '../../src/models/monitor.js';
import { formatMetric } from './format.js';
import { audienceOf } from '../licenses/parts.js';
import { columnLabel, confirmHref, type MonitorView } from './view.js';

/** The "i" panel of a session: fingerprint, machine, launch, app, features, all metrics, the binding; and its actions. */
export function InfoPanel(props: MonitorView & { info: SessionInfo }) {
  const { info, ctx, base, query, perms } = props;
  const { t, locale, timeZone } = ctx;
  const s = info.session;
  const b = info.binding;
  const when = (ms: number | null) => formatDateTime(ms, locale, timeZone);
  const act = (params: Record<string, string | number>) => confirmHref(base, query, { ...params, session: s.id });
  const metricCols = Object.keys(METRICS) as MetricColumn[];
  return (
    <div class="panel" id={`info-${s.id}`} data-session-id={s.id}>
      <dl>
        <dt>{t('monitor.col.session')}</dt>
        <dd>
          {s.user} <span class="mono">{s.clientSessionId ?? `#${s.number}`}</span>
        </dd>
        <dt>{t('monitor.info.app')}</dt>
        <dd>{[s.appName, s.appVersion].filter(Boolean).join(' ') || t('common.none')}</dd>
        <dt>{t('monitor.info.launched')}</dt>
        <dd>{when(s.startedAt)}</dd>
        <dt>{t('monitor.info.last_seen')}</dt>
        <dd>{when(s.lastSeenAt)}</dd>
        <dt>{t('monitor.info.machine')}</dt>
        <dd>{[s.machineHostname, info.machineOs, s.machineIp].filter(Boolean).join(' · ') || t('common.none')}</dd>
        <dt>{columnLabel(ctx, 'clientIp')}</dt>
        <dd>{[s.clientIp, s.clientHostname].filter(Boolean).join(' · ') || t('common.none')}</dd>
        <dt>{t('monitor.col.infobase')}</dt>
        <dd>{s.infobase ? `${s.infobase.name} (${s.infobase.externalId})` : t('common.none')}</dd>
        <dt>{t('monitor.col.connection')}</dt>
        <dd>{t(`monitor.conn.${s.connection}`)}</dd>
        <dt>{t('monitor.col.license')}</dt>
        <dd class="mono">{s.licenseKey}</dd>
        <dt>{t('monitor.col.client')}</dt>
        <dd>{s.clientName}</dd>
        <dt>{t('monitor.info.binding')}</dt>
        <dd>
          {t(audienceOf(ctx) === 'client' ? 'monitor.info.binding_text_client' : 'monitor.info.binding_text', { host: b.hostname ?? b.ip ?? `#${b.hostId}`, hash: b.fingerprintShort, at: when(b.boundAt) })}
        </dd>
        <dt>{t('monitor.features')}</dt>
        <dd>{s.features.join(', ') || t('common.none')}</dd>
      </dl>
      {info.components && (
        <table class="kv">
          <caption>{t('monitor.info.fingerprint')}</caption>
          <tbody>
            {info.components.map(([k, v]) => (
              <tr>
                <th scope="row">{k}</th>
                <td class="mono">{v}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <table class="kv">
        <caption>{t('monitor.info.metrics')}</caption>
        <thead>
          <tr>
            <td></td>
            <th class="num">{t('monitor.fig.cur')}</th>
            <th class="num">{t('monitor.fig.5m')}</th>
            <th class="num">{t('monitor.fig.total')}</th>
          </tr>
        </thead>
        <tbody>
          {metricCols.map((m) => (
            <tr>
              <th scope="row">{t(`monitor.col.${m}`)}</th>
              <td class="num">{s.metrics[m].cur === undefined ? '' : formatMetric(m, s.metrics[m].cur!, t)}</td>
              <td class="num">{formatMetric(m, s.metrics[m]['5m'], t)}</td>
              <td class="num">{formatMetric(m, s.metrics[m].total, t)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="acts">
        {perms.operate && s.running && (
          <a class="button" href={act({ do: 'stop' })} data-confirm-link="">
            {t('monitor.act.stop')}
          </a>
        )}
        {perms.terminate && (
          <a class="button" href={act({ do: 'terminate' })} data-confirm-link="">
            {t('monitor.act.terminate')}
          </a>
        )}
        {perms.operate && (
          <>
            <a class="button" href={act({ do: 'message' })} data-confirm-link="">
              {t('monitor.act.message')}
            </a>
            <a class="button" href={act({ do: 'reset' })} data-confirm-link="">
              {t('monitor.act.reset')}
            </a>
            <a class="button" href={act({ do: 'clear-pool' })} data-confirm-link="">
              {t('monitor.act.clear_pool')}
            </a>
          </>
        )}
      </p>
    </div>
  );
}
