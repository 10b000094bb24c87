import { MIN_PASSWORD_LENGTH } from '../../src/lib/passwords.js';
import { Field, Notice, PostForm } from '../components/form.js';
import { Page } from '../layouts/page.js';
import type { PageContext } from '../page-context.js';

export function LoginPage(props: { ctx: PageContext; email?: string; error?: string | null; notice?: string | null; next?: string }) {
  const { t } = props.ctx;
  return (
    <Page ctx={props.ctx} title={t('auth.login.title')}>
      <section class="narrow card">
        <h1>{t('auth.login.title')}</h1>
        <Notice error={props.error} notice={props.notice} />
        <PostForm action="/login" csrf={null}>
          <input type="hidden" name="next" value={props.next ?? ''} />
          <Field label={t('auth.login.email')} name="email" type="email" value={props.email} required autocomplete="username" maxlength={254} />
          <Field label={t('auth.login.password')} name="password" type="password" required autocomplete="current-password" maxlength={256} />
          <button class="primary">{t('auth.login.submit')}</button>
        </PostForm>
      </section>
    </Page>
  );
}

export function SetupPage(props: { ctx: PageContext; token: string; valid: boolean; email?: string; error?: string | null }) {
  const { t } = props.ctx;
  return (
    <Page ctx={props.ctx} title={t('auth.setup.title')}>
      <section class="narrow card">
        <h1>{t('auth.setup.title')}</h1>
        {props.valid ? (
          <>
            <p>{t('auth.setup.intro')}</p>
            <Notice error={props.error} />
            <PostForm action={`/setup/${encodeURIComponent(props.token)}`} csrf={null}>
              <Field label={t('auth.login.email')} name="email" type="email" value={props.email} required autocomplete="username" maxlength={254} />
              <Field label={t('auth.password.new')} name="password" type="password" required autocomplete="new-password" minlength={MIN_PASSWORD_LENGTH} maxlength={256} />
              <Field label={t('auth.password.confirm')} name="confirm" type="password" required autocomplete="new-password" minlength={MIN_PASSWORD_LENGTH} maxlength={256} />
              <button class="primary">{t('auth.setup.submit')}</button>
            </PostForm>
          </>
        ) : (
          <p class="msg error" role="alert">
            {t('auth.setup.invalid')}
          </p>
        )}
      </section>
    </Page>
  );
}
