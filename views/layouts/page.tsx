import { html } from 'hono/html';
import type { Child } from 'hono/jsx';
import type { PageContext } from '../page-context.js';

interface NavItem {
  href: string;
  label: string;
}

function navFor(ctx: PageContext): NavItem[] {
  const { t, user } = ctx;
  if (!user) return [];
  if (user.role === 'client') return [{ href: '/cabinet', label: t('nav.cabinet') }];
  const items: NavItem[] = [
    { href: '/monitor', label: t('nav.monitor') },
    { href: '/licenses', label: t('nav.licenses') },
    { href: '/clients', label: t('nav.clients') },
    { href: '/infobases', label: t('nav.infobases') },
    { href: '/audit', label: t('nav.audit') },
  ];
  if (user.role === 'admin') {
    items.push({ href: '/users', label: t('nav.users') }, { href: '/tokens', label: t('nav.tokens') }, { href: '/settings', label: t('nav.settings') });
  }
  return items;
}

/** Sections that exist: routes register themselves here so the menu never links to a 404. */
export const existingSections = new Set<string>(['/audit', '/users', '/tokens', '/settings', '/monitor', '/cabinet', '/licenses', '/clients', '/infobases']);

/**
 * `leaveWarning`: asked before the language switch reloads the page — for a page that shows
 * something only once (a new API token), which the reload would lose.
 */
export function Page(props: { ctx: PageContext; title: string; children?: Child; wide?: boolean; leaveWarning?: string }) {
  const { ctx, title } = props;
  const { t, user } = ctx;
  const nav = navFor(ctx).filter((i) => existingSections.has(i.href));
  // The CSRF token rides on every htmx request from the page (hx-headers is inherited explicitly in htmx 4).
  const hxHeaders = ctx.csrfToken ? JSON.stringify({ 'X-CSRF-Token': ctx.csrfToken }) : undefined;
  // Without a doctype browsers render in quirks mode; JSX has no syntax for it.
  return (
    <>
    {html`<!DOCTYPE html>`}
    <html lang={ctx.locale}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="htmx-config" content='{"includeIndicatorCSS": false, "defaultTimeout": 20000}' />
        <title>{`${title} · ${t('app.name')}`}</title>
        <link rel="stylesheet" href={ctx.asset('app.css')} />
        <link rel="icon" href={ctx.asset('favicon.svg')} type="image/svg+xml" />
        <script src={ctx.asset('htmx.js')} defer></script>
        <script src={ctx.asset('app.js')} defer></script>
      </head>
      <body {...(hxHeaders ? { 'hx-headers:inherited': hxHeaders } : {})}>
        <a class="skip" href="#main">{t('nav.skip')}</a>
        <header class="top">
          <a class="brand" href="/">{t('app.name')}</a>
          <nav aria-label={t('nav.main')}>
            {nav.map((i) => (
              <a href={i.href} aria-current={ctx.path === i.href || ctx.path.startsWith(i.href + '/') ? 'page' : undefined}>
                {i.label}
              </a>
            ))}
          </nav>
          <div class="top-right">
            <form method="post" action="/locale" class="inline" data-confirm={props.leaveWarning}>
              {ctx.csrfToken && <input type="hidden" name="_csrf" value={ctx.csrfToken} />}
              <input type="hidden" name="back" value={ctx.path} />
              <button name="locale" value={ctx.locale === 'ru' ? 'en' : 'ru'} class="link" title={t('locale.switch')} aria-label={`${t('locale.switch')}: ${ctx.locale === 'ru' ? 'English' : 'Русский'}`}>
                {ctx.locale === 'ru' ? 'EN' : 'RU'}
              </button>
            </form>
            {user && (
              <>
                <a href="/account" class="who" title={t(`role.${user.role}`)}>
                  {user.email}
                </a>
                <form method="post" action="/logout" class="inline">
                  <input type="hidden" name="_csrf" value={ctx.csrfToken ?? ''} />
                  <button class="link">{t('nav.logout')}</button>
                </form>
              </>
            )}
          </div>
        </header>
        <main id="main" class={props.wide ? 'wide' : undefined}>
          {props.children}
        </main>
        {user && (
          // The question of a form with data-confirm (components/form.tsx), asked by app.js in the page's own dialog
          // instead of the browser's: the confirm button says what the form does ("Suspend") and is styled as it is.
          <dialog id="confirm-dialog" class="confirm-dialog" aria-labelledby="confirm-dialog-text">
            <p id="confirm-dialog-text"></p>
            <p class="buttons">
              <button type="button" class="primary" data-confirm-ok="" data-label={t('common.confirm')}>
                {t('common.confirm')}
              </button>{' '}
              <button type="button" data-confirm-cancel="">
                {t('common.cancel')}
              </button>
            </p>
          </dialog>
        )}
      </body>
    </html>
    </>
  );
}
