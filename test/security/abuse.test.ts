import http from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeApiToken, makeApp, makeUser, type TestApp } from '../helpers/app.js';
import { agentTableCounts, captureBody, makeLicense } from '../helpers/licensing.js';
import { baseUrl, send } from '../fuzz/fuzz-kit.js';

// The agent API and the forms from an attacker's side: oversized and streamed
// bodies, guessing license keys.

/** A body streamed in chunks without Content-Length (Transfer-Encoding: chunked). */
async function chunked(t: TestApp, method: string, path: string, headers: Record<string, string>, parts: string[]) {
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const p of parts) controller.enqueue(new TextEncoder().encode(p));
      controller.close();
    },
  });
  const res = await fetch((await baseUrl(t)) + path, { method, headers, body: stream, duplex: 'half' } as RequestInit);
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/**
 * Node's own client: it takes the answer even when the server sends it before
 * the upload ends (as it should for a 413), where fetch reports a closed socket.
 */
async function upload(t: TestApp, path: string, type: string, parts: string[], announce: boolean) {
  const url = new URL(path, await baseUrl(t));
  const total = parts.reduce((n, p) => n + Buffer.byteLength(p), 0);
  return new Promise<{ status: number | 'closed'; text: string }>((resolve) => {
    const req = http.request(url, { method: 'POST', headers: { 'Content-Type': type, ...(announce ? { 'Content-Length': String(total) } : {}) } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    // The server may stop listening to an upload it refuses.
    req.on('error', () => resolve({ status: 'closed', text: '' }));
    for (const p of parts) req.write(p);
    req.end();
  });
}

describe('body size limits', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp();
  });
  afterEach(() => t.close());

  it('agent API: over 64 KiB → 413, whether announced by Content-Length or streamed', async () => {
    const lic = await makeLicense(t);
    const before = await agentTableCounts(t.db);
    const big = JSON.stringify(captureBody(lic.key, { user: 'x'.repeat(70 * 1024) }));
    const announced = await send(t, 'POST', '/api/v1/sessions', { body: big, headers: { 'Content-Type': 'application/json' } });
    expect(announced.status).toBe(413);
    expect(JSON.parse(announced.text).error.code).toBe('payload_too_large');
    const streamed = await chunked(t, 'POST', '/api/v1/sessions', { 'Content-Type': 'application/json' }, Array.from({ length: 80 }, () => ' '.repeat(1024)).concat(big));
    expect(streamed.status).toBe(413);
    expect(JSON.parse(streamed.text).error.code).toBe('payload_too_large');
    expect(await agentTableCounts(t.db)).toEqual(before);
  });

  it('admin API: the same limit', async () => {
    const token = await makeApiToken(t, 'admin');
    const res = await send(t, 'POST', '/api/v1/admin/clients', {
      body: JSON.stringify({ name: 'x', notes: 'n'.repeat(70 * 1024) }),
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(413);
    expect(await t.db.selectFrom('clients').select('id').execute()).toEqual([]);
  });

  it('web forms: a body over 256 KiB is refused before anything reads it (no password check, no audit)', async () => {
    const user = await makeUser(t, 'admin');
    const parts = [`email=${encodeURIComponent(user.email)}&password=`, ...Array.from({ length: 300 }, () => 'x'.repeat(1024))];
    // Announced (as browsers do): the 413 page at once, the body unread.
    expect((await upload(t, '/login', 'application/x-www-form-urlencoded', parts, true)).status).toBe(413);
    // Streamed: reading stops at the limit; the answer is a 413 or a closed connection.
    expect([413, 'closed']).toContain((await upload(t, '/login', 'application/x-www-form-urlencoded', parts, false)).status);
    expect(await t.db.selectFrom('audit_log').select('action').execute()).toEqual([]);
    // An ordinary form still works.
    const ok = await send(t, 'POST', '/login', { body: `email=${encodeURIComponent(user.email)}&password=nope-nope-nope`, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    expect(ok.status).toBe(401);
  });
});

describe('license keys cannot be enumerated', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('every unknown key, however close to a real one, gets the same status and the same body', async () => {
    t = await makeApp();
    const lic = await makeLicense(t);
    const flip = (k: string, i: number) => k.slice(0, i) + (k[i] === 'A' ? 'B' : 'A') + k.slice(i + 1);
    const unknown = [
      'NOPE',
      flip(lic.key, 0),
      flip(lic.key, lic.key.length - 1),
      // (The key in lower case or with spaces around it is the key, as typed by a person: not unknown.)
      `${lic.key}\u200b`,
      lic.key.replace(/A/g, '\u0410') + (lic.key.includes('A') ? '' : '\u0410'), // Cyrillic look-alike
      lic.key.slice(0, -1),
      `${lic.key}-2345`,
      "' OR 1=1 --",
      '%',
      'K'.repeat(512),
    ];
    for (const lang of ['en', 'ru']) {
      const answers = await Promise.all(
        unknown.map((key) => send(t, 'POST', '/api/v1/sessions', { body: JSON.stringify(captureBody(key)), headers: { 'Content-Type': 'application/json', 'Accept-Language': lang } })),
      );
      const shapes = new Set(answers.map((a) => `${a.status} ${a.text}`));
      expect([...shapes]).toHaveLength(1);
      expect(answers[0].status).toBe(404);
      expect(JSON.parse(answers[0].text).error.code).toBe('license_not_found');
      expect(answers[0].text).not.toContain(lic.key.slice(0, 4));
    }
    expect((await t.request.post('/api/v1/sessions').send(captureBody(lic.key))).status).toBe(201);
  });

  it('guessing is throttled per address: unknown keys count against the capture limit', async () => {
    t = await makeApp({ captureRatePerIp: 20, captureRatePerKey: 1000, captureRateWindowSeconds: 60 });
    const lic = await makeLicense(t);
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) statuses.push((await t.request.post('/api/v1/sessions').send(captureBody(`GUESS-${i}`))).status);
    expect(statuses.slice(0, 20).every((s) => s === 404)).toBe(true);
    expect(statuses.slice(20).every((s) => s === 429)).toBe(true);
    // The real key from that address is refused too until the window passes: guessing reveals nothing.
    const res = await t.request.post('/api/v1/sessions').send(captureBody(lic.key));
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('60');
    expect(res.body.error.details.retryAfterSec).toBe(60);
    t.clock.advance(60_000);
    expect((await t.request.post('/api/v1/sessions').send(captureBody(lic.key))).status).toBe(201);
  });

  it('invalid captures are not counted: 400 comes before 429, also for fingerprint keys equal after NFC', async () => {
    t = await makeApp({ captureRatePerIp: 3, captureRatePerKey: 1000, captureRateWindowSeconds: 60 });
    const lic = await makeLicense(t);
    const twins = captureBody(lic.key, { fingerprint: { '\u00e9': '1', 'e\u0301': '2' } });
    for (let i = 0; i < 5; i++) expect((await t.request.post('/api/v1/sessions').send(twins)).status).toBe(400);
    for (let i = 0; i < 3; i++) expect((await t.request.post('/api/v1/sessions').send(captureBody(lic.key))).status).toBe(201);
    // Limit spent: a valid capture waits, a bad one is still told what is wrong.
    expect((await t.request.post('/api/v1/sessions').send(captureBody(lic.key))).status).toBe(429);
    expect((await t.request.post('/api/v1/sessions').send(twins)).status).toBe(400);
  });
});
