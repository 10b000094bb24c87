import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loginAs, makeApp, type TestApp } from '../../helpers/app.js';
import { adminClient, adminLicense, insertEvent, insertHost, insertSession } from '../../helpers/admin.js';
import { makeInfobase } from '../../helpers/licensing.js';

// A client user of client A walks every cabinet and staff route with client B's
// license, host, session and infobase ids: every one answers 404 — not 403, not
// B's data — and nothing of B changes.

describe('isolation walk: a client user and another client’s ids', () => {
  let t: TestApp;
  let me: { cookie: string; csrf: string };
  const A = {} as { client: number; license: number; host: number; session: string; infobase: number };
  const B = {} as { client: number; license: number; host: number; session: string; infobase: number; key: string };
  // Strings that would only appear if B's data leaked.
  const secrets = ['Globex Corp', 'GLOBEX-SECRET-BASE', 'Smith-of-Globex', 'GLB-SRV-01'];

  beforeAll(async () => {
    t = await makeApp();
    const a = await adminClient(t, 'Acme Ltd');
    const b = await adminClient(t, 'Globex Corp');
    const licA = await adminLicense(t, { clientId: a.id, selfResetQuota: 5 });
    const licB = await adminLicense(t, { clientId: b.id, selfResetQuota: 5, product: 'Globex Product' });
    const hostA = await insertHost(t, licA.id, { hostname: 'ACC-SRV-01' });
    const hostB = await insertHost(t, licB.id, { hostname: 'GLB-SRV-01' });
    const ibA = await makeInfobase(t, a.id, 'ib-a', 'Acme Base');
    const ibB = await makeInfobase(t, b.id, 'ib-b', 'GLOBEX-SECRET-BASE', { message: 'Globex lock' });
    const sA = await insertSession(t, { licenseId: licA.id, hostId: hostA.id, infobaseId: ibA, user: 'Ivanov' });
    const sB = await insertSession(t, { licenseId: licB.id, hostId: hostB.id, infobaseId: ibB, user: 'Smith-of-Globex' });
    await insertEvent(t, { licenseId: licB.id, kind: 'capture', at: t.clock.now() - 1000, feature: 'export', user: 'Smith-of-Globex', hostname: 'GLB-SRV-01' });
    Object.assign(A, { client: a.id, license: licA.id, host: hostA.id, session: sA.id, infobase: ibA });
    Object.assign(B, { client: b.id, license: licB.id, host: hostB.id, session: sB.id, infobase: ibB, key: licB.key });
    secrets.push(licB.key);
    me = await loginAs(t, 'client', { clientId: a.id });
  });
  afterAll(() => t.close());

  /** Everything of B a route could change. */
  async function snapshotB() {
    const [lic, host, session, ib, client, audit] = await Promise.all([
      t.db.selectFrom('licenses').selectAll().where('id', '=', B.license).executeTakeFirstOrThrow(),
      t.db.selectFrom('hosts').selectAll().where('id', '=', B.host).executeTakeFirstOrThrow(),
      t.db.selectFrom('sessions').selectAll().where('id', '=', B.session).executeTakeFirstOrThrow(),
      t.db.selectFrom('infobases').selectAll().where('id', '=', B.infobase).executeTakeFirstOrThrow(),
      t.db.selectFrom('clients').selectAll().where('id', '=', B.client).executeTakeFirstOrThrow(),
      t.db.selectFrom('audit_log').select((eb) => eb.fn.countAll<number>().as('n')).where('action', '!=', 'login').executeTakeFirstOrThrow(),
    ]);
    return { lic, host, session, ib, client, audit: Number(audit.n) };
  }

  const get = (url: string) => t.request.get(url).set('Cookie', me.cookie);
  const post = (url: string, body: Record<string, string> = {}) => t.request.post(url).set('Cookie', me.cookie).type('form').send({ _csrf: me.csrf, ...body });

  const lockBody = { from: '', to: '', message: 'Hijack', permissionCode: '', denySessions: '1' };
  const licenseForm = { clientId: '', product: 'Hijacked', features: '', maxHosts: '9', maxSessions: '', expiresAt: '', selfResetQuota: '', notes: '' };

  const cabinetRoutes = (): [string, string, Record<string, string>?][] => [
    ['GET', `/cabinet/licenses/${B.license}`],
    ['GET', `/cabinet/licenses/${B.license}/history`],
    ['GET', `/cabinet/licenses/${B.license}/history?period=7d`],
    ['POST', `/cabinet/licenses/${B.license}/hosts/${B.host}/reset`, { reason: 'mine now' }],
    // Own license with the other's host, and the other's license with an own host.
    ['POST', `/cabinet/licenses/${A.license}/hosts/${B.host}/reset`, { reason: 'mine now' }],
    ['POST', `/cabinet/licenses/${B.license}/hosts/${A.host}/reset`, { reason: 'mine now' }],
    ['POST', `/cabinet/sessions/${B.session}/terminate`, { back: '/cabinet' }],
    ['GET', `/cabinet/infobases/${B.infobase}`],
    ['POST', `/cabinet/infobases/${B.infobase}/lock`, lockBody],
    ['POST', `/cabinet/infobases/${B.infobase}/unlock`],
  ];

  const staffRoutes = (): [string, string, Record<string, string>?][] => [
    ['GET', '/licenses'],
    ['GET', `/licenses?client=${B.client}`],
    ['GET', '/licenses/new'],
    ['GET', `/licenses/new?client=${B.client}`],
    ['GET', `/licenses/${B.license}`],
    ['GET', `/licenses/${B.license}/edit`],
    ['GET', `/licenses/${B.license}/history`],
    ['POST', '/licenses', { ...licenseForm, clientId: String(B.client) }],
    ['POST', `/licenses/${B.license}`, licenseForm],
    ['POST', `/licenses/${B.license}/suspend`, { reason: 'x' }],
    ['POST', `/licenses/${B.license}/unsuspend`],
    ['POST', `/licenses/${B.license}/hosts/${B.host}/reset`, { reason: 'x' }],
    ['POST', `/licenses/${B.license}/sessions/${B.session}/terminate`],
    ['GET', '/clients'],
    ['GET', '/clients/new'],
    ['GET', `/clients/${B.client}`],
    ['GET', `/clients/${B.client}/edit`],
    ['POST', '/clients', { name: 'New' }],
    ['POST', `/clients/${B.client}`, { name: 'Renamed' }],
    ['GET', '/infobases'],
    ['GET', `/infobases?client=${B.client}`],
    ['GET', `/infobases/${B.infobase}`],
    ['POST', `/infobases/${B.infobase}/lock`, lockBody],
    ['POST', `/infobases/${B.infobase}/unlock`],
    ['POST', `/infobases/${B.infobase}/terminate-all`, { count: '1' }],
    ['POST', `/infobases/${B.infobase}/sessions/${B.session}/terminate`],
    // Staff routes with the client's own ids are just as absent.
    ['GET', `/licenses/${A.license}`],
    ['GET', `/clients/${A.client}`],
    ['GET', `/infobases/${A.infobase}`],
    ['POST', `/infobases/${A.infobase}/lock`, lockBody],
    ['GET', '/audit'],
    ['GET', `/audit?targetType=license&targetId=${B.license}`],
    ['GET', '/users'],
    ['GET', '/tokens'],
    ['GET', '/settings'],
  ];

  it('the walk has a positive control: the same routes with own ids work', async () => {
    expect((await get(`/cabinet/licenses/${A.license}`)).status).toBe(200);
    expect((await get(`/cabinet/licenses/${A.license}/history`)).status).toBe(200);
    expect((await get(`/cabinet/infobases/${A.infobase}`)).status).toBe(200);
    const home = await get('/cabinet');
    expect(home.status).toBe(200);
    for (const s of secrets) expect(home.text).not.toContain(s);
  });

  for (const [group, routes] of [
    ['cabinet', cabinetRoutes],
    ['staff', staffRoutes],
  ] as const) {
    it(`every ${group} route answers 404 with none of the other client's data, and changes nothing`, async () => {
      const before = await snapshotB();
      const failures: string[] = [];
      for (const [method, url, body] of routes()) {
        const res = method === 'GET' ? await get(url) : await post(url, body);
        if (res.status !== 404) failures.push(`${method} ${url} → ${res.status}`);
        for (const s of secrets) if (res.text.includes(s)) failures.push(`${method} ${url} shows "${s}"`);
      }
      expect(failures).toEqual([]);
      expect(await snapshotB()).toEqual(before);
    });
  }

  it('the monitor filtered by the other client’s objects is a 404 (page and fragment), its own are not, and its actions are 404', async () => {
    const before = await snapshotB();
    const foreign = [`license=${B.license}`, `client=${B.client}`, `infobase=${B.infobase}`, `info=${B.session}`, `host=${B.host}`, 'license=99999', 'host=99999'];
    for (const qs of foreign) {
      for (const fragment of [false, true]) {
        const req = get(`/monitor?${qs}`);
        const res = fragment ? await req.set('HX-Request', 'true') : await req;
        expect([qs, fragment, res.status]).toEqual([qs, fragment, 404]);
        for (const s of secrets) expect(res.text).not.toContain(s);
      }
    }
    for (const qs of [`license=${A.license}`, `client=${A.client}`, `infobase=${A.infobase}`, `host=${A.host}`]) {
      expect([qs, (await get(`/monitor?${qs}`)).status]).toEqual([qs, 200]);
    }
    expect((await post(`/monitor/sessions/${B.session}/terminate`)).status).toBe(404);
    expect((await post(`/monitor/hosts/${B.host}/reset`, { reason: 'x' })).status).toBe(404);
    expect(await snapshotB()).toEqual(before);
  });
});
