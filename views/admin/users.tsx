import { MIN_PASSWORD_LENGTH } from '../../src/lib/passwords.js';
import { formatDateTime } from '../../src/lib/format.js';
import type { UserListItem } from '../../src/models/users.js';
import { ClientOptions, Field, Notice, PostForm } from '../components/form.js';
import { ListTable } from '../components/table.js';
import { Page } from '../layouts/page.js';
import type { PageContext } from '../page-context.js';

export interface NewUserForm {
  email: string;
  name: string;
  role: string;
  clientId: string;
}

const STAFF_ROLES = ['admin', 'support'] as const;

function RoleBadge(props: { ctx: PageContext; role: string }) {
  return <span class={`badge role-${props.role}`}>{props.ctx.t(`role.${props.role}`)}</span>;
}

function StatusBadge(props: { ctx: PageContext; disabledAt: number | null }) {
  const { t } = props.ctx;
  return props.disabledAt === null ? <span class="badge ok">{t('admin.users.active')}</span> : <span class="badge err">{t('admin.users.disabled')}</span>;
}

/** Disable (with a confirm) or enable, as one small form. */
function AccessButton(props: { ctx: PageContext; user: Pick<UserListItem, 'id' | 'email' | 'disabled_at'>; fromList?: boolean }) {
  const { t, csrfToken } = props.ctx;
  const u = props.user;
  const back = props.fromList ? <input type="hidden" name="from" value="list" /> : null;
  return u.disabled_at === null ? (
    <PostForm action={`/users/${u.id}/disable`} csrf={csrfToken} class="inline" confirm={t('admin.users.disable_confirm', { email: u.email })}>
      {back}
      <button class="danger">{t('admin.users.disable')}</button>
    </PostForm>
  ) : (
    <PostForm action={`/users/${u.id}/enable`} csrf={csrfToken} class="inline">
      {back}
      <button>{t('admin.users.enable')}</button>
    </PostForm>
  );
}

/** The list of every user and the form that creates one. */
/** The new-user form's fields that can be wrong. */
export type NewUserErrors = Partial<Record<'email' | 'name' | 'role' | 'clientId' | 'password' | 'confirm', string>>;

export function UsersPage(props: {
  ctx: PageContext;
  users: UserListItem[];
  clients: { id: number; name: string }[];
  selfId: number;
  form?: NewUserForm;
  /** What is wrong with the new-user form, by field: said beside each field (the banner says it too). */
  fieldErrors?: NewUserErrors;
  error?: string | null;
  notice?: string | null;
  /** The list shows this client's users only (from the client card). */
  client?: { id: number; name: string };
  minPassword: number;
}) {
  const { ctx, users, clients } = props;
  const errors = props.fieldErrors ?? {};
  const { t, csrfToken } = ctx;
  const form = props.form ?? { email: '', name: '', role: 'support', clientId: '' };
  return (
    <Page ctx={ctx} title={t('admin.users.title')}>
      <h1>{t('admin.users.title')}</h1>
      <Notice error={props.error} notice={props.notice} />
      {props.client && (
        <p class="chips">
          <span class="chip">
            {t('admin.users.client')}: <b>{props.client.name}</b>{' '}
            <a href="/users" aria-label={t('admin.users.show_all')}>
              ×
            </a>
          </span>
        </p>
      )}
      <section class="card">
        <ListTable
          label={t('admin.users.title')}
          columns={[
            t('admin.users.email'),
            t('admin.users.name'),
            t('admin.users.role'),
            t('admin.users.client'),
            t('admin.users.status'),
            t('common.actions'),
          ]}
          items={users}
          empty={t('admin.users.empty')}
          row={(u) => (
            <tr class={u.disabled_at !== null ? 'is-disabled' : undefined}>
              <td>
                <a href={`/users/${u.id}`}>{u.email}</a>
                {u.id === props.selfId && (
                  <>
                    {' '}
                    <span class="badge">{t('admin.users.you')}</span>
                  </>
                )}
              </td>
              <td>{u.name ?? ''}</td>
              <td>
                <RoleBadge ctx={ctx} role={u.role} />
              </td>
              <td>{u.client_name ?? <span class="muted">{t('common.none')}</span>}</td>
              <td>
                <StatusBadge ctx={ctx} disabledAt={u.disabled_at} />
              </td>
              <td class="actions">
                <a class="button" href={`/users/${u.id}`}>
                  {t('admin.users.manage')}
                </a>
                {u.id !== props.selfId && <AccessButton ctx={ctx} user={u} fromList />}
              </td>
            </tr>
          )}
        />
      </section>
      <section class="card form-card" id="new-user">
        <h2>{t('admin.users.create')}</h2>
        <PostForm action="/users" csrf={csrfToken}>
          <div class="grid2">
            <div>
              <Field label={t('admin.users.email')} name="email" type="email" value={form.email} required autocomplete="off" maxlength={254} error={errors.email} />
              <Field label={t('admin.users.name')} name="name" value={form.name} autocomplete="off" maxlength={200} error={errors.name} />
              <div class={errors.role ? 'field invalid' : 'field'}>
                <label for="f-role">{t('admin.users.role')}</label>
                <select id="f-role" name="role" aria-invalid={errors.role ? 'true' : undefined}>
                  {(['admin', 'support', 'client'] as const).map((r) => (
                    <option value={r} selected={form.role === r}>
                      {t(`role.${r}`)}
                    </option>
                  ))}
                </select>
                {errors.role && <p class="field-error">{errors.role}</p>}
              </div>
              <div class={errors.clientId ? 'field invalid' : 'field'}>
                <label for="f-clientId">{t('admin.users.client')}</label>
                <select id="f-clientId" name="clientId" aria-invalid={errors.clientId ? 'true' : undefined}>
                  <option value="">{t('admin.users.client_none')}</option>
                  <ClientOptions clients={clients} selected={form.clientId} />
                </select>
                {errors.clientId && <p class="field-error">{errors.clientId}</p>}
                <small>{clients.length ? t('admin.users.client_hint') : t('admin.users.no_clients')}</small>
              </div>
            </div>
            <div>
              <Field
                label={t('admin.users.password')}
                name="password"
                type="password"
                required
                autocomplete="new-password"
                minlength={MIN_PASSWORD_LENGTH}
                maxlength={256}
                hint={t('admin.users.password_hint', { min: props.minPassword })}
                error={errors.password}
              />
              <Field
                label={t('admin.users.password_confirm')}
                name="confirm"
                type="password"
                required
                autocomplete="new-password"
                minlength={MIN_PASSWORD_LENGTH}
                maxlength={256}
                error={errors.confirm}
              />
            </div>
          </div>
          <button class="primary">{t('admin.users.create_submit')}</button>
        </PostForm>
      </section>
    </Page>
  );
}

/** The name-and-e-mail form's values as typed, and what is wrong with them by field. */
export type UserDetailsForm = { email: string; name: string };
export type UserDetailsErrors = Partial<Record<keyof UserDetailsForm, string>>;

/** One user: details, name and e-mail, password reset, role change, disable/enable. */
export function UserPage(props: {
  ctx: PageContext;
  user: UserListItem;
  isSelf: boolean;
  error?: string | null;
  notice?: string | null;
  minPassword: number;
  /** The name-and-e-mail form as last sent, when it was refused. */
  details?: UserDetailsForm;
  detailErrors?: UserDetailsErrors;
}) {
  const { ctx, user: u } = props;
  const details = props.details ?? { email: u.email, name: u.name ?? '' };
  const detailErrors = props.detailErrors ?? {};
  const { t, csrfToken, locale, timeZone } = ctx;
  const when = (ms: number | null) => formatDateTime(ms, locale, timeZone);
  return (
    <Page ctx={ctx} title={u.email}>
      <p>
        <a href="/users">{t('admin.users.back')}</a>
      </p>
      <h1>
        {u.email} <RoleBadge ctx={ctx} role={u.role} /> <StatusBadge ctx={ctx} disabledAt={u.disabled_at} />
      </h1>
      <Notice error={props.error} notice={props.notice} />
      <section class="card">
        <dl class="props">
          <dt>{t('admin.users.name')}</dt>
          <dd>{u.name ?? t('common.none')}</dd>
          <dt>{t('admin.users.role')}</dt>
          <dd>{t(`role.${u.role}`)}</dd>
          {u.role === 'client' && (
            <>
              <dt>{t('admin.users.client')}</dt>
              <dd>{u.client_name ?? t('common.none')}</dd>
            </>
          )}
          <dt>{t('admin.users.created_at')}</dt>
          <dd>{when(u.created_at)}</dd>
          <dt>{t('admin.users.password_changed_at')}</dt>
          <dd>{when(u.password_changed_at)}</dd>
        </dl>
        <p>
          <a href={`/audit?targetType=user&targetId=${u.id}`}>{t('admin.users.history')}</a>
        </p>
      </section>
      <section class="card form-card" id="details">
        <h2>{t('admin.users.edit_details')}</h2>
        <p class="muted">{t('admin.users.edit_details_hint')}</p>
        <PostForm action={`/users/${u.id}/details`} csrf={csrfToken}>
          <Field label={t('admin.users.email')} name="email" type="email" value={details.email} required autocomplete="off" maxlength={254} error={detailErrors.email} />
          <Field label={t('admin.users.name')} name="name" value={details.name} autocomplete="off" maxlength={200} error={detailErrors.name} />
          <button class="primary">{t('common.save')}</button>
        </PostForm>
      </section>
      {props.isSelf && <p class="msg warn">{t('admin.users.self_note')}</p>}
      {!props.isSelf && (
      <div class="grid2">
        <section class="card">
          <h2>{t('admin.users.reset_password')}</h2>
          <p class="muted">{t('admin.users.reset_hint')}</p>
          <PostForm action={`/users/${u.id}/password`} csrf={csrfToken}>
            <Field
              label={t('auth.password.new')}
              name="password"
              type="password"
              required
              autocomplete="new-password"
              minlength={MIN_PASSWORD_LENGTH}
              maxlength={256}
              hint={t('admin.users.password_hint', { min: props.minPassword })}
            />
            <Field label={t('auth.password.confirm')} name="confirm" type="password" required autocomplete="new-password" minlength={MIN_PASSWORD_LENGTH} maxlength={256} />
            <button class="primary">{t('admin.users.reset_submit')}</button>
          </PostForm>
        </section>
          <section class="card">
            <h2>{t('admin.users.change_role')}</h2>
            {u.role === 'client' ? (
              <p class="muted">{t('admin.users.role_client_fixed')}</p>
            ) : (
              <PostForm action={`/users/${u.id}/role`} csrf={csrfToken}>
                <div class="field">
                  <label for="f-role">{t('admin.users.role')}</label>
                  <select id="f-role" name="role">
                    {STAFF_ROLES.map((r) => (
                      <option value={r} selected={u.role === r}>
                        {t(`role.${r}`)}
                      </option>
                    ))}
                  </select>
                  <small>{t('admin.users.role_hint')}</small>
                </div>
                <button class="primary">{t('admin.users.change_role')}</button>
              </PostForm>
            )}
            <h2 class="spaced">{t('admin.users.access')}</h2>
            <p>{u.disabled_at === null ? t('admin.users.access_active') : t('admin.users.access_disabled', { date: when(u.disabled_at) })}</p>
            <AccessButton ctx={ctx} user={u} />
          </section>
      </div>
      )}
    </Page>
  );
}
