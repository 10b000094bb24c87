import type { License } from '../../src/models/licenses.js';
import { ClientOptions, Notice } from '../components/form.js';
import { ListTable } from '../components/table.js';
import { Page } from '../layouts/page.js';
import type { PageContext } from '../page-context.js';
import { LicenseStatusCells, licenseStatusColumns } from './parts.js';

export interface LicenseListQuery {
  q: string;
  client: string;
  product: string;
  expired: boolean;
  suspended: boolean;
  near: boolean;
  cursor: string;
}

/** The list's URL for the query (empty parts left out). */
export function licensesHref(q: LicenseListQuery, patch: Partial<LicenseListQuery> = {}): string {
  const m = { ...q, ...patch };
  const p = new URLSearchParams();
  if (m.q) p.set('q', m.q);
  if (m.client) p.set('client', m.client);
  if (m.product) p.set('product', m.product);
  if (m.expired) p.set('expired', '1');
  if (m.suspended) p.set('suspended', '1');
  if (m.near) p.set('near', '1');
  if (m.cursor) p.set('cursor', m.cursor);
  const s = p.toString();
  return s ? `/licenses?${s}` : '/licenses';
}

/** Licenses: search by key, client or product; filters expired / suspended / near the host limit; paged. */
export function LicensesPage(props: {
  ctx: PageContext;
  licenses: License[];
  nextCursor: string | null;
  query: LicenseListQuery;
  clients: { id: number; name: string }[];
  now: number;
  canCreate: boolean;
  error?: string | null;
}) {
  const { ctx, licenses, query, now } = props;
  const { t } = ctx;
  return (
    <Page ctx={ctx} title={t('licenses.title')} wide>
      <div class="page-head">
        <h1>{t('licenses.title')}</h1>
        {props.canCreate && (
          <a class="button primary" href="/licenses/new">
            {t('licenses.new')}
          </a>
        )}
      </div>
      <form method="get" action="/licenses" class="filters card" role="search">
        <div class="field">
          <label for="f-q">{t('licenses.search')}</label>
          {/* Wide enough for the placeholder in either language (the field has no CSS width). */}
          <input id="f-q" name="q" type="search" value={query.q} maxlength={200} size={30} placeholder={t('licenses.search_placeholder')} />
        </div>
        <div class="field">
          <label for="f-client">{t('licenses.field.client')}</label>
          <select id="f-client" name="client">
            <option value="">{t('licenses.any_client')}</option>
            <ClientOptions clients={props.clients} selected={query.client} />
          </select>
        </div>
        {query.product && (
          <div class="field">
            <label for="f-product">{t('licenses.field.product')}</label>
            <input id="f-product" name="product" value={query.product} maxlength={200} />
          </div>
        )}
        <fieldset class="checks">
          <legend class="sr-only">{t('common.filter')}</legend>
          <label>
            <input type="checkbox" name="expired" value="1" checked={query.expired} /> {t('licenses.filter.expired')}
          </label>
          <label>
            <input type="checkbox" name="suspended" value="1" checked={query.suspended} /> {t('licenses.filter.suspended')}
          </label>
          <label>
            <input type="checkbox" name="near" value="1" checked={query.near} /> {t('licenses.filter.near')}
          </label>
        </fieldset>
        <button class="primary">{t('common.apply')}</button>
        <a class="button" href="/licenses">
          {t('common.reset')}
        </a>
      </form>
      <Notice error={props.error} />
      <ListTable
        class="licenses"
        label={t('licenses.title')}
        columns={[
          t('licenses.field.key'),
          t('licenses.field.client'),
          t('licenses.field.product'),
          ...licenseStatusColumns(t),
        ]}
        items={licenses}
        empty={t('licenses.empty')}
        row={(l) => (
          <tr>
            <td>
              <a class="mono" href={`/licenses/${l.id}`}>
                {l.key}
              </a>
            </td>
            <td>
              <a href={`/clients/${l.clientId}`}>{l.clientName}</a>
            </td>
            <td>
              <a href={licensesHref(query, { product: l.product, cursor: '' })} title={t('licenses.filter.by_product')}>
                {l.product}
              </a>
            </td>
            <LicenseStatusCells ctx={ctx} license={l} now={now} />
          </tr>
        )}
      />
      <nav class="pager" aria-label={t('licenses.pages')}>
        {query.cursor && <a href={licensesHref(query, { cursor: '' })}>{t('licenses.first_page')}</a>}
        {props.nextCursor && (
          <a href={licensesHref(query, { cursor: props.nextCursor })} rel="next">
            {t('common.next')}
          </a>
        )}
      </nav>
    </Page>
  );
}
