import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeApiToken, makeApp, type TestApp } from '../../helpers/app.js';
import { adminClient, adminLicense, insertHost } from '../../helpers/admin.js';
import { staffActor } from '../../helpers/licensing.js';
import { createLicense } from '../../../src/models/licenses.js';

// What an integrator's script meets: every field message of a 400 names the real bounds and
// follows Accept-Language, also where the check is a model's (ranges, cross-field rules).
describe('admin API as an integration sees it: field messages', () => {
  let t: TestApp;
  let admin: { Authorization: string };
  const ru = { 'Accept-Language': 'ru' };
  beforeEach(async () => {
    t = await makeApp();
    admin = { Authorization: `Bearer ${await makeApiToken(t, 'admin')}` };
  });
  afterEach(() => t.close());

  it('a license limit out of range names the real range, whichever side is wrong', async () => {
    const client = await adminClient(t);
    const base = { clientId: client.id, product: 'P', maxHosts: 1 };
    const cases: [object, string, string][] = [
      [{ maxHosts: 0 }, 'maxHosts', 'must be a whole number from 1 to 1000000'],
      [{ maxHosts: -1 }, 'maxHosts', 'must be a whole number from 1 to 1000000'],
      [{ maxHosts: 2 ** 53 }, 'maxHosts', 'must be a whole number from 1 to 1000000'],
      [{ maxSessions: -5 }, 'maxSessions', 'must be a whole number from 1 to 1000000'],
      [{ selfResetQuota: -1 }, 'selfResetQuota', 'must be a whole number from 0 to 1000'],
      [{ features: ['a'], featureLimits: { a: -1 } }, 'featureLimits.a', 'must be a whole number from 1 to 1000000'],
    ];
    for (const [extra, field, message] of cases) {
      const res = await t.request.post('/api/v1/admin/licenses').set(admin).send({ ...base, ...extra });
      expect(res.status, JSON.stringify(extra)).toBe(400);
      expect(res.body.error.details.fields, JSON.stringify(extra)).toEqual({ [field]: message });
    }
  });

  it('answers field messages in Russian for license, client, lock and settings checks', async () => {
    const client = await adminClient(t);
    const license = await adminLicense(t, { clientId: client.id, features: ['a'] });
    const post = (path: string, body: object) => t.request.post(path).set(admin).set(ru).send(body);
    const cases: [Promise<{ status: number; body: { error: { details: { fields: Record<string, string> } } } }>, string, string][] = [
      [post('/api/v1/admin/licenses', { clientId: client.id, product: 'P', maxHosts: 0 }), 'maxHosts', 'должно быть целым числом от 1 до 1000000'],
      [post('/api/v1/admin/licenses', { clientId: client.id, product: '  ', maxHosts: 1 }), 'product', 'не может быть пустым'],
      [post('/api/v1/admin/licenses', { clientId: client.id, product: 'P', maxHosts: 1, features: [''] }), 'features.0', 'не может быть пустым'],
      [post('/api/v1/admin/licenses', { clientId: client.id, product: 'P', maxHosts: 1, features: ['a'], featureLimits: { b: 1 } }), 'featureLimits.b', 'не входит в функции лицензии'],
      [post('/api/v1/admin/licenses', { clientId: client.id, product: 'P', maxHosts: 1, features: ['a', '..'] }), 'features.1', 'не может быть «.» или «..» (такую функцию не назвать в адресе, и агент не сможет её освободить)'],
      [t.request.patch(`/api/v1/admin/licenses/${license.id}`).set(admin).set(ru).send({ featureLimits: { b: 1 } }), 'featureLimits.b', 'не входит в функции лицензии'],
      [post('/api/v1/admin/clients', { name: ' ' }), 'name', 'не может быть пустым'],
      [post('/api/v1/admin/clients', { name: 'N', email: 'nope' }), 'email', 'должно быть адресом электронной почты'],
      [t.request.patch('/api/v1/admin/settings').set(admin).set(ru).send({ poolSize: -1 }), 'poolSize', 'должно быть целым числом от 0 до 1000'],
      [t.request.patch('/api/v1/admin/settings').set(admin).set(ru).send({ heartbeatIntervalSec: 60, leaseTimeoutSec: 100 }), 'leaseTimeoutSec', 'должно быть не меньше 3 × heartbeatIntervalSec (180)'],
    ];
    for (const [req, field, message] of cases) {
      const res = await req;
      expect(res.status, field).toBe(400);
      expect(res.body.error.details.fields, field).toEqual({ [field]: message });
    }
  });

  it('a lock whose "to" is not after "from" or not in the future is refused in the caller\'s language', async () => {
    const lic = await adminLicense(t);
    const ib = await t.db
      .insertInto('infobases')
      .values({ client_id: lic.clientId, external_id: 'ib-1', name: 'Accounting', created_at: t.clock.now() })
      .returning('id')
      .executeTakeFirstOrThrow();
    const at = (h: number) => new Date(t.clock.now() + h * 3600_000).toISOString();
    const put = (body: object) => t.request.put(`/api/v1/admin/infobases/${ib.id}/lock`).set(admin).set(ru).send(body);
    let res = await put({ message: 'x', from: at(3), to: at(2) });
    expect(res.status).toBe(400);
    expect(res.body.error.details.fields).toEqual({ to: 'должно быть позже from' });
    res = await put({ message: 'x', to: at(-1) });
    expect(res.status).toBe(400);
    expect(res.body.error.details.fields).toEqual({ to: 'должно быть в будущем' });
    res = await put({ message: '   ' });
    expect(res.body.error.details.fields).toEqual({ message: 'не может быть пустым' });
    expect((await t.db.selectFrom('infobases').select('lock_message').where('id', '=', ib.id).executeTakeFirstOrThrow()).lock_message).toBeNull();
  });

  it('query numbers: a non-number or empty limit/hours names the range, an empty one counts as absent', async () => {
    const lic = await adminLicense(t);
    for (const qs of ['limit=abc', 'limit=1.5', 'limit=0', 'limit=1001']) {
      const res = await t.request.get(`/api/v1/admin/sessions?${qs}`).set(admin);
      expect(res.status, qs).toBe(400);
      expect(res.body.error.details.fields, qs).toEqual({ limit: 'must be a whole number from 1 to 1000' });
    }
    expect((await t.request.get('/api/v1/admin/clients?limit=').set(admin)).status).toBe(200);
    const h = await t.request.get(`/api/v1/admin/licenses/${lic.id}/history?hours=abc`).set(admin);
    expect(h.body.error.details.fields).toEqual({ hours: 'must be a whole number from 1 to 8784' });
  });

  it('a misspelt or repeated query parameter is a 400 naming it, not a wider list', async () => {
    const lic = await adminLicense(t);
    // "licence" ignored would list every live session: a script terminating "the filtered list" would end them all.
    let res = await t.request.get(`/api/v1/admin/sessions?licence=${lic.id}`).set(admin);
    expect(res.status).toBe(400);
    expect(res.body.error.details.fields).toEqual({ licence: 'is not a parameter of this endpoint (it takes limit, cursor, license, client, infobase, q)' });
    res = await t.request.get('/api/v1/admin/licenses?client=1&client=2').set(admin);
    expect(res.status).toBe(400);
    expect(res.body.error.details.fields).toEqual({ client: 'is given more than once' });
    res = await t.request.get('/api/v1/admin/clients?limit=1&limit=3').set(admin).set('Accept-Language', 'ru');
    expect(res.body.error.details.fields).toEqual({ limit: 'указан больше одного раза' });
    res = await t.request.get(`/api/v1/admin/licenses/${lic.id}/history?hour=2`).set(admin);
    expect(res.body.error.details.fields).toEqual({ hour: 'is not a parameter of this endpoint (it takes hours)' });
    // The ones it takes, empty or not, still work.
    expect((await t.request.get(`/api/v1/admin/sessions?license=${lic.id}&q=&limit=`).set(admin)).status).toBe(200);
  });

  it('a reset without a reason and a command of an unknown type say what is expected', async () => {
    const lic = await adminLicense(t);
    const host = await insertHost(t, lic.id);
    for (const body of [undefined, {}]) {
      const req = t.request.delete(`/api/v1/admin/licenses/${lic.id}/hosts/${host.id}`).set(admin);
      const res = body ? await req.send(body) : await req;
      expect(res.status).toBe(400);
      expect(res.body.error.details.fields).toEqual({ reason: 'a reason is required' });
    }
    const res = await t.request.post('/api/v1/admin/sessions/00000000-0000-7000-8000-000000000000/commands').set(admin).send({ type: 'bogus' });
    expect(res.status).toBe(400);
    expect(res.body.error.details.fields).toEqual({ type: 'must be stop, closePackage or message' });
  });
});

describe('feature names an agent could not release', () => {
  it('"." and ".." are refused by the model too, whoever calls it', async () => {
    const t = await makeApp();
    try {
      const client = await adminClient(t);
      for (const f of ['.', '..']) {
        await expect(createLicense(t.db, staffActor('admin'), { clientId: client.id, product: 'P', maxHosts: 1, features: [f] }, t.clock.now())).rejects.toMatchObject({
          code: 'invalid_request',
          details: { fields: { 'features.0': 'must not be "." or ".."' } },
        });
      }
      // Dots inside a name are fine: only a whole path segment of dots is folded away.
      const ok = await createLicense(t.db, staffActor('admin'), { clientId: client.id, product: 'P', maxHosts: 1, features: ['v1.2', '...'] }, t.clock.now());
      expect(ok.features).toEqual(['...', 'v1.2']);
    } finally {
      await t.close();
    }
  });
});
