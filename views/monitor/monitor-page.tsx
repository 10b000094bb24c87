import { Page } from '../layouts/page.js';
import type { MonitorPage as MonitorData } from '../../src/models/monitor.js';
import { MonitorLive } from './live.js';
import type { SettledHtml } from './sessions-table.js';
import { Toolbar } from './toolbar.js';
import type { MonitorView } from './view.js';

/** The context menu of a row: the toolbar's actions, where the pointer is. */
function RowMenu(props: MonitorView) {
  const { ctx, perms } = props;
  const { t } = ctx;
  const item = (act: string, label: string, hint?: string) => (
    <button type="button" role="menuitem" data-act={act} title={hint}>
      {label}
    </button>
  );
  return (
    <div id="monitor-menu" class="mon-menu" role="menu" aria-label={t('common.actions')} hidden>
      {item('refresh', t('monitor.act.refresh'), 'Alt+F5')}
      {perms.operate && item('stop', t('monitor.act.stop'))}
      {perms.terminate && item('close', t('monitor.act.close'), 'Delete')}
      {perms.operate && (
        <>
          {item('message', t('monitor.act.message'))}
          {item('reset', t('monitor.act.reset'))}
          {item('clear-pool', t('monitor.act.clear_pool'))}
          {item('resolve', t('monitor.resolve_names'))}
        </>
      )}
    </div>
  );
}

/** The session monitor: toolbar, the refreshing sessions/shared/pool part, the confirm dialog and the row menu. */
export function MonitorPage(props: MonitorView & { data: MonitorData; digest: string; settled?: SettledHtml; notice?: string | null; title: string; etag: string }) {
  const { ctx } = props;
  return (
    <Page ctx={ctx} title={props.title} wide>
      {/* data-etag: the validator of the live part as rendered here, so the first poll can already be a 304. */}
      <div id="monitor" data-etag={props.etag}>
        <h1>{props.title}</h1>
        <Toolbar {...props} />
        {/* Filled by monitor.js while refreshes fail (the table stays as it was): outside the live part, so polls never carry it.
            Always rendered, empty when all is well, so screen readers announce what appears in it. */}
        <div
          id="monitor-link"
          class="mon-link"
          role="status"
          data-lost={ctx.t('monitor.link.lost')}
          data-failed={ctx.t('monitor.link.failed')}
          data-action={ctx.t('monitor.link.action')}
          data-action-failed={ctx.t('monitor.link.action_failed')}
          data-tz={ctx.timeZone}
        ></div>
        {/* monitor.js repeats here the done notice an action's answer brings into the live part: a status
            region inserted together with its text is often not read out, a permanent one is. */}
        <div id="monitor-said" class="sr-only" role="status"></div>
        <MonitorLive {...props} />
        <dialog id="monitor-dialog" aria-labelledby="monitor-dialog-title"></dialog>
        <RowMenu {...props} />
      </div>
      <script src={ctx.asset('monitor.js')} defer></script>
    </Page>
  );
}
