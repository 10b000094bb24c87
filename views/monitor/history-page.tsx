import { Page } from '../layouts/page.js';
import { HistoryPanel } from '../licenses/history.js';
import type { HistoryData } from '../licenses/history.js';
import type { PageContext } from '../page-context.js';
import type { License } from '../../src/models/licenses.js';

/**
 * The monitor's History tab (PRODUCT §5): beside Active sessions when the monitor is filtered by a
 * license key, the same history as the license card's, without leaving the monitor — its tabs lead
 * back to the sessions of that key.
 */
export function MonitorHistoryPage(props: { ctx: PageContext; license: License; data: HistoryData }) {
  const { ctx, license: l } = props;
  const { t } = ctx;
  return (
    <Page ctx={ctx} title={`${t('monitor.tab.history')} · ${l.key}`} wide>
      <h1>{t('monitor.title')}</h1>
      <p class="chips">
        <span class="chip">
          {t('monitor.chip.license')}: <b>{l.key}</b>
        </span>
      </p>
      <nav class="tabs" aria-label={t('monitor.tabs')}>
        <a href={`/monitor?license=${l.id}`}>{t('monitor.tab.sessions')}</a>
        <a href={`/monitor/licenses/${l.id}/history`} aria-current="page">
          {t('monitor.tab.history')}
        </a>
      </nav>
      <HistoryPanel ctx={ctx} license={l} data={props.data} base={`/monitor/licenses/${l.id}`} />
    </Page>
  );
}
