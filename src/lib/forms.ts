/** Reads a form field as a trimmed string; absent or non-string (a file) gives ''. */
export function field(body: Record<string, unknown>, name: string): string {
  const v = body[name];
  return typeof v === 'string' ? v.trim() : '';
}

/** A relative path safe to redirect to after login; anything else becomes '/'. */
export function safeNext(next: string | undefined | null): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\') || next.length > 2000) return '/';
  return next;
}
