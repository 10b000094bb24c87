import { Page } from '../layouts/page.js';
import type { PageContext } from '../page-context.js';
import { TYPED_TEXT_MAX } from '../../src/lib/forms.js';
import { plainSentence } from '../components/form.js';

/** What a confirm step says and sends; the route words it, the view lays it out. */
export interface ConfirmSpec {
  title: string;
  /** What will happen, and to how many sessions. */
  text: string;
  /** Set when the action cannot be taken: the reason, and no confirm button. */
  refusal?: string | null;
  button: string;
  danger: boolean;
  /** Where the confirmed form posts. */
  action: string;
  /** The monitor query to come back to. */
  back: string;
  fields: { name: 'message' | 'reason' | 'text'; label: string; required: boolean }[];
  hidden: Record<string, string>;
  error?: string | null;
}

/** The confirm form: inside the monitor's dialog with htmx, or on a page of its own without. */
export function ConfirmForm(props: { ctx: PageContext; base: string; spec: ConfirmSpec }) {
  const { ctx, base, spec } = props;
  const { t } = ctx;
  const backHref = spec.back ? `${base}?${spec.back}` : base;
  // A 4xx brings the form back with its error; a 5xx swaps nothing, so an error page never replaces the
  // table (monitor.js then says so in the dialog — the markup keeps the table even without it).
  return (
    <form method="post" action={spec.action} hx-post={spec.action} hx-target="#monitor-live" hx-swap="outerHTML" {...{ 'hx-status:4xx': 'target:#monitor-dialog swap:innerHTML', 'hx-status:5xx': 'swap:none' }} class="confirm" id="monitor-confirm">
      <h2 id="monitor-dialog-title">{spec.title}</h2>
      {spec.text && <p>{plainSentence(spec.text)}</p>}
      {spec.refusal && (
        <p class="msg warn" role="alert">
          {spec.refusal}
        </p>
      )}
      {spec.error && (
        <p class="msg error" role="alert">
          {spec.error}
        </p>
      )}
      {ctx.csrfToken && <input type="hidden" name="_csrf" value={ctx.csrfToken} />}
      <input type="hidden" name="back" value={spec.back} />
      {Object.entries(spec.hidden).map(([name, value]) => (
        <input type="hidden" name={name} value={value} />
      ))}
      {!spec.refusal &&
        spec.fields.map((f) => (
          <div class="field">
            <label for={`confirm-${f.name}`}>{f.label}</label>
            <textarea id={`confirm-${f.name}`} name={f.name} required={f.required} maxlength={TYPED_TEXT_MAX}></textarea>
          </div>
        ))}
      <p class="buttons">
        {!spec.refusal && <button class={spec.danger ? 'danger' : 'primary'}>{spec.button}</button>}{' '}
        <a class="button" href={backHref} data-close="">
          {t('common.cancel')}
        </a>
      </p>
    </form>
  );
}

/** The confirm step as a page, for browsers without JavaScript. */
export function ConfirmPage(props: { ctx: PageContext; base: string; spec: ConfirmSpec }) {
  return (
    <Page ctx={props.ctx} title={props.spec.title}>
      <div class="card narrow">
        <ConfirmForm {...props} />
      </div>
    </Page>
  );
}

/**
 * What the confirm step shows when its session, package or host is gone meanwhile (closed in another tab,
 * ended): said plainly, with a way out. data-gone: monitor.js refreshes the table behind it.
 */
export function GoneNotice(props: { ctx: PageContext; base: string; back: string; text: string }) {
  const { ctx, base, back } = props;
  const { t } = ctx;
  return (
    <div class="confirm" id="monitor-confirm" data-gone="">
      <h2 id="monitor-dialog-title">{t('monitor.gone.title')}</h2>
      <p class="msg warn" role="alert">
        {props.text}
      </p>
      <p class="buttons">
        <a class="button" href={back ? `${base}?${back}` : base} data-close="">
          {t('common.close')}
        </a>
      </p>
    </div>
  );
}

/** The gone notice as a page, for browsers without JavaScript. */
export function GonePage(props: { ctx: PageContext; base: string; back: string; text: string }) {
  return (
    <Page ctx={props.ctx} title={props.ctx.t('monitor.gone.title')}>
      <div class="card narrow">
        <GoneNotice {...props} />
      </div>
    </Page>
  );
}
