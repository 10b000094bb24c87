import { Notice, PostForm } from '../components/form.js';
import { Page } from '../layouts/page.js';
import type { PageContext } from '../page-context.js';

export type SettingName = 'heartbeatIntervalSec' | 'leaseTimeoutSec' | 'poolSize' | 'selfResetQuotaDefault' | 'retentionDays';

export interface SettingsFormState {
  /** What the inputs show: the saved values, or what was typed when it was refused. */
  values: Record<SettingName, string>;
  /** A translated problem per field. */
  errors: Partial<Record<SettingName, string>>;
  limits: Record<SettingName, readonly [number, number]>;
}

const SECTIONS: { title: string; fields: SettingName[] }[] = [
  { title: 'settings.section.sessions', fields: ['heartbeatIntervalSec', 'leaseTimeoutSec'] },
  { title: 'settings.section.packages', fields: ['poolSize'] },
  { title: 'settings.section.clients', fields: ['selfResetQuotaDefault', 'retentionDays'] },
];

function SettingField(props: { ctx: PageContext; name: SettingName; form: SettingsFormState }) {
  const { t } = props.ctx;
  const { name, form } = props;
  const id = `f-${name}`;
  const error = form.errors[name];
  const [min, max] = form.limits[name];
  return (
    <div class={error ? 'field invalid' : 'field'}>
      <label for={id}>{t(`settings.${name}`)}</label>
      <input
        id={id}
        name={name}
        type="number"
        inputmode="numeric"
        step={1}
        min={min}
        max={max}
        required
        value={form.values[name]}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={error ? `${id}-error ${id}-help` : `${id}-help`}
      />
      {error && (
        <p class="field-error" id={`${id}-error`}>
          {error}
        </p>
      )}
      <small id={`${id}-help`}>{t(`settings.${name}.help`)}</small>
    </div>
  );
}

/** The server settings form (admins only). */
export function SettingsPage(props: {
  ctx: PageContext;
  form: SettingsFormState;
  notice?: string | null;
  supportContact: { value: string; error?: string | null; max: number };
}) {
  const { ctx, form } = props;
  const { t } = ctx;
  const hasErrors = Object.keys(form.errors).length > 0;
  return (
    <Page ctx={ctx} title={t('settings.title')}>
      <h1>{t('settings.title')}</h1>
      <p class="muted">{t('settings.intro')}</p>
      <Notice error={hasErrors ? t('settings.error.summary') : null} notice={props.notice} />
      <PostForm action="/settings" csrf={ctx.csrfToken} class="settings-form">
        {SECTIONS.map((s) => (
          <fieldset class="card">
            <legend>{t(s.title)}</legend>
            {s.fields.map((name) => (
              <SettingField ctx={ctx} name={name} form={form} />
            ))}
          </fieldset>
        ))}
        <button class="primary">{t('common.save')}</button>
      </PostForm>
      <PostForm action="/settings/support-contact" csrf={ctx.csrfToken} class="settings-form">
        <fieldset class="card">
          <legend>{t('settings.support.title')}</legend>
          <div class={props.supportContact.error ? 'field invalid' : 'field'}>
            <label for="f-supportContact">{t('settings.support.label')}</label>
            <textarea id="f-supportContact" name="supportContact" maxlength={props.supportContact.max} aria-describedby="f-supportContact-help">
              {props.supportContact.value}
            </textarea>
            {props.supportContact.error && <p class="field-error">{props.supportContact.error}</p>}
            <small id="f-supportContact-help">{t('settings.support.help')}</small>
          </div>
          <button class="primary">{t('common.save')}</button>
        </fieldset>
      </PostForm>
    </Page>
  );
}
