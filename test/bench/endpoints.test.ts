import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { makeApp, type TestApp } from '../helpers/app.js';

// The benchmark's endpoints exist only when BENCH_ENDPOINTS=1 (npm run bench sets it).

let t: TestApp | null = null;
afterEach(async () => {
  await t?.close();
  t = null;
});

describe('benchmark-only endpoints', () => {
  it('are off by default and only BENCH_ENDPOINTS=1 turns them on', () => {
    expect(loadConfig({}).benchEndpoints).toBe(false);
    expect(loadConfig({ BENCH_ENDPOINTS: '0' }).benchEndpoints).toBe(false);
    expect(loadConfig({ BENCH_ENDPOINTS: '1' }).benchEndpoints).toBe(true);
    expect(() => loadConfig({ BENCH_ENDPOINTS: 'yes' })).toThrow(/BENCH_ENDPOINTS/);
  });

  it('answer 404 without the flag', async () => {
    t = await makeApp();
    const echo = await t.request.post('/__bench/echo').set('Content-Type', 'application/json').send({ a: 1 });
    expect(echo.status).toBe(404);
    expect((await t.request.get('/__bench/stats')).status).toBe(404);
    const hb = await t.request.post('/api/v1/__bench/sessions/s1/heartbeat').set('Content-Type', 'application/json').set('Authorization', 'Bearer x').send({});
    expect(hb.status).toBe(404);
  });

  it('with the flag: a bare JSON echo and the process figures', async () => {
    t = await makeApp({ benchEndpoints: true });
    const echo = await t.request.post('/__bench/echo').set('Content-Type', 'application/json').send({ a: 1 });
    expect(echo.status).toBe(200);
    expect(echo.body).toEqual({ commands: [], heartbeatIntervalSec: 60 });
    const stats = await t.request.get('/__bench/stats');
    expect(stats.status).toBe(200);
    expect(stats.body.cpuUs).toBeGreaterThan(0);
    expect(stats.body.rss).toBeGreaterThan(0);
  });

  it('with the flag: the heartbeat route without its database work checks what the real one checks', async () => {
    t = await makeApp({ benchEndpoints: true });
    const path = '/api/v1/__bench/sessions/any-id/heartbeat';
    const ok = await t.request.post(path).set('Content-Type', 'application/json').set('Authorization', 'Bearer secret').send({ sleeping: false, metrics: { cpuMs: { current: 1 } } });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ commands: [], heartbeatIntervalSec: 60 });
    expect(ok.headers['cache-control']).toBe('no-store');
    const bad = await t.request.post(path).set('Content-Type', 'application/json').set('Authorization', 'Bearer secret').send({ sleeping: 'no' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.fields).toHaveProperty('sleeping');
    const anonymous = await t.request.post(path).set('Content-Type', 'application/json').send({});
    expect(anonymous.status).toBe(401);
  });
});
