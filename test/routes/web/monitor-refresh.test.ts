import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { setLock } from '../../../src/models/infobases.js';
import { bumpChangeMarker } from '../../../src/models/session-lifecycle.js';
import { loginAs, makeApp, type TestApp } from '../../helpers/app.js';
import { staffActor } from '../../helpers/licensing.js';
import { seedHost, seedLicense, seedPackage, seedSession, seedSessions } from '../../helpers/monitor-data.js';
import { statementsDuring } from '../../helpers/statements.js';

const HX = { 'HX-Request': 'true', 'HX-Request-Type': 'partial' };
const liveOf = (page: string) => /<div id="monitor-live"[\s\S]*<\/div>(?=<dialog id="monitor-dialog")/.exec(page)?.[0] ?? '';

interface Wire {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Status line and header block as sent, and the body's bytes as sent (compressed if it was). */
  headerBytes: number;
  bodyBytes: number;
}

/** A GET over a real socket, counting what crossed the wire (the body is not decompressed). */
async function wire(t: TestApp, path: string, headers: Record<string, string>): Promise<Wire> {
  if (!t.server.listening) await new Promise<void>((r) => t.server.listen(0, '127.0.0.1', () => r()));
  const { port } = t.server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers }, (res) => {
      let bodyBytes = 0;
      res.on('data', (chunk: Buffer) => (bodyBytes += chunk.length));
      res.on('end', () => {
        let headerBytes = `HTTP/1.1 ${res.statusCode} ${res.statusMessage}\r\n`.length + 2;
        for (let i = 0; i < res.rawHeaders.length; i += 2) headerBytes += Buffer.byteLength(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}\r\n`);
        resolve({ status: res.statusCode!, headers: res.headers, headerBytes, bodyBytes });
      });
    });
    req.on('error', reject);
  });
}

describe('monitor refresh', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.close());

  async function someSessions(n = 3) {
    const l = await seedLicense(t);
    const h = await seedHost(t, l.licenseId);
    const ids = await seedSessions(t, n, { ...l, hostId: h, user: 'u' });
    return { ...l, hostId: h, ids };
  }

  it('the fragment is the same markup as the live part of the page', async () => {
    const d = await someSessions();
    await seedPackage(t, d.ids[0], { name: 'sales', state: 'running', progress: 10, node: 'Join' });
    const s = await loginAs(t, 'admin');
    const qs = `?q=u&open=${d.ids[0]}&info=${d.ids[1]}`;
    const page = await t.request.get(`/monitor${qs}`).set('Cookie', s.cookie);
    const frag = await t.request.get(`/monitor${qs}`).set('Cookie', s.cookie).set(HX);
    expect(frag.status).toBe(200);
    expect(frag.headers['vary']).toContain('HX-Request');
    expect(frag.text).not.toContain('<html');
    expect(frag.text).toContain('data-package-id=');
    expect(frag.text).toContain('class="panel"');
    expect(frag.text).toBe(liveOf(page.text));
  });

  it('a poll leaves the table header to the page and sends the same rows', async () => {
    await someSessions();
    const s = await loginAs(t, 'admin');
    const frag = await t.request.get('/monitor').set('Cookie', s.cookie).set(HX);
    const poll = await t.request.get('/monitor').set('Cookie', s.cookie).set(HX).set('X-Auto-Refresh', '1');
    expect(frag.text).toMatch(/<thead id="monitor-head"><tr>/);
    expect(poll.text).toContain('<thead id="monitor-head" hx-preserve=""></thead>');
    expect(poll.text.replace(/<thead[\s\S]*?<\/thead>/, '')).toBe(frag.text.replace(/<thead[\s\S]*?<\/thead>/, ''));
  });

  it('a history restore gets the whole page, not the fragment', async () => {
    await someSessions(1);
    const s = await loginAs(t, 'admin');
    const res = await t.request.get('/monitor').set('Cookie', s.cookie).set({ 'HX-Request': 'true', 'HX-History-Restore-Request': 'true', 'HX-Request-Type': 'full' });
    expect(res.text).toContain('<html');
  });

  it('answers an unchanged poll with a 304 without a body, and a changed one with 200', async () => {
    const d = await someSessions();
    const s = await loginAs(t, 'support');
    const first = await t.request.get('/monitor').set('Cookie', s.cookie).set(HX);
    const tag = first.headers['etag'];
    expect(tag).toMatch(/^W\/".+"$/);

    const same = await t.request.get('/monitor').set('Cookie', s.cookie).set(HX).set('If-None-Match', tag).set('X-Auto-Refresh', '1');
    expect(same.status).toBe(304);
    expect(same.text ?? '').toBe('');
    expect(same.headers['etag']).toBe(tag);
    expect(same.headers['content-security-policy']).toBeUndefined();

    // A heartbeat-like change: the session's figures move and so does the marker.
    t.clock.advance(5000);
    await t.db.updateTable('sessions').set({ last_seen_at: t.clock.now(), cpu_total: 1234 }).where('id', '=', d.ids[0]).execute();
    await bumpChangeMarker(t.db);
    const changed = await t.request.get('/monitor').set('Cookie', s.cookie).set(HX).set('If-None-Match', tag);
    expect(changed.status).toBe(200);
    expect(changed.headers['etag']).not.toBe(tag);
    expect(changed.text).toContain('1.23');
  });

  it('a change elsewhere (the marker moved, this view did not) is still a 304, with a validator the next poll matches by the marker alone', async () => {
    const d = await someSessions(2);
    const other = await seedLicense(t);
    const otherHost = await seedHost(t, other.licenseId);
    const [elsewhere] = await seedSessions(t, 1, { ...other, hostId: otherHost, user: 'zed' });
    const s = await loginAs(t, 'support');
    const view = `/monitor?license=${d.licenseId}`;
    const first = await t.request.get(view).set('Cookie', s.cookie).set(HX);
    const tag = first.headers['etag'];

    // A session outside the view heartbeats: the marker moves, what this view shows does not.
    t.clock.advance(5000);
    await t.db.updateTable('sessions').set({ last_seen_at: t.clock.now(), cpu_total: 999 }).where('id', '=', elsewhere).execute();
    await bumpChangeMarker(t.db);
    const poll = await t.request.get(view).set('Cookie', s.cookie).set(HX).set('If-None-Match', tag).set('X-Auto-Refresh', '1');
    expect(poll.status).toBe(304);
    expect(poll.text ?? '').toBe('');
    const renewed = poll.headers['etag'];
    expect(renewed).not.toBe(tag);
    // Same rows and cells named; only the marker part differs.
    expect(renewed.split('.').slice(1)).toEqual(tag.split('.').slice(1));
    const next = await t.request.get(view).set('Cookie', s.cookie).set(HX).set('If-None-Match', renewed).set('X-Auto-Refresh', '1');
    expect(next.status).toBe(304);
    expect(next.headers['etag']).toBe(renewed);

    // A whole page names the digest of its data too: its first poll after a move of the marker elsewhere
    // is already a 304 (it used to bring the whole live part again, ~1 KB compressed on every page load).
    const page = await t.request.get(view).set('Cookie', s.cookie);
    const pageTag = /data-etag="([^"]+)"/.exec(page.text)![1].replace(/&quot;/g, '"');
    expect(pageTag.split('.')).toHaveLength(5);
    await bumpChangeMarker(t.db);
    const firstPoll = await t.request.get(view).set('Cookie', s.cookie).set(HX).set('If-None-Match', pageTag).set('X-Auto-Refresh', '1');
    expect(firstPoll.status).toBe(304);
    await bumpChangeMarker(t.db);
    const secondPoll = await t.request.get(view).set('Cookie', s.cookie).set(HX).set('If-None-Match', firstPoll.headers['etag']).set('X-Auto-Refresh', '1');
    expect(secondPoll.status).toBe(304);

    // A change in the view is a 200 again.
    t.clock.advance(5000);
    await t.db.updateTable('sessions').set({ last_seen_at: t.clock.now(), cpu_total: 4321 }).where('id', '=', d.ids[0]).execute();
    await bumpChangeMarker(t.db);
    const changed = await t.request.get(view).set('Cookie', s.cookie).set(HX).set('If-None-Match', renewed);
    expect(changed.status).toBe(200);
    expect(changed.text).toContain('4.32');
  });

  it('the validator covers the query, the columns and the language: any of them changing is a 200', async () => {
    await someSessions();
    const s = await loginAs(t, 'admin');
    const tag = (await t.request.get('/monitor').set('Cookie', s.cookie).set(HX)).headers['etag'];
    const other = await t.request.get('/monitor?sort=user').set('Cookie', s.cookie).set(HX).set('If-None-Match', tag);
    expect(other.status).toBe(200);
    await t.request.post('/monitor/columns').set('Cookie', s.cookie).type('form').send({ _csrf: s.csrf, col: 'user' });
    const cols = await t.request.get('/monitor').set('Cookie', s.cookie).set(HX).set('If-None-Match', tag);
    expect(cols.status).toBe(200);
    const tag2 = cols.headers['etag'];
    await t.db.updateTable('users').set({ locale: 'ru' }).where('id', '=', s.user.id).execute();
    const ru = await t.request.get('/monitor').set('Cookie', s.cookie).set(HX).set('If-None-Match', tag2);
    expect(ru.status).toBe(200);
    expect(ru.text).toContain('Пользователь');
  });

  it('a row turning late by the passing of time alone is not answered "unchanged"', async () => {
    const d = await someSessions(1);
    const s = await loginAs(t, 'admin');
    const first = await t.request.get('/monitor').set('Cookie', s.cookie).set(HX);
    expect(first.text).toContain('class="st alive"');
    t.clock.advance(60_000);
    const still = await t.request.get('/monitor').set('Cookie', s.cookie).set(HX).set('If-None-Match', first.headers['etag']);
    expect(still.status).toBe(304);
    // Heartbeat interval 60 s: late after 2 × 60 s without a heartbeat.
    t.clock.advance(61_000);
    const late = await t.request.get('/monitor').set('Cookie', s.cookie).set(HX).set('If-None-Match', first.headers['etag']);
    expect(late.status).toBe(200);
    expect(late.text).toContain('class="st late"');
    // The page shows that row already: the answer carries its live cells only.
    expect(late.text).toContain('<tr data-k="" class="late">');
    const full = await t.request.get('/monitor').set('Cookie', s.cookie).set(HX);
    expect(full.text).toContain(`<tr data-session-id="${d.ids[0]}" class="late"`);
    const after = await t.request.get('/monitor').set('Cookie', s.cookie).set(HX).set('If-None-Match', late.headers['etag']);
    expect(after.status).toBe(304);
  });

  it('filtered by an infobase, its lock state shows beside the name and follows the window opening and closing by time alone', async () => {
    const l = await seedLicense(t);
    const h = await seedHost(t, l.licenseId);
    await seedSession(t, { ...l, hostId: h, infobase: { externalId: 'ib-1', name: 'Accounting' } });
    const ib = await t.db.selectFrom('infobases').select('id').executeTakeFirstOrThrow();
    const now = t.clock.now();
    // Set through the model, as the lock form does: the marker moves once, at setting; then only time passes.
    await setLock(t.db, staffActor(), ib.id, { from: now + 30_000, to: now + 90_000, message: 'Closing the month' }, now);
    const s = await loginAs(t, 'support');
    const url = `/monitor?infobase=${ib.id}`;
    const poll = (etag: string) => t.request.get(url).set('Cookie', s.cookie).set(HX).set('X-Auto-Refresh', '1').set('If-None-Match', etag);
    const first = await t.request.get(url).set('Cookie', s.cookie).set(HX);
    const chip = (html: string) => /<span class="chip">Infobase: [\s\S]*?<\/span>(?=<\/p>)/.exec(html)?.[0] ?? '';
    expect(chip(first.text)).toContain(`<a href="/infobases/${ib.id}"><span class="lock-badge lock-scheduled">`);
    expect(chip(first.text)).toContain('Lock scheduled');
    t.clock.advance(20_000);
    expect((await poll(first.headers['etag'])).status).toBe(304);
    // The window opens: nothing was written, yet the refresh brings the new state.
    t.clock.advance(10_000);
    const opened = await poll(first.headers['etag']);
    expect(opened.status).toBe(200);
    expect(chip(opened.text)).toContain('<span class="lock-badge lock-active">');
    expect((await poll(opened.headers['etag'])).status).toBe(304);
    // …and closes.
    t.clock.advance(60_000);
    const over = await poll(opened.headers['etag']);
    expect(over.status).toBe(200);
    expect(chip(over.text)).toContain('Lock over');
    // The client's own user is taken to the infobase in the cabinet, where they may lock it too.
    const own = await loginAs(t, 'client', { clientId: l.clientId });
    const ownChip = chip((await t.request.get(url).set('Cookie', own.cookie).set(HX)).text);
    expect(ownChip).toContain(`<a href="/cabinet/infobases/${ib.id}"><span class="lock-badge lock-expired">`);
    // No lock: nothing said beside the name.
    await t.db.updateTable('infobases').set({ lock_set_at: null, lock_from: null, lock_to: null }).execute();
    await bumpChangeMarker(t.db);
    const none = await t.request.get(url).set('Cookie', s.cookie).set(HX);
    expect(chip(none.text)).toContain('Accounting');
    expect(chip(none.text)).not.toContain('lock-badge');
  });

  it('a view filtered or sorted by state is never "unchanged": time alone moves sessions in and out of it', async () => {
    await someSessions(1);
    const s = await loginAs(t, 'admin');
    const first = await t.request.get('/monitor?f_state=late').set('Cookie', s.cookie).set(HX);
    t.clock.advance(1000);
    const again = await t.request.get('/monitor?f_state=late').set('Cookie', s.cookie).set(HX).set('If-None-Match', first.headers['etag']);
    expect(again.status).toBe(200);
  });

  it('answers "unchanged" from the change marker alone: no query of the monitor data runs', async () => {
    await someSessions();
    const s = await loginAs(t, 'admin');
    const tag = (await t.request.get('/monitor').set('Cookie', s.cookie).set(HX)).headers['etag'];
    // The poll (X-Auto-Refresh): answered ahead of the web middleware, login and marker in one statement.
    let res: Awaited<ReturnType<typeof t.request.get>> | undefined;
    const seen = await statementsDuring(t.sqlite, async () => {
      res = await t.request.get('/monitor').set('Cookie', s.cookie).set(HX).set('If-None-Match', tag).set('X-Auto-Refresh', '1');
    });
    expect(res!.status).toBe(304);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatch(/from "web_sessions"[\s\S]*"server_state"/);
    // Any other conditional fragment request: by the route itself, the login and then the marker.
    let other: Awaited<ReturnType<typeof t.request.get>> | undefined;
    const route = await statementsDuring(t.sqlite, async () => {
      other = await t.request.get('/monitor').set('Cookie', s.cookie).set(HX).set('If-None-Match', tag);
    });
    expect(other!.status).toBe(304);
    const monitorQueries = route.filter((q) => !/"web_sessions"/.test(q));
    expect(monitorQueries).toHaveLength(1);
    expect(monitorQueries[0]).toMatch(/from "server_state"/);
  });

  it('the automatic refresh does not count as activity for the idle timeout', async () => {
    await someSessions(1);
    const s = await loginAs(t, 'admin');
    const before = await t.db.selectFrom('web_sessions').select('last_active_at').where('user_id', '=', s.user.id).executeTakeFirstOrThrow();
    t.clock.advance(120_000);
    await t.request.get('/monitor').set('Cookie', s.cookie).set(HX).set('X-Auto-Refresh', '1');
    const after = await t.db.selectFrom('web_sessions').select('last_active_at').where('user_id', '=', s.user.id).executeTakeFirstOrThrow();
    expect(after.last_active_at).toBe(before.last_active_at);
  });

  it('a refresh of what the page shows leaves the settled cells out; put back, they make the full answer', async () => {
    const d = await someSessions(3);
    await seedPackage(t, d.ids[0], { name: 'sales', state: 'running', progress: 10, node: 'Join' });
    const s = await loginAs(t, 'admin');
    const qs = `?open=${d.ids[0]}&info=${d.ids[1]}`;
    const page = await t.request.get(`/monitor${qs}`).set('Cookie', s.cookie);
    const shown = liveOf(page.text);
    const tag = /data-etag="([^"]+)"/.exec(page.text)![1].replace(/&quot;/g, '"');
    expect(shown).toMatch(/ data-rows="[\w-]+"/);

    t.clock.advance(5000);
    await t.db.updateTable('sessions').set({ last_seen_at: t.clock.now(), cpu_total: 4321 }).where('id', '=', d.ids[2]).execute();
    await bumpChangeMarker(t.db);
    const kept = await t.request.get(`/monitor${qs}`).set('Cookie', s.cookie).set(HX).set('If-None-Match', tag);
    expect(kept.status).toBe(200);
    expect(kept.text).toContain(' data-keep=""');
    expect(kept.text).toContain('4.32');
    // No session row carries its id or its settled cells (user, host…); packages and the info panel come whole.
    expect(kept.text).not.toMatch(/<tr data-session-id="[^"]+"(?: class="[^"]*")? tabindex/);
    expect(kept.text).not.toContain('<b>u');
    expect(kept.text).toContain('data-package-id=');
    expect(kept.text).toContain('class="panel"');

    // What monitor.js does: each kept row takes the id and the data-k cells of the row shown at its place.
    const cells = (tr: string) => tr.match(/<td[^>]*>[\s\S]*?<\/td>/g) ?? [];
    const shownRows = [...shown.matchAll(/<tr data-session-id="([^"]+)"(?: class="[^"]*")? tabindex="-1">([\s\S]*?)<\/tr>/g)];
    let i = 0;
    const merged = kept.text
      .replace(' data-keep=""', '')
      .replace(/<tr data-k=""( class="[^"]*")?>([\s\S]*?)<\/tr>/g, (_m, cls: string | undefined, body: string) => {
        const [, id, old] = shownRows[i++];
        const was = cells(old);
        const now = cells(body).map((c, j) => (c === '<td data-k=""></td>' ? was[j] : c));
        return `<tr data-session-id="${id}"${cls ?? ''} tabindex="-1">${now.join('')}</tr>`;
      });
    expect(i).toBe(3);
    const full = await t.request.get(`/monitor${qs}`).set('Cookie', s.cookie).set(HX);
    expect(merged).toBe(full.text);
  });

  it('a changed settled cell, another order or another view is answered in full', async () => {
    const d = await someSessions(3);
    const s = await loginAs(t, 'admin');
    const first = await t.request.get('/monitor').set('Cookie', s.cookie).set(HX);
    const tag = first.headers['etag'];
    const refresh = (path = '/monitor') => t.request.get(path).set('Cookie', s.cookie).set(HX).set('If-None-Match', tag);
    const isFull = (html: string) => !html.includes('data-keep') && (html.match(/<tr data-session-id=/g) ?? []).length === 3;

    await t.db.updateTable('sessions').set({ user_name: 'renamed' }).where('id', '=', d.ids[1]).execute();
    await bumpChangeMarker(t.db);
    const renamed = await refresh();
    expect(isFull(renamed.text)).toBe(true);
    expect(renamed.text).toContain('<b>renamed</b>');

    const other = await refresh('/monitor?sort=user');
    expect(isFull(other.text)).toBe(true);
    // Without a validator (a first load, a forced refresh) everything comes.
    expect(isFull((await t.request.get('/monitor').set('Cookie', s.cookie).set(HX)).text)).toBe(true);
  });

  it('measures the bytes of an unchanged and of a changed 50-row refresh', async () => {
    // Like agents' sessions: the application's own id is a UUID, users and infobases vary.
    const l = await seedLicense(t);
    const h = await seedHost(t, l.licenseId);
    const d = { ids: [] as string[] };
    for (let i = 0; i < 50; i++) {
      d.ids.push(
        await seedSession(t, {
          ...l,
          hostId: h,
          user: `user${i * 7}`,
          clientSessionId: randomUUID(),
          roles: ['viewer'],
          infobase: { externalId: `ib${i % 3}`, name: `Base ${i % 3}` },
          clientIp: `10.1.${i}.${(i * 3) % 250}`,
        }),
      );
    }
    for (const id of d.ids) await seedPackage(t, id, { name: 'sales', path: '/projects/sales.lgp', state: 'running', progress: 40, node: 'Join' });
    const s = await loginAs(t, 'support');
    const headers = { Cookie: s.cookie, ...HX, 'Accept-Encoding': 'gzip, deflate, br', 'X-Auto-Refresh': '1' };
    const first = await wire(t, '/monitor', headers);
    expect(first.status).toBe(200);
    const unchanged = await wire(t, '/monitor', { ...headers, 'If-None-Match': String(first.headers.etag) });
    expect(unchanged.status).toBe(304);
    expect(unchanged.bodyBytes).toBe(0);
    expect(unchanged.headerBytes + unchanged.bodyBytes).toBeLessThanOrEqual(250);

    // All 50 sessions heartbeat with new figures.
    t.clock.advance(5000);
    let i = 0;
    for (const id of d.ids) {
      await t.db
        .updateTable('sessions')
        .set({ last_seen_at: t.clock.now() - (i % 7) * 100, cpu_total: 90_000 + i * 137, mem_total: 700_000_000 + i * 4099, cpu_current: i * 13, mem_current: 1_000_000 + i })
        .where('id', '=', id)
        .execute();
      i++;
    }
    await bumpChangeMarker(t.db);
    const changed = await wire(t, '/monitor', { ...headers, 'If-None-Match': String(first.headers.etag) });
    expect(changed.status).toBe(200);
    expect(changed.headers['content-encoding']).toBe('br');
    expect(changed.headers['content-length']).toBe(String(changed.bodyBytes));
    const gzip = await wire(t, '/monitor', { ...headers, 'Accept-Encoding': 'gzip, deflate', 'If-None-Match': String(first.headers.etag) });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    console.log(
      `monitor refresh bytes: unchanged ${unchanged.headerBytes + unchanged.bodyBytes} B (headers ${unchanged.headerBytes}); ` +
        `changed 50 rows ${changed.headerBytes + changed.bodyBytes} B (headers ${changed.headerBytes}, br body ${changed.bodyBytes}, gzip body ${gzip.bodyBytes})`,
    );
    // A guard against regressions, not the benchmark's figure (that one counts the headers too).
    expect(changed.bodyBytes).toBeLessThanOrEqual(1200);
  });
});
