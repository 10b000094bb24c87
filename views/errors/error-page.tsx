import { Page } from '../layouts/page.js';
import type { PageContext } from '../page-context.js';

export function ErrorPage(props: { ctx: PageContext; status: number; message: string; withoutQuery?: string }) {
  const { t } = props.ctx;
  return (
    <Page ctx={props.ctx} title={t('error.title')}>
      <h1>
        {t('error.title')} {props.status}
      </h1>
      <p role="alert">{props.message}</p>
      {props.withoutQuery && (
        <p>
          <a class="button primary" href={props.withoutQuery}>
            {t('error.without_query')}
          </a>
        </p>
      )}
      <p>
        <a href="/">{t('error.back')}</a>
      </p>
    </Page>
  );
}
