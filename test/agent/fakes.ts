import type { AgentTimers } from '../../src/agent/client.js';

/** Timers the test fires by hand; every requested delay is recorded. */
export class ManualTimers implements AgentTimers {
  now = 0;
  private seq = 0;
  readonly pending = new Map<number, { at: number; ms: number; fn: () => void }>();
  readonly delays: number[] = [];

  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = ++this.seq;
    this.pending.set(id, { at: this.now + ms, ms, fn });
    this.delays.push(ms);
    return id;
  };

  clearTimeout = (handle: unknown): void => {
    this.pending.delete(handle as number);
  };

  /** The delay of the earliest pending timer, or null. */
  nextDelay(): number | null {
    const next = this.earliest();
    return next ? next[1].ms : null;
  }

  /** Fires the earliest timer and lets the promises it started settle; answers its delay. */
  async runNext(): Promise<number> {
    const next = this.earliest();
    if (!next) throw new Error('no timer pending');
    const [id, t] = next;
    this.pending.delete(id);
    this.now = t.at;
    t.fn();
    await settle();
    return t.ms;
  }

  private earliest(): [number, { at: number; ms: number; fn: () => void }] | undefined {
    return [...this.pending.entries()].sort((a, b) => a[1].at - b[1].at || a[0] - b[0])[0];
  }
}

/** Lets chains of resolved promises (fake fetch, handlers) run to the end. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

export interface Call {
  method: string;
  path: string;
  body: any;
  headers: Record<string, string>;
}

export const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(status === 204 ? null : JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

export const apiError = (status: number, code: string, details: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  json(status, { error: { code, message: `message of ${code}`, details } }, headers);

type Handler = (call: Call) => Response | Promise<Response>;

/**
 * A scripted stand-in for the server: queued answers first, then a default that
 * behaves like a healthy server (open 201, heartbeat 200 with no commands, 204s).
 */
export class FakeMonitor {
  readonly calls: Call[] = [];
  readonly script: Handler[] = [];
  private opened = 0;

  fetch = async (url: string, init: RequestInit): Promise<Response> => {
    const u = new URL(url);
    const call: Call = {
      method: init.method ?? 'GET',
      path: u.pathname,
      body: init.body ? JSON.parse(String(init.body)) : undefined,
      headers: Object.fromEntries(Object.entries((init.headers ?? {}) as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v])),
    };
    this.calls.push(call);
    const handler = this.script.shift() ?? this.healthy;
    return handler(call);
  };

  /** Queues answers for the next requests, in order. */
  then(...handlers: Handler[]): this {
    this.script.push(...handlers);
    return this;
  }

  healthy: Handler = (call) => {
    if (call.method === 'POST' && call.path === '/api/v1/sessions') {
      this.opened++;
      return json(201, {
        sessionId: `s-${this.opened}`,
        sessionNumber: this.opened,
        token: `tok-${this.opened}`,
        hostId: 7,
        heartbeatIntervalSec: 60,
        leaseTimeoutSec: 300,
        features: call.body.features ?? [],
      });
    }
    if (call.method === 'POST' && call.path.endsWith('/heartbeat')) return json(200, { commands: [], heartbeatIntervalSec: 60 });
    if (call.method === 'POST' && call.path.endsWith('/features')) return json(200, { features: [call.body.feature] });
    if (call.method === 'DELETE') return json(204, null);
    return apiError(404, 'not_found');
  };

  heartbeats(): Call[] {
    return this.calls.filter((c) => c.path.endsWith('/heartbeat'));
  }
  opens(): Call[] {
    return this.calls.filter((c) => c.method === 'POST' && c.path === '/api/v1/sessions');
  }
}
