import { describe, expect, it } from 'vitest';
import { startingResponse } from '../../src/lib/starting.js';

describe('the answer while the server starts', () => {
  it('is the API error shape under /api, in the caller language, with Retry-After', async () => {
    const res = startingResponse(new Request('http://127.0.0.1/api/v1/sessions', { method: 'POST', headers: { 'accept-language': 'ru' } }), 'en');
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ error: { code: 'unavailable', message: 'Session Monitor запускается. Повторите через секунду.', details: { retryAfterSec: 1 } } });
  });

  it('is plain text elsewhere (a browser, the health check), in the default language', async () => {
    const res = startingResponse(new Request('http://127.0.0.1/healthz'), 'en');
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toBe('Session Monitor is starting. Try again in a second.');
  });
});
