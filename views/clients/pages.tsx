import type { UserRow } from '../../src/db/schema.js';
import type { Client } from '../../src/models/clients.js';
import type { Infobase } from '../../src/models/infobases.js';
import type { License } from '../../src/models/licenses.js';
import { Notice, PostForm } from '../components/form.js';
import { ListTable } from '../components/table.js';
import { LockBadge } from '../infobases/parts.js';
import { Page } from '../layouts/page.js';
import { LicenseStatusCells, licenseStatusColumns, when } from '../licenses/parts.js';
import type { PageContext } from '../page-context.js';

/** Clients by name with a search box, paged. */
export function ClientsPage(props: {
  ctx: PageContext;
  clients: Client[];
  q: string;
  cursor: string;
  nextCursor: string | null;
  canCreate: boolean;
  error?: string | null;
}) {
  const { ctx, clients } = props;
  const { t } = ctx;
  const href = (cursor: string) => {
    const p = new URLSearchParams();
    if (props.q) p.set('q', props.q);
    if (cursor) p.set('cursor', cursor);
    const s = p.toString();
    return s ? `/clients?${s}` : '/clients';
  };
  return (
    <Page ctx={ctx} title={t('clients.title')}>
      <div class="page-head">
        <h1>{t('clients.title')}</h1>
        {props.canCreate && (
          <a class="button primary" href="/clients/new">
            {t('clients.new')}
          </a>
        )}
      </div>
      <form method="get" action="/clients" class="filters card" role="search">
        <div class="field">
          <label for="f-q">{t('clients.search')}</label>
          <input id="f-q" name="q" type="search" value={props.q} maxlength={200} />
        </div>
        <button class="primary">{t('common.search')}</button>
        {props.q && (
          <a class="button" href="/clients">
            {t('common.reset')}
          </a>
        )}
      </form>
      <Notice error={props.error} />
      <ListTable
        class="clients"
        label={t('clients.title')}
        columns={[
          t('clients.field.name'),
          t('clients.field.contact'),
          t('clients.field.email'),
          t('clients.field.phone'),
          { num: t('clients.licenses') },
          <span class="sr-only">{t('clients.show_sessions')}</span>,
        ]}
        items={clients}
        empty={t('clients.empty')}
        row={(cl) => (
          <tr>
            <td>
              <a href={`/clients/${cl.id}`}>{cl.name}</a>
            </td>
            <td>{cl.contactPerson}</td>
            <td>{cl.email && <a href={`mailto:${cl.email}`}>{cl.email}</a>}</td>
            <td>{cl.phone}</td>
            <td class="num">{cl.licenseCount}</td>
            <td>
              <SessionsIcon ctx={ctx} clientId={cl.id} />
            </td>
          </tr>
        )}
      />
      <nav class="pager" aria-label={t('clients.pages')}>
        {props.cursor && <a href={href('')}>{t('licenses.first_page')}</a>}
        {props.nextCursor && (
          <a href={href(props.nextCursor)} rel="next">
            {t('common.next')}
          </a>
        )}
      </nav>
    </Page>
  );
}

/** The "Show current sessions" icon: the monitor filtered by this client. */
function SessionsIcon(props: { ctx: PageContext; clientId: number }) {
  const label = props.ctx.t('clients.show_sessions');
  return (
    <a class="icon-link" href={`/monitor?client=${props.clientId}`} title={label} aria-label={label}>
      <svg viewBox="0 0 16 16" width="16" height="16" aria-hidden="true" focusable="false">
        <rect x="1.5" y="2.5" width="13" height="9" rx="1" fill="none" stroke="currentColor" stroke-width="1.4" />
        <path d="M5 14h6M8 11.5V14" stroke="currentColor" stroke-width="1.4" fill="none" />
        <path d="M4 8l2-2 2 1.5L12 5" stroke="currentColor" stroke-width="1.4" fill="none" />
      </svg>
    </a>
  );
}

/** The client card: contacts, notes, licenses, infobases and users of the client. */
export function ClientCardPage(props: {
  ctx: PageContext;
  client: Client;
  licenses: License[];
  infobases: Infobase[];
  users: UserRow[];
  now: number;
  isAdmin: boolean;
  notice?: string | null;
}) {
  const { ctx, client: cl, now, isAdmin } = props;
  const { t } = ctx;
  return (
    <Page ctx={ctx} title={cl.name} wide>
      <div class="page-head">
        <h1>
          {cl.name} <SessionsIcon ctx={ctx} clientId={cl.id} />
        </h1>
        <div class="head-actions">
          <a class="button" href={`/monitor?client=${cl.id}`}>
            {t('clients.show_sessions')}
          </a>
          <a class="button" href={`/audit?client=${cl.id}`}>
            {t('clients.audit')}
          </a>
          {isAdmin && (
            <a class="button" href={`/clients/${cl.id}/edit`}>
              {t('common.edit')}
            </a>
          )}
        </div>
      </div>
      <Notice notice={props.notice} />
      <div class="grid2">
        <section class="card">
          <h2>{t('clients.contacts')}</h2>
          <dl class="props">
            <dt>{t('clients.field.contact')}</dt>
            <dd>{cl.contactPerson ?? <span class="muted">{t('common.none')}</span>}</dd>
            <dt>{t('clients.field.email')}</dt>
            <dd>{cl.email ? <a href={`mailto:${cl.email}`}>{cl.email}</a> : <span class="muted">{t('common.none')}</span>}</dd>
            <dt>{t('clients.field.phone')}</dt>
            <dd>{cl.phone ?? <span class="muted">{t('common.none')}</span>}</dd>
            <dt>{t('clients.field.created')}</dt>
            <dd>{when(ctx, cl.createdAt)}</dd>
          </dl>
        </section>
        <section class="card">
          <h2>{t('clients.field.notes')}</h2>
          {cl.notes ? <p class="notes">{cl.notes}</p> : <p class="muted">{t('clients.no_notes')}</p>}
        </section>
      </div>

      <section class="card">
        <div class="section-head">
          <h2>{t('clients.licenses')}</h2>
          {isAdmin && (
            <a class="button" href={`/licenses/new?client=${cl.id}`}>
              {t('licenses.new')}
            </a>
          )}
        </div>
        <ListTable
          label={t('clients.licenses')}
          columns={[
            t('licenses.field.key'),
            t('licenses.field.product'),
            ...licenseStatusColumns(t),
          ]}
          items={props.licenses}
          empty={t('clients.no_licenses')}
          row={(l) => (
            <tr>
              <td>
                <a class="mono" href={`/licenses/${l.id}`}>
                  {l.key}
                </a>
              </td>
              <td>{l.product}</td>
              <LicenseStatusCells ctx={ctx} license={l} now={now} />
            </tr>
          )}
        />
      </section>

      <section class="card">
        <h2>{t('clients.infobases')}</h2>
        <ListTable
          label={t('clients.infobases')}
          columns={[t('infobases.field.name'), t('infobases.field.external_id'), t('infobases.field.lock'), { num: t('infobases.field.live') }]}
          items={props.infobases}
          empty={t('clients.no_infobases')}
          row={(ib) => (
            <tr>
              <td>
                <a href={`/infobases/${ib.id}`}>{ib.name}</a>
              </td>
              <td class="mono">{ib.externalId}</td>
              <td>
                <LockBadge ctx={ctx} infobase={ib} />
              </td>
              <td class="num">{ib.liveSessions}</td>
            </tr>
          )}
        />
      </section>

      <section class="card">
        <div class="section-head">
          <h2>{t('clients.users')}</h2>
          {isAdmin && (
            <a class="button" href={`/users?client=${cl.id}`}>
              {t('clients.manage_users')}
            </a>
          )}
        </div>
        {props.users.length === 0 ? (
          <p class="muted">{t('clients.no_users')}</p>
        ) : (
          <ul class="plain">
            {props.users.map((u) => (
              <li>
                {isAdmin ? <a href={`/users/${u.id}`}>{u.email}</a> : u.email}
                {u.name && <span class="muted"> {u.name}</span>}
                {u.disabled_at !== null && <span class="badge">{t('clients.user_disabled')}</span>}
              </li>
            ))}
          </ul>
        )}
      </section>
    </Page>
  );
}

export const CLIENT_FORM_FIELDS = ['name', 'contactPerson', 'email', 'phone', 'notes'] as const;
export type ClientFormField = (typeof CLIENT_FORM_FIELDS)[number];

export interface ClientFormState {
  values: Record<ClientFormField, string>;
  errors: Partial<Record<ClientFormField, string>>;
}

/** Create or edit a client (admins). */
export function ClientFormPage(props: { ctx: PageContext; mode: 'create' | 'edit'; action: string; cancel: string; form: ClientFormState }) {
  const { ctx, form, mode } = props;
  const { t } = ctx;
  const title = mode === 'create' ? t('clients.new') : t('clients.edit_title', { name: form.values.name });
  const input = (name: ClientFormField, label: string, type = 'text', max = 200, required = false) => {
    const error = form.errors[name];
    return (
      <div class={error ? 'field invalid' : 'field'}>
        <label for={`f-${name}`}>{label}</label>
        <input
          id={`f-${name}`}
          name={name}
          type={type}
          value={form.values[name]}
          maxlength={max}
          required={required}
          aria-invalid={error ? 'true' : undefined}
          aria-describedby={error ? `f-${name}-error` : undefined}
        />
        {error && (
          <p class="field-error" id={`f-${name}-error`}>
            {error}
          </p>
        )}
      </div>
    );
  };
  return (
    <Page ctx={ctx} title={title}>
      <h1>{title}</h1>
      <Notice error={Object.keys(form.errors).length ? t('licenses.form.fix') : null} />
      <PostForm action={props.action} csrf={ctx.csrfToken} class="card client-form">
        {input('name', t('clients.field.name'), 'text', 200, true)}
        {input('contactPerson', t('clients.field.contact'))}
        {input('email', t('clients.field.email'), 'email', 254)}
        {input('phone', t('clients.field.phone'), 'tel', 64)}
        <div class={form.errors.notes ? 'field invalid' : 'field'}>
          <label for="f-notes">{t('clients.field.notes')}</label>
          <textarea id="f-notes" name="notes" rows={4} maxlength={4000}>
            {form.values.notes}
          </textarea>
          {form.errors.notes && <p class="field-error">{form.errors.notes}</p>}
        </div>
        <p>
          <button class="primary">{mode === 'create' ? t('common.create') : t('common.save')}</button>{' '}
          <a class="button" href={props.cancel}>
            {t('common.cancel')}
          </a>
        </p>
      </PostForm>
    </Page>
  );
}
