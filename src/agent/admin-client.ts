import { MonitorError, type FetchLike } from './client.js';

/**
 * A minimal client of the admin JSON API (PROTOCOL §5) for scripts, the demo
 * and benchmarks: JSON in, JSON out, refusals as MonitorError.
 */
export class AdminClient {
  private readonly base: string;
  private readonly fetchFn: FetchLike;

  constructor(
    baseUrl: string,
    private readonly token: string,
    fetchFn?: FetchLike,
  ) {
    this.base = baseUrl.replace(/\/+$/, '') + '/api/v1/admin';
    this.fetchFn = fetchFn ?? ((url, init) => fetch(url, init));
  }

  async request<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Authorization: `Bearer ${this.token}`, Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await this.fetchFn(this.base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let parsed: any = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    if (!res.ok) {
      const e = parsed?.error;
      throw new MonitorError(e?.code ?? 'unexpected_response', res.status, `${method} ${path}: ${e?.message ?? `HTTP ${res.status}`}`, e?.details ?? {});
    }
    return parsed as T;
  }

  get<T = any>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }
  post<T = any>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }
  patch<T = any>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, body);
  }
  put<T = any>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, body);
  }
  delete<T = any>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('DELETE', path, body);
  }
}
