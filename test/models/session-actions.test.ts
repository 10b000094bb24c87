import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeApp, type TestApp } from '../helpers/app.js';
import { clientActor, fingerprint, heartbeat, makeLicense, openOk, sessionRow, staffActor } from '../helpers/licensing.js';
import { changeMarker } from '../../src/models/session-lifecycle.js';
import {
  clearAllPools,
  clearHostPool,
  closeSharedPackage,
  enqueueCommand,
  resetBinding,
  sessionState,
  terminateSession,
  terminateSessions,
} from '../../src/models/session-actions.js';
import { hostPool, sharedPackagesOfHosts } from '../../src/models/packages.js';

const pkg = (id: string, extra: Record<string, unknown> = {}) => ({ id, path: `/p/${id}.lgp`, state: 'idle', origin: 'integrator', ...extra });

describe('session actions', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.close());

  const audit = () => t.db.selectFrom('audit_log').selectAll().orderBy('id').execute();

  it('terminateSession closes with the message, which reaches the agent in the 410, and audits', async () => {
    const lic = await makeLicense(t);
    const s = await openOk(t, lic.key);
    const before = await changeMarker(t.db);
    await terminateSession(t.db, staffActor(), s.sessionId, 'Please log off for the update', t.clock.now());
    const row = await sessionRow(t, s.sessionId);
    expect(row.close_reason).toBe('terminated');
    expect(row.close_message).toBe('Please log off for the update');
    expect(await changeMarker(t.db)).toBeGreaterThan(before);
    const res = await heartbeat(t, s);
    expect(res.status).toBe(410);
    expect(res.body.error.details).toEqual({ reason: 'terminated', message: 'Please log off for the update' });
    const a = await audit();
    expect(a.map((r) => [r.action, r.target_id, r.client_id])).toEqual([['session.terminate', s.sessionId, lic.clientId]]);
    // Terminating it again changes nothing.
    await terminateSession(t.db, staffActor(), s.sessionId, null, t.clock.now());
    expect((await audit()).length).toBe(1);
  });

  it('scopes client users to their own client: another client’s session is 404', async () => {
    const mine = await makeLicense(t);
    const theirs = await makeLicense(t);
    const a = await openOk(t, mine.key);
    const b = await openOk(t, theirs.key);
    await expect(terminateSession(t.db, clientActor(mine.clientId), b.sessionId, null, t.clock.now())).rejects.toMatchObject({ status: 404 });
    expect((await sessionRow(t, b.sessionId)).closed_at).toBeNull();
    await terminateSession(t.db, clientActor(mine.clientId), a.sessionId, null, t.clock.now());
    expect((await sessionRow(t, a.sessionId)).close_reason).toBe('terminated');
    await expect(terminateSession(t.db, staffActor(), 'no-such-session', null, t.clock.now())).rejects.toMatchObject({ code: 'not_found' });
  });

  it('terminateSessions closes the visible open ones and counts them', async () => {
    const mine = await makeLicense(t, { maxHosts: 5 });
    const theirs = await makeLicense(t);
    const a1 = await openOk(t, mine.key);
    const a2 = await openOk(t, mine.key, { fingerprint: fingerprint(2) });
    const b = await openOk(t, theirs.key);
    const n = await terminateSessions(t.db, clientActor(mine.clientId), [a1.sessionId, a2.sessionId, b.sessionId, 'nope'], 'bye', t.clock.now());
    expect(n).toBe(2);
    expect((await sessionRow(t, b.sessionId)).closed_at).toBeNull();
    expect(await terminateSessions(t.db, staffActor(), [a1.sessionId, b.sessionId], null, t.clock.now())).toBe(1);
    expect((await audit()).filter((r) => r.action === 'session.terminate')).toHaveLength(3);
  });

  it('resetBinding needs a reason, soft-deletes the host, closes its sessions with binding_reset and drops pool and shared list', async () => {
    const lic = await makeLicense(t, { maxHosts: 1 });
    const s = await openOk(t, lic.key);
    await heartbeat(t, s, { packages: [pkg('a', { refs: ['/lib/shared.lgp'] })] });
    await heartbeat(t, s, { packages: [pkg('b', { refs: ['/lib/shared.lgp'] })] });
    expect(await hostPool(t.db, s.hostId)).toHaveLength(1);
    await expect(resetBinding(t.db, staffActor(), s.hostId, '  ', t.clock.now())).rejects.toMatchObject({ code: 'invalid_request', status: 400 });
    await expect(resetBinding(t.db, clientActor(lic.clientId + 1000), s.hostId, 'x', t.clock.now())).rejects.toMatchObject({ status: 404 });

    const r = await resetBinding(t.db, staffActor(), s.hostId, 'Replaced the disk', t.clock.now());
    expect(r).toEqual({ closedSessions: 1 });
    const host = await t.db.selectFrom('hosts').selectAll().where('id', '=', s.hostId).executeTakeFirstOrThrow();
    expect(host).toMatchObject({ reset_at: t.clock.now(), reset_reason: 'Replaced the disk', reset_by: 'test support', reset_by_client: 0 });
    expect(await hostPool(t.db, s.hostId)).toEqual([]);
    expect(await t.db.selectFrom('shared_packages').selectAll().execute()).toEqual([]);
    const res = await heartbeat(t, s);
    expect(res.status).toBe(410);
    expect(res.body.error.details.reason).toBe('binding_reset');
    // The slot is free again: the same machine binds anew.
    const again = await openOk(t, lic.key);
    expect(again.hostId).not.toBe(s.hostId);
    // A reset host is gone for further resets.
    await expect(resetBinding(t.db, staffActor(), s.hostId, 'again', t.clock.now())).rejects.toMatchObject({ status: 404 });
    const a = (await audit()).find((x) => x.action === 'host.reset')!;
    expect(a.reason).toBe('Replaced the disk');
  });

  it('resetBinding by a client user is a self-service reset and runs the check hook in its transaction', async () => {
    const lic = await makeLicense(t);
    const s = await openOk(t, lic.key);
    await expect(
      resetBinding(t.db, clientActor(lic.clientId), s.hostId, 'new PC', t.clock.now(), {
        check: async () => {
          throw Object.assign(new Error('quota'), { quota: true });
        },
      }),
    ).rejects.toMatchObject({ quota: true });
    expect((await sessionRow(t, s.sessionId)).closed_at).toBeNull();
    await resetBinding(t.db, clientActor(lic.clientId), s.hostId, 'new PC', t.clock.now());
    const host = await t.db.selectFrom('hosts').select('reset_by_client').where('id', '=', s.hostId).executeTakeFirstOrThrow();
    expect(host.reset_by_client).toBe(1);
  });

  it('enqueueCommand: stop needs something running (409 not_running), commands arrive in heartbeats until acked', async () => {
    const lic = await makeLicense(t);
    const s = await openOk(t, lic.key);
    await expect(enqueueCommand(t.db, staffActor(), s.sessionId, { type: 'stop' }, t.clock.now())).rejects.toMatchObject({ status: 409, code: 'not_running' });
    await expect(enqueueCommand(t.db, clientActor(lic.clientId), s.sessionId, { type: 'message', text: 'hi' }, t.clock.now())).rejects.toMatchObject({ status: 404 });
    await expect(enqueueCommand(t.db, staffActor(), s.sessionId, { type: 'message', text: ' ' }, t.clock.now())).rejects.toMatchObject({ status: 400 });

    await heartbeat(t, s, { packages: [pkg('a', { state: 'running', progress: 5 }), pkg('b')] });
    await expect(enqueueCommand(t.db, staffActor(), s.sessionId, { type: 'stop', packageId: 'b' }, t.clock.now())).rejects.toMatchObject({ code: 'not_running' });
    const stop = await enqueueCommand(t.db, staffActor(), s.sessionId, { type: 'stop' }, t.clock.now());
    const close = await enqueueCommand(t.db, staffActor(), s.sessionId, { type: 'closePackage', packageId: 'b' }, t.clock.now());
    const msg = await enqueueCommand(t.db, staffActor(), s.sessionId, { type: 'message', text: 'Saving soon' }, t.clock.now());
    const hb = await heartbeat(t, s);
    expect(hb.body.commands).toEqual([
      { id: stop.id, type: 'stop' },
      { id: close.id, type: 'closePackage', packageId: 'b', path: '/p/b.lgp' },
      { id: msg.id, type: 'message', text: 'Saving soon' },
    ]);
    const hb2 = await heartbeat(t, s, { acks: [stop.id, msg.id, 'foreign-id'] });
    expect(hb2.body.commands.map((c: { id: string }) => c.id)).toEqual([close.id]);
    expect((await audit()).filter((a) => a.action.startsWith('session.command.'))).toHaveLength(3);
  });

  it('enqueueCommand: a stop or close asked again before the agent answered is the one already waiting', async () => {
    const lic = await makeLicense(t);
    const s = await openOk(t, lic.key);
    await heartbeat(t, s, { packages: [pkg('a', { state: 'running', progress: 5 }), pkg('b')] });
    const close = await enqueueCommand(t.db, staffActor(), s.sessionId, { type: 'closePackage', packageId: 'b' }, t.clock.now());
    const again = await enqueueCommand(t.db, staffActor(), s.sessionId, { type: 'closePackage', packageId: 'b' }, t.clock.now());
    const otherPkg = await enqueueCommand(t.db, staffActor(), s.sessionId, { type: 'closePackage', packageId: 'a' }, t.clock.now());
    const stop = await enqueueCommand(t.db, staffActor(), s.sessionId, { type: 'stop' }, t.clock.now());
    const stopAgain = await enqueueCommand(t.db, staffActor(), s.sessionId, { type: 'stop' }, t.clock.now());
    const stopA = await enqueueCommand(t.db, staffActor(), s.sessionId, { type: 'stop', packageId: 'a' }, t.clock.now());
    const msg1 = await enqueueCommand(t.db, staffActor(), s.sessionId, { type: 'message', text: 'Hi' }, t.clock.now());
    const msg2 = await enqueueCommand(t.db, staffActor(), s.sessionId, { type: 'message', text: 'Hi' }, t.clock.now());
    expect(again.id).toBe(close.id);
    expect(stopAgain.id).toBe(stop.id);
    expect(new Set([close.id, otherPkg.id, stop.id, stopA.id, msg1.id, msg2.id]).size).toBe(6);
    const hb = await heartbeat(t, s);
    expect(hb.body.commands.map((c: { id: string }) => c.id)).toEqual([close.id, otherPkg.id, stop.id, stopA.id, msg1.id, msg2.id]);
    expect((await audit()).filter((a) => a.action.startsWith('session.command.'))).toHaveLength(6);
    // Once the agent has handled it, asking again is a new command.
    await heartbeat(t, s, { acks: [close.id], packages: [pkg('a', { state: 'running', progress: 5 }), pkg('b')] });
    const third = await enqueueCommand(t.db, staffActor(), s.sessionId, { type: 'closePackage', packageId: 'b' }, t.clock.now());
    expect(third.id).not.toBe(close.id);
  });

  it('clearHostPool empties the pool and sends clearPool to the live sessions of the host', async () => {
    const lic = await makeLicense(t);
    const s1 = await openOk(t, lic.key);
    const s2 = await openOk(t, lic.key);
    await heartbeat(t, s1, { packages: [pkg('a')] });
    await heartbeat(t, s1, { packages: [] });
    expect(await hostPool(t.db, s1.hostId)).toHaveLength(1);
    await expect(clearHostPool(t.db, clientActor(lic.clientId), s1.hostId, t.clock.now())).rejects.toMatchObject({ status: 404 });
    await clearHostPool(t.db, staffActor(), s1.hostId, t.clock.now());
    expect(await hostPool(t.db, s1.hostId)).toEqual([]);
    for (const s of [s1, s2]) expect((await heartbeat(t, s)).body.commands.map((c: { type: string }) => c.type)).toEqual(['clearPool']);
    await heartbeat(t, s1, { packages: [pkg('c')] });
    await heartbeat(t, s1, { packages: [] });
    expect(await clearAllPools(t.db, staffActor(), t.clock.now())).toBe(1);
    expect(await hostPool(t.db, s1.hostId)).toEqual([]);
  });

  it('closeSharedPackage refuses above count 1 with the count, closes at 1 and tells the live sessions', async () => {
    const lic = await makeLicense(t);
    const s = await openOk(t, lic.key);
    await heartbeat(t, s, { packages: [pkg('a', { origin: 'interactive', refs: ['/lib/x.lgp'] })] });
    expect(await sharedPackagesOfHosts(t.db, [s.hostId])).toMatchObject([{ path: '/lib/x.lgp', count: 2 }]);
    await expect(closeSharedPackage(t.db, staffActor(), s.hostId, '/lib/x.lgp', t.clock.now())).rejects.toMatchObject({
      status: 409,
      code: 'shared_package_in_use',
      details: { count: 2 },
    });
    await heartbeat(t, s, { packages: [] });
    expect(await sharedPackagesOfHosts(t.db, [s.hostId])).toMatchObject([{ path: '/lib/x.lgp', count: 1 }]);
    await closeSharedPackage(t.db, staffActor(), s.hostId, '/lib/x.lgp', t.clock.now());
    expect(await sharedPackagesOfHosts(t.db, [s.hostId])).toEqual([]);
    expect((await heartbeat(t, s)).body.commands).toMatchObject([{ type: 'closePackage', path: '/lib/x.lgp' }]);
    await expect(closeSharedPackage(t.db, staffActor(), s.hostId, '/lib/x.lgp', t.clock.now())).rejects.toMatchObject({ status: 404 });
  });

  it('sessionState: late after two missed intervals, else sleeping when the agent said so, else alive', () => {
    const row = { last_seen_at: 0, heartbeat_interval_sec: 60, sleeping: 0 };
    expect(sessionState(row, 120_000)).toBe('alive');
    expect(sessionState(row, 120_001)).toBe('late');
    expect(sessionState({ ...row, sleeping: 1 }, 1000)).toBe('sleeping');
    expect(sessionState({ ...row, sleeping: 1 }, 200_000)).toBe('late');
  });
});
