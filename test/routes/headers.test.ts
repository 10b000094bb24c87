import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loginAs, makeApp, type TestApp } from '../helpers/app.js';
import { captureBody, heartbeat, makeLicense, openOk } from '../helpers/licensing.js';

// Which headers each kind of answer carries: the security headers on every answer with a body,
// the page headers on HTML, no-store on the agent and admin APIs, and nothing but what a 204/304
// needs on those. (How they are set is a matter of CPU: src/middleware/security-headers.ts.)

const SECURITY = ['x-content-type-options', 'referrer-policy'];
const PAGE = ['content-security-policy', 'x-frame-options', 'cross-origin-opener-policy', 'permissions-policy'];
const named = (headers: Record<string, unknown>) =>
  Object.keys(headers)
    .filter((h) => !['connection', 'date', 'keep-alive', 'content-length', 'transfer-encoding'].includes(h))
    .sort();

describe('headers by kind of answer', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeApp();
  });
  afterAll(() => t.close());

  const expectSecurity = (res: { headers: Record<string, string> }, label: string) => {
    expect(res.headers['x-content-type-options'], label).toBe('nosniff');
    expect(res.headers['referrer-policy'], label).toBe('same-origin');
  };
  const expectNoPage = (res: { headers: Record<string, string> }, label: string) => {
    for (const h of PAGE) expect(res.headers[h], `${label}: ${h}`).toBeUndefined();
  };
  /** An answer that is not a page: its status, the security headers, its caching, no page headers. */
  const expectNotPage = (res: { status: number; headers: Record<string, string> }, status: number, label: string, cacheControl = 'no-store') => {
    expect(res.status, label).toBe(status);
    expectSecurity(res, label);
    expect(res.headers['cache-control'], label).toBe(cacheControl);
    expectNoPage(res, label);
  };

  it('agent API: JSON answers carry the security headers and no-store, not the page headers', async () => {
    const lic = await makeLicense(t);
    const created = await t.request.post('/api/v1/sessions').send(captureBody(lic.key));
    expectNotPage(created, 201, 'capture');
    expect(created.headers['content-type']).toMatch(/^application\/json/);

    const s = await openOk(t, lic.key);
    expectNotPage(await heartbeat(t, s), 200, 'heartbeat');
    expectNotPage(await t.request.post('/api/v1/sessions').send({ licenseKey: 'nope' }), 400, 'refusal');
    expectNotPage(await t.request.get('/api/v1/nothing-here'), 404, 'unknown API path');
  });

  it('a 204 of the API carries no-store and no security headers', async () => {
    const lic = await makeLicense(t);
    const s = await openOk(t, lic.key);
    const released = await t.request.delete(`/api/v1/sessions/${s.sessionId}`).set('Authorization', `Bearer ${s.token}`);
    expect(released.status).toBe(204);
    expect(named(released.headers)).toEqual(['cache-control']);
    expect(released.headers['cache-control']).toBe('no-store');
  });

  it('pages and fragments carry every header; a redirect the security ones', async () => {
    const page = await t.request.get('/login');
    expect(page.status).toBe(200);
    expectSecurity(page, 'page');
    for (const h of PAGE) expect(page.headers[h], h).toBeTruthy();
    expect(page.headers['cache-control']).toBe('no-store');

    const redirect = await t.request.get('/monitor');
    expect(redirect.status).toBe(303);
    expectSecurity(redirect, 'redirect');
    // Not behind HTTPS: no HSTS (a browser would ignore it over http anyway).
    expect(page.headers['strict-transport-security']).toBeUndefined();
  });

  it('behind an HTTPS PUBLIC_URL, pages tell the browser to come back by HTTPS only', async () => {
    const https = await makeApp({ publicUrl: 'https://monitor.example.com', secureCookies: true });
    try {
      const page = await https.request.get('/login');
      expect(page.headers['strict-transport-security']).toBe('max-age=31536000');
      // Opened at another address than PUBLIC_URL's, a form is refused, and the log says why.
      const warnings: string[] = [];
      https.deps.logger = { ...https.deps.logger, warn: (msg: string) => void warnings.push(msg) };
      const refused = await https.request.post('/login').set('Host', 'localhost:3000').set('Origin', 'http://localhost:3000').type('form').send({ email: 'a@b.c', password: 'x' });
      expect(refused.status).toBe(403);
      expect(warnings).toEqual([
        `a form was refused: it came from http://localhost:3000, but PUBLIC_URL says the monitor is https://monitor.example.com. Open it at https://monitor.example.com, or set PUBLIC_URL to the address users reach.`,
      ]);
    } finally {
      await https.close();
    }
  });

  it('assets keep their own caching; the health check is JSON with the security headers', async () => {
    const page = await t.request.get('/login');
    const css = /href="(\/assets\/[^"]+\.css)"/.exec(page.text)![1];
    expectNotPage(await t.request.get(css).set('Accept-Encoding', 'br'), 200, 'asset', 'public, max-age=31536000, immutable');

    const health = await t.request.get('/healthz');
    expect(health.status).toBe(200);
    expectSecurity(health, 'health');
    expectNoPage(health, 'health');
  });

  it('a 304 of the monitor carries the validator and Vary only', async () => {
    const s = await loginAs(t, 'admin');
    const hx = { 'HX-Request': 'true' };
    const first = await t.request.get('/monitor').set('Cookie', s.cookie).set(hx);
    expect(first.status).toBe(200);
    const again = await t.request.get('/monitor').set('Cookie', s.cookie).set(hx).set('If-None-Match', String(first.headers['etag']));
    expect(again.status).toBe(304);
    expect(named(again.headers)).toEqual(['etag', 'vary']);
  });
});
