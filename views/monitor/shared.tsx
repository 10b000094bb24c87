import type { HostLabel, MonitorPage } from '../../src/models/monitor.js';
import { shortTime } from './format.js';
import { confirmHref, type MonitorView } from './view.js';

const baseName = (path: string) => path.replace(/^.*[\\/]/, '');

function hostName(h: HostLabel): string {
  return h.hostname ?? h.ip ?? `#${h.hostId}`;
}

/** A group heading naming the host, shown only when the section covers several hosts. */
function HostHeading(props: MonitorView & { host: HostLabel; width: number; action?: { label: string; href: string } }) {
  const { host: h } = props;
  return (
    <tr class="grp" data-host-id={h.hostId}>
      <th colspan={props.width} scope="colgroup">
        {hostName(h)} <small class="mono">{h.licenseKey}</small>
        {props.action && (
          <>
            {' '}
            <a class="button" href={props.action.href} data-confirm-link="">
              {props.action.label}
            </a>
          </>
        )}
      </th>
    </tr>
  );
}

/** Shared packages of the hosts shown, with the reference count beside each name; Close only at count 1. */
export function SharedPackages(props: MonitorView & { hosts: HostLabel[]; shared: MonitorPage['shared'] }) {
  const { ctx, shared, perms, base, query } = props;
  const { t, locale, timeZone } = ctx;
  const hosts = props.hosts.filter((h) => shared.some((s) => s.hostId === h.hostId));
  // Most hosts have none: an empty section would cost bytes on every refresh and say nothing.
  if (shared.length === 0) return null;
  const width = perms.operate ? 4 : 3;
  return (
    <section class="mon-sec" aria-labelledby="monitor-shared-h">
      <h2 id="monitor-shared-h">{t('monitor.shared.title')}</h2>
      <div class="table-wrap">
        <table class="mon" id="monitor-shared" aria-labelledby="monitor-shared-h">
          <thead>
            <tr>
              <th scope="col">{t('monitor.shared.package')}</th>
              <th scope="col">{t('monitor.col.path')}</th>
              <th scope="col">{t('monitor.shared.added')}</th>
              {perms.operate && <th scope="col">{t('common.actions')}</th>}
            </tr>
          </thead>
          <tbody>
            {hosts.map((h) => (
              <>
                {hosts.length > 1 && <HostHeading {...props} host={h} width={width} />}
                {shared
                  .filter((s) => s.hostId === h.hostId)
                  .map((s) => (
                    <tr data-host-id={h.hostId} data-shared-path={s.path} data-count={s.count} tabindex={-1}>
                      <td>
                        {baseName(s.path)} <span class="cnt" title={t('monitor.shared.count_title')}>{s.count}</span>
                      </td>
                      <td class="path">{s.path}</td>
                      <td>{shortTime(s.addedAt, locale, timeZone)}</td>
                      {perms.operate && (
                        <td>
                          {s.count === 1 ? (
                            <a class="button" href={confirmHref(base, query, { do: 'close-shared', host: h.hostId, path: s.path })} data-confirm-link="">
                              {t('monitor.act.close')}
                            </a>
                          ) : (
                            <>
                              <button type="button" disabled>
                                {t('monitor.act.close')}
                              </button>{' '}
                              <small class="muted">{t.n('monitor.shared.in_use', s.count - 1)}</small>
                            </>
                          )}
                        </td>
                      )}
                    </tr>
                  ))}
              </>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** The package pool of the hosts shown, most recently used first, with "Clear package pool" per host. */
export function Pool(props: MonitorView & { hosts: HostLabel[]; pool: MonitorPage['pool'] }) {
  const { ctx, pool, perms, base, query } = props;
  const { t, locale, timeZone } = ctx;
  const hosts = props.hosts.filter((h) => pool.some((p) => p.hostId === h.hostId));
  const clear = (h: HostLabel) => (perms.operate ? { label: t('monitor.act.clear_pool'), href: confirmHref(base, query, { do: 'clear-pool', host: h.hostId }) } : undefined);
  if (pool.length === 0) return null;
  return (
    <section class="mon-sec" aria-labelledby="monitor-pool-h">
      <h2 id="monitor-pool-h">
        {t('monitor.pool.title')}
        {hosts.length === 1 && clear(hosts[0]) && (
          <>
            {' '}
            <a class="button" href={clear(hosts[0])!.href} data-confirm-link="">
              {t('monitor.act.clear_pool')}
            </a>
          </>
        )}
        {hosts.length > 1 && perms.operate && (
          <>
            {' '}
            <a class="button" href={confirmHref(base, query, { do: 'clear-all-pools' })} data-confirm-link="">
              {t('monitor.act.clear_all_pools')}
            </a>
          </>
        )}
      </h2>
      <div class="table-wrap">
        <table class="mon" id="monitor-pool" aria-labelledby="monitor-pool-h">
          <thead>
            <tr>
              <th scope="col">{t('monitor.col.path')}</th>
              <th scope="col">{t('monitor.col.version')}</th>
              <th scope="col">{t('monitor.col.saved')}</th>
              <th scope="col">{t('monitor.pool.added')}</th>
            </tr>
          </thead>
          <tbody>
            {hosts.map((h) => (
              <>
                {hosts.length > 1 && <HostHeading {...props} host={h} width={4} action={clear(h)} />}
                {pool
                  .filter((p) => p.hostId === h.hostId)
                  .map((p) => (
                    <tr data-host-id={h.hostId} data-pool-id={p.id} tabindex={-1}>
                      <td class="path">{p.path}</td>
                      <td>{p.version}</td>
                      <td>{shortTime(p.savedAt, locale, timeZone)}</td>
                      <td>{shortTime(p.addedAt, locale, timeZone)}</td>
                    </tr>
                  ))}
              </>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
