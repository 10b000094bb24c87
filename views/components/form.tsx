import type { Child } from 'hono/jsx';

/**
 * A sentence that names things an agent or a person typed, as one line of plain text: control characters
 * (line breaks) become spaces and bidirectional overrides and isolates are dropped, so a host name cannot
 * push the rest of a confirm question out of sight or show the license key after it reversed.
 */
export const plainSentence = (text: string): string => text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').replace(/[\u202a-\u202e\u2066-\u2069]/g, '');

/** A POST form carrying the CSRF token; `confirm` is asked (app.js) before it is sent. */
export function PostForm(props: { action: string; csrf: string | null; children?: Child; class?: string; confirm?: string; id?: string }) {
  return (
    <form method="post" action={props.action} class={props.class} id={props.id} data-confirm={props.confirm === undefined ? undefined : plainSentence(props.confirm)}>
      {props.csrf && <input type="hidden" name="_csrf" value={props.csrf} />}
      {props.children}
    </form>
  );
}

/**
 * Messages above a form: errors in role=alert, notices in role=status. They come with the page
 * after a submit, so they take the focus (the browser's autofocus; htmx's too, where swapped in):
 * a keyboard user starts from what happened, not from the top of the page, and a screen reader
 * reads it — a live region that arrives with the page is often not announced.
 */
export function Notice(props: { error?: string | null; notice?: string | null; id?: string }) {
  return (
    <>
      {props.error && (
        <p class="msg error" role="alert" tabindex={-1} autofocus id={props.id}>
          {props.error}
        </p>
      )}
      {props.notice && (
        <p class="msg ok" role="status" tabindex={-1} autofocus>
          {props.notice}
        </p>
      )}
    </>
  );
}

export function Field(props: { label: string; name: string; type?: string; value?: string | null; required?: boolean; autocomplete?: string; hint?: string; minlength?: number; maxlength?: number; id?: string; min?: number; max?: number; error?: string | null }) {
  const id = props.id ?? `f-${props.name}`;
  return (
    <div class={props.error ? 'field invalid' : 'field'}>
      <label for={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        type={props.type ?? 'text'}
        value={props.value ?? ''}
        required={props.required}
        autocomplete={props.autocomplete}
        minlength={props.minlength}
        maxlength={props.maxlength}
        min={props.min}
        max={props.max}
        aria-invalid={props.error ? 'true' : undefined}
        aria-describedby={props.error ? `${id}-error` : undefined}
      />
      {props.error && (
        <p class="field-error" id={`${id}-error`}>
          {props.error}
        </p>
      )}
      {props.hint && <small>{props.hint}</small>}
    </div>
  );
}

/**
 * The options of a client picker. Clients may share a name (two "Romashka LLC" in two cities): those
 * are told apart by their number, so a user or a license is not attached to the wrong one.
 */
export function ClientOptions(props: { clients: readonly { id: number; name: string }[]; selected: string | null | undefined }) {
  const seen = new Map<string, number>();
  for (const c of props.clients) seen.set(c.name, (seen.get(c.name) ?? 0) + 1);
  return (
    <>
      {props.clients.map((c) => (
        <option value={String(c.id)} selected={props.selected === String(c.id)}>
          {seen.get(c.name)! > 1 ? `${c.name} (#${c.id})` : c.name}
        </option>
      ))}
    </>
  );
}
