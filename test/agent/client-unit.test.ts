import { describe, expect, it } from 'vitest';
import { MonitorAgent, MonitorError, type AgentCommand, type MonitorAgentOptions } from '../../src/agent/client.js';
import { FakeMonitor, ManualTimers, apiError, json, settle } from './fakes.js';

// The SDK against a scripted fetch and hand-driven timers: retry, backoff and
// 410 handling without a server. test/agent/client.test.ts runs it against the real one.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function setup(opts: Partial<MonitorAgentOptions> = {}, random = () => 0.5) {
  const server = new FakeMonitor();
  const timers = new ManualTimers();
  const commands: AgentCommand[] = [];
  const closed: [string, string | null][] = [];
  const errors: MonitorError[] = [];
  const agent = new MonitorAgent({
    baseUrl: 'http://monitor.test/',
    licenseKey: 'AAAA-BBBB-CCCC-DDDD-EEEE',
    fingerprint: { cpu: 'BFEBFBFF000906EA', board: 'B-1' },
    machine: { hostname: 'ACC-SRV-01', os: 'Windows Server 2022', ip: '10.0.0.5' },
    user: 'Ivanov',
    app: { name: 'Payroll', version: '3.2.1' },
    fetch: server.fetch,
    timers,
    random,
    now: () => Date.parse('2026-11-21T10:00:00.000Z'),
    onCommand: (c) => {
      commands.push(c);
    },
    onClosed: (reason, message) => closed.push([reason, message]),
    onError: (e) => errors.push(e),
    ...opts,
  });
  return { server, timers, agent, commands, closed, errors };
}

describe('MonitorAgent.open', () => {
  it('sends the capture body, keeps the answer and schedules a jittered heartbeat', async () => {
    const lo = setup({ features: ['reports'], infobase: { id: 'ib-1', name: 'Accounting' }, connectionType: 'background', roles: ['viewer'], permissionCode: 'code-1' }, () => 0);
    const info = await lo.agent.open();
    const open = lo.server.opens()[0];
    expect(open.body).toMatchObject({
      licenseKey: 'AAAA-BBBB-CCCC-DDDD-EEEE',
      fingerprint: { cpu: 'BFEBFBFF000906EA', board: 'B-1' },
      machine: { hostname: 'ACC-SRV-01' },
      user: 'Ivanov',
      app: { name: 'Payroll', version: '3.2.1' },
      features: ['reports'],
      infobase: { id: 'ib-1', name: 'Accounting' },
      connectionType: 'background',
      roles: ['viewer'],
      permissionCode: 'code-1',
    });
    expect(open.body.clientSessionId).toMatch(UUID);
    expect(open.headers['content-type']).toBe('application/json');
    expect(info).toMatchObject({ sessionId: 's-1', sessionNumber: 1, hostId: 7, heartbeatIntervalSec: 60, features: ['reports'] });
    expect(info.clientSessionId).toBe(open.body.clientSessionId);
    expect(lo.agent.state).toBe('open');
    // random() = 0 → the low end of ±10 %.
    expect(lo.timers.nextDelay()).toBe(54_000);

    const hi = setup({}, () => 0.999999);
    await hi.agent.open();
    expect(hi.timers.nextDelay()).toBe(66_000);
  });

  it('retries network errors, 5xx and 429 with the same clientSessionId, honouring Retry-After', async () => {
    const { server, timers, agent } = setup();
    server.then(
      () => {
        throw new TypeError('fetch failed');
      },
      () => apiError(503, 'internal'),
      () => apiError(429, 'rate_limited', { retryAfterSec: 7 }, { 'retry-after': '7' }),
    );
    const opening = agent.open();
    await settle();
    expect(await timers.runNext()).toBe(750); // 1 s step × (0.5 + 0.5 × 0.5)
    expect(await timers.runNext()).toBe(1500);
    expect(await timers.runNext()).toBe(7000); // Retry-After beats the 3 s step
    const info = await opening;
    const ids = server.opens().map((c) => c.body.clientSessionId);
    expect(ids).toHaveLength(4);
    expect(new Set(ids).size).toBe(1);
    expect(info.clientSessionId).toBe(ids[0]);
  });

  it('throws a typed MonitorError for a refusal without retrying', async () => {
    const { server, agent } = setup();
    server.then(() => apiError(403, 'host_limit_reached', { maxHosts: 2, boundHosts: 2 }));
    const err = await agent.open().catch((e) => e);
    expect(err).toBeInstanceOf(MonitorError);
    expect(err).toMatchObject({ code: 'host_limit_reached', status: 403, message: 'message of host_limit_reached', details: { maxHosts: 2, boundHosts: 2 } });
    expect(server.opens()).toHaveLength(1);
    expect(agent.state).toBe('new');
  });

  it('gives up after the configured attempts with the last error', async () => {
    const { server, timers, agent } = setup({ retry: { openAttempts: 2 } });
    const down = () => {
      throw new TypeError('fetch failed');
    };
    server.then(down, down, down);
    const opening = agent.open().catch((e) => e);
    await settle();
    await timers.runNext();
    const err = await opening;
    expect(err).toMatchObject({ code: 'network_error', status: 0 });
    expect(server.opens()).toHaveLength(2);
  });

  it('retries a 200/201 that is not a session (a proxy page) instead of taking it for one', async () => {
    const { server, timers, agent, errors } = setup({ retry: { openAttempts: 2 } });
    const page = () => new Response('<html>Sign in to the Wi-Fi</html>', { status: 200, headers: { 'content-type': 'text/html' } });
    server.then(page);
    const opening = agent.open();
    await settle();
    await timers.runNext();
    expect((await opening).sessionId).toBe('s-1');
    expect(new Set(server.opens().map((c) => c.body.clientSessionId)).size).toBe(1);

    // The same in the background reopen: reported, retried, no crash (an unhandled rejection ends a Node application).
    server.then(
      () => apiError(410, 'session_closed', { reason: 'timeout' }),
      () => json(201, {}),
    );
    await timers.runNext(); // 410 timeout
    await timers.runNext(); // {} is no session
    expect(agent.state).toBe('reopening');
    expect(errors.at(-1)).toMatchObject({ code: 'unexpected_response', status: 201 });
    await timers.runNext();
    expect(agent.state).toBe('open');
    expect(agent.sessionId).toBe('s-2');

    // A heartbeat "answered" by such a page is retried with what it carried: the snapshot and the acks.
    agent.report({ packages: [{ id: 'p-1' }] });
    server.then(page);
    await timers.runNext();
    expect(errors.at(-1)).toMatchObject({ code: 'unexpected_response', status: 200 });
    expect(timers.nextDelay()).toBe(750);
    await timers.runNext();
    expect(server.heartbeats().slice(-2).map((c) => c.body.packages)).toEqual([[{ id: 'p-1', state: 'idle', origin: 'interactive' }], [{ id: 'p-1', state: 'idle', origin: 'interactive' }]]);

    const gave = setup({ retry: { openAttempts: 1 } });
    gave.server.then(page);
    await expect(gave.agent.open()).rejects.toMatchObject({ name: 'MonitorError', code: 'unexpected_response', status: 200 });
  });

  it('keeps a sane heartbeat interval when an answer carries a nonsense one', async () => {
    const { server, timers, agent } = setup();
    server.then(() => json(201, { sessionId: 's-1', sessionNumber: 1, token: 't', hostId: 7, heartbeatIntervalSec: -5, leaseTimeoutSec: 300, features: [] }));
    await agent.open();
    expect(timers.nextDelay()).toBe(60_000);
    server.then(() => json(200, { commands: [], heartbeatIntervalSec: 1e9 }));
    await timers.runNext();
    expect(timers.nextDelay()).toBe(60_000);
  });
});

describe('MonitorAgent heartbeats', () => {
  it('sends sleeping, lastInputAt, metrics and the package snapshot only when it changed', async () => {
    const { server, timers, agent } = setup();
    await agent.open();
    agent.report({
      sleeping: true,
      lastInputAt: Date.parse('2026-11-21T09:59:00.000Z'),
      metrics: { cpuMs: { current: 12.4, total: 98000 }, memoryBytes: { current: -5, total: 1024 }, calls: { total: -3 } },
      packages: [{ id: 'p-1', path: '/projects/sales.lgp', state: 'running', progress: 42, refs: ['/shared/lib.lgp'] }],
    });
    await timers.runNext();
    let hb = server.heartbeats()[0];
    expect(hb.path).toBe('/api/v1/sessions/s-1/heartbeat');
    expect(hb.headers.authorization).toBe('Bearer tok-1');
    expect(hb.body).toEqual({
      sleeping: true,
      lastInputAt: '2026-11-21T09:59:00.000Z',
      metrics: { cpuMs: { current: 12, total: 98000 }, memoryBytes: { current: -5, total: 1024 }, calls: { total: 0 } },
      packages: [{ id: 'p-1', path: '/projects/sales.lgp', state: 'running', progress: 42, refs: ['/shared/lib.lgp'], origin: 'interactive' }],
    });

    // Same snapshot again: not resent.
    agent.report({ packages: [{ id: 'p-1', path: '/projects/sales.lgp', state: 'running', progress: 42, refs: ['/shared/lib.lgp'] }] });
    await timers.runNext();
    hb = server.heartbeats()[1];
    expect(hb.body.packages).toBeUndefined();
    expect(hb.body.sleeping).toBe(true);

    agent.report({ sleeping: false, packages: [] });
    await timers.runNext();
    expect(server.heartbeats()[2].body).toMatchObject({ sleeping: false, packages: [] });
  });

  it('resends a snapshot whose heartbeat failed', async () => {
    const { server, timers, agent } = setup();
    await agent.open();
    agent.report({ packages: [{ id: 'p-1', state: 'idle' }] });
    server.then(() => apiError(503, 'internal'));
    await timers.runNext();
    await timers.runNext();
    expect(server.heartbeats().map((h) => h.body.packages)).toEqual([
      [{ id: 'p-1', state: 'idle', origin: 'interactive' }],
      [{ id: 'p-1', state: 'idle', origin: 'interactive' }],
    ]);
  });

  it('validates and truncates packages before sending: 200 at most, 512 code points, enums, progress only while running', async () => {
    const { server, agent } = setup();
    await agent.open();
    const emoji = '😀'.repeat(600);
    const pkgs = Array.from({ length: 250 }, (_, i) => ({ id: `p-${i}`, state: 'idle' as const, name: i < 3 ? emoji : `pkg ${i}` }));
    pkgs[0] = { ...pkgs[0], id: 'x'.repeat(100) };
    agent.report({
      packages: [
        { id: 'dup', state: 'bogus' as never, progress: 50, origin: 'weird' as never, savedAt: 'not a time', refs: ['a', 'a', ''] },
        { id: 'dup', state: 'running', progress: 250 },
        { id: '', state: 'running' },
        ...pkgs,
      ],
    });
    await agent.heartbeatNow();
    const sent = server.heartbeats()[0].body.packages;
    expect(sent).toHaveLength(200);
    expect(sent[0]).toEqual({ id: 'dup', state: 'idle', refs: ['a'], origin: 'interactive' });
    expect(sent[1].id).toHaveLength(64);
    expect([...sent[1].name]).toHaveLength(512);
    expect(sent.every((p: { id: string }) => p.id !== '')).toBe(true);
    expect(Buffer.byteLength(JSON.stringify(server.heartbeats()[0].body))).toBeLessThanOrEqual(64 * 1024);
  });

  it('cuts a snapshot that would exceed the 64 KiB body limit', async () => {
    const { server, agent } = setup();
    await agent.open();
    const ref = (i: number, j: number) => `/shared/${i}/${j}/` + 'r'.repeat(480);
    agent.report({ packages: Array.from({ length: 50 }, (_, i) => ({ id: `p-${i}`, refs: Array.from({ length: 10 }, (_, j) => ref(i, j)) })) });
    await agent.heartbeatNow();
    const body = server.heartbeats()[0].body;
    expect(Buffer.byteLength(JSON.stringify(body))).toBeLessThanOrEqual(64 * 1024);
    expect(body.packages.length).toBeGreaterThan(0);
    expect(body.packages.length).toBeLessThan(50);
  });

  it('uses the interval the server sends', async () => {
    const { server, timers, agent } = setup({}, () => 0.5);
    await agent.open();
    server.then(() => json(200, { commands: [], heartbeatIntervalSec: 5 }));
    await timers.runNext();
    expect(timers.nextDelay()).toBe(5000);
    expect(agent.heartbeatIntervalSec).toBe(5);
    // An application that never reports packages sends no snapshot at all.
    expect(server.heartbeats()[0].body).toEqual({ sleeping: false });
  });

  it('backs off on 5xx/429 and network errors, honouring Retry-After, and recovers', async () => {
    const { server, timers, agent, errors } = setup();
    await agent.open();
    server.then(
      () => apiError(500, 'internal'),
      () => {
        throw new TypeError('fetch failed');
      },
      () => apiError(429, 'rate_limited', { retryAfterSec: 30 }, { 'retry-after': '30' }),
    );
    await timers.runNext(); // 500
    expect(timers.nextDelay()).toBe(750);
    await timers.runNext(); // network
    expect(timers.nextDelay()).toBe(1500);
    await timers.runNext(); // 429
    expect(timers.nextDelay()).toBe(30_000);
    await timers.runNext(); // 200
    expect(timers.nextDelay()).toBe(60_000);
    expect(errors.map((e) => e.code)).toEqual(['internal', 'network_error', 'rate_limited']);
    expect(agent.state).toBe('open');
  });

  it('after a 400 sends a minimal heartbeat (sleeping and acks only) so the lease survives', async () => {
    const { server, timers, agent } = setup();
    await agent.open();
    agent.report({ metrics: { calls: { total: 5 } }, packages: [{ id: 'p-1' }] });
    server.then(() => apiError(400, 'invalid_request', { fields: { packages: 'bad' } }));
    await timers.runNext();
    await timers.runNext();
    const [bad, minimal] = server.heartbeats();
    expect(bad.body.packages).toBeDefined();
    expect(minimal.body).toEqual({ sleeping: false });
    await timers.runNext();
    expect(server.heartbeats()[2].body.packages).toBeDefined();
  });
});

describe('MonitorAgent commands', () => {
  it('runs each command once through onCommand and acknowledges it in the next heartbeat', async () => {
    const { server, timers, agent, commands } = setup();
    await agent.open();
    const stop = { id: 'c1', type: 'stop', packageId: 'p-1' };
    const msg = { id: 'c2', type: 'message', text: 'Hello' };
    server.then(
      () => json(200, { commands: [stop, msg], heartbeatIntervalSec: 60 }),
      // The acks did not reach the server yet (at-least-once): the same ids come back.
      () => apiError(503, 'internal'),
      () => json(200, { commands: [], heartbeatIntervalSec: 60 }),
      () => json(200, { commands: [stop], heartbeatIntervalSec: 60 }),
    );
    await timers.runNext();
    expect(commands).toEqual([stop, msg]);
    await timers.runNext(); // 503: acks kept
    await timers.runNext(); // 200: acks delivered
    const hbs = server.heartbeats();
    expect(hbs[0].body.acks).toBeUndefined();
    expect(hbs[1].body.acks).toEqual(['c1', 'c2']);
    expect(hbs[2].body.acks).toEqual(['c1', 'c2']);
    await timers.runNext(); // the server repeats c1
    await timers.runNext();
    expect(server.heartbeats()[3].body.acks).toBeUndefined();
    expect(server.heartbeats()[4].body.acks).toEqual(['c1']);
    expect(commands).toHaveLength(2);
  });

  it('waits for an async handler before acknowledging, and acknowledges a handler that threw', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const seen: string[] = [];
    const { server, timers, agent } = setup({
      onCommand: async (c) => {
        seen.push(c.id);
        if (c.id === 'slow') await gate;
        if (c.id === 'bad') throw new Error('boom');
      },
    });
    await agent.open();
    server.then(() => json(200, { commands: [{ id: 'slow', type: 'clearPool' }, { id: 'bad', type: 'clearPool' }], heartbeatIntervalSec: 60 }));
    await timers.runNext();
    await timers.runNext();
    expect(server.heartbeats()[1].body.acks).toBeUndefined();
    release();
    await settle();
    await timers.runNext();
    expect(seen).toEqual(['slow', 'bad']);
    expect(server.heartbeats()[2].body.acks).toEqual(['slow', 'bad']);
  });
});

describe('MonitorAgent and 410', () => {
  it('terminated: stops for good and calls onClosed with the reason and message', async () => {
    const { server, timers, agent, closed } = setup();
    await agent.open();
    server.then(() => apiError(410, 'session_closed', { reason: 'terminated', message: 'Closing the month' }));
    await timers.runNext();
    expect(closed).toEqual([['terminated', 'Closing the month']]);
    expect(agent.state).toBe('closed');
    expect(timers.pending.size).toBe(0);
    await agent.close();
    expect(server.calls.filter((c) => c.method === 'DELETE')).toHaveLength(0);
  });

  it('timeout: reopens with a new clientSessionId after a backoff, resending features and packages', async () => {
    const opened: boolean[] = [];
    const { server, timers, agent, closed } = setup({ features: ['reports'], onOpened: (_i, reopened) => opened.push(reopened) });
    const first = await agent.open();
    await agent.captureFeature('export');
    agent.report({ packages: [{ id: 'p-1', state: 'idle' }] });
    await timers.runNext();
    server.then(
      () => apiError(410, 'session_closed', { reason: 'timeout', message: null }),
      () => apiError(403, 'session_limit_reached', { maxSessions: 1 }),
    );
    await timers.runNext(); // 410 timeout
    expect(agent.state).toBe('reopening');
    expect(timers.nextDelay()).toBe(750);
    await timers.runNext(); // refused: a seat may free up, so it keeps trying
    expect(agent.state).toBe('reopening');
    expect(timers.nextDelay()).toBe(1500);
    await timers.runNext(); // opened
    expect(agent.state).toBe('open');
    expect(closed).toEqual([]);
    const opens = server.opens();
    expect(opens).toHaveLength(3);
    expect(opens[1].body.clientSessionId).not.toBe(first.clientSessionId);
    expect(opens[1].body.clientSessionId).toMatch(UUID);
    expect(opens[2].body.clientSessionId).toBe(opens[1].body.clientSessionId);
    expect(opens[2].body.features).toEqual(['reports', 'export']);
    expect(agent.sessionId).toBe('s-2');
    expect(opened).toEqual([false, true]);
    await timers.runNext();
    const hb = server.heartbeats().at(-1)!;
    expect(hb.path).toBe('/api/v1/sessions/s-2/heartbeat');
    expect(hb.headers.authorization).toBe('Bearer tok-2');
    expect(hb.body.packages).toEqual([{ id: 'p-1', state: 'idle', origin: 'interactive' }]);
  });

  it('a reopen refused for good (license suspended) stops and reports the code', async () => {
    const { server, timers, agent, closed } = setup();
    await agent.open();
    server.then(() => apiError(410, 'session_closed', { reason: 'timeout' }), () => apiError(403, 'license_suspended'));
    await timers.runNext();
    await timers.runNext();
    expect(agent.state).toBe('closed');
    expect(closed).toEqual([['license_suspended', 'message of license_suspended']]);
    expect(timers.pending.size).toBe(0);
  });

  it('401 on a heartbeat reopens with the same clientSessionId (a new token for the same session)', async () => {
    const { server, timers, agent } = setup();
    const first = await agent.open();
    server.then(
      () => apiError(401, 'unauthorized'),
      () => json(200, { sessionId: 's-1', sessionNumber: 1, token: 'tok-new', hostId: 7, heartbeatIntervalSec: 60, leaseTimeoutSec: 300, features: [] }),
    );
    await timers.runNext();
    await timers.runNext();
    expect(server.opens()[1].body.clientSessionId).toBe(first.clientSessionId);
    await timers.runNext();
    expect(server.heartbeats().at(-1)!.headers.authorization).toBe('Bearer tok-new');
  });
});

describe('MonitorAgent features and close', () => {
  it('captures and releases features; a refusal throws MonitorError', async () => {
    const { server, agent } = setup();
    await agent.open();
    expect(await agent.captureFeature('export')).toEqual(['export']);
    expect(server.calls.at(-1)).toMatchObject({ method: 'POST', path: '/api/v1/sessions/s-1/features', body: { feature: 'export' } });
    server.then(() => apiError(403, 'feature_limit_reached', { feature: 'designer', limit: 2 }));
    await expect(agent.captureFeature('designer')).rejects.toMatchObject({ code: 'feature_limit_reached', status: 403 });
    await agent.releaseFeature('export');
    expect(server.calls.at(-1)).toMatchObject({ method: 'DELETE', path: '/api/v1/sessions/s-1/features/export' });
    expect(agent.features).toEqual([]);
  });

  it('close releases the session with the token and stops the timers', async () => {
    const { server, timers, agent } = setup();
    await agent.open();
    await agent.close();
    const del = server.calls.at(-1)!;
    expect(del).toMatchObject({ method: 'DELETE', path: '/api/v1/sessions/s-1' });
    expect(del.headers.authorization).toBe('Bearer tok-1');
    expect(agent.state).toBe('closed');
    expect(timers.pending.size).toBe(0);
    await agent.close();
    expect(server.calls.filter((c) => c.method === 'DELETE')).toHaveLength(1);
    await expect(agent.open()).rejects.toMatchObject({ code: 'closed' });
  });

  it('close during a reopen backoff cancels it', async () => {
    const { server, timers, agent } = setup();
    await agent.open();
    server.then(() => apiError(410, 'session_closed', { reason: 'timeout' }));
    await timers.runNext();
    expect(agent.state).toBe('reopening');
    await agent.close();
    await settle();
    expect(timers.pending.size).toBe(0);
    expect(server.opens()).toHaveLength(1);
  });

  it('never puts the license key or token in log lines', async () => {
    const lines: string[] = [];
    const log = (m: string, f?: Record<string, unknown>) => lines.push(m + JSON.stringify(f ?? {}));
    const { server, timers, agent } = setup({ logger: { debug: log, info: log, warn: log, error: log } });
    server.then(() => {
      throw new TypeError('fetch failed');
    });
    const p = agent.open();
    await settle();
    await timers.runNext();
    await p;
    server.then(() => apiError(410, 'session_closed', { reason: 'timeout' }));
    await timers.runNext();
    await timers.runNext();
    await agent.close();
    expect(lines.length).toBeGreaterThan(2);
    expect(lines.join('\n')).not.toMatch(/AAAA-BBBB|tok-/);
  });
});
