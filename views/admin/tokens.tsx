import type { ApiTokenRow } from '../../src/db/schema.js';
import type { T } from '../../src/i18n/index.js';
import { formatDateTime } from '../../src/lib/format.js';
import type { ApiTokenListItem } from '../../src/models/api-tokens.js';
import { Field, Notice, PostForm } from '../components/form.js';
import { ListTable } from '../components/table.js';
import { Page } from '../layouts/page.js';
import type { PageContext } from '../page-context.js';

export interface NewTokenForm {
  name: string;
  role: string;
}

/** How a token is told apart from others of its name: its first characters ("smt_77L5…"), else its number. */
export function tokenLabel(t: T, tk: Pick<ApiTokenRow, 'id' | 'display_prefix'>): string {
  return tk.display_prefix === null ? t('admin.tokens.by_number', { id: tk.id }) : `${tk.display_prefix}…`;
}

/** The list of API tokens and the form that creates one. */
export function TokensPage(props: { ctx: PageContext; tokens: ApiTokenListItem[]; form?: NewTokenForm; error?: string | null; notice?: string | null }) {
  const { ctx, tokens } = props;
  const { t, csrfToken, locale, timeZone } = ctx;
  const when = (ms: number | null) => (ms === null ? <span class="muted">{t('common.never')}</span> : formatDateTime(ms, locale, timeZone));
  const form = props.form ?? { name: '', role: 'support' };
  return (
    <Page ctx={ctx} title={t('admin.tokens.title')}>
      <h1>{t('admin.tokens.title')}</h1>
      <p class="muted">{t('admin.tokens.intro')}</p>
      <Notice error={props.error} notice={props.notice} />
      <section class="card">
        <ListTable
          label={t('admin.tokens.title')}
          columns={[
            t('admin.tokens.name'),
            t('admin.tokens.token'),
            t('admin.tokens.role'),
            t('admin.tokens.created_at'),
            t('admin.tokens.created_by'),
            t('admin.tokens.last_used'),
            t('admin.tokens.status'),
            t('common.actions'),
          ]}
          items={tokens}
          empty={t('admin.tokens.empty')}
          row={(tk) => (
            <tr class={tk.revoked_at !== null ? 'is-disabled' : undefined}>
              <td>{tk.name}</td>
              <td>
                {tk.display_prefix === null ? (
                  <span class="muted" title={t('admin.tokens.by_number_hint')}>
                    {tokenLabel(t, tk)}
                  </span>
                ) : (
                  <code>{tokenLabel(t, tk)}</code>
                )}
              </td>
              <td>
                <span class={`badge role-${tk.role}`}>{t(`role.${tk.role}`)}</span>
              </td>
              <td>{when(tk.created_at)}</td>
              <td>{tk.created_by_email ?? <span class="muted">{t('admin.tokens.created_by_cli')}</span>}</td>
              <td>{when(tk.last_used_at)}</td>
              <td>
                {tk.revoked_at === null ? (
                  <span class="badge ok">{t('admin.tokens.live')}</span>
                ) : (
                  <span class="badge err" title={formatDateTime(tk.revoked_at, locale, timeZone)}>
                    {t('admin.tokens.revoked')}
                  </span>
                )}
              </td>
              <td class="actions">
                {tk.revoked_at === null && (
                  <PostForm action={`/tokens/${tk.id}/revoke`} csrf={csrfToken} class="inline" confirm={t('admin.tokens.revoke_confirm', { name: tk.name, token: tokenLabel(t, tk) })}>
                    <button class="danger">{t('admin.tokens.revoke')}</button>
                  </PostForm>
                )}
              </td>
            </tr>
          )}
        />
      </section>
      <section class="card form-card" id="new-token">
        <h2>{t('admin.tokens.create')}</h2>
        <PostForm action="/tokens" csrf={csrfToken}>
          <Field label={t('admin.tokens.name')} name="name" value={form.name} required maxlength={100} autocomplete="off" hint={t('admin.tokens.name_hint')} />
          <div class="field">
            <label for="f-role">{t('admin.tokens.role')}</label>
            <select id="f-role" name="role">
              {(['support', 'admin'] as const).map((r) => (
                <option value={r} selected={form.role === r}>
                  {t(`role.${r}`)}
                </option>
              ))}
            </select>
          </div>
          <button class="primary">{t('admin.tokens.create_submit')}</button>
        </PostForm>
      </section>
    </Page>
  );
}

/**
 * The page a new token's creation redirects to. Its first view (by the login that made the token)
 * shows the plaintext — the only time it exists outside its holder; any later view only names the token.
 */
export function TokenCreatedPage(props: { ctx: PageContext; token: ApiTokenRow; secret: string | null }) {
  const { t, csrfToken } = props.ctx;
  const { token: tk, secret } = props;
  return (
    <Page ctx={props.ctx} title={t('admin.tokens.created_title')} leaveWarning={secret !== null ? t('admin.tokens.leave_warning') : undefined}>
      <h1>{t('admin.tokens.created_title')}</h1>
      <section class="card">
        <p>
          <strong>{tk.name}</strong> <code>{tokenLabel(t, tk)}</code> <span class={`badge role-${tk.role}`}>{t(`role.${tk.role}`)}</span>
        </p>
        {secret !== null ? (
          <>
            <p class="msg warn" role="status">
              {t('admin.tokens.once')}
            </p>
            <div class="secret-row">
              <code class="secret" id="new-token-value">
                {secret}
              </code>
              <button type="button" class="primary" data-copy={secret}>
                {t('common.copy')}
              </button>
            </div>
            <p class="muted">
              {t('admin.tokens.usage')} <code>Authorization: Bearer {tokenLabel(t, tk)}</code>
            </p>
          </>
        ) : (
          <>
            <p class="msg warn" role="status">
              {t('admin.tokens.shown_already')}
            </p>
            {tk.revoked_at === null && (
              <PostForm action={`/tokens/${tk.id}/revoke`} csrf={csrfToken} confirm={t('admin.tokens.revoke_confirm', { name: tk.name, token: tokenLabel(t, tk) })}>
                <button class="danger">{t('admin.tokens.revoke')}</button>
              </PostForm>
            )}
          </>
        )}
        <p>
          <a href="/tokens">{t('admin.tokens.back')}</a>
        </p>
      </section>
    </Page>
  );
}
