import { afterEach, describe, expect, it } from 'vitest';
import { makeApp, type TestApp } from '../helpers/app.js';
import { send } from '../fuzz/fuzz-kit.js';
import { pageUrls, seedXss, TEMPLATES, type XssWorld } from './xss-world.js';

// Stored XSS: payloads in every agent- and user-supplied string, every page
// that exists (walked from app.routes, as each role, whole pages and htmx
// fragments) shows them escaped. Reflected XSS: payloads in query strings and
// paths come back escaped too.

/** Fields every page set must show somewhere (the rest are reported if never shown). */
const MUST_SHOW = [
  'client.name', 'license.product', 'license.feature', 'agent.user', 'agent.machine.hostname', 'agent.infobase.name', 'agent.package.path',
  'agent.app.name', 'lock.message', 'reset.reason', 'token.name', 'user.name',
];

const JS_URL = /\b(?:href|src|action|formaction|hx-get|hx-post|xlink:href)\s*=\s*["']?\s*javascript:/i;

/** Every planted payload is escaped: neither it nor its dangerous head appears raw; no javascript: URL anywhere. */
function checkEscaped(html: string, w: XssWorld, where: string, failures: string[]) {
  for (const p of w.planted) {
    if (html.includes(p.payload) && /[<>"']/.test(p.payload)) failures.push(`${where}: raw ${p.field}: ${p.payload}`);
  }
  for (const { head } of TEMPLATES) if (html.includes(head)) failures.push(`${where}: raw "${head}"`);
  const js = JS_URL.exec(html);
  if (js) failures.push(`${where}: javascript: URL at ${html.slice(Math.max(0, js.index - 80), js.index + 80)}`);
}

describe('XSS: stored payloads are escaped on every page', () => {
  let t: TestApp;
  afterEach(() => t.close());

  for (const round of [0, 3, 6, 9]) {
    it(`payload rotation ${round}: every page, every role, pages and fragments`, async () => {
      t = await makeApp({ captureRatePerIp: 1_000_000, captureRatePerKey: 1_000_000 });
      const w = await seedXss(t, round);
      const failures: string[] = [];
      const shown = new Set<string>();
      let pages = 0;
      for (const url of pageUrls(t, w)) {
        for (const who of ['admin', 'support', 'client'] as const) {
          for (const htmx of [false, true]) {
            const headers: Record<string, string> = { Cookie: w.viewers[who].cookie };
            if (htmx) headers['HX-Request'] = 'true';
            const res = await send(t, 'GET', url, { headers });
            expect(res.status, `${url} as ${who}`).toBeLessThan(500);
            if (res.status !== 200) continue;
            pages++;
            checkEscaped(res.text, w, `${url} as ${who}${htmx ? ' (htmx)' : ''}`, failures);
            for (const p of w.planted) if (res.text.includes(p.id)) shown.add(p.field);
          }
        }
      }
      expect(failures).toEqual([]);
      expect(pages).toBeGreaterThan(40);
      expect(MUST_SHOW.filter((f) => !shown.has(f))).toEqual([]);
      // An infobase lock's permission code is a secret: no page shows it, to anyone.
      expect(shown.has('lock.code')).toBe(false);
      const never = w.planted.map((p) => p.field).filter((f) => !shown.has(f));
      if (round === 0 && never.length) console.info('fields no page shows:', [...new Set(never)].join(', '));
    });
  }
});

describe('XSS: reflected input is escaped', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('query strings, paths and form values come back escaped on every page', async () => {
    t = await makeApp();
    const w = await seedXss(t, 1);
    const failures: string[] = [];
    const reflect = TEMPLATES.map((x, i) => ({ id: `rf${i}`, field: 'query', payload: x.p.replaceAll('{id}', `rf${i}`), head: x.head }));
    const mirror: XssWorld = { ...w, planted: reflect };
    const names = ['q', 'product', 'next', 'back', 'period', 'done', 'n', 'cursor', 'client', 'license', 'infobase', 'state', 'targetType', 'action', 'actor', 'from', 'to', 'page', 'sort', 'dir', 'saved'];
    for (const base of pageUrls(t, w)) {
      for (const [i, p] of reflect.entries()) {
        const params = new URLSearchParams(names.map((n) => [n, p.payload]));
        const url = `${base}${base.includes('?') ? '&' : '?'}${params}`;
        for (const who of ['admin', 'client'] as const) {
          const res = await send(t, 'GET', url, { headers: { Cookie: w.viewers[who].cookie, ...(i % 2 ? { 'HX-Request': 'true' } : {}) } });
          expect(res.status, url).toBeLessThan(500);
          checkEscaped(res.text, mirror, `${base} ?…${p.id} as ${who}`, failures);
        }
      }
    }
    // Paths: the 404 page and the login form's next field.
    for (const p of reflect) {
      const res404 = await send(t, 'GET', `/nope/${encodeURIComponent(p.payload)}`, { headers: { Cookie: w.viewers.admin.cookie } });
      checkEscaped(res404.text, mirror, `404 ${p.id}`, failures);
      const login = await send(t, 'GET', `/login?next=${encodeURIComponent('/' + p.payload)}`);
      checkEscaped(login.text, mirror, `login next ${p.id}`, failures);
      const bad = await send(t, 'POST', '/login', {
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ email: p.payload, password: p.payload, next: '/' + p.payload }).toString(),
      });
      checkEscaped(bad.text, mirror, `login form ${p.id}`, failures);
    }
    expect(failures).toEqual([]);
  });
});
