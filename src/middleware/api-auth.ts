import type { MiddlewareHandler } from 'hono';
import type { StaffRole } from '../db/schema.js';
import { forbidden, unauthorized } from '../lib/errors.js';
import { hashToken } from '../lib/tokens.js';
import { apiTokenByHash, touchApiToken } from '../models/api-tokens.js';
import type { AppEnv } from './context.js';

const BEARER = /^Bearer +(\S{1,512})$/i;

/**
 * Admin API authentication: `Authorization: Bearer <api token>` only. Cookies
 * are never looked at, so a signed-in browser cannot be tricked into calling
 * the API. Sets c.var.apiActor; a missing, wrong or revoked token is 401.
 */
export const requireApiToken: MiddlewareHandler<AppEnv> = async (c, next) => {
  const m = BEARER.exec(c.req.header('authorization') ?? '');
  if (!m) throw unauthorized();
  const { db, clock } = c.var.deps;
  const token = await apiTokenByHash(db, hashToken(m[1]));
  if (!token) throw unauthorized();
  c.set('apiActor', { type: 'token', id: token.id, name: token.name, role: token.role, clientId: null, ip: c.var.ip });
  await touchApiToken(db, token.id, clock.now());
  await next();
};

/** Only tokens of these roles; others get 403 forbidden. */
export function requireApiRole(...roles: StaffRole[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const actor = c.var.apiActor;
    if (!actor) throw unauthorized();
    if (!roles.includes(actor.role)) throw forbidden();
    await next();
  };
}
