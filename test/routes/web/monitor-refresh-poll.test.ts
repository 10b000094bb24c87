import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loginAs, makeApp, type TestApp } from '../../helpers/app.js';
import { seedHost, seedLicense, seedSessions } from '../../helpers/monitor-data.js';
import { statementsDuring } from '../../helpers/statements.js';

// The 5-second poll is answered "unchanged" ahead of the web middleware (answerUnchangedPoll in
// src/routes/web/monitor.tsx). These tests hold it to what the normal path answers: a 304 only for
// a live login whose own view is unchanged, and exactly the old answers for everyone else.

const HX = { 'HX-Request': 'true', 'HX-Request-Type': 'partial' };
const POLL = { ...HX, 'X-Auto-Refresh': '1' };
const rowIds = (html: string) => [...html.matchAll(/<tr data-session-id="([^"]+)"/g)].map((m) => m[1]);

describe('monitor poll answered before the web middleware', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.close());

  async function twoClients() {
    const a = await seedLicense(t, { clientName: 'Acme' });
    const b = await seedLicense(t, { clientName: 'Globex' });
    const acme = await seedSessions(t, 2, { ...a, hostId: await seedHost(t, a.licenseId), user: 'acme' });
    const globex = await seedSessions(t, 1, { ...b, hostId: await seedHost(t, b.licenseId), user: 'globex' });
    return { a, b, acme, globex };
  }

  /** The validator the page holds after its last full fragment. */
  const tagOf = async (cookie: string, path = '/monitor') => {
    const res = await t.request.get(path).set('Cookie', cookie).set(HX);
    expect(res.status).toBe(200);
    return String(res.headers['etag']);
  };

  const loginRow = (userId: number) => t.db.selectFrom('web_sessions').selectAll().where('user_id', '=', userId).executeTakeFirst();

  it('answers an unchanged poll with one statement and a bare 304: validator and Vary only', async () => {
    await twoClients();
    const s = await loginAs(t, 'admin');
    const tag = await tagOf(s.cookie);
    let res: Awaited<ReturnType<typeof t.request.get>> | undefined;
    const seen = await statementsDuring(t.sqlite, async () => {
      res = await t.request.get('/monitor').set('Cookie', s.cookie).set(POLL).set('If-None-Match', tag);
    });
    expect(res!.status).toBe(304);
    expect(res!.text ?? '').toBe('');
    // The login and the change marker in one statement; nothing else (no monitor query, no write).
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatch(/from "web_sessions"[\s\S]*"server_state"/);
    const names = Object.keys(res!.headers).sort();
    expect(names.filter((h) => !['connection', 'date', 'keep-alive'].includes(h))).toEqual(['etag', 'vary']);
    expect(res!.headers['etag']).toBe(tag);
    expect(res!.headers['vary']).toBe('HX-Request');
    // The same as the route itself answers a conditional fragment request that is not a poll.
    const viaRoute = await t.request.get('/monitor').set('Cookie', s.cookie).set(HX).set('If-None-Match', tag);
    expect(viaRoute.status).toBe(304);
    expect(Object.keys(viaRoute.headers).sort()).toEqual(names);
  });

  it('logged out: no cookie, an unknown cookie or a logged-out login get the login redirect, never a 304', async () => {
    await twoClients();
    const s = await loginAs(t, 'admin');
    const tag = await tagOf(s.cookie);
    const none = await t.request.get('/monitor').set(POLL).set('If-None-Match', tag);
    expect(none.status).toBe(401);
    expect(none.headers['hx-redirect']).toBe('/login');

    const unknown = await t.request.get('/monitor').set('Cookie', 'sm_session=not-a-login; sm_tz=Europe/Moscow').set(POLL).set('If-None-Match', tag);
    expect(unknown.status).toBe(401);
    expect(unknown.headers['hx-redirect']).toBe('/login');
    expect(String(unknown.headers['set-cookie'])).toMatch(/sm_session=;/);

    // The way back is the page the request came from, never a fragment's address nor another site.
    const from = await t.request.get('/monitor?q=x&page=2').set('Cookie', 'sm_session=gone').set(POLL).set('HX-Current-URL', 'http://127.0.0.1/monitor?q=Petrov&sort=user');
    expect(from.headers['hx-redirect']).toBe('/login?next=%2Fmonitor%3Fq%3DPetrov%26sort%3Duser');
    const elsewhere = await t.request.get('/monitor').set(POLL).set('HX-Current-URL', 'https://evil.example//evil.example/x');
    expect(elsewhere.headers['hx-redirect']).toBe('/login?next=%2F');
    const posted = await t.request.post('/monitor/sessions/x/terminate').set(HX).set('HX-Current-URL', 'http://127.0.0.1/clients/3');
    expect(posted.headers['hx-redirect']).toBe('/login?next=%2Fclients%2F3');

    const out = await t.request.post('/logout').set('Cookie', s.cookie).type('form').send({ _csrf: s.csrf });
    expect(out.status).toBeLessThan(400);
    expect(await loginRow(s.user.id)).toBeUndefined();
    const after = await t.request.get('/monitor').set('Cookie', s.cookie).set(POLL).set('If-None-Match', tag);
    expect(after.status).toBe(401);
    expect(after.headers['hx-redirect']).toBe('/login');
  });

  it('an idle, past its end or disabled login gets no 304: it is ended and sent to the login page', async () => {
    await twoClients();
    const idleMin = t.deps.config.webSessionIdleMinutes;
    const cases: [string, (userId: number) => Promise<void>][] = [
      ['idle', async () => t.clock.advance(idleMin * 60_000)],
      ['past its absolute end', async (id) => void (await t.db.updateTable('web_sessions').set({ expires_at: t.clock.now() }).where('user_id', '=', id).execute())],
      ['disabled', async (id) => void (await t.db.updateTable('users').set({ disabled_at: t.clock.now() }).where('id', '=', id).execute())],
    ];
    for (const [name, end] of cases) {
      const s = await loginAs(t, 'support');
      const tag = await tagOf(s.cookie);
      expect((await t.request.get('/monitor').set('Cookie', s.cookie).set(POLL).set('If-None-Match', tag)).status, name).toBe(304);
      await end(s.user.id);
      const res = await t.request.get('/monitor').set('Cookie', s.cookie).set(POLL).set('If-None-Match', tag);
      expect(res.status, name).toBe(401);
      expect(res.headers['hx-redirect'], name).toBe('/login');
      expect(String(res.headers['set-cookie']), name).toMatch(/sm_session=;/);
      expect(await loginRow(s.user.id), name).toBeUndefined();
    }
  });

  it('polls do not extend the idle time: a tab left polling is logged out after the idle timeout', async () => {
    // No sessions: no row turns late by itself, so every poll is "unchanged".
    const s = await loginAs(t, 'admin');
    const tag = await tagOf(s.cookie);
    const before = (await loginRow(s.user.id))!.last_active_at;
    const idleMs = t.deps.config.webSessionIdleMinutes * 60_000;
    const step = idleMs / 12;
    // Polls all along the idle time (the server writes real activity at most once a minute).
    for (let i = 1; i < 12; i++) {
      t.clock.advance(step);
      const res = await t.request.get('/monitor').set('Cookie', s.cookie).set(POLL).set('If-None-Match', tag);
      expect(res.status).toBe(304);
      expect((await loginRow(s.user.id))!.last_active_at).toBe(before);
    }
    t.clock.advance(step);
    const late = await t.request.get('/monitor').set('Cookie', s.cookie).set(POLL).set('If-None-Match', tag);
    expect(late.status).toBe(401);
    expect(await loginRow(s.user.id)).toBeUndefined();
  });

  it('a request that is not a poll still counts as activity, even when answered 304', async () => {
    await twoClients();
    const s = await loginAs(t, 'admin');
    const tag = await tagOf(s.cookie);
    t.clock.advance(120_000);
    const res = await t.request.get('/monitor').set('Cookie', s.cookie).set(HX).set('If-None-Match', tag);
    expect(res.status).toBe(304);
    expect((await loginRow(s.user.id))!.last_active_at).toBe(t.clock.now());
  });

  it('client users: their own unchanged view is a 304; a staff validator is not theirs; staff pages stay 404', async () => {
    const w = await twoClients();
    const staff = await loginAs(t, 'admin');
    const staffTag = await tagOf(staff.cookie);
    const c = await loginAs(t, 'client', { clientId: w.a.clientId });
    // The monitor is open to client users, scoped to their client: an unchanged poll of it is a 304, as before.
    const own = await tagOf(c.cookie);
    expect((await t.request.get('/monitor').set('Cookie', c.cookie).set(POLL).set('If-None-Match', own)).status).toBe(304);
    // A staff user's validator (same marker, same query) says nothing about the client's view.
    const replay = await t.request.get('/monitor').set('Cookie', c.cookie).set(POLL).set('If-None-Match', staffTag);
    expect(replay.status).toBe(200);
    expect(rowIds(replay.text).sort()).toEqual([...w.acme].sort());
    expect(replay.text).not.toContain('Globex');
    // A poll-shaped request to a staff page is never answered early: 404, as for any client request.
    for (const path of ['/audit', '/clients', '/infobases']) {
      const res = await t.request.get(path).set('Cookie', c.cookie).set(POLL).set('If-None-Match', staffTag);
      expect(res.status, path).toBe(404);
    }
  });

  it('another user, a changed role or client, language or time zone is a 200, not a 304', async () => {
    const w = await twoClients();
    const a = await loginAs(t, 'admin');
    const b = await loginAs(t, 'admin');
    const tag = await tagOf(a.cookie);
    expect((await t.request.get('/monitor').set('Cookie', b.cookie).set(POLL).set('If-None-Match', tag)).status).toBe(200);

    // The time zone cookie the browser sends is part of the view.
    const tz = await t.request.get('/monitor').set('Cookie', `${a.cookie}; sm_tz=Asia/Tokyo`).set(POLL).set('If-None-Match', tag);
    expect(tz.status).toBe(200);
    const tzTag = String(tz.headers['etag']);
    expect((await t.request.get('/monitor').set('Cookie', `${a.cookie}; sm_tz=Asia/Tokyo`).set(POLL).set('If-None-Match', tzTag)).status).toBe(304);
    const lang = await t.request.get('/monitor').set('Cookie', `${a.cookie}; sm_tz=Asia/Tokyo; sm_lang=ru`).set(POLL).set('If-None-Match', tzTag);
    expect(lang.status).toBe(200);

    // The user turned into a client user of Globex: the old validator must not keep the staff view.
    await t.db.updateTable('users').set({ role: 'client', client_id: w.b.clientId }).where('id', '=', a.user.id).execute();
    const demoted = await t.request.get('/monitor').set('Cookie', a.cookie).set(POLL).set('If-None-Match', tag);
    expect(demoted.status).toBe(200);
    expect(rowIds(demoted.text)).toEqual(w.globex);
  });

  it('only the poll of the monitor itself is answered early; other paths and a full-page request go the normal way', async () => {
    await twoClients();
    const s = await loginAs(t, 'admin');
    const tag = await tagOf(s.cookie);
    const full = await t.request.get('/monitor').set('Cookie', s.cookie).set({ ...POLL, 'HX-Request-Type': 'full' }).set('If-None-Match', tag);
    expect(full.status).toBe(200);
    expect(full.text).toContain('<html');
    const restore = await t.request.get('/monitor').set('Cookie', s.cookie).set({ ...POLL, 'HX-History-Restore-Request': 'true' }).set('If-None-Match', tag);
    expect(restore.status).toBe(200);
    const slash = await t.request.get('/monitor/').set('Cookie', s.cookie).set(POLL).set('If-None-Match', tag);
    expect(slash.status).not.toBe(304);
  });
});
