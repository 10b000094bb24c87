import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MonitorAgent, MonitorError, type AgentCommand, type FetchLike, type MonitorAgentOptions } from '../../src/agent/client.js';
import { hashToken } from '../../src/lib/tokens.js';
import { reapExpiredSessions } from '../../src/models/reaper.js';
import { enqueueCommand, terminateSession } from '../../src/models/session-actions.js';
import { adminLicense, setupActor } from '../helpers/admin.js';
import { makeApp, type TestApp } from '../helpers/app.js';
import { ManualTimers } from './fakes.js';

// The SDK against the real server over loopback HTTP. The server runs on the
// test's ManualClock; the agent's own timers are ManualTimers, so heartbeats
// happen when the test says (heartbeatNow / runNext), never by sleeping.

/** Polls a condition the network makes true soon (bounded; no fixed sleeps). */
async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('MonitorAgent against the server', () => {
  let t: TestApp;
  let baseUrl: string;
  let license: { id: number; key: string };
  let timers: ManualTimers;
  const agents: MonitorAgent[] = [];

  beforeEach(async () => {
    t = await makeApp({ captureRatePerKey: 1000 });
    await new Promise<void>((resolve) => t.server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(t.server.address() as AddressInfo).port}`;
    license = await adminLicense(t, { features: ['reports', 'export'], maxHosts: 2 });
    timers = new ManualTimers();
  });

  afterEach(async () => {
    for (const a of agents.splice(0)) await a.close();
    t.server.closeAllConnections();
    await t.close();
  });

  function agent(opts: Partial<MonitorAgentOptions> = {}): MonitorAgent {
    const a = new MonitorAgent({
      baseUrl,
      licenseKey: license.key,
      fingerprint: { cpu: 'BFEBFBFF000906EA', board: 'MB-1' },
      machine: { hostname: 'ACC-SRV-01', os: 'Windows Server 2022', ip: '10.0.0.5' },
      user: 'Ivanov',
      app: { name: 'Payroll', version: '3.2.1' },
      timers,
      random: () => 0.5,
      retry: { initialDelayMs: 10, maxDelayMs: 100 },
      ...opts,
    });
    agents.push(a);
    return a;
  }

  const sessionRow = (id: string) => t.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  it('opens a session (201) and heartbeats metrics and packages into it', async () => {
    const a = agent({ features: ['reports'], infobase: { id: 'ib-1', name: 'Accounting' }, connectionType: 'background', roles: ['design'] });
    const info = await a.open();
    expect(info).toMatchObject({ sessionNumber: 1, heartbeatIntervalSec: 60, leaseTimeoutSec: 300, features: ['reports'] });
    const row = await sessionRow(info.sessionId);
    expect(row).toMatchObject({ client_session_id: info.clientSessionId, user_name: 'Ivanov', connection_type: 'background', host_id: info.hostId, closed_at: null });
    expect(row.token_hash).not.toContain('-');
    // The next heartbeat is planned on the server's interval (random 0.5 → no jitter).
    expect(timers.nextDelay()).toBe(60_000);

    a.report({
      sleeping: true,
      metrics: { cpuMs: { current: 5, total: 1200 }, calls: { total: 7 }, dbmsBytes: { total: 4096 } },
      packages: [{ id: 'p-1', path: '/projects/sales.lgp', name: 'sales', version: '1.4.0', state: 'running', progress: 42, node: 'Join', refs: ['/shared/lib.lgp'] }],
    });
    await a.heartbeatNow();
    const after = await sessionRow(info.sessionId);
    expect(after).toMatchObject({ sleeping: 1, running: 1, cpu_total: 1200, calls_total: 7, dbms_total: 4096 });
    const pkgs = await t.db.selectFrom('packages').selectAll().where('session_id', '=', info.sessionId).execute();
    expect(pkgs).toEqual([expect.objectContaining({ package_id: 'p-1', path: '/projects/sales.lgp', state: 'running', progress: 42, node: 'Join' })]);
    const shared = await t.db.selectFrom('shared_packages').select('path').where('host_id', '=', info.hostId).execute();
    expect(shared).toEqual([{ path: '/shared/lib.lgp' }]);
  });

  it('carries out commands once through onCommand and acknowledges them in the next heartbeat', async () => {
    const seen: AgentCommand[] = [];
    const a = agent({
      onCommand: (cmd, self) => {
        seen.push(cmd);
        if (cmd.type === 'stop') self.report({ packages: [{ id: 'p-1', path: '/projects/sales.lgp', state: 'idle' }] });
      },
    });
    const { sessionId } = await a.open();
    a.report({ packages: [{ id: 'p-1', path: '/projects/sales.lgp', state: 'running', progress: 10 }] });
    await a.heartbeatNow();

    const now = t.clock.now();
    const stop = await enqueueCommand(t.db, setupActor, sessionId, { type: 'stop', packageId: 'p-1' }, now);
    const msg = await enqueueCommand(t.db, setupActor, sessionId, { type: 'message', text: 'Saving in 5 minutes' }, now);
    await a.heartbeatNow();
    expect(seen).toEqual([
      { id: stop.id, type: 'stop', packageId: 'p-1' },
      { id: msg.id, type: 'message', text: 'Saving in 5 minutes' },
    ]);
    const pending = await t.db.selectFrom('commands').select(['id', 'acked_at']).where('session_id', '=', sessionId).orderBy('seq').execute();
    expect(pending).toEqual([
      { id: stop.id, acked_at: null },
      { id: msg.id, acked_at: null },
    ]);

    await a.heartbeatNow();
    const acked = await t.db.selectFrom('commands').select(['id', 'acked_at']).where('session_id', '=', sessionId).execute();
    expect(acked.every((c) => c.acked_at !== null)).toBe(true);
    // The stop's effect arrives as a snapshot in the same heartbeat as the ack.
    const pkg = await t.db.selectFrom('packages').select('state').where('session_id', '=', sessionId).executeTakeFirstOrThrow();
    expect(pkg.state).toBe('idle');
    await a.heartbeatNow();
    expect(seen).toHaveLength(2);
  });

  it('heartbeatNow() from inside a command handler returns (it used to wait for itself), and the ack goes out', async () => {
    let handled = false;
    const a = agent({
      onCommand: async (_cmd, self) => {
        await self.heartbeatNow();
        handled = true;
      },
    });
    const { sessionId } = await a.open();
    const cmd = await enqueueCommand(t.db, setupActor, sessionId, { type: 'message', text: 'Hi' }, t.clock.now());
    await a.heartbeatNow();
    expect(handled).toBe(true);
    await a.heartbeatNow();
    expect((await t.db.selectFrom('commands').select('acked_at').where('id', '=', cmd.id).executeTakeFirstOrThrow()).acked_at).not.toBeNull();
  });

  it('printing the agent shows its state and session, never its token, license key or permission code', async () => {
    const a = agent({ permissionCode: 'let-me-in-please' });
    const { sessionId } = await a.open();
    const { inspect } = await import('node:util');
    const shown = inspect(a, { depth: 5 }) + JSON.stringify(a);
    expect(shown).toContain(sessionId);
    for (const secret of [license.key, 'let-me-in-please', (a as unknown as { token: string }).token]) expect(shown).not.toContain(secret);
  });

  it('a Retry-After of weeks is read as 15 minutes, not as a timer Node fires at once', async () => {
    const weeks: FetchLike = async () =>
      new Response(JSON.stringify({ error: { code: 'rate_limited', message: 'later' } }), { status: 429, headers: { 'content-type': 'application/json', 'retry-after': '3000000' } });
    const a = agent({ fetch: weeks, retry: { initialDelayMs: 10, openAttempts: 2 } });
    const opening = a.open().catch((e) => e);
    await until('the retry is scheduled', () => timers.pending.size === 1);
    expect([...timers.pending.values()].map((p) => p.ms)).toEqual([15 * 60_000]);
    await a.close();
    expect(await opening).toMatchObject({ code: 'closed' });
  });

  it('close() while the capture is on the wire waits for it and releases the seat it opened before returning', async () => {
    let answer!: () => void;
    const gate = new Promise<void>((resolve) => (answer = resolve));
    const slow: FetchLike = async (url, init) => {
      const res = await fetch(url, init);
      if (init?.method === 'POST' && String(url).endsWith('/api/v1/sessions')) await gate;
      return res;
    };
    const a = agent({ fetch: slow });
    const opening = a.open().catch((e) => e);
    const open = () => t.db.selectFrom('sessions').select('id').where('closed_at', 'is', null).execute();
    await until('the capture reached the server', async () => (await open()).length === 1);
    const closing = a.close();
    answer();
    await closing;
    // As a process exiting right after close() would find it: the seat is free already.
    expect(await open()).toEqual([]);
    expect(await opening).toMatchObject({ code: 'closed' });
  });

  it('a 410 that is not the monitor\'s (a proxy\'s page) does not end the session: it is retried', async () => {
    let proxy = false;
    const closed: string[] = [];
    const flaky: FetchLike = async (url, init) => (proxy ? new Response('<html>Gone</html>', { status: 410, headers: { 'content-type': 'text/html' } }) : fetch(url, init));
    const a = agent({ fetch: flaky, onClosed: (reason) => closed.push(reason) });
    await a.open();
    proxy = true;
    await a.heartbeatNow();
    expect(a.state).toBe('open');
    expect(closed).toEqual([]);
    proxy = false;
    await a.heartbeatNow();
    expect(a.state).toBe('open');
  });

  it('410 terminated: stops for good and calls onClosed with the reason and message', async () => {
    const closed: [string, string | null][] = [];
    let requests = 0;
    const countingFetch: FetchLike = (url, init) => {
      requests++;
      return fetch(url, init);
    };
    const a = agent({ fetch: countingFetch, onClosed: (reason, message) => closed.push([reason, message]) });
    const { sessionId } = await a.open();
    await terminateSession(t.db, setupActor, sessionId, 'Please log off: month closing', t.clock.now());
    await a.heartbeatNow();
    expect(closed).toEqual([['terminated', 'Please log off: month closing']]);
    expect(a.state).toBe('closed');
    expect(timers.pending.size).toBe(0);
    const sent = requests;
    await a.heartbeatNow();
    await a.close();
    expect(requests).toBe(sent);
    expect((await sessionRow(sessionId)).close_reason).toBe('terminated');
  });

  it('410 timeout: reopens with a new clientSessionId, features and packages, after a backoff', async () => {
    const closed: string[] = [];
    const opened: boolean[] = [];
    const a = agent({ features: ['reports'], onClosed: (r) => closed.push(r), onOpened: (_i, reopened) => opened.push(reopened) });
    const first = await a.open();
    await a.captureFeature('export');
    a.report({ packages: [{ id: 'p-1', path: '/projects/sales.lgp', state: 'idle' }] });
    await a.heartbeatNow();

    t.clock.advance(300_000);
    expect(await reapExpiredSessions(t.db, t.clock.now())).toBe(1);
    await a.heartbeatNow();
    expect(a.state).toBe('reopening');
    expect(timers.nextDelay()).toBe(8); // 10 ms step × (0.5 + 0.5 × 0.5), rounded
    await timers.runNext();
    await until('the agent reopened', () => a.state === 'open');

    const second = a.info!;
    expect(second.sessionId).not.toBe(first.sessionId);
    expect(second.clientSessionId).not.toBe(first.clientSessionId);
    expect(second.hostId).toBe(first.hostId);
    expect([...second.features].sort()).toEqual(['export', 'reports']);
    expect(closed).toEqual([]);
    expect(opened).toEqual([false, true]);
    expect(await sessionRow(first.sessionId)).toMatchObject({ close_reason: 'timeout' });
    expect(await sessionRow(second.sessionId)).toMatchObject({ client_session_id: second.clientSessionId, closed_at: null });

    await a.heartbeatNow();
    const pkgs = await t.db.selectFrom('packages').select('package_id').where('session_id', '=', second.sessionId).execute();
    expect(pkgs).toEqual([{ package_id: 'p-1' }]);
  });

  it('retries an open whose answer was lost with the same clientSessionId: the server answers 200 for the same session', async () => {
    const statuses: number[] = [];
    let lose = true;
    const lossyFetch: FetchLike = async (url, init) => {
      const res = await fetch(url, init);
      if (init.method === 'POST' && url.endsWith('/sessions')) statuses.push(res.status);
      if (lose && init.method === 'POST' && url.endsWith('/sessions')) {
        lose = false;
        throw new TypeError('fetch failed: connection reset');
      }
      return res;
    };
    const a = agent({ fetch: lossyFetch, features: ['reports'] });
    const opening = a.open();
    await until('the retry is scheduled', () => timers.pending.size === 1);
    await timers.runNext();
    const info = await opening;

    expect(statuses).toEqual([201, 200]);
    const rows = await t.db.selectFrom('sessions').select(['id', 'client_session_id', 'token_hash']).where('license_id', '=', license.id).execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: info.sessionId, client_session_id: info.clientSessionId });
    const features = await t.db.selectFrom('session_features').select('feature').where('session_id', '=', info.sessionId).execute();
    expect(features).toEqual([{ feature: 'reports' }]);
    // The repeat's token is the live one: heartbeats work.
    await a.heartbeatNow();
    expect(a.state).toBe('open');
    expect((await sessionRow(info.sessionId)).closed_at).toBeNull();
  });

  it('honours Retry-After of a rate-limited open', async () => {
    await t.close();
    t = await makeApp({ captureRatePerKey: 1 });
    await new Promise<void>((resolve) => t.server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(t.server.address() as AddressInfo).port}`;
    license = await adminLicense(t, { maxHosts: 2 });
    await agent().open();
    const second = agent({ retry: { initialDelayMs: 10, openAttempts: 3 } });
    const opening = second.open().catch((e) => e);
    await until('the retry is scheduled', () => timers.pending.size === 2);
    const delays = [...timers.pending.values()].map((p) => p.ms);
    expect(Math.max(...delays)).toBeGreaterThanOrEqual(1000);
    await second.close();
    expect(await opening).toMatchObject({ code: 'closed' });
  });

  it('throws a typed MonitorError for a refusal at open', async () => {
    const one = await adminLicense(t, { maxHosts: 1 });
    await agent({ licenseKey: one.key }).open();
    const err = await agent({ licenseKey: one.key, fingerprint: { cpu: 'OTHER' } })
      .open()
      .catch((e) => e);
    expect(err).toBeInstanceOf(MonitorError);
    expect(err).toMatchObject({ code: 'host_limit_reached', status: 403, details: { maxHosts: 1, boundHosts: 1 } });
    expect(err.message).toMatch(/1 of 1/);
    const bad = await agent({ licenseKey: 'NOPE-NOPE-NOPE-NOPE-NOPE' })
      .open()
      .catch((e) => e);
    expect(bad).toMatchObject({ code: 'license_not_found', status: 404 });
  });

  it('sends what the server accepts for text cut mid-emoji and times outside years 1–9999', async () => {
    const errors: MonitorError[] = [];
    const a = agent({ onError: (e) => errors.push(e) });
    const { sessionId } = await a.open();
    const cut = 'Отчёт 📊 за май'.slice(0, 7); // ends in a lone high surrogate
    a.report({
      lastInputAt: Date.UTC(-1, 0, 1),
      metrics: { calls: { total: 3 } },
      packages: [{ id: 'p-1', path: `/projects/${cut}.lgp`, name: cut, savedAt: new Date(Date.parse('+010000-01-01T00:00:00Z')), refs: [`/shared/${cut}`] }],
    });
    await a.heartbeatNow();
    expect(errors).toEqual([]);
    expect(await sessionRow(sessionId)).toMatchObject({ calls_total: 3, last_input_at: null });
    const pkg = await t.db.selectFrom('packages').selectAll().where('session_id', '=', sessionId).executeTakeFirstOrThrow();
    expect(pkg).toMatchObject({ name: 'Отчёт \ufffd', path: '/projects/Отчёт \ufffd.lgp', saved_at: null, refs: JSON.stringify(['/shared/Отчёт \ufffd']) });
  });

  it('captures and releases features during the session', async () => {
    const a = agent();
    const { sessionId } = await a.open();
    expect(await a.captureFeature('export')).toEqual(['export']);
    const held = () => t.db.selectFrom('session_features').select('feature').where('session_id', '=', sessionId).execute();
    expect(await held()).toEqual([{ feature: 'export' }]);
    await expect(a.captureFeature('designer')).rejects.toMatchObject({ code: 'feature_not_licensed', status: 403, details: { feature: 'designer' } });
    await a.releaseFeature('export');
    expect(await held()).toEqual([]);
    expect(a.features).toEqual([]);
  });

  it('close releases the seat with DELETE; the old token is refused afterwards', async () => {
    let token = '';
    const spy: FetchLike = (url, init) => {
      const auth = (init.headers as Record<string, string>).Authorization;
      if (auth) token = auth.slice('Bearer '.length);
      return fetch(url, init);
    };
    const a = agent({ fetch: spy });
    const { sessionId } = await a.open();
    await a.heartbeatNow();
    expect(hashToken(token)).toBe((await sessionRow(sessionId)).token_hash);
    await a.close();
    expect(await sessionRow(sessionId)).toMatchObject({ close_reason: 'released' });
    expect(a.state).toBe('closed');
    expect(timers.pending.size).toBe(0);
    const hb = await fetch(`${baseUrl}/api/v1/sessions/${sessionId}/heartbeat`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(hb.status).toBe(410);
  });
});
