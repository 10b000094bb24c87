import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeApp, type TestApp } from '../../helpers/app.js';
import { pruneClosedSessionRows } from '../../../src/models/retention.js';
import { agentTableCounts, fingerprint, heartbeat, makeLicense, openOk, sessionRow, type OpenedSession } from '../../helpers/licensing.js';

describe('features during a session (§3) and release (§4)', () => {
  let t: TestApp;
  let key: string;
  let licenseId: number;
  let s: OpenedSession;
  beforeEach(async () => {
    t = await makeApp();
    const lic = await makeLicense(t, { maxHosts: 3, features: { reports: null, export: 1 } });
    key = lic.key;
    licenseId = lic.id;
    s = await openOk(t, key, { features: ['reports'] });
  });
  afterEach(() => t.close());

  const add = (x: OpenedSession, feature: unknown) =>
    t.request.post(`/api/v1/sessions/${x.sessionId}/features`).set('Authorization', `Bearer ${x.token}`).send({ feature });
  const remove = (x: OpenedSession, feature: string) =>
    t.request.delete(`/api/v1/sessions/${x.sessionId}/features/${encodeURIComponent(feature)}`).set('Authorization', `Bearer ${x.token}`);
  const events = () => t.db.selectFrom('license_events').select(['kind', 'code', 'feature', 'session_id']).orderBy('id').execute();

  it('POST adds a feature (200 with the list), renews the lease and records the capture; a held one is fine', async () => {
    t.clock.advance(20_000);
    const res = await add(s, 'export');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ features: ['reports', 'export'] });
    expect((await sessionRow(t, s.sessionId)).last_seen_at).toBe(t.clock.now());
    expect((await events()).at(-1)).toEqual({ kind: 'capture', code: null, feature: 'export', session_id: s.sessionId });
    expect((await add(s, 'export')).body).toEqual({ features: ['reports', 'export'] });
    expect((await events()).filter((e) => e.feature === 'export')).toHaveLength(1);
  });

  it('403 feature_not_licensed and feature_limit_reached are recorded with their code and change nothing else', async () => {
    const other = await openOk(t, key, { fingerprint: fingerprint(2) });
    await add(other, 'export').expect(200);
    t.clock.advance(20_000);
    const before = await agentTableCounts(t.db);
    const a = await add(s, 'payroll');
    expect(a.status).toBe(403);
    expect(a.body.error).toMatchObject({ code: 'feature_not_licensed', details: { feature: 'payroll' } });
    const b = await add(s, 'export');
    expect(b.status).toBe(403);
    expect(b.body.error).toMatchObject({ code: 'feature_limit_reached', details: { feature: 'export', limit: 1 } });
    expect(await agentTableCounts(t.db)).toEqual({ ...before, license_events: before.license_events + 2 });
    expect((await events()).slice(-2)).toEqual([
      { kind: 'refusal', code: 'feature_not_licensed', feature: 'payroll', session_id: s.sessionId },
      { kind: 'refusal', code: 'feature_limit_reached', feature: 'export', session_id: s.sessionId },
    ]);
    expect((await sessionRow(t, s.sessionId)).last_seen_at).toBe(t.clock.now() - 20_000);
    // Releasing the seat lets the other session take it.
    await remove(other, 'export').expect(204);
    expect((await add(s, 'export')).status).toBe(200);
  });

  it('expiry refuses new features (403 license_expired) but closes nothing: a held one asked again is a 200', async () => {
    await t.db.updateTable('licenses').set({ expires_at: t.clock.now() }).where('id', '=', licenseId).execute();
    const res = await add(s, 'export');
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('license_expired');
    expect((await heartbeat(t, s)).status).toBe(200);
    const before = (await events()).length;
    const again = await add(s, 'reports');
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ features: ['reports'] });
    expect(await events()).toHaveLength(before); // no refusal recorded
  });

  it('feature names are compared in NFC, as licenses store them (added and removed)', async () => {
    await t.db.insertInto('license_features').values({ license_id: licenseId, feature: 'caf\u00e9', max_sessions: null }).execute();
    const res = await add(s, 'cafe\u0301');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ features: ['reports', 'caf\u00e9'] });
    await remove(s, 'cafe\u0301').expect(204);
    expect((await t.db.selectFrom('session_features').select('feature').where('session_id', '=', s.sessionId).execute()).map((r) => r.feature)).toEqual(['reports']);
  });

  it('DELETE releases a held feature (204), also one not held', async () => {
    await remove(s, 'reports').expect(204);
    await remove(s, 'never-held').expect(204);
    expect(await t.db.selectFrom('session_features').selectAll().execute()).toEqual([]);
  });

  it('feature calls need the bearer token (401) and answer 410 once the session is closed', async () => {
    expect((await add({ ...s, token: 'wrong' }, 'export')).status).toBe(401);
    expect((await remove({ ...s, token: 'wrong' }, 'reports')).status).toBe(401);
    expect((await t.request.post(`/api/v1/sessions/${s.sessionId}/features`).send({ feature: 'export' })).status).toBe(401);
    await t.request.delete(`/api/v1/sessions/${s.sessionId}`).set('Authorization', `Bearer ${s.token}`).expect(204);
    const a = await add(s, 'export');
    expect(a.status).toBe(410);
    expect(a.body.error.details).toEqual({ reason: 'released', message: null });
    expect((await remove(s, 'reports')).status).toBe(410);
  });

  it('400 for a bad feature body', async () => {
    expect((await add(s, 5)).body.error.code).toBe('invalid_request');
    expect((await add(s, '')).status).toBe(400);
    expect((await add(s, 'x'.repeat(513))).status).toBe(400);
    expect((await remove(s, 'y'.repeat(513))).status).toBe(400);
  });

  describe('release', () => {
    it('204, the seat and its features are free at once; releasing again is 204; a wrong token is 401', async () => {
      expect((await add(s, 'export')).status).toBe(200);
      const other = await openOk(t, key, { fingerprint: fingerprint(3) });
      expect((await add(other, 'export')).status).toBe(403); // the one 'export' seat is s's
      expect((await t.request.delete(`/api/v1/sessions/${s.sessionId}`).set('Authorization', 'Bearer nope')).status).toBe(401);
      expect((await t.request.delete(`/api/v1/sessions/${s.sessionId}`)).status).toBe(401);
      expect((await t.request.delete('/api/v1/sessions/unknown').set('Authorization', `Bearer ${s.token}`)).status).toBe(401);
      const res = await t.request.delete(`/api/v1/sessions/${s.sessionId}`).set('Authorization', `Bearer ${s.token}`);
      expect(res.status).toBe(204);
      expect(res.text).toBe('');
      const row = await sessionRow(t, s.sessionId);
      expect([row.close_reason, row.closed_at]).toEqual(['released', t.clock.now()]);
      // Counted in its license's hour of the history (no raw event): releasing again counts nothing.
      expect((await events()).map((e) => e.kind)).not.toContain('close');
      const closes = () => t.db.selectFrom('license_event_hours').select(['kind', 'code', 'count']).where('kind', '=', 'close').execute();
      expect(await closes()).toEqual([{ kind: 'close', code: 'released', count: 1 }]);
      // Its features are free at once: the 'export' seat goes to the other session now.
      expect((await add(other, 'export')).status).toBe(200);
      // The released session's rows go with the minute's pruning.
      await pruneClosedSessionRows(t.db);
      expect((await t.db.selectFrom('session_features').select('session_id').execute()).map((r) => r.session_id)).toEqual([other.sessionId]);
      await t.request.delete(`/api/v1/sessions/${s.sessionId}`).set('Authorization', `Bearer ${s.token}`).expect(204);
      expect(await closes()).toEqual([{ kind: 'close', code: 'released', count: 1 }]);
    });
  });
});
