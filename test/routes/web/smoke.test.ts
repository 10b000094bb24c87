import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loginAs, makeApp, type TestApp } from '../../helpers/app.js';

describe('skeleton', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.close());

  it('serves health, login page and the account page after login', async () => {
    expect((await t.request.get('/healthz')).status).toBe(200);
    const login = await t.request.get('/login');
    expect(login.status).toBe(200);
    expect(login.headers['content-security-policy']).toContain("script-src 'self'");
    const s = await loginAs(t, 'admin');
    const acc = await t.request.get('/account').set('Cookie', s.cookie);
    expect(acc.status).toBe(200);
    expect(acc.text).toContain(s.user.email);
  });
});
