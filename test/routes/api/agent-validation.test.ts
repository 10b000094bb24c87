import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { send } from '../../fuzz/fuzz-kit.js';
import { makeApp, type TestApp } from '../../helpers/app.js';
import { agentTableCounts, captureBody, heartbeat, makeLicense, openOk, sessionRow, type OpenedSession } from '../../helpers/licensing.js';

type Case = [name: string, body: unknown, status: number, code: string, field?: string];

const emoji = (n: number) => '😀'.repeat(n); // one code point, two UTF-16 units each

describe('agent API input validation: every bad input is a 4xx with the error shape and stores nothing', () => {
  let t: TestApp;
  let key: string;
  let s: OpenedSession;
  beforeEach(async () => {
    t = await makeApp();
    key = (await makeLicense(t, { maxHosts: 5, features: { reports: null } })).key;
    s = await openOk(t, key);
    t.clock.advance(10_000);
  });
  afterEach(() => t.close());

  const cap = (o: Record<string, unknown>) => captureBody(key, o);
  const without = (field: string) => {
    const b: Record<string, unknown> = captureBody(key);
    delete b[field];
    return b;
  };
  const manyComponents = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v']));

  const captureCases: Case[] = [
    ['malformed JSON', '{"licenseKey": "A', 400, 'invalid_request', 'body'],
    ['a JSON array', [], 400, 'invalid_request'],
    ['JSON null', 'null', 400, 'invalid_request'],
    ['missing licenseKey', without('licenseKey'), 400, 'invalid_request', 'licenseKey'],
    ['missing fingerprint', without('fingerprint'), 400, 'invalid_request', 'fingerprint'],
    ['missing user', without('user'), 400, 'invalid_request', 'user'],
    ['user of the wrong type', cap({ user: 42 }), 400, 'invalid_request', 'user'],
    ['user null', cap({ user: null }), 400, 'invalid_request', 'user'],
    ['licenseKey over 512 code points', cap({ licenseKey: 'K'.repeat(513) }), 400, 'invalid_request', 'licenseKey'],
    ['user over 512 code points', cap({ user: emoji(513) }), 400, 'invalid_request', 'user'],
    ['fingerprint as a string', cap({ fingerprint: 'abc' }), 400, 'invalid_request', 'fingerprint'],
    ['fingerprint as an array', cap({ fingerprint: ['a'] }), 400, 'invalid_request', 'fingerprint'],
    ['fingerprint without components', cap({ fingerprint: {} }), 400, 'invalid_request', 'fingerprint'],
    ['fingerprint with 33 components', cap({ fingerprint: manyComponents }), 400, 'invalid_request', 'fingerprint'],
    ['fingerprint value not a string', cap({ fingerprint: { cpu: 1 } }), 400, 'invalid_request', 'fingerprint.cpu'],
    ['fingerprint key over 64 characters', cap({ fingerprint: { ['k'.repeat(65)]: 'v' } }), 400, 'invalid_request'],
    ['fingerprint empty key', cap({ fingerprint: { '': 'v' } }), 400, 'invalid_request'],
    ['clientSessionId over 64', cap({ clientSessionId: 'c'.repeat(65) }), 400, 'invalid_request', 'clientSessionId'],
    ['unknown connectionType', cap({ connectionType: 'desktop' }), 400, 'invalid_request', 'connectionType'],
    ['unknown role', cap({ roles: ['root'] }), 400, 'invalid_request', 'roles.0'],
    ['features not an array', cap({ features: 'reports' }), 400, 'invalid_request', 'features'],
    ['infobase without id', cap({ infobase: { name: 'Acc' } }), 400, 'invalid_request', 'infobase.id'],
    ['machine.hostname a number', cap({ machine: { hostname: 7 } }), 400, 'invalid_request', 'machine.hostname'],
    ['machine.ip not an address', cap({ machine: { ip: 'not an ip <b>' } }), 400, 'invalid_request', 'machine.ip'],
    ['client.ip not an address', cap({ client: { ip: '10.0.0.256' } }), 400, 'invalid_request', 'client.ip'],
    // JSON.stringify writes a lone surrogate as the escape "\ud800": valid JSON, but not text.
    ['user with a lone surrogate', cap({ user: 'Ivan\ud800' }), 400, 'invalid_request', 'user'],
    ['fingerprint key with a lone surrogate', cap({ fingerprint: { '\udc00': 'v' } }), 400, 'invalid_request', 'fingerprint.\udc00'],
    ['fingerprint value with a lone surrogate', cap({ fingerprint: { cpu: '\ud83d' } }), 400, 'invalid_request', 'fingerprint.cpu'],
    ['fingerprint keys equal after NFC', cap({ fingerprint: { '\u00e9': '1', 'e\u0301': '2' } }), 400, 'invalid_request', 'fingerprint.e\u0301'],
    ['an empty body', '', 400, 'invalid_request', 'body'],
  ];

  for (const [name, body, status, code, field] of captureCases) {
    it(`capture: ${name} → ${status} ${code}`, async () => {
      const before = await agentTableCounts(t.db);
      const req = t.request.post('/api/v1/sessions').set('Content-Type', 'application/json');
      const res = await req.send(typeof body === 'string' ? body : JSON.stringify(body));
      expect(res.status).toBe(status);
      expect(res.body.error.code).toBe(code);
      expect(typeof res.body.error.message).toBe('string');
      if (field) expect(Object.keys(res.body.error.details.fields)).toContain(field);
      expect(await agentTableCounts(t.db)).toEqual(before);
    });
  }

  it('capture: a body over 64 KiB → 413 payload_too_large (checked before parsing)', async () => {
    const before = await agentTableCounts(t.db);
    const res = await t.request.post('/api/v1/sessions').set('Content-Type', 'application/json').send(JSON.stringify(cap({ pad: 'x'.repeat(70_000) })));
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
    const broken = await t.request.post('/api/v1/sessions').set('Content-Type', 'application/json').send('{' + ' '.repeat(70_000));
    expect(broken.status).toBe(413);
    expect(await agentTableCounts(t.db)).toEqual(before);
  });

  it('a path whose escapes are not UTF-8 is a 400 naming the path, and changes nothing', async () => {
    const s = await openOk(t, key, { features: [] });
    const before = await agentTableCounts(t.db);
    for (const bad of ['%ZZ', '%ED%A0%80', '%E0%A4%A']) {
      const res = await t.request.delete(`/api/v1/sessions/${s.sessionId}/features/${bad}`).set('Authorization', `Bearer ${s.token}`);
      expect([bad, res.status, res.body.error.code, Object.keys(res.body.error.details.fields)]).toEqual([bad, 400, 'invalid_request', ['path']]);
    }
    expect(await agentTableCounts(t.db)).toEqual(before);
    // A well-formed escape is the name it spells.
    expect((await t.request.delete(`/api/v1/sessions/${s.sessionId}/features/${encodeURIComponent('отчёты')}`).set('Authorization', `Bearer ${s.token}`)).status).toBe(204);
  });

  it('capture: a non-JSON content type → 415 unsupported_media_type', async () => {
    const before = await agentTableCounts(t.db);
    const res = await t.request.post('/api/v1/sessions').set('Content-Type', 'text/plain').send(JSON.stringify(cap({})));
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe('unsupported_media_type');
    const form = await t.request.post('/api/v1/sessions').type('form').send({ licenseKey: key });
    expect(form.status).toBe(415);
    // JSON is UTF-8: a body said to be in another charset is refused, not read as UTF-8.
    for (const type of ['application/json; charset=iso-8859-1', 'application/json;charset=windows-1251', 'application/json; charset=utf-16']) {
      const res = await t.request.post('/api/v1/sessions').set('Content-Type', type).send(JSON.stringify(cap({})));
      expect([type, res.status, res.body.error.code]).toEqual([type, 415, 'unsupported_media_type']);
      expect(res.body.error.message).toBe('The request body must be application/json, in UTF-8.');
    }
    expect(await agentTableCounts(t.db)).toEqual(before);
    for (const type of ['application/json; charset=utf-8', 'application/json;charset="UTF-8"', 'application/json; charset=utf8; x=1']) {
      const res = await t.request.post('/api/v1/sessions').set('Content-Type', type).send(JSON.stringify(cap({ clientSessionId: type })));
      expect([type, res.status]).toEqual([type, 201]);
    }
  });

  it('capture: a body that is not UTF-8 → 400 naming the body (not replacement characters); the same body whole is read as usual, any case of the type', async () => {
    const before = await agentTableCounts(t.db);
    const good = Buffer.from(JSON.stringify(cap({ user: 'Пётр' })), 'utf8');
    // The same JSON with one byte of the user name broken: 0xFF never occurs in UTF-8.
    const broken = Buffer.from(good);
    broken[broken.indexOf(Buffer.from('Пётр', 'utf8'))] = 0xff;
    // Exactly these bytes (supertest would serialize a Buffer as JSON).
    const res = await send(t, 'POST', '/api/v1/sessions', { body: broken, headers: { 'Content-Type': 'application/json' } });
    expect(res.status).toBe(400);
    const error = JSON.parse(res.text).error;
    expect(error.code).toBe('invalid_request');
    expect(Object.keys(error.details.fields)).toEqual(['body']);
    // A sequence cut off at the end is refused too, and leaves nothing behind for the next body (one decoder serves all).
    const cut = await send(t, 'POST', '/api/v1/sessions', { body: Buffer.concat([good, Buffer.from([0xd0])]), headers: { 'Content-Type': 'application/json' } });
    expect(cut.status).toBe(400);
    expect(Object.keys(JSON.parse(cut.text).error.details.fields)).toEqual(['body']);
    expect(await agentTableCounts(t.db)).toEqual(before);
    const ok = await send(t, 'POST', '/api/v1/sessions', { body: good, headers: { 'Content-Type': 'APPLICATION/JSON; charset=UTF-8' } });
    expect(ok.status).toBe(201);
    expect((await sessionRow(t, JSON.parse(ok.text).sessionId)).user_name).toBe('Пётр');
  });

  it('capture: unknown fields are ignored; 512 code points are allowed even when that is 1024 UTF-16 units', async () => {
    const res = await t.request.post('/api/v1/sessions').send(cap({ user: emoji(512), somethingNew: { a: 1 }, fingerprint: { cpu: 'x', ['k'.repeat(64)]: 'v' } }));
    expect(res.status).toBe(201);
    expect((await sessionRow(t, res.body.sessionId)).user_name).toBe(emoji(512));
  });

  it('the message follows Accept-Language; the code does not', async () => {
    const res = await t.request.post('/api/v1/sessions').set('Accept-Language', 'ru').send(without('user'));
    expect(res.body.error.code).toBe('invalid_request');
    expect(res.body.error.message).toMatch(/^Некорректный запрос: user/);
  });

  it('field messages follow Accept-Language too: our own and the validator\'s, in the message and in details', async () => {
    const body = JSON.stringify({ sleeping: 1, metrics: { calls: { total: 1.5 } }, packages: [{ id: 'a', name: 'x'.repeat(513) }, { id: 'a' }] });
    const send = (lang: string) =>
      t.request.post(`/api/v1/sessions/${s.sessionId}/heartbeat`).set('Authorization', `Bearer ${s.token}`).set('Content-Type', 'application/json').set('Accept-Language', lang).send(body);
    const ru = (await send('ru')).body.error;
    const en = (await send('en')).body.error;
    expect(Object.keys(ru.details.fields)).toEqual(Object.keys(en.details.fields));
    expect(ru.details.fields['packages.0.name']).toBe('не более 512 символов');
    expect(en.details.fields['packages.0.name']).toBe('at most 512 characters');
    expect(ru.details.fields['packages.1.id']).toBe('повторяющийся id пакета');
    // Not one English word in the Russian message; every field named in it.
    expect(ru.message).not.toMatch(/expected|invalid|received|characters|duplicate/i);
    for (const f of Object.keys(en.details.fields)) expect(ru.message).toContain(f);
    // A wrong type in our own words, in both languages (zod's Russian named the types in English).
    expect(ru.details.fields.sleeping).toBe('должно быть true или false, а не числом');
    expect(en.details.fields.sleeping).toBe('must be true or false, not a number');
    // A missing field is "required"; a string where an object goes says both.
    const { user: _user, ...noUser } = cap({ machine: 'ACC-SRV-01' });
    const missing = async (lang: string) => (await t.request.post('/api/v1/sessions').set('Accept-Language', lang).send(noUser)).body.error.details.fields;
    expect(await missing('en')).toEqual({ user: 'required', machine: 'must be an object, not a string' });
    expect(await missing('ru')).toEqual({ user: 'обязательное поле', machine: 'должно быть объектом, а не строкой' });
    // A missing fingerprint is "required" too, not "must be an object whose values are strings".
    const noFingerprint = async (lang: string) => (await t.request.post('/api/v1/sessions').set('Accept-Language', lang).send(without('fingerprint'))).body.error.details.fields;
    expect(await noFingerprint('en')).toEqual({ fingerprint: 'required' });
    expect(await noFingerprint('ru')).toEqual({ fingerprint: 'обязательное поле' });
  });

  it('ranges, sizes and choices are said in our own words in both languages (not zod\'s "Too small: expected number to be >=0")', async () => {
    const body = {
      metrics: { cpuMs: { current: -1 }, calls: { total: 1.5 }, memoryBytes: { total: 2 ** 60 } },
      packages: [{ id: 'a', state: 'paused', progress: 101 }],
    };
    const send = async (lang: string) =>
      (await t.request.post(`/api/v1/sessions/${s.sessionId}/heartbeat`).set('Authorization', `Bearer ${s.token}`).set('Accept-Language', lang).send(body)).body.error;
    const en = await send('en');
    const ru = await send('ru');
    expect(en.details.fields).toEqual({
      'metrics.cpuMs.current': 'must be at least 0',
      'metrics.calls.total': 'must be a whole number',
      'metrics.memoryBytes.total': `must be at most ${Number.MAX_SAFE_INTEGER}`,
      'packages.0.state': 'must be one of "running", "idle"',
      'packages.0.progress': 'must be at most 100',
    });
    expect(ru.details.fields).toEqual({
      'metrics.cpuMs.current': 'должно быть не меньше 0',
      'metrics.calls.total': 'должно быть целым числом',
      'metrics.memoryBytes.total': `должно быть не больше ${Number.MAX_SAFE_INTEGER}`,
      'packages.0.state': 'должно быть одним из: "running", "idle"',
      'packages.0.progress': 'должно быть не больше 100',
    });
    expect(ru.message).not.toMatch(/expected|Too (small|big)|Invalid|int,/);
    const many = { packages: Array.from({ length: 201 }, (_, i) => ({ id: `p${i}` })) };
    const tooMany = async (lang: string) =>
      (await t.request.post(`/api/v1/sessions/${s.sessionId}/heartbeat`).set('Authorization', `Bearer ${s.token}`).set('Accept-Language', lang).send(many)).body.error.details.fields;
    expect(await tooMany('en')).toEqual({ packages: 'must have at most 200 items' });
    expect(await tooMany('ru')).toEqual({ packages: 'элементов должно быть не больше 200' });
    const conn = (await t.request.post('/api/v1/sessions').send(cap({ connectionType: 'desktop' }))).body.error.details.fields;
    expect(conn).toEqual({ connectionType: 'must be one of "client", "external", "background", "webservice"' });
  });

  it('a 29 February of a leap year and an offset time are fine', async () => {
    expect((await heartbeat(t, s, { lastInputAt: '2024-02-29T23:59:59.999+03:00', packages: [{ id: 'a', createdAt: '2024-02-29T00:00:00Z' }] })).status).toBe(200);
    expect((await sessionRow(t, s.sessionId)).last_input_at).toBe(Date.UTC(2024, 1, 29, 20, 59, 59, 999));
  });

  it('a fingerprint key "__proto__" is a component like any other, not dropped', async () => {
    const withProto = JSON.stringify(cap({ fingerprint: { cpu: 'A3' } })).replace('"fingerprint":{', '"fingerprint":{"__proto__":"zz",');
    const res = await t.request.post('/api/v1/sessions').set('Content-Type', 'application/json').send(withProto);
    expect(res.status).toBe(201);
    const plain = await t.request.post('/api/v1/sessions').send(cap({ fingerprint: { cpu: 'A3' } }));
    expect(plain.status).toBe(201);
    const hosts = await t.db.selectFrom('hosts').select(['id', 'components']).orderBy('id').execute();
    const [a, b] = [await sessionRow(t, res.body.sessionId), await sessionRow(t, plain.body.sessionId)];
    expect(a.host_id).not.toBe(b.host_id);
    expect(JSON.parse(hosts.find((h) => h.id === a.host_id)!.components)).toEqual(JSON.parse('{"__proto__":"zz","cpu":"A3"}'));
    // Alone it is one component, not none.
    const alone = await t.request.post('/api/v1/sessions').set('Content-Type', 'application/json').send(JSON.stringify(cap({ fingerprint: { x: 'y' } })).replace('{"x":"y"}', '{"__proto__":"x"}'));
    expect(alone.status).toBe(201);
  });

  it('a body over 64 KiB is 413 where the endpoint reads no body, too', async () => {
    const before = await agentTableCounts(t.db);
    const big = 'x'.repeat(70_000);
    const release = await t.request.delete(`/api/v1/sessions/${s.sessionId}`).set('Authorization', `Bearer ${s.token}`).set('Content-Type', 'application/json').send(big);
    expect(release.status).toBe(413);
    expect(release.body.error.code).toBe('payload_too_large');
    const feature = await t.request.delete(`/api/v1/sessions/${s.sessionId}/features/reports`).set('Authorization', `Bearer ${s.token}`).set('Content-Type', 'application/json').send(big);
    expect(feature.status).toBe(413);
    expect(await agentTableCounts(t.db)).toEqual(before);
    expect((await sessionRow(t, s.sessionId)).closed_at).toBeNull();
  });

  const hbCases: Case[] = [
    ['malformed JSON', '{', 400, 'invalid_request', 'body'],
    ['sleeping not a boolean', { sleeping: 'yes' }, 400, 'invalid_request', 'sleeping'],
    ['lastInputAt not a time', { lastInputAt: 'yesterday' }, 400, 'invalid_request', 'lastInputAt'],
    ['negative cpu total', { metrics: { cpuMs: { total: -1 } } }, 400, 'invalid_request', 'metrics.cpuMs.total'],
    ['fractional calls', { metrics: { calls: { total: 1.5 } } }, 400, 'invalid_request', 'metrics.calls.total'],
    ['number above 2^53−1', { metrics: { dataBytes: { total: 2 ** 53 } } }, 400, 'invalid_request', 'metrics.dataBytes.total'],
    ['metric as a string', { metrics: { dbmsBytes: { total: '5' } } }, 400, 'invalid_request', 'metrics.dbmsBytes.total'],
    ['packages not an array', { packages: {} }, 400, 'invalid_request', 'packages'],
    ['201 packages', { packages: Array.from({ length: 201 }, (_, i) => ({ id: `p${i}` })) }, 400, 'invalid_request', 'packages'],
    ['package without id', { packages: [{ path: '/a' }] }, 400, 'invalid_request', 'packages.0.id'],
    ['package id over 64', { packages: [{ id: 'p'.repeat(65) }] }, 400, 'invalid_request', 'packages.0.id'],
    ['duplicate package ids', { packages: [{ id: 'a' }, { id: 'a' }] }, 400, 'invalid_request', 'packages.1.id'],
    ['unknown state', { packages: [{ id: 'a', state: 'paused' }] }, 400, 'invalid_request', 'packages.0.state'],
    ['unknown origin', { packages: [{ id: 'a', origin: 'manual' }] }, 400, 'invalid_request', 'packages.0.origin'],
    ['progress over 100', { packages: [{ id: 'a', state: 'running', progress: 101 }] }, 400, 'invalid_request', 'packages.0.progress'],
    ['refs not strings', { packages: [{ id: 'a', refs: [1] }] }, 400, 'invalid_request', 'packages.0.refs.0'],
    ['path over 512', { packages: [{ id: 'a', path: 'p'.repeat(513) }] }, 400, 'invalid_request', 'packages.0.path'],
    ['acks not an array', { acks: 'x' }, 400, 'invalid_request', 'acks'],
    ['a date that does not exist', { lastInputAt: '2026-02-31T10:00:00Z' }, 400, 'invalid_request', 'lastInputAt'],
    ['hour 24', { lastInputAt: '2026-11-30T24:00:00Z' }, 400, 'invalid_request', 'lastInputAt'],
    ['an offset of 24 hours', { lastInputAt: '2026-11-30T10:00:00+24:00' }, 400, 'invalid_request', 'lastInputAt'],
    ['year 0000', { lastInputAt: '0000-01-01T00:00:00Z' }, 400, 'invalid_request', 'lastInputAt'],
    ['29 February of a common year', { packages: [{ id: 'a', createdAt: '2025-02-29T00:00:00Z' }] }, 400, 'invalid_request', 'packages.0.createdAt'],
    ['package id with a lone surrogate', { packages: [{ id: '\ud800' }] }, 400, 'invalid_request', 'packages.0.id'],
    ['an empty package path', { packages: [{ id: 'a', path: '' }] }, 400, 'invalid_request', 'packages.0.path'],
    ['an ack with a lone surrogate', { acks: ['\udfff'] }, 400, 'invalid_request', 'acks.0'],
    ['an empty body', '', 400, 'invalid_request', 'body'],
  ];

  for (const [name, body, status, code, field] of hbCases) {
    it(`heartbeat: ${name} → ${status} ${code}, lease not renewed`, async () => {
      const before = await agentTableCounts(t.db);
      const res = await t.request
        .post(`/api/v1/sessions/${s.sessionId}/heartbeat`)
        .set('Authorization', `Bearer ${s.token}`)
        .set('Content-Type', 'application/json')
        .send(typeof body === 'string' ? body : JSON.stringify(body));
      expect(res.status).toBe(status);
      expect(res.body.error.code).toBe(code);
      if (field) expect(Object.keys(res.body.error.details.fields)).toContain(field);
      expect(await agentTableCounts(t.db)).toEqual(before);
      expect((await sessionRow(t, s.sessionId)).last_seen_at).toBe(t.clock.now() - 10_000);
    });
  }

  it('heartbeat: validation comes before authentication; 413 and 415 too', async () => {
    const bad = await t.request.post(`/api/v1/sessions/${s.sessionId}/heartbeat`).set('Authorization', 'Bearer wrong').send({ sleeping: 1 });
    expect(bad.status).toBe(400);
    const big = await heartbeat(t, s, { packages: [{ id: 'a', name: 'x'.repeat(66_000) }] });
    expect(big.status).toBe(413);
    const text = await t.request.post(`/api/v1/sessions/${s.sessionId}/heartbeat`).set('Authorization', `Bearer ${s.token}`).set('Content-Type', 'text/plain').send('{}');
    expect(text.status).toBe(415);
    expect((await sessionRow(t, s.sessionId)).last_seen_at).toBe(t.clock.now() - 10_000);
  });

  it('heartbeat: negative memory is fine', async () => {
    expect((await heartbeat(t, s, { metrics: { memoryBytes: { current: -10, total: -2048 } } })).status).toBe(200);
  });

  it('an unknown route is a JSON 404 not_found that says so', async () => {
    const res = await t.request.post('/api/v1/sessions/x/nope').send({});
    expect(res.status).toBe(404);
    expect(res.body.error).toEqual({ code: 'not_found', message: 'There is no such API endpoint.' });
  });
});

describe('token hashing', () => {
  it('the database file holds no plaintext session token, only SHA-256 hashes', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-tokens-'));
    const file = path.join(dir, 'monitor.db');
    const t = await makeApp({}, file);
    try {
      const lic = await makeLicense(t);
      const a = await openOk(t, lic.key, { clientSessionId: 'c1' });
      const again = await t.request.post('/api/v1/sessions').send(captureBody(lic.key, { clientSessionId: 'c1' }));
      const tokens = [a.token, again.body.token];
      await heartbeat(t, again.body).expect(200);
      const row = await sessionRow(t, a.sessionId);
      expect(row.token_hash).toMatch(/^[0-9a-f]{64}$/);
      t.sqlite.pragma('wal_checkpoint(TRUNCATE)');
      const bytes = Buffer.concat(fs.readdirSync(dir).map((f) => fs.readFileSync(path.join(dir, f))));
      for (const tok of tokens) expect(bytes.includes(Buffer.from(tok))).toBe(false);
      // And no text column of any table holds one.
      const tables = t.sqlite.prepare("select name from sqlite_master where type = 'table'").all() as { name: string }[];
      for (const { name } of tables) {
        for (const r of t.sqlite.prepare(`select * from "${name}"`).all() as Record<string, unknown>[]) {
          for (const v of Object.values(r)) if (typeof v === 'string') for (const tok of tokens) expect(v.includes(tok)).toBe(false);
        }
      }
    } finally {
      await t.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
