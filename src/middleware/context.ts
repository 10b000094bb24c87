import type { Context } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Deps } from '../deps.js';
import type { Locale, T } from '../i18n/index.js';
import type { Actor } from '../models/actor.js';
import type { UserRow } from '../db/schema.js';

export interface Viewer {
  user: UserRow;
  actor: Extract<Actor, { type: 'user' }>;
  tokenHash: string;
  csrfToken: string;
}

export type AppEnv = {
  Variables: {
    deps: Deps;
    ip: string | null;
    locale: Locale;
    t: T;
    timeZone: string;
    viewer: Viewer | null;
    apiActor: Extract<Actor, { type: 'token' }> | null;
    /** A request's validated body or query string, for the handler (routes/api/admin.ts). */
    input: unknown;
  };
};

export type AppContext = Context<AppEnv>;

/** The caller's address: the socket's, or X-Forwarded-For's nearest untrusted hop when the socket is a trusted proxy. */
export function clientIp(c: Context, trustProxy: string[]): string | null {
  let remote: string | null = null;
  try {
    remote = getConnInfo(c).remote.address ?? null;
  } catch {
    remote = null;
  }
  remote = normalizeIp(remote);
  if (remote && trustProxy.includes(remote)) {
    const xff = c.req.header('x-forwarded-for');
    if (xff) {
      const hops = xff.split(',').map((s) => normalizeIp(s.trim())).filter((s): s is string => !!s);
      // Walk from the nearest hop back past our own proxies.
      for (let i = hops.length - 1; i >= 0; i--) {
        if (!trustProxy.includes(hops[i])) return hops[i];
      }
      if (hops.length) return hops[0];
    }
  }
  return remote;
}

function normalizeIp(ip: string | null | undefined): string | null {
  if (!ip) return null;
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}
