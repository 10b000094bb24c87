// Test worlds for the security tests: clients with everything a page can show
// (license, bound host, live session with a running package, infobase, a client
// user), and signed-in viewers made without going through the (slow) login form.
import type { Role } from '../../src/db/schema.js';
import { hashToken, newToken } from '../../src/lib/tokens.js';
import { csrfTokenFor } from '../../src/middleware/web-auth.js';
import { createWebSession } from '../../src/models/web-sessions.js';
import { makeApiToken, makeClient, makeUser, type TestApp } from '../helpers/app.js';
import { fingerprint, heartbeat, insertLicense, openOk } from '../helpers/licensing.js';

export interface ClientWorld {
  clientId: number;
  licenseId: number;
  key: string;
  hostId: number;
  sessionId: string;
  sessionToken: string;
  infobaseId: number;
  packageId: string;
  /** A shared package of the host (referenced by the running package). */
  sharedPath: string;
  userId: number;
  /** Strings only this client's pages may show. */
  markers: string[];
}

let n = 0;

/** A client with a license, a bound host, a live session (running package, infobase) and a client user. */
export async function seedClient(t: TestApp, label: string, fields: Partial<Record<'user' | 'hostname' | 'infobase' | 'client', string>> = {}): Promise<ClientWorld> {
  const i = ++n;
  const clientName = fields.client ?? `${label} Corp ${i}`;
  const clientId = await makeClient(t, clientName);
  const lic = await insertLicense(t.db, t.clock.now(), { clientId, maxHosts: 10, features: { reports: null } });
  const user = fields.user ?? `${label.toLowerCase()}-user-${i}`;
  const hostname = fields.hostname ?? `${label.toUpperCase()}-HOST-${i}`;
  const ibName = fields.infobase ?? `${label} Base ${i}`;
  const s = await openOk(t, lic.key, {
    fingerprint: fingerprint(`${label}-${i}`),
    user,
    machine: { hostname, os: 'Windows', ip: '10.0.0.5' },
    infobase: { id: `ib-${label}-${i}`, name: ibName },
    features: ['reports'],
  });
  await heartbeat(t, s, {
    packages: [{ id: `pkg-${label}-${i}`, path: `/projects/${label}-${i}.lgp`, state: 'running', progress: 10, refs: [`/shared/${label}-${i}.lgp`], origin: 'integrator' }],
  }).expect(200);
  const ib = await t.db.selectFrom('infobases').select('id').where('client_id', '=', clientId).executeTakeFirstOrThrow();
  const u = await makeUser(t, 'client', { clientId, email: `${label.toLowerCase()}-${i}@client.test` });
  return {
    clientId,
    licenseId: lic.id,
    key: lic.key,
    hostId: s.hostId,
    sessionId: s.sessionId,
    sessionToken: s.token,
    infobaseId: ib.id,
    packageId: `pkg-${label}-${i}`,
    sharedPath: `/shared/${label}-${i}.lgp`,
    userId: u.id,
    markers: [clientName, lic.key, user, hostname, ibName],
  };
}

export interface Viewer {
  userId: number;
  cookie: string;
  csrf: string;
}

/** A signed-in user of the role: a web session written directly, as the login form would. */
export async function viewer(t: TestApp, role: Role, clientId?: number): Promise<Viewer> {
  const user = await makeUser(t, role, role === 'client' ? { clientId } : {});
  return signInAs(t, user.id);
}

/** A fresh login cookie for an existing user. */
export async function signInAs(t: TestApp, userId: number): Promise<Viewer> {
  const token = newToken();
  await createWebSession(t.db, { tokenHash: hashToken(token), userId, now: t.clock.now(), maxAgeMs: 3600_000, ip: null, userAgent: null });
  return { userId, cookie: `sm_session=${token}`, csrf: csrfTokenFor(token) };
}

/** API tokens of both roles. */
export async function apiTokens(t: TestApp) {
  return { admin: await makeApiToken(t, 'admin'), support: await makeApiToken(t, 'support') };
}

/** "METHOD /path/:param" with Hono's inline patterns ({[0-9]+}) left out. */
export const routeKey = (method: string, path: string) => `${method} ${path.replace(/\{(?:[^{}]|\{[^{}]*\})*\}/g, '')}`;

/**
 * A route path with its parameters filled from worlds: each parameter from `w`,
 * or — when `foreignAt` names its position — that one from `other`. The id a
 * parameter stands for comes from the path segment before it.
 */
export function fill(path: string, w: ClientWorld, other: ClientWorld, foreignAt: number | null, extra: { userId: number; tokenId: number }): string {
  const segs = path.replace(/\{(?:[^{}]|\{[^{}]*\})*\}/g, '').split('/');
  let param = -1;
  return segs
    .map((seg, i) => {
      if (!seg.startsWith(':')) return seg;
      param++;
      const src = foreignAt === null || foreignAt === param ? w : other;
      const before = seg === ':hostId' ? 'hosts' : seg === ':sid' ? 'sessions' : segs[i - 1];
      const v: Record<string, string | number> = {
        users: src === w ? extra.userId : other.userId,
        tokens: extra.tokenId,
        clients: src.clientId,
        licenses: src.licenseId,
        hosts: src.hostId,
        sessions: src.sessionId,
        infobases: src.infobaseId,
        packages: src.packageId,
      };
      if (!(before in v)) throw new Error(`no id for ${seg} in ${path}: teach fill() in test/security/world.ts about "${before}"`);
      return encodeURIComponent(String(v[before]));
    })
    .join('/');
}
