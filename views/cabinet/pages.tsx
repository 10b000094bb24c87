import type { ClientHost } from '../../src/models/cabinet.js';
import type { Infobase } from '../../src/models/infobases.js';
import type { License } from '../../src/models/licenses.js';
import type { SessionBrief } from '../../src/models/session-briefs.js';
import { Notice } from '../components/form.js';
import { ListTable } from '../components/table.js';
import { LockBadge } from '../infobases/parts.js';
import { Page } from '../layouts/page.js';
import { HistoryPanel, type HistoryData } from '../licenses/history.js';
import { ClientHostsTable, LicenseFacts, LicenseState, LicenseStatusCells, LicenseTabs, licenseStatusColumns, num, SessionsCompact, when } from '../licenses/parts.js';
import type { PageContext } from '../page-context.js';

export interface Quota {
  quota: number;
  used: number;
  remaining: number;
}

const terminateAction = (s: SessionBrief) => `/cabinet/sessions/${encodeURIComponent(s.id)}/terminate`;

/**
 * A suspended or expired license, in words a client can act on: what it means for their
 * applications, and whom to ask (the support contact, when the vendor gave one).
 */
function LicenseAlert(props: { ctx: PageContext; license: License; now: number; supportContact: string | null; withKey?: boolean }) {
  const { ctx, license: l, now } = props;
  const { t } = ctx;
  const key = props.withKey ? l.key : null;
  let text: string;
  if (l.suspendedAt !== null) text = key ? t('cabinet.alert.suspended_key', { key }) : t('cabinet.alert.suspended');
  else if (l.expiresAt !== null && now >= l.expiresAt) {
    const vars = { date: when(ctx, l.expiresAt), key: key ?? '' };
    text = key ? t('cabinet.alert.expired_key', vars) : t('cabinet.alert.expired', vars);
  } else return null;
  return (
    <p class="msg warn" role="status">
      {text} {props.supportContact ? t('cabinet.quota.contact', { contact: props.supportContact }) : t('cabinet.alert.ask_vendor')}
    </p>
  );
}

/** What a client user sees first: their licenses, infobases and live sessions. */
export function CabinetHome(props: {
  ctx: PageContext;
  clientName: string;
  licenses: (License & { quota: Quota })[];
  infobases: Infobase[];
  sessions: { items: SessionBrief[]; total: number };
  now: number;
  notice?: string | null;
  /** How to reach the vendor's support (a setting): shown with a license's trouble and at the foot. */
  supportContact: string | null;
}) {
  const { ctx, licenses, infobases, now } = props;
  const { t } = ctx;
  return (
    <Page ctx={ctx} title={t('cabinet.title')} wide>
      <h1>
        {t('cabinet.title')} <span class="muted">{props.clientName}</span>
      </h1>
      <Notice notice={props.notice} />
      {licenses.map((l) => (
        <LicenseAlert ctx={ctx} license={l} now={now} supportContact={props.supportContact} withKey />
      ))}
      <section class="card">
        <h2>{t('cabinet.licenses')}</h2>
        <ListTable
          class="licenses stack"
          label={t('cabinet.licenses')}
          columns={[
            t('licenses.field.key'),
            t('licenses.field.product'),
            ...licenseStatusColumns(t, 'client'),
            t('cabinet.resets_left'),
          ]}
          items={licenses}
          empty={t('cabinet.no_licenses')}
          row={(l) => (
            <tr>
              <td>
                <a class="mono" href={`/cabinet/licenses/${l.id}`}>
                  {l.key}
                </a>
              </td>
              <td data-label={t('licenses.field.product')}>{l.product}</td>
              <LicenseStatusCells ctx={ctx} license={l} now={now} />
              <td data-label={t('cabinet.resets_left')}>
                {l.quota.quota === 0 ? <span class="muted">{t('cabinet.no_self_reset')}</span> : t('cabinet.left_of', { left: l.quota.remaining, quota: l.quota.quota })}
              </td>
            </tr>
          )}
        />
      </section>

      <section class="card">
        <h2>{t('cabinet.infobases')}</h2>
        <ListTable
          class="infobases stack"
          label={t('cabinet.infobases')}
          columns={[t('infobases.field.name'), t('infobases.field.lock'), { num: t('infobases.field.live') }]}
          items={infobases}
          empty={t('cabinet.no_infobases')}
          row={(ib) => (
            <tr>
              <td>
                <a href={`/cabinet/infobases/${ib.id}`}>{ib.name}</a>
              </td>
              <td data-label={t('infobases.field.lock')}>
                <LockBadge ctx={ctx} infobase={ib} />
              </td>
              <td class="num" data-label={t('infobases.field.live')}>
                {ib.liveSessions}
              </td>
            </tr>
          )}
        />
      </section>

      <section class="card" id="sessions">
        <h2>{t('cabinet.sessions')}</h2>
        <SessionsCompact
          ctx={ctx}
          sessions={props.sessions.items}
          total={props.sessions.total}
          // With one license the column would only repeat its key.
          showLicense={licenses.length > 1}
          showInfobase
          back="/cabinet"
          terminateAction={terminateAction}
          monitorHref="/monitor"
        />
      </section>
      {props.supportContact && (
        <p class="muted support-contact">{t('cabinet.quota.contact', { contact: props.supportContact })}</p>
      )}
    </Page>
  );
}

/** Self-service resets: what is left in the rolling 30 days, or — when spent — how to get one from support. */
function QuotaNote(props: { ctx: PageContext; license: License; quota: Quota; nextAt: number | null; supportContact: string | null }) {
  const { ctx, license, quota, nextAt } = props;
  const contact = props.supportContact && <p class="support-contact">{ctx.t('cabinet.quota.contact', { contact: props.supportContact })}</p>;
  const { t } = ctx;
  if (quota.quota === 0) {
    return (
      <div class="msg warn quota-note" role="note">
        <p>{t('cabinet.quota.none')}</p>
        <p>{t('cabinet.quota.ask_support', { key: license.key })}</p>
        {contact}
      </div>
    );
  }
  if (quota.remaining === 0) {
    return (
      <div class="msg warn quota-note" role="note">
        <p>
          <b>{t('cabinet.quota.spent', { quota: quota.quota })}</b> {nextAt !== null && t('cabinet.quota.next_at', { at: when(ctx, nextAt) })}
        </p>
        <p>{t('cabinet.quota.ask_support', { key: license.key })}</p>
        {contact}
      </div>
    );
  }
  return (
    <p class="quota-note">
      {t.n('cabinet.quota.left', quota.remaining, { used: quota.used, quota: quota.quota })} <span class="muted">{t('cabinet.quota.what_reset_does')}</span>
    </p>
  );
}

function Head(props: { ctx: PageContext; license: License; now: number }) {
  const { ctx, license: l } = props;
  const { t } = ctx;
  return (
    <div class="page-head">
      <h1>
        {t('licenses.card_title')} <span class="mono">{l.key}</span> <LicenseState ctx={ctx} license={l} now={props.now} />
      </h1>
      <div class="head-actions">
        <a class="button primary" href={`/monitor?license=${l.id}`}>
          {t('licenses.show_sessions')}
        </a>
        <a class="button" href="/cabinet">
          {t('cabinet.back')}
        </a>
      </div>
    </div>
  );
}

/** One of the client's licenses: rules, bound hosts with self-service reset, live sessions. */
export function CabinetLicensePage(props: {
  ctx: PageContext;
  license: License;
  hosts: ClientHost[];
  quota: Quota;
  nextResetAt: number | null;
  sessions: { items: SessionBrief[]; total: number };
  now: number;
  notice?: string | null;
  error?: string | null;
  /** How to reach the vendor's support (a setting), shown when self-service is used up. */
  supportContact: string | null;
}) {
  const { ctx, license: l, quota } = props;
  const { t } = ctx;
  const base = `/cabinet/licenses/${l.id}`;
  return (
    <Page ctx={ctx} title={`${t('licenses.card_title')} ${l.key}`} wide>
      <Head ctx={ctx} license={l} now={props.now} />
      <LicenseTabs ctx={ctx} base={base} active="card" />
      <Notice error={props.error} notice={props.notice} />
      <LicenseAlert ctx={ctx} license={l} now={props.now} supportContact={props.supportContact} />
      <section class="card">
        <h2>{t('licenses.rules')}</h2>
        <LicenseFacts ctx={ctx} license={l} now={props.now} quota={quota} quotaIsDefault={false} />
      </section>
      <section class="card" id="hosts">
        <h2>
          {t('cabinet.hosts')} <span class="muted">{t('cabinet.hosts_count', { bound: num(ctx, l.boundHosts), max: num(ctx, l.maxHosts) })}</span>
        </h2>
        <QuotaNote ctx={ctx} license={l} quota={quota} nextAt={props.nextResetAt} supportContact={props.supportContact} />
        <ClientHostsTable ctx={ctx} hosts={props.hosts} resetAction={quota.remaining > 0 ? (hostId) => `${base}/hosts/${hostId}/reset` : null} />
      </section>
      <section class="card" id="sessions">
        <h2>{t('licenses.sessions.title')}</h2>
        <SessionsCompact
          ctx={ctx}
          sessions={props.sessions.items}
          total={props.sessions.total}
          showInfobase
          back={base}
          terminateAction={terminateAction}
          monitorHref={`/monitor?license=${l.id}`}
        />
      </section>
    </Page>
  );
}

/** The History tab of a license in the cabinet. */
export function CabinetHistoryPage(props: { ctx: PageContext; license: License; data: HistoryData; now: number }) {
  const { ctx, license: l } = props;
  const { t } = ctx;
  const base = `/cabinet/licenses/${l.id}`;
  return (
    <Page ctx={ctx} title={`${t('licenses.tab.history')} · ${l.key}`} wide>
      <Head ctx={ctx} license={l} now={props.now} />
      <LicenseTabs ctx={ctx} base={base} active="history" />
      <HistoryPanel ctx={ctx} license={l} data={props.data} base={base} />
    </Page>
  );
}
