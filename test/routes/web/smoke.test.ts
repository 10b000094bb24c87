import { sql } from 'kysely';
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
    // Standards mode: every page starts with the doctype.
    expect(login.text.startsWith('<!DOCTYPE html><html')).toBe(true);
    const s = await loginAs(t, 'admin');
    const acc = await t.request.get('/account').set('Cookie', s.cookie);
    expect(acc.status).toBe(200);
    expect(acc.text).toContain(s.user.email);
  });

  it('health is 503 when the database no longer answers for its own data (select 1 would still pass)', async () => {
    expect((await t.request.get('/healthz')).body).toEqual({ status: 'ok' });
    // A database that lost its tables (or whose pages are unreadable) serves no page of the product.
    await sql`drop table settings`.execute(t.db);
    const res = await t.request.get('/healthz');
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ status: 'unavailable' });
  });
});

describe('api skeleton', () => {
  it('answers unknown API paths with the JSON error shape', async () => {
    const t = await makeApp();
    const res = await t.request.get('/api/v1/nope').set('Accept-Language', 'ru');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
    expect(res.body.error.message).toBe('Такого метода API нет.');
    await t.close();
  });
});
