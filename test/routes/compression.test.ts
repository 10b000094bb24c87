import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { insertClient, makeLicense, openOk } from '../helpers/licensing.js';
import { loginAs, makeApiToken, makeApp, type TestApp } from '../helpers/app.js';

// What travels on a slow link: JSON lists compressed, htmx fragments without the document-only headers.

describe('bytes on the wire', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.close());

  it('compresses JSON lists of the admin API; small agent answers go as they are', async () => {
    for (let i = 0; i < 40; i++) await insertClient(t.db, t.clock.now(), `Client number ${i} with a longish name`);
    const token = await makeApiToken(t, 'admin');
    const list = await t.request.get('/api/v1/admin/clients').set('Authorization', `Bearer ${token}`).set('Accept-Encoding', 'gzip');
    expect(list.status).toBe(200);
    expect(list.headers['content-encoding']).toBe('gzip');
    expect(list.body.items).toHaveLength(40);

    const lic = await makeLicense(t);
    const s = await openOk(t, lic.key);
    const hb = await t.request
      .post(`/api/v1/sessions/${s.sessionId}/heartbeat`)
      .set('Authorization', `Bearer ${s.token}`)
      .set('Accept-Encoding', 'gzip')
      .send({});
    expect(hb.status).toBe(200);
    expect(hb.headers['content-encoding']).toBeUndefined();
    expect(hb.body).toEqual({ commands: [], heartbeatIntervalSec: 60 });
  });

  it('a page and the same URL as an htmx fragment both carry the security headers; the fragment is no-store and varies on HX-Request', async () => {
    const s = await loginAs(t, 'admin');
    const page = await t.request.get('/monitor').set('Cookie', s.cookie);
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['x-frame-options']).toBe('DENY');

    const fragment = await t.request.get('/monitor').set('Cookie', s.cookie).set('HX-Request', 'true');
    expect(fragment.status).toBe(200);
    expect(fragment.text).toContain('id="monitor-live"');
    expect(fragment.text).not.toContain('<html');
    expect(fragment.headers['content-security-policy']).toBe(page.headers['content-security-policy']);
    expect(fragment.headers['x-frame-options']).toBe('DENY');
    expect(fragment.headers['x-content-type-options']).toBe('nosniff');
    expect(fragment.headers['cache-control']).toBe('no-store');
    expect(fragment.headers['vary']).toContain('HX-Request');
  });
});
