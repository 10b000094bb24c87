// A world where every string an agent or a person can set carries an XSS
// payload with a unique marker: shared by the HTTP test (escaped everywhere)
// and the browser test (nothing executes).
import { createApp } from '../../src/app.js';
import { COLUMNS } from '../../src/lib/monitor-query.js';
import type { TestApp } from '../helpers/app.js';
import { insertLicense } from '../helpers/licensing.js';
import { send } from '../fuzz/fuzz-kit.js';
import { apiTokens, fill, routeKey, viewer, type ClientWorld, type Viewer } from './world.js';

/** Payload templates; {id} is replaced by a marker unique to the field. `head` is a raw fragment that must never appear. */
export const TEMPLATES: { p: string; head: string }[] = [
  { p: '<script>alert("{id}")</script>', head: '<script>alert(' },
  { p: '"><img src=x onerror=alert("{id}")>', head: '<img src=x onerror' },
  { p: '<svg onload=alert("{id}")>', head: '<svg onload' },
  { p: '" autofocus onfocus="alert(\'{id}\')" x="', head: '" autofocus onfocus="' },
  { p: "' onmouseover='alert(\"{id}\")' x='", head: "' onmouseover='" },
  { p: '</textarea></title><script>alert("{id}")</script>', head: '</textarea></title><script>' },
  { p: '\u202e<iframe srcdoc="<script>alert(\'{id}\')</script>">', head: '<iframe srcdoc' },
  { p: '<a href="javascript:alert(\'{id}\')">{id}</a>', head: '<a href="javascript:' },
  { p: '<div hx-get="/logout" hx-trigger="load">{id}</div>', head: '<div hx-get="/logout"' },
  { p: 'javascript:alert("{id}")', head: 'href="javascript:' },
  { p: '{{constructor.constructor(\'alert("{id}")\')()}}<b>{id}</b>', head: '<b>x' },
  { p: '＜script＞alert("{id}")＜/script＞<math><mi xlink:href="javascript:alert(1)">', head: '<math><mi' },
];

/** Where a payload went, for the report of fields never shown. */
export interface Planted {
  id: string;
  field: string;
  payload: string;
  head: string;
}

export interface XssWorld {
  planted: Planted[];
  client: ClientWorld;
  viewers: { admin: Viewer; support: Viewer; client: Viewer };
  /** Extra ids for route parameters (a user, a token). */
  extra: { userId: number; tokenId: number };
}

/** Plants payloads (template rotated by `round`) in every agent- and user-supplied string, through the real interfaces. */
export async function seedXss(t: TestApp, round: number): Promise<XssWorld> {
  const planted: Planted[] = [];
  let k = 0;
  /** The payload for a field; `max` code points for fields with a length limit (the marker is kept). */
  const P = (field: string, max = 512) => {
    const tpl = TEMPLATES[(k + round) % TEMPLATES.length];
    const id = `xq${round}z${++k}`;
    let payload = tpl.p.replaceAll('{id}', id);
    if ([...payload].length > max) payload = (tpl.head + id).slice(0, max);
    planted.push({ id, field, payload, head: tpl.head });
    return payload;
  };

  const tokens = await apiTokens(t);
  const api = async (method: string, url: string, body: unknown) => {
    const res = await send(t, method, url, { headers: { Authorization: `Bearer ${tokens.admin}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    if (res.status >= 300) throw new Error(`${method} ${url} → ${res.status} ${res.text}`);
    return res.text ? JSON.parse(res.text) : null;
  };
  const agent = async (url: string, body: unknown, token?: string) => {
    const res = await send(t, 'POST', url, { headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
    if (res.status >= 300) throw new Error(`POST ${url} → ${res.status} ${res.text}`);
    return JSON.parse(res.text);
  };

  // People: a client card, a license with a feature, through the admin API.
  const client = await api('POST', '/api/v1/admin/clients', { name: P('client.name'), notes: P('client.notes'), contactPerson: P('client.contactPerson', 200), phone: P('client.phone', 64) });
  const feature = P('license.feature', 100);
  const license = await api('POST', '/api/v1/admin/licenses', { clientId: client.id, product: P('license.product', 200), features: [feature], maxHosts: 10, notes: P('license.notes') });

  // Agents: a capture naming everything, then a package snapshot.
  const capture = (fp: string) => ({
    licenseKey: license.key,
    clientSessionId: P('agent.clientSessionId', 64),
    fingerprint: { [P('agent.fingerprint.key', 64)]: P('agent.fingerprint.value'), board: fp },
    // Addresses are validated as IP addresses (a payload is a 400), so they carry none.
    machine: { hostname: P('agent.machine.hostname'), os: P('agent.machine.os'), ip: '10.0.0.5' },
    client: { ip: '10.0.0.77', hostname: P('agent.client.hostname') },
    user: P('agent.user'),
    roles: ['design'],
    infobase: { id: P('agent.infobase.id'), name: P('agent.infobase.name') },
    connectionType: 'client',
    app: { name: P('agent.app.name'), version: P('agent.app.version') },
    features: [feature],
  });
  const s1 = await agent('/api/v1/sessions', capture('one'));
  const s2 = await agent('/api/v1/sessions', capture('two'));
  const s3 = await agent('/api/v1/sessions', capture('three'));
  const shared = P('agent.package.ref');
  await agent(
    `/api/v1/sessions/${s1.sessionId}/heartbeat`,
    {
      packages: [
        {
          id: P('agent.package.id', 64),
          path: P('agent.package.path'),
          name: P('agent.package.name'),
          version: P('agent.package.version'),
          state: 'running',
          progress: 40,
          node: P('agent.package.node'),
          refs: [shared],
          origin: 'integrator',
        },
      ],
      lastInputAt: new Date(t.clock.now() - 1000).toISOString(),
    },
    s1.token,
  );

  // Staff actions with free text: a lock, a command, a termination, a reset.
  const ib = await t.db.selectFrom('infobases').select('id').where('client_id', '=', client.id).executeTakeFirstOrThrow();
  await api('PUT', `/api/v1/admin/infobases/${ib.id}/lock`, { message: P('lock.message'), permissionCode: P('lock.code'), to: new Date(t.clock.now() + 3600_000).toISOString() });
  await api('POST', `/api/v1/admin/sessions/${s1.sessionId}/commands`, { type: 'message', text: P('command.text') });
  await api('DELETE', `/api/v1/admin/sessions/${s2.sessionId}`, { message: P('terminate.message') });
  await api('DELETE', `/api/v1/admin/licenses/${license.id}/hosts/${s3.hostId}`, { reason: P('reset.reason') });
  // A refusal for the history (an unlicensed feature named by the agent).
  await send(t, 'POST', '/api/v1/sessions', { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ ...capture('four'), features: [P('agent.refused.feature')] }) });

  // Web forms: a user, an API token, the support contact.
  const admin = await viewer(t, 'admin');
  const form = async (url: string, body: Record<string, string>) => {
    const res = await send(t, 'POST', url, {
      headers: { Cookie: admin.cookie, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: admin.csrf, ...body }).toString(),
    });
    if (res.status >= 400) throw new Error(`POST ${url} → ${res.status}`);
  };
  const pw = 'xss world passphrase';
  await form('/users', { email: `xss${round}@vendor.test`, name: P('user.name', 200), role: 'client', clientId: String(client.id), password: pw, confirm: pw });
  await form('/tokens', { name: P('token.name', 100) });
  await form('/settings/support-contact', { supportContact: P('settings.supportContact', 200) });
  // A second license of the same client, so lists have neighbours.
  await insertLicense(t.db, t.clock.now(), { clientId: client.id });

  const user = await t.db.selectFrom('users').select('id').where('email', '=', `xss${round}@vendor.test`).executeTakeFirstOrThrow();
  const tokenRow = await t.db.selectFrom('api_tokens').select('id').orderBy('id', 'desc').executeTakeFirstOrThrow();
  const world: ClientWorld = {
    clientId: client.id,
    licenseId: license.id,
    key: license.key,
    hostId: s1.hostId,
    sessionId: s1.sessionId,
    sessionToken: s1.token,
    infobaseId: ib.id,
    packageId: planted.find((p) => p.field === 'agent.package.id')!.payload,
    sharedPath: shared,
    userId: user.id,
    markers: [],
  };
  const viewers = { admin, support: await viewer(t, 'support'), client: await viewer(t, 'client', client.id) };
  // Every monitor column on, so every field has its chance to be shown.
  for (const v of Object.values(viewers)) {
    const body = new URLSearchParams([['_csrf', v.csrf], ...COLUMNS.map((c) => ['col', c])]).toString();
    await send(t, 'POST', '/monitor/columns', { headers: { Cookie: v.cookie, 'Content-Type': 'application/x-www-form-urlencoded' }, body });
  }
  return {
    planted,
    client: world,
    viewers,
    extra: { userId: user.id, tokenId: tokenRow.id },
  };
}

const SKIP = new Set(['GET /healthz', 'GET /assets/:file', 'GET /setup/:token']);
/** The monitor's confirm dialogs take their objects from the query. */
const CONFIRMS = ['terminate', 'stop', 'message', 'reset', 'clear-pool', 'clear-all-pools', 'stop-package', 'close-package', 'close-shared', 'terminate-all'];

/** Every page that exists (GET routes from app.routes) with the world's ids, plus the query-driven views. */
export function pageUrls(t: TestApp, w: XssWorld): string[] {
  const { app } = createApp({ db: t.db, config: t.deps.config, clock: t.clock });
  const urls = new Set<string>();
  for (const r of app.routes) {
    const key = routeKey(r.method, r.path);
    if (r.method !== 'GET' || SKIP.has(key) || r.path.startsWith('/api/') || r.path.includes('__bench')) continue;
    urls.add(fill(r.path, w.client, w.client, null, w.extra));
  }
  const q = (o: Record<string, string | number>) => new URLSearchParams(Object.entries(o).map(([k, v]) => [k, String(v)])).toString();
  for (const d of CONFIRMS) {
    urls.add(`/monitor/confirm?${q({ do: d, session: w.client.sessionId, host: w.client.hostId, pkg: w.client.packageId, path: w.client.sharedPath, back: `license=${w.client.licenseId}` })}`);
  }
  for (const extra of [`?license=${w.client.licenseId}`, `?client=${w.client.clientId}`, `?infobase=${w.client.infobaseId}`, '?period=7d', '?period=30d']) {
    urls.add(`/monitor${extra}`);
    urls.add(`/licenses/${w.client.licenseId}/history${extra}`);
    urls.add(`/cabinet/licenses/${w.client.licenseId}/history${extra}`);
  }
  urls.add('/audit?targetType=license&targetId=' + w.client.licenseId);
  urls.add(`/monitor?${q({ open: w.client.sessionId, info: w.client.sessionId })}`);
  return [...urls];
}
