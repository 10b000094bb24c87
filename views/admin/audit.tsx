import { formatDateTime } from '../../src/lib/format.js';
import { AUDIT_TARGET_TYPES, type AuditListRow, type AuditParam, type AuditQueryProblem } from '../../src/models/audit.js';
import { ClientOptions, Notice } from '../components/form.js';
import { ListTable } from '../components/table.js';
import { Page } from '../layouts/page.js';
import type { PageContext } from '../page-context.js';
import { AuditDetails } from './audit-details.js';

export type AuditQueryValues = Record<AuditParam, string>;

/** The audit page's URL for these filters (empty ones left out), so a view can be shared. */
export function auditHref(q: AuditQueryValues, overrides: Partial<AuditQueryValues> = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...q, ...overrides })) if (v && !(k === 'page' && v === '1')) params.set(k, v);
  const s = params.toString();
  return s ? `/audit?${s}` : '/audit';
}

/** The catalogue's text for the key, or the fallback when it has none (a code written by a newer version). */
function labelOr(t: PageContext['t'], key: string, fallback: string): string {
  const label = t(key);
  return label === key ? fallback : label;
}

const actionLabel = (t: PageContext['t'], action: string) => labelOr(t, `admin.audit.action.${action}`, action);
const targetTypeLabel = (t: PageContext['t'], type: string) => labelOr(t, `admin.audit.target_type.${type}`, type);

/** Each filter's visible label: a bad value is named by it, never by its query parameter. */
const PARAM_LABELS: Record<AuditParam, string> = {
  client: 'admin.audit.client',
  actor: 'admin.audit.actor_filter',
  action: 'admin.audit.action',
  targetType: 'admin.audit.target_type',
  targetId: 'admin.audit.target_id',
  from: 'admin.audit.from',
  to: 'admin.audit.to',
  page: 'admin.audit.page',
};

/** A filter that could not be read, as the page says it. */
export function auditFilterError(t: PageContext['t'], bad: { param: AuditParam; problem: AuditQueryProblem }): string {
  const problem = t(`admin.audit.problem.${bad.problem}`, { from: t(PARAM_LABELS.from) });
  return t('admin.audit.bad_param', { param: t(PARAM_LABELS[bad.param]), problem });
}

function Target(props: { ctx: PageContext; row: AuditListRow; query: AuditQueryValues }) {
  const { row, ctx } = props;
  const { t } = ctx;
  if (!row.target_type) return row.target_label ? <>{row.target_label}</> : <span class="muted">{t('common.none')}</span>;
  const type = targetTypeLabel(t, row.target_type);
  // No id: the action covered every target of the type (e.g. all clients' pools).
  if (row.target_id === null) return <>{row.target_label ?? labelOr(t, `admin.audit.target_all.${row.target_type}`, type)}</>;
  const ref = t('admin.audit.target_ref', { type, id: row.target_id });
  // A singleton (the settings row) is labelled with its type code, which names nothing beyond the type.
  const text = row.target_label === row.target_type ? type : (row.target_label ?? ref);
  const href = auditHref({ ...props.query, targetType: row.target_type, targetId: row.target_id, page: '' });
  return (
    <>
      <a href={href} title={t('admin.audit.filter_target')}>
        {text}
      </a>
      {row.target_label && row.target_label !== row.target_type && (
        <>
          {' '}
          <small class="muted">{ref}</small>
        </>
      )}
    </>
  );
}

/** The audit log: filters in the query string (a GET form), newest first, paged. */
export function AuditPage(props: {
  ctx: PageContext;
  rows: AuditListRow[];
  actions: string[];
  clients: { id: number; name: string }[];
  query: AuditQueryValues;
  page: number;
  hasMore: boolean;
  /** The filter that could not be read: the page names it and marks its field. */
  bad?: { param: AuditParam; problem: AuditQueryProblem } | null;
}) {
  const { ctx, rows, query, bad } = props;
  const { t, locale, timeZone } = ctx;
  const error = bad ? auditFilterError(t, bad) : null;
  const fieldClass = (param: AuditParam) => (bad?.param === param ? 'field invalid' : 'field');
  const invalid = (param: AuditParam) => (bad?.param === param ? { 'aria-invalid': 'true', 'aria-describedby': 'audit-error' } : {});
  const actions = query.action && !props.actions.includes(query.action) ? [...props.actions, query.action] : props.actions;
  // A client no longer listed (or a made-up id) still shows as chosen, so the form never drops it silently.
  const clients =
    query.client && !props.clients.some((c) => String(c.id) === query.client) && /^\d+$/.test(query.client)
      ? [...props.clients, { id: Number(query.client), name: t('admin.audit.target_ref', { type: t('admin.audit.target_type.client'), id: query.client }) }]
      : props.clients;
  return (
    <Page ctx={ctx} title={t('admin.audit.title')} wide>
      <h1>{t('admin.audit.title')}</h1>
      <form method="get" action="/audit" class="filters card" role="search">
        <div class={fieldClass('client')}>
          <label for="f-client">{t('admin.audit.client')}</label>
          <select id="f-client" name="client" {...invalid('client')}>
            <option value="">{t('admin.audit.client_any')}</option>
            <ClientOptions clients={clients} selected={query.client} />
          </select>
        </div>
        <div class={fieldClass('actor')}>
          <label for="f-actor">{t('admin.audit.actor_filter')}</label>
          <input id="f-actor" name="actor" value={query.actor} maxlength={254} {...invalid('actor')} />
        </div>
        <div class={fieldClass('action')}>
          <label for="f-action">{t('admin.audit.action')}</label>
          <select id="f-action" name="action" {...invalid('action')}>
            <option value="">{t('admin.audit.action_any')}</option>
            {actions.map((a) => (
              <option value={a} selected={query.action === a}>
                {actionLabel(t, a)}
              </option>
            ))}
          </select>
        </div>
        <div class={fieldClass('targetType')}>
          <label for="f-targetType">{t('admin.audit.target_type')}</label>
          <select id="f-targetType" name="targetType" {...invalid('targetType')}>
            <option value="">{t('admin.audit.target_type_any')}</option>
            {AUDIT_TARGET_TYPES.map((type) => (
              <option value={type} selected={query.targetType === type}>
                {targetTypeLabel(t, type)}
              </option>
            ))}
          </select>
        </div>
        <div class={fieldClass('targetId')}>
          <label for="f-targetId">{t('admin.audit.target_id')}</label>
          <input id="f-targetId" name="targetId" value={query.targetId} maxlength={128} size={8} {...invalid('targetId')} />
        </div>
        <div class={fieldClass('from')}>
          <label for="f-from">{t('admin.audit.from')}</label>
          <input id="f-from" name="from" type="date" value={query.from} {...invalid('from')} />
        </div>
        <div class={fieldClass('to')}>
          <label for="f-to">{t('admin.audit.to')}</label>
          <input id="f-to" name="to" type="date" value={query.to} {...invalid('to')} />
        </div>
        <button class="primary">{t('common.apply')}</button>
        <a class="button" href="/audit">
          {t('common.reset')}
        </a>
        <small class="muted filters-note">{t('admin.audit.tz_hint', { tz: timeZone })}</small>
      </form>
      <Notice error={error} id="audit-error" />
      {error ? null : (
        <ListTable
          class="audit"
          label={t('admin.audit.title')}
          columns={[t('admin.audit.time'), t('admin.audit.actor'), t('admin.audit.action'), t('admin.audit.target'), t('admin.audit.details'), t('admin.audit.reason'), t('admin.audit.ip')]}
          items={rows}
          empty={t('admin.audit.empty')}
          row={(r) => (
            <tr>
              <td class="nowrap">
                <time datetime={new Date(r.at).toISOString()}>{formatDateTime(r.at, locale, timeZone)}</time>
              </td>
              <td>
                {r.actor_name}
                {r.actor_type !== 'user' && (
                  <>
                    {' '}
                    <span class="badge">{t(`admin.audit.actor_type.${r.actor_type}`)}</span>
                  </>
                )}
              </td>
              <td title={r.action}>{actionLabel(t, r.action)}</td>
              <td>
                <Target ctx={ctx} row={r} query={query} />
              </td>
              <td class="audit-details">
                <AuditDetails ctx={ctx} row={r} />
              </td>
              <td>{r.reason ?? ''}</td>
              <td class="mono">{r.ip ?? ''}</td>
            </tr>
          )}
        />
      )}
      {!error && (
        <nav class="pager" aria-label={t('common.page', { page: props.page })}>
          {props.page > 1 ? (
            <a href={auditHref(query, { page: String(props.page - 1) })} rel="prev">
              {t('common.prev')}
            </a>
          ) : (
            <span class="muted">{t('common.prev')}</span>
          )}
          <span>{t('common.page', { page: props.page })}</span>
          {props.hasMore ? (
            <a href={auditHref(query, { page: String(props.page + 1) })} rel="next">
              {t('common.next')}
            </a>
          ) : (
            <span class="muted">{t('common.next')}</span>
          )}
        </nav>
      )}
    </Page>
  );
}
