import { ClientOptions, Notice, PostForm } from '../components/form.js';
import { Page } from '../layouts/page.js';
import type { PageContext } from '../page-context.js';

export const LICENSE_FORM_FIELDS = ['clientId', 'product', 'features', 'maxHosts', 'maxSessions', 'expiresAt', 'selfResetQuota', 'notes'] as const;
export type LicenseFormField = (typeof LICENSE_FORM_FIELDS)[number];

export interface LicenseFormState {
  values: Record<LicenseFormField, string>;
  /** Every problem of each field, said beside it (features: one per bad line). */
  errors: Partial<Record<LicenseFormField, string[]>>;
}

/** The ids of a field's error messages: "f-x-error", then "f-x-error-2"… */
const errorIds = (id: string, messages: readonly string[] | undefined) => (messages ?? []).map((_, i) => (i === 0 ? `${id}-error` : `${id}-error-${i + 1}`));

/** What a field's aria-describedby names: its error messages first, then its hint. */
const describedBy = (id: string, messages: readonly string[] | undefined, hint: boolean) =>
  [...errorIds(id, messages), ...(hint ? [`${id}-hint`] : [])].join(' ') || undefined;

function FieldErrors(props: { id: string; messages: readonly string[] | undefined }) {
  const ids = errorIds(props.id, props.messages);
  return (
    <>
      {(props.messages ?? []).map((m, i) => (
        <p class="field-error" id={ids[i]}>
          {m}
        </p>
      ))}
    </>
  );
}

function Input(props: {
  ctx: PageContext;
  form: LicenseFormState;
  name: LicenseFormField;
  label: string;
  hint?: string;
  type?: string;
  required?: boolean;
  min?: number;
  maxlength?: number;
}) {
  const { form, name } = props;
  const errors = form.errors[name];
  const id = `f-${name}`;
  return (
    <div class={errors ? 'field invalid' : 'field'}>
      <label for={id}>{props.label}</label>
      <input
        id={id}
        name={name}
        type={props.type ?? 'text'}
        value={form.values[name]}
        required={props.required}
        min={props.min}
        maxlength={props.maxlength}
        aria-invalid={errors ? 'true' : undefined}
        aria-describedby={describedBy(id, errors, !!props.hint)}
      />
      <FieldErrors id={id} messages={errors} />
      {props.hint && <small id={`${id}-hint`}>{props.hint}</small>}
    </div>
  );
}

/** Create or edit a license (admins). The client is chosen once, at creation. */
export function LicenseFormPage(props: {
  ctx: PageContext;
  mode: 'create' | 'edit';
  action: string;
  form: LicenseFormState;
  clients: { id: number; name: string }[];
  /** The license's key and client when editing. */
  editing?: { key: string; clientName: string };
  quotaDefault: number;
  /** The viewer's zone offset label for the expiry input, e.g. "Europe/Moscow (UTC+03:00)". */
  zoneLabel: string;
  error?: string | null;
}) {
  const { ctx, form, mode } = props;
  const { t } = ctx;
  const title = mode === 'create' ? t('licenses.new') : t('licenses.edit_title', { key: props.editing?.key ?? '' });
  const clientError = form.errors.clientId;
  return (
    <Page ctx={ctx} title={title}>
      <h1>{title}</h1>
      <Notice error={props.error} />
      <PostForm action={props.action} csrf={ctx.csrfToken} class="card license-form">
        {mode === 'create' ? (
          <div class={clientError ? 'field invalid' : 'field'}>
            <label for="f-clientId">{t('licenses.field.client')}</label>
            <select id="f-clientId" name="clientId" required aria-invalid={clientError ? 'true' : undefined} aria-describedby={describedBy('f-clientId', clientError, false)}>
              <option value="">{t('licenses.choose_client')}</option>
              <ClientOptions clients={props.clients} selected={form.values.clientId} />
            </select>
            <FieldErrors id="f-clientId" messages={clientError} />
          </div>
        ) : (
          <dl class="props">
            <dt>{t('licenses.field.key')}</dt>
            <dd class="mono">{props.editing?.key}</dd>
            <dt>{t('licenses.field.client')}</dt>
            <dd>{props.editing?.clientName}</dd>
          </dl>
        )}
        <Input ctx={ctx} form={form} name="product" label={t('licenses.field.product')} required maxlength={200} />
        <div class={form.errors.features ? 'field invalid' : 'field'}>
          <label for="f-features">{t('licenses.field.features')}</label>
          <textarea
            id="f-features"
            name="features"
            rows={5}
            aria-describedby={describedBy('f-features', form.errors.features, true)}
            aria-invalid={form.errors.features ? 'true' : undefined}
          >
            {form.values.features}
          </textarea>
          <FieldErrors id="f-features" messages={form.errors.features} />
          <small id="f-features-hint">{t('licenses.form.features_hint')}</small>
        </div>
        <div class="grid2">
          <Input ctx={ctx} form={form} name="maxHosts" label={t('licenses.field.max_hosts')} type="number" min={1} required />
          <Input ctx={ctx} form={form} name="maxSessions" label={t('licenses.field.max_sessions')} type="number" min={1} hint={t('licenses.form.max_sessions_hint')} />
          <Input
            ctx={ctx}
            form={form}
            name="expiresAt"
            label={t('licenses.field.expires')}
            type="datetime-local"
            hint={t('licenses.form.expires_hint', { zone: props.zoneLabel })}
          />
          <Input
            ctx={ctx}
            form={form}
            name="selfResetQuota"
            label={t('licenses.field.quota_per_30')}
            type="number"
            min={0}
            hint={t('licenses.form.quota_hint', { n: props.quotaDefault })}
          />
        </div>
        <div class={form.errors.notes ? 'field invalid' : 'field'}>
          <label for="f-notes">{t('licenses.field.notes')}</label>
          <textarea
            id="f-notes"
            name="notes"
            rows={3}
            maxlength={4000}
            aria-invalid={form.errors.notes ? 'true' : undefined}
            aria-describedby={describedBy('f-notes', form.errors.notes, false)}
          >
            {form.values.notes}
          </textarea>
          <FieldErrors id="f-notes" messages={form.errors.notes} />
        </div>
        <p>
          <button class="primary">{mode === 'create' ? t('common.create') : t('common.save')}</button>{' '}
          <a class="button" href={props.action === '/licenses' ? '/licenses' : props.action}>
            {t('common.cancel')}
          </a>
        </p>
      </PostForm>
    </Page>
  );
}
