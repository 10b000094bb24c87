import type { Infobase } from '../../src/models/infobases.js';
import type { SessionBrief } from '../../src/models/session-briefs.js';
import { ClientOptions, Notice, PostForm } from '../components/form.js';
import { ListTable } from '../components/table.js';
import { Page } from '../layouts/page.js';
import { SessionsCompact, when } from '../licenses/parts.js';
import type { PageContext } from '../page-context.js';
import { LockBadge } from './parts.js';

export interface InfobaseListQuery {
  q: string;
  client: string;
  cursor: string;
}

function listHref(q: InfobaseListQuery, patch: Partial<InfobaseListQuery> = {}): string {
  const m = { ...q, ...patch };
  const p = new URLSearchParams();
  if (m.q) p.set('q', m.q);
  if (m.client) p.set('client', m.client);
  if (m.cursor) p.set('cursor', m.cursor);
  const s = p.toString();
  return s ? `/infobases?${s}` : '/infobases';
}

/** Infobases by client with their lock state (icon and words), filtered by client or searched. */
export function InfobasesPage(props: {
  ctx: PageContext;
  infobases: Infobase[];
  query: InfobaseListQuery;
  clients: { id: number; name: string }[];
  nextCursor: string | null;
  /** The marker of what the list shows (listMarker). */
  shown: string;
  error?: string | null;
}) {
  const { ctx, infobases, query } = props;
  const { t } = ctx;
  return (
    <Page ctx={ctx} title={t('infobases.title')} wide>
      <h1>{t('infobases.title')}</h1>
      <form method="get" action="/infobases" class="filters card" role="search">
        <div class="field">
          <label for="f-client">{t('infobases.field.client')}</label>
          <select id="f-client" name="client">
            <option value="">{t('licenses.any_client')}</option>
            <ClientOptions clients={props.clients} selected={query.client} />
          </select>
        </div>
        <div class="field">
          <label for="f-q">{t('infobases.search')}</label>
          <input id="f-q" name="q" type="search" value={query.q} maxlength={200} />
        </div>
        <button class="primary">{t('common.apply')}</button>
        <a class="button" href="/infobases">
          {t('common.reset')}
        </a>
      </form>
      <Notice error={props.error} />
      {/* Scheduled locks start and end, sessions come and go: the list follows every 10 s (an automatic
          refresh, which does not keep a login alive). It sends the marker of what it shows; unchanged is an
          empty 204, else the list part alone. */}
      <div hidden hx-get={listHref(query)} hx-trigger="every 10s" hx-swap="none" hx-select-oob="#infobases-list" hx-include="#infobases-shown" hx-headers='{"X-Auto-Refresh": "1"}'></div>
      <InfobasesList ctx={ctx} infobases={infobases} query={query} nextCursor={props.nextCursor} shown={props.shown} />
    </Page>
  );
}

/** The refreshing part of the list: the table, its pager, and the marker of what it shows (sent back by the refresh). */
export function InfobasesList(props: { ctx: PageContext; infobases: Infobase[]; query: InfobaseListQuery; nextCursor: string | null; shown: string }) {
  const { ctx, infobases, query } = props;
  const { t } = ctx;
  return (
    <div id="infobases-list">
      <input type="hidden" id="infobases-shown" name="shown" value={props.shown} />
      <ListTable
        // On a phone each infobase is a block of labelled lines (public/app.css, table.stack).
        class="infobases stack"
        label={t('infobases.title')}
        columns={[t('infobases.field.name'), t('infobases.field.external_id'), t('infobases.field.lock'), t('infobases.field.lock_window'), { num: t('infobases.field.live') }]}
        items={infobases}
        empty={t('infobases.empty')}
        row={(ib, i) => (
          <>
            {ib.clientId !== (i > 0 ? infobases[i - 1].clientId : null) && (
              <tr class="grp">
                <th colspan={5} scope="rowgroup">
                  <a href={`/clients/${ib.clientId}`}>{ib.clientName}</a>
                </th>
              </tr>
            )}
            <tr>
              <td>
                <a href={`/infobases/${ib.id}`}>{ib.name}</a>
              </td>
              <td class="mono" data-label={t('infobases.field.external_id')}>
                {ib.externalId}
              </td>
              <td data-label={t('infobases.field.lock')}>
                <LockBadge ctx={ctx} infobase={ib} />
              </td>
              <td class="nowrap" data-label={t('infobases.field.lock_window')}>
                {ib.lock && <LockWindow ctx={ctx} lock={ib.lock} />}
              </td>
              <td class="num" data-label={t('infobases.field.live')}>
                {ib.liveSessions}
              </td>
            </tr>
          </>
        )}
      />
      <nav class="pager" aria-label={t('infobases.pages')}>
        {query.cursor && <a href={listHref(query, { cursor: '' })}>{t('licenses.first_page')}</a>}
        {props.nextCursor && (
          <a href={listHref(query, { cursor: props.nextCursor })} rel="next">
            {t('common.next')}
          </a>
        )}
      </nav>
    </div>
  );
}

/** "from … to …" of a lock, with "now" and "until unlocked" for the open ends. */
function LockWindow(props: { ctx: PageContext; lock: NonNullable<Infobase['lock']> }) {
  const { ctx, lock } = props;
  const { t } = ctx;
  return (
    <>
      {when(ctx, lock.from ?? lock.setAt)} – {lock.to === null ? t('infobases.lock.until_unlocked') : when(ctx, lock.to)}
    </>
  );
}

export const LOCK_FORM_FIELDS = ['from', 'to', 'message', 'permissionCode', 'refuses'] as const;
export type LockFormField = (typeof LOCK_FORM_FIELDS)[number];

export interface LockFormState {
  values: Record<Exclude<LockFormField, 'refuses'>, string> & { denySessions: boolean; denyBackgroundJobs: boolean };
  errors: Partial<Record<LockFormField, string>>;
}

/** The lock form: a whole new lock replaces the old one (nothing of it is kept but what the form shows). */
function LockForm(props: { ctx: PageContext; action: string; form: LockFormState; zoneLabel: string; hasCode: boolean }) {
  const { ctx, form } = props;
  const { t } = ctx;
  const err = (name: LockFormField) =>
    form.errors[name] ? (
      <p class="field-error" id={`lock-${name}-error`}>
        {form.errors[name]}
      </p>
    ) : null;
  const cls = (name: LockFormField) => (form.errors[name] ? 'field invalid' : 'field');
  const described = (name: LockFormField, hint?: string) => (form.errors[name] ? `lock-${name}-error` : hint);
  return (
    <PostForm action={props.action} csrf={ctx.csrfToken} class="lock-form" id="lock-form">
      <p class="muted" id="lock-zone">
        {t('infobases.lock.zone', { zone: props.zoneLabel })}
      </p>
      <div class="grid2">
        <div class={cls('from')}>
          <label for="lock-from">{t('infobases.lock.from')}</label>
          <input id="lock-from" name="from" type="datetime-local" value={form.values.from} aria-describedby={described('from', 'lock-zone lock-from-hint')} aria-invalid={form.errors.from ? 'true' : undefined} />
          {err('from')}
          <small id="lock-from-hint">{t('infobases.lock.from_hint')}</small>
        </div>
        <div class={cls('to')}>
          <label for="lock-to">{t('infobases.lock.to')}</label>
          <input id="lock-to" name="to" type="datetime-local" value={form.values.to} aria-describedby={described('to', 'lock-zone lock-to-hint')} aria-invalid={form.errors.to ? 'true' : undefined} />
          {err('to')}
          <small id="lock-to-hint">{t('infobases.lock.to_hint')}</small>
        </div>
      </div>
      <div class={cls('message')}>
        <label for="lock-message">{t('infobases.lock.message')}</label>
        <textarea id="lock-message" name="message" required maxlength={512} rows={2} aria-describedby={described('message', 'lock-message-hint')} aria-invalid={form.errors.message ? 'true' : undefined}>
          {form.values.message}
        </textarea>
        {err('message')}
        <small id="lock-message-hint">{t('infobases.lock.message_hint')}</small>
      </div>
      <div class={cls('permissionCode')}>
        <label for="lock-code">{t('infobases.lock.code')}</label>
        <input id="lock-code" name="permissionCode" type="text" autocomplete="off" maxlength={512} value={form.values.permissionCode} aria-describedby={described('permissionCode', 'lock-code-hint')} />
        {err('permissionCode')}
        <small id="lock-code-hint">{props.hasCode ? t('infobases.lock.code_hint_set') : t('infobases.lock.code_hint')}</small>
      </div>
      <fieldset class={form.errors.refuses ? 'checks invalid' : 'checks'} aria-describedby={form.errors.refuses ? 'lock-refuses-error' : undefined}>
        <legend class="sr-only">{t('infobases.lock.what')}</legend>
        <label>
          <input type="checkbox" name="denySessions" value="1" checked={form.values.denySessions} aria-invalid={form.errors.refuses ? 'true' : undefined} /> {t('infobases.lock.deny_sessions')}
        </label>
        <label>
          <input type="checkbox" name="denyBackgroundJobs" value="1" checked={form.values.denyBackgroundJobs} aria-invalid={form.errors.refuses ? 'true' : undefined} /> {t('infobases.lock.deny_background')}
        </label>
        {err('refuses')}
      </fieldset>
      <button class="primary">{t('infobases.lock.submit')}</button>
    </PostForm>
  );
}

/** What Unlock really changes: an ended or scheduled lock refuses nothing now; a background-jobs-only one lets sessions in already. */
function unlockConfirmKey(lock: NonNullable<Infobase['lock']>) {
  if (lock.state === 'expired') return 'infobases.unlock_confirm_over' as const;
  if (lock.state === 'scheduled') return 'infobases.unlock_confirm_scheduled' as const;
  return lock.denySessions ? ('infobases.unlock_confirm' as const) : ('infobases.unlock_confirm_background' as const);
}

/** The current lock in words, with Unlock. */
function CurrentLock(props: { ctx: PageContext; infobase: Infobase; unlockAction: string }) {
  const { ctx, infobase: ib } = props;
  const { t } = ctx;
  const lock = ib.lock;
  if (!lock) return <p class="muted">{t('infobases.lock.none')}</p>;
  return (
    <>
      <dl class="props">
        <dt>{t('infobases.field.lock')}</dt>
        <dd>
          <LockBadge ctx={ctx} infobase={ib} />
        </dd>
        <dt>{t('infobases.field.lock_window')}</dt>
        <dd>
          <LockWindow ctx={ctx} lock={lock} />
        </dd>
        <dt>{t('infobases.lock.message')}</dt>
        <dd>{lock.message}</dd>
        <dt>{t('infobases.lock.applies_to')}</dt>
        <dd>
          {[lock.denySessions ? t('infobases.lock.sessions') : null, lock.denyBackgroundJobs ? t('infobases.lock.background') : null].filter(Boolean).join(', ') ||
            t('infobases.lock.nothing')}
        </dd>
        <dt>{t('infobases.lock.code')}</dt>
        <dd>{lock.hasPermissionCode ? t('infobases.lock.code_set') : t('infobases.lock.code_none')}</dd>
        <dt>{t('infobases.lock.set')}</dt>
        <dd>
          {when(ctx, lock.setAt)} {lock.setBy && <span class="muted">{lock.setBy}</span>}
        </dd>
      </dl>
      <PostForm action={props.unlockAction} csrf={ctx.csrfToken} confirm={t(unlockConfirmKey(lock), { name: ib.name })}>
        {/* The lock this confirm describes: one set anew meanwhile is not removed unseen. */}
        <input type="hidden" name="lockSetAt" value={String(lock.setAt)} />
        <button>{t('infobases.unlock')}</button>
      </PostForm>
    </>
  );
}

/**
 * An infobase: its lock (set, replace, unlock) and its sessions (Terminate
 * one; staff also Terminate all). Staff and the client's own users share it.
 */
export function InfobasePage(props: {
  ctx: PageContext;
  infobase: Infobase;
  sessions: { items: SessionBrief[]; total: number };
  /** The page's own path: "/infobases/7" or "/cabinet/infobases/7". */
  base: string;
  /** Where a session's Terminate posts. */
  terminateAction: (s: SessionBrief) => string;
  /** Staff: Terminate all, and links to the client. */
  staff: boolean;
  lockForm: LockFormState;
  zoneLabel: string;
  /** What the lock form was filled from (lockFormBasis): the refresh replaces the form only when that changed. */
  formBasis: string;
  /** A refresh whose form was filled from the lock as it stands: the form and the notice are left out of it. */
  keepForm?: boolean;
  notice?: string | null;
  error?: string | null;
}) {
  const { ctx, infobase: ib, base, staff, sessions } = props;
  const { t } = ctx;
  return (
    <Page ctx={ctx} title={ib.name} wide>
      <div class="page-head">
        <h1>
          {ib.name}{' '}
          <span id="ib-badge">
            <LockBadge ctx={ctx} infobase={ib} />
          </span>
        </h1>
        <div class="head-actions">
          {staff && (
            <a class="button" href={`/monitor?infobase=${ib.id}`}>
              {t('licenses.show_sessions')}
            </a>
          )}
          {staff && (
            <a class="button" href={`/audit?targetType=infobase&targetId=${ib.id}`}>
              {t('infobases.audit')}
            </a>
          )}
        </div>
      </div>
      <p class="muted">
        {staff ? (
          <a href={`/clients/${ib.clientId}`}>{ib.clientName}</a>
        ) : (
          ib.clientName
        )}{' '}
        · {t('infobases.field.external_id')}: <span class="mono">{ib.externalId}</span>
      </p>
      <Notice error={props.error} />
      {/* The notice of what was just done stands while the lock does; when the lock ended, went or was
          replaced, the refresh empties it (it would say "saved" beside "Lock over"). Left out of a refresh
          otherwise, not swapped again: a notice takes the focus when it arrives. */}
      {!props.keepForm && (
        <div id="ib-notice">
          <Notice notice={props.notice} />
        </div>
      )}
      <div class="grid2">
        <section class="card" id="lock">
          <h2>{t('infobases.lock.current')}</h2>
          <CurrentLock ctx={ctx} infobase={ib} unlockAction={`${base}/unlock`} />
        </section>
        <section class="card" id={props.keepForm ? undefined : 'lock-form-card'}>
          <input type="hidden" id="lock-form-basis" name="formFor" value={props.formBasis} />
          <h2>{ib.lock ? t('infobases.lock.replace') : t('infobases.lock.new')}</h2>
          <LockForm ctx={ctx} action={`${base}/lock`} form={props.lockForm} zoneLabel={props.zoneLabel} hasCode={ib.lock?.hasPermissionCode ?? false} />
        </section>
      </div>
      {/* A lock window opens and closes by itself, sessions come and go: the state parts follow every 10 s
          (an automatic refresh, which does not keep a login alive). The lock form is left as typed, unless
          the lock it was filled from ended, went or was replaced meanwhile (formFor names that lock): an
          ended window kept in it would only fail with "To must be in the future". */}
      <div hidden hx-get={base} hx-trigger="every 10s" hx-swap="none" hx-select-oob="#ib-badge,#lock,#sessions,#lock-form-card,#ib-notice" hx-include="#lock-form-basis" hx-headers='{"X-Auto-Refresh": "1"}'></div>
      <section class="card" id="sessions">
        <div class="section-head">
          <h2>
            {t('infobases.sessions')} <span class="muted">{sessions.total}</span>
          </h2>
          {staff && sessions.total > 0 && (
            <PostForm action={`${base}/terminate-all`} csrf={ctx.csrfToken} class="inline" confirm={t.n('infobases.terminate_all_confirm', sessions.total, { name: ib.name })}>
              <input type="hidden" name="count" value={String(sessions.total)} />
              <button class="danger">{t('infobases.terminate_all', { n: sessions.total })}</button>
            </PostForm>
          )}
        </div>
        <SessionsCompact
          ctx={ctx}
          sessions={sessions.items}
          total={sessions.total}
          showLicense
          back={base}
          terminateAction={props.terminateAction}
          monitorHref={`/monitor?infobase=${ib.id}`}
        />
      </section>
    </Page>
  );
}
