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

/** Bad input: names the offending field(s) in details.fields. */
export function invalid(fields: Record<string, string>): AppError {
  return new AppError('invalid_request', 400, { fields }, {
    detail: Object.entries(fields).map(([f, m]) => `${f}: ${m}`).join('; '),
  });
}

export class RateLimited extends AppError {
  constructor(public readonly retryAfterSec: number) {
    super('rate_limited', 429, { retryAfterSec }, { seconds: retryAfterSec });
  }
}
