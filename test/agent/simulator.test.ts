import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Simulator, simulatedHostName, type SimProfile, type SimulatorOptions } from '../../src/agent/simulator.js';
import { enqueueCommand } from '../../src/models/session-actions.js';
import { adminLicense, setupActor } from '../helpers/admin.js';
import { makeApp, type TestApp } from '../helpers/app.js';
import { ManualTimers } from './fakes.js';

// The simulator against the real server: ticks and heartbeats are driven by the
// test (tickMs 0, ManualTimers for the agents), so what the server stores follows
// from the seed, not from timing.

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const host = (n: number) => ({ hostname: `SRV-${n}`, os: 'Ubuntu 22.04', ip: `10.0.0.${n}`, fingerprint: { cpu: `CPU-${n}`, board: `MB-${n}` } });

describe('Simulator', () => {
  let t: TestApp;
  let baseUrl: string;
  let sim: Simulator | null = null;
  const events: string[] = [];

  beforeEach(async () => {
    t = await makeApp();
    await new Promise<void>((resolve) => t.server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(t.server.address() as AddressInfo).port}`;
    events.length = 0;
  });

  afterEach(async () => {
    await sim?.stop();
    sim = null;
    t.server.closeAllConnections();
    await t.close();
  });

  function simulator(profiles: SimProfile[], opts: Partial<SimulatorOptions> = {}): Simulator {
    sim = new Simulator({
      baseUrl,
      profiles,
      agents: 1,
      tickMs: 0,
      rampUpMs: 0,
      seed: 7,
      lifetimeMs: [3_600_000, 3_600_000],
      agentOptions: { timers: new ManualTimers(), retry: { initialDelayMs: 10, maxDelayMs: 50 } },
      onEvent: (type, text) => events.push(`${type} ${text}`),
      ...opts,
    });
    sim.start();
    return sim;
  }

  /** Ticks and heartbeats until the condition on the stored data holds. */
  async function runUntil(s: Simulator, what: string, cond: () => Promise<boolean>, maxTicks = 300): Promise<void> {
    for (let i = 0; i < maxTicks; i++) {
      s.tick();
      for (const a of s.agents()) await a.heartbeatNow();
      if (await cond()) return;
    }
    throw new Error(`${what} did not happen within ${maxTicks} ticks`);
  }

  it('runs analytics packages that carry out stop and closePackage commands and log messages', async () => {
    const license = await adminLicense(t, { maxHosts: 2 });
    const s = simulator([
      { name: 'Vector', licenseKey: license.key, app: { name: 'Analytics', version: '7.1.0' }, hosts: [host(31)], users: ['alice'], mix: [{ kind: 'designer', weight: 1 }], weight: 1 },
    ]);
    await until('the agent is open', () => s.agents().length === 1 && s.agents()[0].state === 'open');
    const agent = s.agents()[0];
    const sessionId = agent.sessionId!;
    const packages = () => t.db.selectFrom('packages').selectAll().where('session_id', '=', sessionId).execute();

    await runUntil(s, 'a package running with progress and a node', async () => (await packages()).some((p) => p.state === 'running' && p.node !== null));
    const running = (await packages()).find((p) => p.state === 'running')!;
    expect(running.progress).toBeGreaterThanOrEqual(0);
    expect(running.origin).toBe('interactive');
    const row = await t.db.selectFrom('sessions').selectAll().where('id', '=', sessionId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ user_name: 'alice', roles: '["design","viewer"]', running: 1, machine_hostname: 'SRV-31' });
    expect(row.client_ip).toBe('127.0.0.1'); // no client.ip sent: the connection's address

    const acked = async (id: string) =>
      (await t.db.selectFrom('commands').select('acked_at').where('id', '=', id).executeTakeFirstOrThrow()).acked_at !== null;

    const stop = await enqueueCommand(t.db, setupActor, sessionId, { type: 'stop', packageId: running.package_id }, t.clock.now());
    await agent.heartbeatNow(); // delivers; the package goes idle in the simulated app
    await agent.heartbeatNow(); // acknowledges with the new snapshot
    expect(await acked(stop.id)).toBe(true);
    expect((await packages()).find((p) => p.package_id === running.package_id)?.state).toBe('idle');

    const close = await enqueueCommand(t.db, setupActor, sessionId, { type: 'closePackage', packageId: running.package_id }, t.clock.now());
    const msg = await enqueueCommand(t.db, setupActor, sessionId, { type: 'message', text: 'Server restart at 18:00' }, t.clock.now());
    await agent.heartbeatNow();
    await agent.heartbeatNow();
    expect(await acked(close.id)).toBe(true);
    expect(await acked(msg.id)).toBe(true);
    expect((await packages()).map((p) => p.package_id)).not.toContain(running.package_id);
    expect(events).toContain('command alice@SRV-31: message "Server restart at 18:00"');
    expect(s.stats().commands).toBe(3);

    await s.stop();
    const closed = await t.db.selectFrom('sessions').select('close_reason').where('id', '=', sessionId).executeTakeFirstOrThrow();
    expect(closed.close_reason).toBe('released');
  });

  it('integrator runs leave their packages to the host pool and reference shared packages', async () => {
    const license = await adminLicense(t, { maxHosts: 2 });
    const s = simulator(
      [{ name: 'Vector', licenseKey: license.key, app: { name: 'Analytics', version: '7.1.0' }, hosts: [host(32)], users: ['svc'], mix: [{ kind: 'integrator', weight: 1 }], weight: 1 }],
      { agents: 2 },
    );
    await until('both agents are open', () => s.agents().length === 2 && s.agents().every((a) => a.state === 'open'));
    const hostId = s.agents()[0].hostId!;
    await runUntil(s, 'pooled instances', async () => (await t.db.selectFrom('pool_entries').select('id').where('host_id', '=', hostId).execute()).length >= 2);
    const sessions = await t.db.selectFrom('sessions').select(['user_name', 'connection_type', 'roles']).execute();
    expect(sessions).toEqual([
      { user_name: 'Integrator', connection_type: 'webservice', roles: '["execute"]' },
      { user_name: 'Integrator', connection_type: 'webservice', roles: '["execute"]' },
    ]);
    const pool = await t.db.selectFrom('pool_entries').select('path').where('host_id', '=', hostId).execute();
    expect(pool.every((p) => p.path.startsWith('/services/'))).toBe(true);
    const shared = await t.db.selectFrom('shared_packages').select('path').where('host_id', '=', hostId).execute();
    expect(shared.length).toBeGreaterThan(0);
    expect(shared.every((p) => p.path.startsWith('/shared/'))).toBe(true);
  });

  it('runs 1C-style infobase sessions with growing metrics and reports refused attempts', async () => {
    const license = await adminLicense(t, { maxHosts: 2, features: ['reports'] });
    const expired = await adminLicense(t, { maxHosts: 2, expiresAt: t.clock.now() - 1000 });
    const s = simulator(
      [
        {
          name: 'Romashka',
          licenseKey: license.key,
          app: { name: '1C:Enterprise', version: '8.3.25' },
          hosts: [host(11)],
          users: ['Иванова А.В.'],
          clientIps: ['10.1.1.21'],
          infobases: [{ id: 'ib-acc', name: 'Бухгалтерия' }],
          openFeatures: ['reports'],
          mix: [{ kind: 'client', weight: 1 }],
          weight: 1,
        },
      ],
      {
        agents: 2,
        attempts: [{ name: 'old license', licenseKey: expired.key, host: host(12), user: 'bob' }],
        attemptEveryMs: 3_600_000,
      },
    );
    await until('both agents are open', () => s.agents().length === 2 && s.agents().every((a) => a.state === 'open'));
    await until('the attempt was refused', () => events.some((e) => e.startsWith('refused old license')));
    expect(events.find((e) => e.startsWith('refused old license'))).toContain('license_expired');
    expect(s.stats().refused).toEqual({ license_expired: 1 });

    await runUntil(s, 'calls counted', async () => {
      const rows = await t.db.selectFrom('sessions').select('calls_total').execute();
      return rows.every((r) => r.calls_total > 0);
    });
    const rows = await t.db
      .selectFrom('sessions')
      .innerJoin('infobases', 'infobases.id', 'sessions.infobase_id')
      .select(['sessions.connection_type', 'sessions.client_ip', 'sessions.client_hostname', 'infobases.name', 'sessions.cpu_total', 'sessions.data_total'])
      .execute();
    expect(rows).toHaveLength(2);
    for (const r of rows) {
      expect(r).toMatchObject({ connection_type: 'client', client_ip: '10.1.1.21', name: 'Бухгалтерия' });
      expect(r.client_hostname).toBe(simulatedHostName('10.1.1.21')!.replace(/\..*$/, '').toUpperCase());
      expect(r.cpu_total + r.data_total).toBeGreaterThan(0);
    }
  });

  it('invents stable names for simulated addresses only', () => {
    expect(simulatedHostName('10.0.0.11')).toBe('srv-11.demo.local');
    expect(simulatedHostName('10.1.1.21')).toBe(simulatedHostName('10.1.1.21'));
    expect(simulatedHostName('10.1.1.21')).toMatch(/^[a-z]+-pc-21\.demo\.local$/);
    expect(simulatedHostName('192.168.1.1')).toBeNull();
    expect(simulatedHostName('127.0.0.1')).toBeNull();
  });
});
