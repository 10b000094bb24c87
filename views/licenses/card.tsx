import type { BoundHost, License } from '../../src/models/licenses.js';
import type { SessionBrief } from '../../src/models/session-briefs.js';
import { Notice, PostForm } from '../components/form.js';
import { Page } from '../layouts/page.js';
import type { PageContext } from '../page-context.js';
import { HistoryPanel, type HistoryData } from './history.js';
import { HostsTable, hostsOf, LicenseFacts, LicenseState, LicenseTabs, SessionsCompact } from './parts.js';
import { TYPED_TEXT_MAX } from '../../src/lib/forms.js';

export interface LicenseCardData {
  license: License;
  hosts: BoundHost[];
  quota: { quota: number; used: number; remaining: number };
  sessions: { items: SessionBrief[]; total: number };
}

/** The title line of a license page: key, state and the actions staff have on it. */
function Head(props: { ctx: PageContext; license: License; now: number; isAdmin: boolean }) {
  const { ctx, license: l, now, isAdmin } = props;
  const { t } = ctx;
  return (
    <div class="page-head">
      <h1>
        {t('licenses.card_title')} <span class="mono">{l.key}</span> <LicenseState ctx={ctx} license={l} now={now} />
      </h1>
      <div class="head-actions">
        <a class="button primary" href={`/monitor?license=${l.id}`}>
          {t('licenses.show_sessions')}
        </a>
        <a class="button" href={`/audit?targetType=license&targetId=${l.id}`}>
          {t('licenses.audit')}
        </a>
        {isAdmin && (
          <a class="button" href={`/licenses/${l.id}/edit`}>
            {t('common.edit')}
          </a>
        )}
      </div>
    </div>
  );
}

/** Suspend (closing its live sessions, asked first) or lift the suspension: admins only. */
function SuspendForm(props: { ctx: PageContext; license: License }) {
  const { ctx, license: l } = props;
  const { t } = ctx;
  if (l.suspendedAt !== null) {
    return (
      <PostForm action={`/licenses/${l.id}/unsuspend`} csrf={ctx.csrfToken} class="suspend-form" confirm={t('licenses.unsuspend_confirm', { key: l.key })}>
        <p class="muted">{t('licenses.unsuspend_hint')}</p>
        <button class="primary">{t('licenses.unsuspend')}</button>
      </PostForm>
    );
  }
  return (
    <PostForm action={`/licenses/${l.id}/suspend`} csrf={ctx.csrfToken} class="suspend-form" confirm={t.n('licenses.suspend_confirm', l.liveSessions, { key: l.key })}>
      <p class="muted">{t.n('licenses.suspend_hint', l.liveSessions)}</p>
      <div class="field">
        <label for="suspend-reason">{t('licenses.suspend_reason')}</label>
        <input id="suspend-reason" name="reason" maxlength={TYPED_TEXT_MAX} />
      </div>
      <button class="danger">{t('licenses.suspend')}</button>
    </PostForm>
  );
}

/** The license card (staff): rules, bound hosts with Reset binding, live sessions; admins also edit and suspend. */
export function LicenseCardPage(props: {
  ctx: PageContext;
  data: LicenseCardData;
  quotaIsDefault: boolean;
  now: number;
  isAdmin: boolean;
  notice?: string | null;
  error?: string | null;
}) {
  const { ctx, data, now, isAdmin } = props;
  const { license: l } = data;
  const { t } = ctx;
  const base = `/licenses/${l.id}`;
  return (
    <Page ctx={ctx} title={`${t('licenses.card_title')} ${l.key}`} wide>
      <Head ctx={ctx} license={l} now={now} isAdmin={isAdmin} />
      <LicenseTabs ctx={ctx} base={base} active="card" />
      <Notice error={props.error} notice={props.notice} />
      <div class="grid2">
        <section class="card">
          <h2>{t('licenses.rules')}</h2>
          <LicenseFacts ctx={ctx} license={l} now={now} quota={data.quota} quotaIsDefault={props.quotaIsDefault} clientHref={`/clients/${l.clientId}`} />
          {l.notes && <p class="notes">{l.notes}</p>}
        </section>
        {isAdmin && (
          <section class="card">
            <h2>{t('licenses.suspension')}</h2>
            <SuspendForm ctx={ctx} license={l} />
          </section>
        )}
      </div>
      <section class="card" id="hosts">
        <h2>
          {t('licenses.hosts.title')} <span class="muted">{hostsOf(ctx, l)}</span>
        </h2>
        <p class="muted">{t('licenses.hosts.reset_hint')}</p>
        <HostsTable ctx={ctx} hosts={data.hosts} resetAction={(hostId) => `${base}/hosts/${hostId}/reset`} />
      </section>
      <section class="card" id="sessions">
        <h2>{t('licenses.sessions.title')}</h2>
        <SessionsCompact
          ctx={ctx}
          sessions={data.sessions.items}
          total={data.sessions.total}
          showInfobase
          back={base}
          terminateAction={(s) => `${base}/sessions/${encodeURIComponent(s.id)}/terminate`}
          monitorHref={`/monitor?license=${l.id}`}
        />
      </section>
    </Page>
  );
}

/** The History tab of the license card (staff). */
export function LicenseHistoryPage(props: { ctx: PageContext; license: License; data: HistoryData; now: number; isAdmin: boolean }) {
  const { ctx, license: l } = props;
  const { t } = ctx;
  const base = `/licenses/${l.id}`;
  return (
    <Page ctx={ctx} title={`${t('licenses.tab.history')} · ${l.key}`} wide>
      <Head ctx={ctx} license={l} now={props.now} isAdmin={props.isAdmin} />
      <LicenseTabs ctx={ctx} base={base} active="history" />
      <HistoryPanel ctx={ctx} license={l} data={props.data} base={base} />
    </Page>
  );
}
