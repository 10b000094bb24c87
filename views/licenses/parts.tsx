import { formatCount, formatDateTime } from '../../src/lib/format.js';
import type { ClientHost } from '../../src/models/cabinet.js';
import type { BoundHost, License } from '../../src/models/licenses.js';
import type { SessionBrief } from '../../src/models/session-briefs.js';
import { PostForm } from '../components/form.js';
import { ListTable, type Column } from '../components/table.js';
import type { PageContext } from '../page-context.js';
import { TYPED_TEXT_MAX } from '../../src/lib/forms.js';

// Pieces shared by the license card, the client card, the infobase page and the cabinet.

/**
 * Who reads the page: staff say "host"; a client user's cabinet says "computer"
 * throughout (its own keys). Shared parts take it from the viewer's role.
 */
export type Audience = 'staff' | 'client';
export const audienceOf = (ctx: PageContext): Audience => (ctx.user?.role === 'client' ? 'client' : 'staff');

/** A count as the viewer's language groups it: "1,000,000" / "1 000 000". */
export const num = (ctx: PageContext, n: number): string => formatCount(n, ctx.locale);

/** "1 of 3 hosts bound" ("computers", for a client), the noun agreeing with the limit. */
export function hostsOf(ctx: PageContext, license: Pick<License, 'boundHosts' | 'maxHosts'>): string {
  const key = audienceOf(ctx) === 'client' ? 'cabinet.computers_of' : 'licenses.hosts_of';
  return ctx.t.n(key, license.maxHosts, { bound: num(ctx, license.boundHosts) });
}

/** A date and time in the viewer's zone; '' for none. */
export function when(ctx: PageContext, ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '' : formatDateTime(ms, ctx.locale, ctx.timeZone);
}

const shortFormats = new Map<string, Intl.DateTimeFormat>();

/** A compact date and time for dense tables: "21/11 13:05:09" in the viewer's zone. */
export function shortWhen(ctx: PageContext, ms: number): string {
  const key = `${ctx.locale}|${ctx.timeZone}`;
  let f = shortFormats.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(ctx.locale === 'ru' ? 'ru-RU' : 'en-GB', {
      timeZone: ctx.timeZone,
      day: '2-digit',
      month: ctx.locale === 'ru' ? '2-digit' : 'short', // "07 Dec", never "07/12" (12 July in the US)
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    shortFormats.set(key, f);
  }
  return f.format(ms);
}

/** Active / suspended / expired as a badge (suspension wins: it is the one staff act on). */
export function LicenseState(props: { ctx: PageContext; license: Pick<License, 'suspendedAt' | 'expiresAt'>; now: number }) {
  const { ctx, license: l, now } = props;
  const { t } = ctx;
  if (l.suspendedAt !== null) return <span class="badge err">{t('licenses.state.suspended')}</span>;
  if (l.expiresAt !== null && now >= l.expiresAt) return <span class="badge warn">{t('licenses.state.expired')}</span>;
  return <span class="badge ok">{t('licenses.state.active')}</span>;
}

/** "2 of 3" hosts (computers, for a client), warning-coloured when no slot is free. */
export function HostsUsage(props: { ctx: PageContext; license: Pick<License, 'boundHosts' | 'maxHosts'> }) {
  const { boundHosts, maxHosts } = props.license;
  const full = boundHosts >= maxHosts;
  return <span class={full ? 'badge warn' : undefined}>{hostsOf(props.ctx, props.license)}</span>;
}

/** The heads over LicenseStatusCells. */
export const licenseStatusColumns = (t: PageContext['t'], audience: Audience = 'staff'): Column[] => [
  t('licenses.field.state'),
  t(audience === 'client' ? 'cabinet.field.computers' : 'licenses.field.hosts'),
  { num: t('licenses.field.live') },
  t('licenses.field.expires'),
];

/** A license row's state, hosts, live sessions and expiry cells, as every list of licenses shows them. */
export function LicenseStatusCells(props: { ctx: PageContext; license: Pick<License, 'suspendedAt' | 'expiresAt' | 'boundHosts' | 'maxHosts' | 'liveSessions'>; now: number }) {
  const { ctx, license: l, now } = props;
  const { t } = ctx;
  // data-label: a table of class "stack" shows each cell under its head's name on a phone (public/app.css).
  return (
    <>
      <td data-label={t('licenses.field.state')}>
        <LicenseState ctx={ctx} license={l} now={now} />
      </td>
      <td data-label={t(audienceOf(ctx) === 'client' ? 'cabinet.field.computers' : 'licenses.field.hosts')}>
        <HostsUsage ctx={ctx} license={l} />
      </td>
      <td class="num" data-label={t('licenses.field.live')}>
        {num(ctx, l.liveSessions)}
      </td>
      <td class="nowrap" data-label={t('licenses.field.expires')}>
        {l.expiresAt === null ? <span class="muted">{t('licenses.never_expires')}</span> : when(ctx, l.expiresAt)}
      </td>
    </>
  );
}

/** Tabs of a license page: the card and its history. */
export function LicenseTabs(props: { ctx: PageContext; base: string; active: 'card' | 'history' }) {
  const { ctx, base, active } = props;
  const { t } = ctx;
  return (
    <nav class="tabs" aria-label={t('licenses.tabs')}>
      <a href={base} aria-current={active === 'card' ? 'page' : undefined}>
        {t('licenses.tab.card')}
      </a>
      <a href={`${base}/history`} aria-current={active === 'history' ? 'page' : undefined}>
        {t('licenses.tab.history')}
      </a>
    </nav>
  );
}

/** The fingerprint's components, one "key: value" per line. */
function Components(props: { components: Record<string, string> }) {
  const entries = Object.entries(props.components);
  return (
    <dl class="fp">
      {entries.map(([k, v]) => (
        <>
          <dt>{k}</dt>
          <dd class="mono">{v}</dd>
        </>
      ))}
    </dl>
  );
}

/** The reset form of one host: a required reason and a button that asks first, naming the sessions it closes. */
function ResetForm(props: { ctx: PageContext; action: string; host: string; liveSessions: number; back?: string }) {
  const { ctx, action, host, liveSessions } = props;
  const { t } = ctx;
  const id = `reason-${action.replace(/[^a-z0-9]+/gi, '-')}`;
  return (
    <PostForm action={action} csrf={ctx.csrfToken} class="reset-form" confirm={t.n('licenses.hosts.reset_confirm', liveSessions, { host })}>
      {props.back && <input type="hidden" name="back" value={props.back} />}
      <label for={id} class="sr-only">
        {t('licenses.hosts.reason')}
      </label>
      <input id={id} name="reason" required maxlength={TYPED_TEXT_MAX} placeholder={t('licenses.hosts.reason_placeholder')} />
      <button class="danger">{t('licenses.hosts.reset')}</button>
    </PostForm>
  );
}

const hostName = (h: { hostname: string | null }, fallback: string) => h.hostname ?? fallback;

/** A bound host's times and live sessions, each named (data-label) for a phone, where the table stacks. */
function HostTimes(props: { ctx: PageContext; host: { boundAt: number; lastSeenAt: number | null; liveSessions: number } }) {
  const { ctx, host: h } = props;
  const { t } = ctx;
  return (
    <>
      <td class="nowrap" data-label={t('licenses.hosts.bound_at')}>
        {when(ctx, h.boundAt)}
      </td>
      <td class="nowrap" data-label={t('licenses.hosts.last_seen')}>
        {when(ctx, h.lastSeenAt)}
      </td>
      <td class="num" data-label={t('licenses.hosts.live')}>
        {num(ctx, h.liveSessions)}
      </td>
    </>
  );
}

/** Bound hosts as staff see them: machine, fingerprint components, times, live sessions and Reset binding. */
export function HostsTable(props: { ctx: PageContext; hosts: BoundHost[]; resetAction?: (hostId: number) => string }) {
  const { ctx, hosts } = props;
  const { t } = ctx;
  return (
    <ListTable
      class="hosts stack"
      label={t('licenses.hosts.title')}
      columns={[
        t('licenses.hosts.machine'),
        t('licenses.hosts.fingerprint'),
        t('licenses.hosts.bound_at'),
        t('licenses.hosts.last_seen'),
        { num: t('licenses.hosts.live') },
        props.resetAction && t('licenses.hosts.reset'),
      ]}
      items={hosts}
      empty={t('licenses.hosts.none')}
      row={(h) => (
        <tr data-host-id={h.id}>
          <td>
            <b>{hostName(h.machine, `#${h.id}`)}</b>
            {h.machine.os && <div class="muted">{h.machine.os}</div>}
            {h.machine.ip && <div class="muted mono">{h.machine.ip}</div>}
          </td>
          <td data-label={t('licenses.hosts.fingerprint')}>
            <Components components={h.components} />
            <small class="muted mono" title={h.fingerprintHash}>
              {h.fingerprintHash.slice(0, 12)}
            </small>
          </td>
          <HostTimes ctx={ctx} host={h} />
          {props.resetAction && (
            <td class="reset">
              <ResetForm ctx={ctx} action={props.resetAction(h.id)} host={hostName(h.machine, `#${h.id}`)} liveSessions={h.liveSessions} />
            </td>
          )}
        </tr>
      )}
    />
  );
}

/** Bound hosts as a client user sees them: the computer's name and a short hash; Reset while the quota lasts. */
export function ClientHostsTable(props: { ctx: PageContext; hosts: ClientHost[]; resetAction: ((hostId: number) => string) | null }) {
  const { ctx, hosts } = props;
  const { t } = ctx;
  return (
    <ListTable
      class="hosts stack"
      label={t('cabinet.hosts')}
      columns={[
        t('licenses.hosts.computer'),
        t('licenses.hosts.fingerprint'),
        t('licenses.hosts.bound_at'),
        t('licenses.hosts.last_seen'),
        { num: t('licenses.hosts.live') },
        t('licenses.hosts.reset'),
      ]}
      items={hosts}
      empty={t('cabinet.no_computers')}
      row={(h) => (
        <tr data-host-id={h.id}>
          <td>
            <b>{hostName(h, `#${h.id}`)}</b>
          </td>
          <td class="mono" data-label={t('licenses.hosts.fingerprint')}>
            {h.shortHash}
          </td>
          <HostTimes ctx={ctx} host={h} />
          {/* class "reset": on a phone, the form on a line of its own, as wide as the screen (public/app.css). */}
          <td class="reset">
            {props.resetAction ? (
              <ResetForm ctx={ctx} action={props.resetAction(h.id)} host={hostName(h, h.shortHash)} liveSessions={h.liveSessions} />
            ) : (
              <span class="muted">{t('cabinet.reset.ask_support_short')}</span>
            )}
          </td>
        </tr>
      )}
    />
  );
}

/** Where a session runs, in a few words: its machine and infobase ("" when neither is known). */
const where = (s: SessionBrief) => [s.machineHostname ?? s.machineIp, s.infobase?.name].filter(Boolean).join(', ');

/**
 * A compact list of live sessions (the monitor has the full view): who, state,
 * where, since when, and Terminate when the viewer may.
 */
export function SessionsCompact(props: {
  ctx: PageContext;
  sessions: SessionBrief[];
  total: number;
  /** Where a session's Terminate posts; absent: no Terminate. */
  terminateAction?: (s: SessionBrief) => string;
  /** The page to come back to after Terminate. */
  back: string;
  /** The monitor with the same filter. */
  monitorHref: string;
  showLicense?: boolean;
  showInfobase?: boolean;
}) {
  const { ctx, sessions, total } = props;
  const { t } = ctx;
  if (!sessions.length) return <p class="muted">{t('licenses.sessions.none')}</p>;
  const client = audienceOf(ctx) === 'client';
  return (
    <>
      <ListTable
        // On a phone each session is a block of labelled lines (public/app.css, table.stack): nothing sits under Terminate.
        class="sessions-compact stack"
        label={t('licenses.sessions.title')}
        columns={[
          t('licenses.sessions.session'),
          t('licenses.sessions.state'),
          client ? t('licenses.hosts.computer') : t('licenses.sessions.machine'),
          props.showLicense && t('licenses.sessions.license'),
          props.showInfobase && t('licenses.sessions.infobase'),
          t('licenses.sessions.connection'),
          t('licenses.sessions.started'),
          t('licenses.sessions.activity'),
          t('licenses.sessions.client_ip'),
          t('licenses.sessions.features'),
          props.terminateAction && t('common.actions'),
        ]}
        items={sessions}
        empty={t('licenses.sessions.none')}
        row={(s) => (
          <tr data-session-id={s.id}>
            <td>
              <b>{s.user}</b>{' '}
              <span class="muted sname" title={s.name}>
                {s.name}
              </span>
              {/* On a phone the other cells are off to the side: where the session runs, under its name. */}
              <small class="muted narrow-only">{where(s)}</small>
            </td>
            <td data-label={t('licenses.sessions.state')}>
              <span class={`sst ${s.state}`}>{t(`licenses.session_state.${s.state}`)}</span>
              {s.running && <span class="sst running">{t('licenses.session_state.running')}</span>}
            </td>
            <td class="nowrap" data-label={client ? t('licenses.hosts.computer') : t('licenses.sessions.machine')}>
              {s.machineHostname ?? s.machineIp}
              {/* Under the hostname (a block, public/app.css), not beside it: the column stays as narrow as the name. */}
              {s.machineHostname && s.machineIp && <small class="muted ip"> {s.machineIp}</small>}
            </td>
            {/* Linked for the audience reading it: a client user to their cabinet's pages, never to a staff page. */}
            {props.showLicense && (
              <td class="mono nowrap" data-label={t('licenses.sessions.license')}>
                <a href={`${client ? '/cabinet' : ''}/licenses/${s.licenseId}`}>{s.licenseKey}</a>
              </td>
            )}
            {props.showInfobase && <td data-label={t('licenses.sessions.infobase')}>{s.infobase && <a href={`${client ? '/cabinet' : ''}/infobases/${s.infobase.id}`}>{s.infobase.name}</a>}</td>}
            <td data-label={t('licenses.sessions.connection')}>{t(`licenses.connection.${s.connection}`)}</td>
            <td class="nowrap" title={when(ctx, s.startedAt)} data-label={t('licenses.sessions.started')}>
              {shortWhen(ctx, s.startedAt)}
            </td>
            <td class="nowrap" title={when(ctx, s.activityAt)} data-label={t('licenses.sessions.activity')}>
              {shortWhen(ctx, s.activityAt)}
            </td>
            <td class="nowrap" title={s.clientHostname ?? undefined} data-label={t('licenses.sessions.client_ip')}>
              {s.clientIp}
            </td>
            <td data-label={t('licenses.sessions.features')}>{s.features.join(', ')}</td>
            {props.terminateAction && (
              <td class="actions">
                <PostForm action={props.terminateAction(s)} csrf={ctx.csrfToken} class="inline" confirm={where(s) ? t('licenses.sessions.terminate_confirm_on', { user: s.user, name: s.name, where: where(s) }) : t('licenses.sessions.terminate_confirm', { user: s.user, name: s.name })}>
                  <input type="hidden" name="back" value={props.back} />
                  <button class="danger small">{t('licenses.sessions.terminate')}</button>
                </PostForm>
              </td>
            )}
          </tr>
        )}
      />
      {sessions.length < total && (
        <p class="muted sessions-cut">
          {t('licenses.sessions.shown', { shown: num(ctx, sessions.length), total: num(ctx, total) })} ·{' '}
          <a href={props.monitorHref}>{t('licenses.sessions.open_monitor')}</a>
        </p>
      )}
    </>
  );
}

/** The license's rules as a definition list: product, features and limits, hosts, sessions, expiry, quota. */
export function LicenseFacts(props: {
  ctx: PageContext;
  license: License;
  now: number;
  quota: { quota: number; used: number; remaining: number };
  /** Whether the quota is the settings default (the license has none of its own). */
  quotaIsDefault: boolean;
  clientHref?: string;
}) {
  const { ctx, license: l, now, quota } = props;
  const { t } = ctx;
  return (
    <dl class="props">
      <dt>{t('licenses.field.key')}</dt>
      <dd>
        <code class="key">{l.key}</code>{' '}
        <button type="button" class="small" data-copy={l.key} title={t('licenses.copy_key')}>
          {t('common.copy')}
        </button>
      </dd>
      <dt>{t('licenses.field.client')}</dt>
      <dd>{props.clientHref ? <a href={props.clientHref}>{l.clientName}</a> : l.clientName}</dd>
      <dt>{t('licenses.field.product')}</dt>
      <dd>{l.product}</dd>
      <dt>{t('licenses.field.state')}</dt>
      <dd>
        <LicenseState ctx={ctx} license={l} now={now} />
        {l.suspendedAt !== null && <span class="muted"> {t('licenses.suspended_since', { at: when(ctx, l.suspendedAt) })}</span>}
      </dd>
      <dt>{t('licenses.field.features')}</dt>
      <dd>
        {l.features.length === 0 ? (
          <span class="muted">{t('licenses.features.none')}</span>
        ) : (
          <ul class="features">
            {l.features.map((f) => (
              <li>
                <code>{f}</code>{' '}
                <span class="muted">
                  {l.featureLimits[f] !== undefined ? t('licenses.features.limit', { n: num(ctx, l.featureLimits[f]) }) : t('licenses.features.unlimited')}
                </span>
              </li>
            ))}
          </ul>
        )}
      </dd>
      <dt>{audienceOf(ctx) === 'client' ? t('cabinet.field.computers') : t('licenses.field.hosts')}</dt>
      <dd>
        <HostsUsage ctx={ctx} license={l} />
      </dd>
      <dt>{t('licenses.field.max_sessions')}</dt>
      <dd>
        {l.maxSessions === null ? t('licenses.unlimited') : num(ctx, l.maxSessions)} <span class="muted">{t('licenses.live_now', { n: num(ctx, l.liveSessions) })}</span>
      </dd>
      <dt>{t('licenses.field.expires')}</dt>
      <dd>{l.expiresAt === null ? t('licenses.never_expires') : when(ctx, l.expiresAt)}</dd>
      <dt>{t('licenses.field.quota')}</dt>
      <dd>
        {quota.quota === 0 ? t('licenses.quota.none') : t('licenses.quota.usage', { used: num(ctx, quota.used), quota: num(ctx, quota.quota), remaining: num(ctx, quota.remaining) })}
        {props.quotaIsDefault && <span class="muted"> {t('licenses.quota.default')}</span>}
      </dd>
    </dl>
  );
}
