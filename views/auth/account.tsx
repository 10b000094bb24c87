import { MIN_PASSWORD_LENGTH } from '../../src/lib/passwords.js';
import { Field, Notice, PostForm } from '../components/form.js';
import { Page } from '../layouts/page.js';
import type { PageContext } from '../page-context.js';

export function AccountPage(props: {
  ctx: PageContext;
  email: string;
  locale: string | null;
  timeZone: string | null;
  error?: string | null;
  notice?: string | null;
}) {
  const { t, csrfToken } = props.ctx;
  return (
    <Page ctx={props.ctx} title={t('auth.account.title')}>
      <h1>{t('auth.account.title')}</h1>
      <p>
        {props.email} · {t(`role.${props.ctx.user!.role}`)}
      </p>
      <Notice error={props.error} notice={props.notice} />
      <div class="grid2">
        <section class="card">
          <h2>{t('auth.account.title')}</h2>
          <PostForm action="/account" csrf={csrfToken}>
            <div class="field">
              <label for="f-locale">{t('auth.account.locale')}</label>
              <select id="f-locale" name="locale">
                <option value="" selected={!props.locale}>{t('auth.account.locale_auto')}</option>
                <option value="en" selected={props.locale === 'en'}>English</option>
                <option value="ru" selected={props.locale === 'ru'}>Русский</option>
              </select>
            </div>
            <Field label={t('auth.account.time_zone')} name="timeZone" value={props.timeZone ?? props.ctx.timeZone} maxlength={64} hint="Europe/Moscow, UTC…" />
            <button class="primary">{t('common.save')}</button>
          </PostForm>
        </section>
        <section class="card">
          <h2>{t('auth.password.change')}</h2>
          <PostForm action="/account/password" csrf={csrfToken}>
            <Field label={t('auth.password.current')} name="current" type="password" required autocomplete="current-password" maxlength={256} />
            <Field label={t('auth.password.new')} name="password" type="password" required autocomplete="new-password" minlength={MIN_PASSWORD_LENGTH} maxlength={256} />
            <Field label={t('auth.password.confirm')} name="confirm" type="password" required autocomplete="new-password" minlength={MIN_PASSWORD_LENGTH} maxlength={256} />
            <button class="primary">{t('auth.password.change')}</button>
          </PostForm>
        </section>
      </div>
    </Page>
  );
}
