import { afterEach, describe, expect, it } from 'vitest';
import { makeApp, type TestApp } from '../helpers/app.js';
import { fingerprint, heartbeat, insertLicense, openOk } from '../helpers/licensing.js';
import { send } from '../fuzz/fuzz-kit.js';
import { seedClient, viewer } from './world.js';

// Names an agent chooses end up in the confirm step of a destructive action. They must not
// change what the confirmed form does, nor what the question appears to say.

const RLO = '\u202e';

describe('agent-chosen names in confirm steps', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('a package called "." or ".." is refused by the confirm step: its form would stop the whole session', async () => {
    t = await makeApp();
    const lic = await insertLicense(t.db, t.clock.now(), { maxHosts: 5 });
    const s = await openOk(t, lic.key, { fingerprint: fingerprint('dots'), user: 'u' });
    await heartbeat(t, s, { packages: [{ id: '..', path: '/p/a.lgp', state: 'running' }, { id: '.', path: '/p/b.lgp', state: 'running' }] }).expect(200);
    const support = await viewer(t, 'support');
    for (const pkg of ['..', '.']) {
      for (const d of ['stop-package', 'close-package']) {
        const res = await send(t, 'GET', `/monitor/confirm?do=${d}&session=${s.sessionId}&pkg=${encodeURIComponent(pkg)}`, { headers: { Cookie: support.cookie, 'HX-Request': 'true' } });
        expect(res.status).toBe(200);
        // A browser resolves ".../packages/../stop" to ".../stop": the session's own Stop.
        const action = /action="([^"]+)"/.exec(res.text)![1];
        const resolved = new URL(action, 'http://127.0.0.1/').pathname;
        expect(res.text, `${d} ${pkg}`).toContain('cannot be named in a web address');
        expect(res.text, `${d} ${pkg} offers a button posting to ${resolved}`).not.toMatch(/<button class="(?:danger|primary)"/);
      }
    }
    // An ordinary package keeps its button.
    await heartbeat(t, s, { packages: [{ id: 'main', path: '/p/a.lgp', state: 'running' }] }).expect(200);
    const ok = await send(t, 'GET', `/monitor/confirm?do=stop-package&session=${s.sessionId}&pkg=main`, { headers: { Cookie: support.cookie, 'HX-Request': 'true' } });
    expect(ok.text).toContain(`action="/monitor/sessions/${s.sessionId}/packages/main/stop"`);
    expect(ok.text).toMatch(/<button class="primary"/);
  });

  it('line breaks and bidi overrides in names do not reach a confirm question (dialog or native confirm)', async () => {
    t = await makeApp();
    const hostile = { hostname: `PC-1${RLO}\n\nOnly refreshes the list.\u2029`, user: `bob${RLO}\u2066`, infobase: 'Main\r\n\r\nNothing will be closed.' };
    const a = await seedClient(t, 'Alpha', hostile);
    const support = await viewer(t, 'support');
    const get = (url: string, htmx = false) => send(t, 'GET', url, { headers: { Cookie: support.cookie, ...(htmx ? { 'HX-Request': 'true' } : {}) } });
    const questions: string[] = [];
    for (const url of [`/infobases/${a.infobaseId}`, `/licenses/${a.licenseId}`]) {
      const res = await get(url);
      expect(res.status).toBe(200);
      questions.push(...[...res.text.matchAll(/data-confirm="([^"]*)"/g)].map((m) => m[1]));
    }
    for (const d of ['reset', 'terminate']) {
      const res = await get(`/monitor/confirm?do=${d}&session=${a.sessionId}`, true);
      expect(res.status).toBe(200);
      questions.push(/<h2[^>]*>[^<]*<\/h2><p>([^<]*)<\/p>/.exec(res.text)![1]);
    }
    expect(questions.length).toBeGreaterThanOrEqual(4);
    expect(questions.some((q) => q.includes('PC-1'))).toBe(true);
    expect(questions.some((q) => q.includes('Main'))).toBe(true);
    for (const q of questions) expect(q, JSON.stringify(q)).not.toMatch(/[\u0000-\u001f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
    // The monitor's table still shows the names as sent (each in a cell of its own).
    expect((await get('/monitor')).text).toContain(`bob${RLO}`);
  });
});
