/**
 * A refusal the user or agent should see: a stable code, an HTTP status, and
 * parameters for the translated message. Mapped to JSON or HTML in one place
 * (src/middleware/errors.ts); anything else thrown is a 500 with a generic body.
 */
export class AppError extends Error {
  constructor(
    public readonly code: string,
    public readonly status: 400 | 401 | 403 | 404 | 409 | 410 | 413 | 415 | 423 | 429 | 500 | 503,
    public readonly details: Record<string, unknown> = {},
    /** Extra values for the message only, not sent as details. */
    public readonly params: Record<string, string | number> = {},
  ) {
    super(code);
  }
}

export const notFound = () => new AppError('not_found', 404);
export const forbidden = () => new AppError('forbidden', 403);
export const unauthorized = () => new AppError('unauthorized', 401);

/**
 * Bad input: names the offending field(s) in details.fields. A field's message
 * is a catalogue key (`api.v.…`, worded in the reader's language where the error
 * is shown: errorDetail, invalidFields) or text already worded.
 */
/**
 * At most this many fields are named in an invalid_request: a 64 KiB body with thousands of bad
 * entries would otherwise be answered with ten times its size (`details.moreFields` counts the rest).
 */
export const MAX_INVALID_FIELDS = 20;

export function invalid(fields: Record<string, string>): AppError {
  const names = Object.keys(fields);
  if (names.length <= MAX_INVALID_FIELDS) return new AppError('invalid_request', 400, { fields });
  const kept = Object.fromEntries(names.slice(0, MAX_INVALID_FIELDS).map((f) => [f, fields[f]]));
  return new AppError('invalid_request', 400, { fields: kept, moreFields: names.length - MAX_INVALID_FIELDS });
}

/** A field message of `invalid` in the reader's language. */
export const fieldMessage = (message: string, t: (key: string) => string) => (message.startsWith('api.v.') ? t(message) : message);

/** An invalid_request's fields, worded in the reader's language ("field: message; …"); other errors' detail parameter. */
export function invalidFields(err: AppError, t: (key: string) => string): Record<string, string> | null {
  const fields = err.code === 'invalid_request' ? (err.details.fields as Record<string, string> | undefined) : undefined;
  if (!fields) return null;
  return Object.fromEntries(Object.entries(fields).map(([f, m]) => [f, fieldMessage(m, t)]));
}

/** The detail to show for an error: its fields worded in the reader's language, else its detail parameter. */
export function errorDetail(err: AppError, t: (key: string, params?: Record<string, string | number>) => string): string {
  const fields = invalidFields(err, t);
  if (fields) {
    // The fields `invalid` kept (at most MAX_INVALID_FIELDS), and how many more there were.
    const named = Object.entries(fields).map(([f, m]) => `${f}: ${m}`).join('; ');
    const more = Number(err.details.moreFields ?? 0);
    return more > 0 ? `${named} ${t('api.more_fields', { n: more })}` : named;
  }
  return String(err.params.detail ?? '');
}

/**
 * A page's URL query parameter that could not be read: a 400 whose page says which one and why
 * (`query.bad_param`), in the reader's language, rather than a page quietly showing something else.
 * `label` is what the page calls the setting; `problem` is already worded.
 */
export function badQuery(t: (key: string, params?: Record<string, string | number>) => string, param: string, label: string, problem: string): AppError {
  return new AppError('bad_query', 400, { param }, { detail: t('query.bad_param', { label, param, problem }) });
}

export class RateLimited extends AppError {
  constructor(public readonly retryAfterSec: number) {
    super('rate_limited', 429, { retryAfterSec }, { seconds: retryAfterSec });
  }
}
