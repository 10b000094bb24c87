import { Hono, type MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { invalid, notFound } from '../../lib/errors.js';
import { isoUtc } from '../../lib/format.js';
import { isDotName } from '../../lib/path-segment.js';
import { requireApiRole, requireApiToken } from '../../middleware/api-auth.js';
import { translator } from '../../i18n/index.js';
import { apiLocale, isoTime, jsonBody, ownRecord, queryParams, str, type BodyParser } from '../../middleware/api.js';
import type { AppContext, AppEnv } from '../../middleware/context.js';
import type { Actor } from '../../models/actor.js';
import { clientById, createClient, listClients, updateClient, type Client } from '../../models/clients.js';
import { licenseHistory } from '../../models/history.js';
import { infobaseById, listInfobases, removeLock, setLock, type Infobase } from '../../models/infobases.js';
import {
  boundHosts,
  createLicense,
  hostById,
  licenseById,
  listLicenses,
  selfResetStatus,
  updateLicense,
  type BoundHost,
  type License,
} from '../../models/licenses.js';
import { MAX_PAGE_SIZE } from '../../models/paging.js';
import { clearHostPool, enqueueCommand, resetBinding, sessionState, terminateSession } from '../../models/session-actions.js';
import { listLiveSessions, type SessionListItem } from '../../models/session-queries.js';
import { changeSettings } from '../../models/settings-changes.js';
import { getSettings, SETTINGS_LIMITS } from '../../models/settings.js';
import { isEmail } from '../../models/users.js';

/**
 * The admin JSON API (PROTOCOL.md §5): Bearer API tokens only, each with
 * exactly its role's rights. Every state change is audited with the token as
 * the actor by the model it calls.
 */
export const adminRoutes = new Hono<AppEnv>();

// Every route checks in the contract's order (PROTOCOL "Conventions"): the size (apiRoutes), then
// the body or query string (`body(…)`, `query(…)`: 400), then the token (`staff`: 401), then its
// role (`admin`: 403), then what the path names (404) and the rest. test/routes/api/admin-order.test.ts
// sends every route a request without a token and checks it is refused.
/** A valid API token of either role. */
const staff = requireApiToken;
/** A valid admin token (after `staff`). */
const admin = requireApiRole('admin');

/** Validates the JSON body before authentication; the handler reads it with `.of(c)`. */
function body<T>(schema: BodyParser<T>) {
  const check: MiddlewareHandler<AppEnv> = async (c, next) => {
    c.set('input', await jsonBody(c, schema));
    await next();
  };
  return { check, of: (c: AppContext) => c.get('input') as T };
}

/** Validates the query string before authentication; the handler reads it with `.of(c)`. */
function query<S extends z.ZodObject>(schema: S) {
  const check: MiddlewareHandler<AppEnv> = async (c, next) => {
    c.set('input', queryParams(c, schema));
    await next();
  };
  return { check, of: (c: AppContext) => c.get('input') as z.infer<S> };
}

// ---- input shapes ----
// Bounds the models check too are checked here first, so that every field message is a
// catalogue key worded in the caller's language (the models' own messages are English).

/** A whole number in min…max; one message naming the range, whichever side is wrong. */
const count = (min: number, max: number) =>
  z.number().refine((n) => Number.isInteger(n) && n >= min && n <= max, { message: 'api.v.range', params: { min, max } });
/** The same in a query string; an empty value counts as absent, anything not a whole number is out of range (named as such). */
const queryCount = (min: number, max: number) =>
  z.preprocess((v) => (typeof v !== 'string' ? v : v === '' ? undefined : /^\d{1,16}$/.test(v) ? Number(v) : min - 1), count(min, max).optional());
/** Text that must not be blank (the models trim). */
const text = (max = 512) => str(max).refine((s) => s.trim() !== '', { message: 'api.v.not_empty' });
const MAX_LIMIT = 1_000_000; // maxHosts, maxSessions, feature limits (models/licenses.ts)

const page = {
  limit: queryCount(1, MAX_PAGE_SIZE),
  cursor: str(1000).optional(),
};
/** An optional numeric id in the query string; an empty value counts as absent. */
const queryId = () =>
  z.preprocess((v) => (v === '' ? undefined : v), z.string().regex(/^[1-9]\d{0,14}$/, { message: 'api.v.positive_whole_number' }).transform(Number).optional());
const optText = () => z.preprocess((v) => (v === '' ? undefined : v), str().optional());
const id = () => z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const time = () => isoTime().transform((s) => Date.parse(s));
const featureLimits = () => ownRecord(z.string(), count(1, MAX_LIMIT), 'api.v.feature_limits', { max: 200, message: 'api.v.feature_limits_size' });
const features = () =>
  z
    .array(text(128).refine((f) => !isDotName(f), { message: 'api.v.feature_dots' }))
    .max(200)
    .superRefine((list, ctx) => {
      // Named twice is a mistake to report, not to merge: the models refuse it too.
      const seen = new Set<string>();
      list.forEach((f, i) => {
        if (seen.has(f.normalize('NFC'))) ctx.addIssue({ code: 'custom', path: [i], message: 'api.v.duplicate_feature' });
        seen.add(f.normalize('NFC'));
      });
    });

/** Feature limits must name the license's features (the model checks it again, in English). */
function checkLimitsNamed(features: string[], limits: Record<string, number> | null | undefined): void {
  const licensed = new Set(features.map((f) => f.normalize('NFC')));
  const wrong = Object.keys(limits ?? {}).filter((f) => !licensed.has(f.normalize('NFC')));
  if (wrong.length) throw invalid(Object.fromEntries(wrong.map((f) => [`featureLimits.${f}`, 'api.v.not_a_feature'])));
}

/** A numeric path id; anything else is simply not found. */
function pathId(c: AppContext, name: string): number {
  const v = c.req.param(name) ?? '';
  if (!/^[1-9]\d{0,14}$/.test(v)) throw notFound();
  return Number(v);
}

const actor = (c: AppContext): Actor => c.var.apiActor!;
const now = (c: AppContext) => c.var.deps.clock.now();

// ---- JSON shapes: times as ISO-8601 UTC ----

const clientJson = (x: Client) => ({
  id: x.id,
  name: x.name,
  email: x.email,
  phone: x.phone,
  contactPerson: x.contactPerson,
  notes: x.notes,
  licenseCount: x.licenseCount,
  createdAt: isoUtc(x.createdAt),
  updatedAt: isoUtc(x.updatedAt),
});

const licenseJson = (x: License) => ({
  id: x.id,
  key: x.key,
  clientId: x.clientId,
  clientName: x.clientName,
  product: x.product,
  features: x.features,
  featureLimits: x.featureLimits,
  maxHosts: x.maxHosts,
  maxSessions: x.maxSessions,
  expiresAt: isoUtc(x.expiresAt),
  suspended: x.suspendedAt !== null,
  suspendedAt: isoUtc(x.suspendedAt),
  selfResetQuota: x.selfResetQuota,
  notes: x.notes,
  boundHosts: x.boundHosts,
  liveSessions: x.liveSessions,
  createdAt: isoUtc(x.createdAt),
  updatedAt: isoUtc(x.updatedAt),
});

const hostJson = (h: BoundHost) => ({
  id: h.id,
  fingerprint: h.components,
  fingerprintHash: h.fingerprintHash,
  machine: h.machine,
  boundAt: isoUtc(h.boundAt),
  lastSeenAt: isoUtc(h.lastSeenAt),
  liveSessions: h.liveSessions,
});

const infobaseJson = (x: Infobase) => ({
  id: x.id,
  clientId: x.clientId,
  clientName: x.clientName,
  externalId: x.externalId,
  name: x.name,
  createdAt: isoUtc(x.createdAt),
  liveSessions: x.liveSessions,
  lock: x.lock && {
    state: x.lock.state,
    from: isoUtc(x.lock.from),
    to: isoUtc(x.lock.to),
    message: x.lock.message,
    hasPermissionCode: x.lock.hasPermissionCode,
    denySessions: x.lock.denySessions,
    denyBackgroundJobs: x.lock.denyBackgroundJobs,
    setAt: isoUtc(x.lock.setAt),
    setBy: x.lock.setBy,
  },
});

function parseList(text: string): string[] {
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

const sessionJson = (x: SessionListItem, at: number) => {
  const r = x.row;
  return {
    id: r.id,
    sessionNumber: r.session_number,
    clientSessionId: r.client_session_id,
    licenseId: r.license_id,
    licenseKey: x.licenseKey,
    clientId: r.client_id,
    clientName: x.clientName,
    hostId: r.host_id,
    user: r.user_name,
    roles: parseList(r.roles),
    infobase: x.infobase,
    connectionType: r.connection_type,
    app: { name: r.app_name, version: r.app_version },
    machine: { hostname: r.machine_hostname, os: r.machine_os, ip: r.machine_ip },
    client: { ip: r.client_ip, hostname: r.client_hostname },
    startedAt: isoUtc(r.started_at),
    lastSeenAt: isoUtc(r.last_seen_at),
    lastInputAt: isoUtc(r.last_input_at),
    lastActivityAt: isoUtc(r.last_input_at ?? r.last_seen_at),
    sleeping: r.sleeping === 1,
    state: sessionState(r, at),
    running: r.running === 1,
    heartbeatIntervalSec: r.heartbeat_interval_sec,
    metrics: {
      cpuMs: { current: Number(r.cpu_current), last5min: Number(r.cpu_5m), total: Number(r.cpu_total) },
      memoryBytes: { current: Number(r.mem_current), last5min: Number(r.mem_5m), total: Number(r.mem_total) },
      dataBytes: { last5min: Number(r.data_5m), total: Number(r.data_total) },
      calls: { last5min: Number(r.calls_5m), total: Number(r.calls_total) },
      dbmsBytes: { last5min: Number(r.dbms_5m), total: Number(r.dbms_total) },
    },
    packages: x.packages.map((p) => ({
      id: p.package_id,
      path: p.path,
      name: p.name,
      version: p.version,
      createdAt: isoUtc(p.created_at),
      savedAt: isoUtc(p.saved_at),
      state: p.state,
      progress: p.progress,
      node: p.node,
      nodeStartedAt: isoUtc(p.node_started_at),
      refs: parseList(p.refs),
      origin: p.origin,
      openedAt: isoUtc(p.opened_at),
    })),
    features: x.features,
  };
};

async function licenseDetail(c: AppContext, licenseId: number) {
  const { db } = c.var.deps;
  const license = await licenseById(db, licenseId);
  if (!license) throw notFound();
  const [hosts, selfResets] = await Promise.all([boundHosts(db, licenseId), selfResetStatus(db, license, now(c))]);
  return { ...licenseJson(license), selfResets, hosts: hosts.map(hostJson) };
}

// ---- clients (admin only) ----

const clientBody = z.object({
  name: text(200),
  email: str(254)
    .refine((s) => s.trim() === '' || isEmail(s.trim()), { message: 'api.v.email' })
    .nullish(),
  phone: str(64).nullish(),
  contactPerson: str(200).nullish(),
  notes: str().nullish(),
});

const newClient = body(clientBody);
adminRoutes.post('/clients', newClient.check, staff, admin, async (c) => {
  return c.json(clientJson(await createClient(c.var.deps.db, actor(c), newClient.of(c), now(c))), 201);
});

// Reading clients is support's too, as in the web UI (support calls the client's contact); changes are admin-only.
const clientList = query(z.object({ ...page, q: optText() }));
adminRoutes.get('/clients', clientList.check, staff, async (c) => {
  const q = clientList.of(c);
  const res = await listClients(c.var.deps.db, { q: q.q }, { limit: q.limit ?? 100, cursor: q.cursor });
  return c.json({ items: res.items.map(clientJson), nextCursor: res.nextCursor });
});

adminRoutes.get('/clients/:id', staff, async (c) => {
  const client = await clientById(c.var.deps.db, pathId(c, 'id'));
  if (!client) throw notFound();
  return c.json(clientJson(client));
});

const clientChange = body(clientBody.partial());
adminRoutes.patch('/clients/:id', clientChange.check, staff, admin, async (c) => {
  const clientId = pathId(c, 'id');
  return c.json(clientJson(await updateClient(c.var.deps.db, actor(c), clientId, clientChange.of(c), now(c))));
});

// ---- licenses ----

const newLicense = body(
  z.object({
    clientId: id(),
    product: text(200),
    features: features().nullish(),
    maxHosts: count(1, MAX_LIMIT),
    maxSessions: count(1, MAX_LIMIT).nullish(),
    featureLimits: featureLimits().nullish(),
    expiresAt: time().nullish(),
    selfResetQuota: count(0, 1000).nullish(),
    notes: str().nullish(),
  }),
);
adminRoutes.post('/licenses', newLicense.check, staff, admin, async (c) => {
  const body = newLicense.of(c);
  checkLimitsNamed(body.features ?? [], body.featureLimits);
  const license = await createLicense(c.var.deps.db, actor(c), body, now(c));
  return c.json(await licenseDetail(c, license.id), 201);
});

const licenseList = query(z.object({ ...page, client: queryId(), key: optText(), product: optText(), q: optText() }));
adminRoutes.get('/licenses', licenseList.check, staff, async (c) => {
  const q = licenseList.of(c);
  const res = await listLicenses(
    c.var.deps.db,
    { clientId: q.client, key: q.key, product: q.product, q: q.q },
    { limit: q.limit ?? 100, cursor: q.cursor },
    now(c),
  );
  return c.json({ items: res.items.map(licenseJson), nextCursor: res.nextCursor });
});

adminRoutes.get('/licenses/:id', staff, async (c) => c.json(await licenseDetail(c, pathId(c, 'id'))));

const licenseChange = body(
  z.object({
    product: text(200).optional(),
    suspended: z.boolean().optional(),
    maxHosts: count(1, MAX_LIMIT).optional(),
    maxSessions: count(1, MAX_LIMIT).nullish(),
    features: features().nullish(),
    featureLimits: featureLimits().nullish(),
    expiresAt: time().nullish(),
    selfResetQuota: count(0, 1000).nullish(),
    notes: str().nullish(),
  }),
);
adminRoutes.patch('/licenses/:id', licenseChange.check, staff, admin, async (c) => {
  const licenseId = pathId(c, 'id');
  const body = licenseChange.of(c);
  if (body.featureLimits) {
    const before = body.features === undefined ? await licenseById(c.var.deps.db, licenseId) : undefined;
    checkLimitsNamed(body.features ?? before?.features ?? [], body.featureLimits);
  }
  await updateLicense(c.var.deps.db, actor(c), licenseId, body, now(c));
  return c.json(await licenseDetail(c, licenseId));
});

const historyQuery = query(z.object({ hours: queryCount(1, 24 * 366) }));
adminRoutes.get('/licenses/:id/history', historyQuery.check, staff, async (c) => {
  const licenseId = pathId(c, 'id');
  const q = historyQuery.of(c);
  const { db } = c.var.deps;
  if (!(await licenseById(db, licenseId))) throw notFound();
  const to = now(c);
  const from = to - (q.hours ?? 24) * 3600_000;
  const h = await licenseHistory(db, licenseId, { from, to });
  return c.json({
    from: isoUtc(h.from), // beyond the raw window: the start of that hour
    to: isoUtc(to),
    captures: h.captures.map((g) => ({ ...g, firstAt: isoUtc(g.firstAt), lastAt: isoUtc(g.lastAt) })),
    refusals: h.refusals.map((g) => ({ ...g, firstAt: isoUtc(g.firstAt), lastAt: isoUtc(g.lastAt) })),
    admissions: h.admissions.map((g) => ({ ...g, firstAt: isoUtc(g.firstAt), lastAt: isoUtc(g.lastAt) })),
  });
});

const resetReason = body(z.object({ reason: z.unknown().refine((v) => v !== undefined, { message: 'api.v.reason_required' }).pipe(str()) }));
adminRoutes.delete('/licenses/:id/hosts/:hostId', resetReason.check, staff, async (c) => {
  const licenseId = pathId(c, 'id');
  const hostId = pathId(c, 'hostId');
  const { db } = c.var.deps;
  const host = await hostById(db, hostId);
  if (!host || host.license_id !== licenseId) throw notFound();
  await resetBinding(db, actor(c), hostId, resetReason.of(c).reason, now(c));
  return c.body(null, 204);
});

// ---- sessions (admin and support) ----

/** A session id in a path: the server's own ids are short; anything else is simply not found. */
function sessionId(c: AppContext): string {
  const v = c.req.param('id') ?? '';
  if (v.length === 0 || v.length > 64) throw notFound();
  return v;
}

const sessionList = query(z.object({ ...page, license: queryId(), client: queryId(), infobase: queryId(), q: optText() }));
adminRoutes.get('/sessions', sessionList.check, staff, async (c) => {
  const q = sessionList.of(c);
  const res = await listLiveSessions(
    c.var.deps.db,
    { licenseId: q.license, clientId: q.client, infobaseId: q.infobase, q: q.q },
    { limit: q.limit ?? 100, cursor: q.cursor },
  );
  const at = now(c);
  return c.json({ items: res.items.map((x) => sessionJson(x, at)), nextCursor: res.nextCursor });
});

const terminateMessage = body(z.object({ message: str().nullish() }));
adminRoutes.delete('/sessions/:id', terminateMessage.check, staff, async (c) => {
  const id = sessionId(c);
  await terminateSession(c.var.deps.db, actor(c), id, terminateMessage.of(c).message?.trim() || null, now(c));
  return c.body(null, 204);
});

const command = body(
  z.object({
    type: z.enum(['stop', 'closePackage', 'message'], { message: 'api.v.command_type' }),
    packageId: str(64).optional(),
    path: str().optional(),
    text: str().optional(),
  }),
);
adminRoutes.post('/sessions/:id/commands', command.check, staff, async (c) => {
  const id = sessionId(c);
  return c.json(await enqueueCommand(c.var.deps.db, actor(c), id, command.of(c), now(c)), 202);
});

adminRoutes.post('/hosts/:hostId/pool/clear', staff, async (c) => {
  await clearHostPool(c.var.deps.db, actor(c), pathId(c, 'hostId'), now(c));
  return c.body(null, 204);
});

// ---- infobases and locks (admin and support) ----

const infobaseList = query(z.object({ ...page, client: queryId(), q: optText() }));
adminRoutes.get('/infobases', infobaseList.check, staff, async (c) => {
  const q = infobaseList.of(c);
  const res = await listInfobases(c.var.deps.db, { clientId: q.client, q: q.q }, { limit: q.limit ?? 100, cursor: q.cursor }, now(c));
  return c.json({ items: res.items.map(infobaseJson), nextCursor: res.nextCursor });
});

adminRoutes.get('/infobases/:id', staff, async (c) => {
  const ib = await infobaseById(c.var.deps.db, pathId(c, 'id'), now(c));
  if (!ib) throw notFound();
  return c.json(infobaseJson(ib));
});

const lock = body(
  z.object({
    from: time().nullish(),
    to: time().nullish(),
    message: text(),
    permissionCode: str().nullish(),
    denySessions: z.boolean().optional(),
    denyBackgroundJobs: z.boolean().optional(),
  }),
);
adminRoutes.put('/infobases/:id/lock', lock.check, staff, async (c) => {
  const infobaseId = pathId(c, 'id');
  const body = lock.of(c);
  if (body.to != null && body.from != null && body.to <= body.from) throw invalid({ to: 'api.v.to_after_from' });
  if (body.to != null && body.to <= now(c)) throw invalid({ to: 'api.v.to_in_future' });
  if (body.denySessions === false && body.denyBackgroundJobs !== true) throw invalid({ denySessions: 'api.v.lock_refuses_nothing' });
  if (body.denySessions === false && body.permissionCode) throw invalid({ permissionCode: 'api.v.lock_code_without_sessions' });
  return c.json(infobaseJson(await setLock(c.var.deps.db, actor(c), infobaseId, body, now(c))));
});

adminRoutes.delete('/infobases/:id/lock', staff, async (c) => {
  await removeLock(c.var.deps.db, actor(c), pathId(c, 'id'), now(c));
  return c.body(null, 204);
});

// ---- settings (admin only) ----

adminRoutes.get('/settings', staff, admin, async (c) => c.json(await getSettings(c.var.deps.db)));

const settingsChange = body(
  z.object({
    heartbeatIntervalSec: count(...SETTINGS_LIMITS.heartbeatIntervalSec).optional(),
    leaseTimeoutSec: count(...SETTINGS_LIMITS.leaseTimeoutSec).optional(),
    poolSize: count(...SETTINGS_LIMITS.poolSize).optional(),
    selfResetQuotaDefault: count(...SETTINGS_LIMITS.selfResetQuotaDefault).optional(),
    retentionDays: count(...SETTINGS_LIMITS.retentionDays).optional(),
  }),
);
adminRoutes.patch('/settings', settingsChange.check, staff, admin, async (c) => {
  const body = settingsChange.of(c);
  const merged = { ...(await getSettings(c.var.deps.db)), ...body };
  if (merged.leaseTimeoutSec < 3 * merged.heartbeatIntervalSec) {
    const min = 3 * merged.heartbeatIntervalSec;
    throw invalid({ leaseTimeoutSec: translator(apiLocale(c))('api.v.lease_timeout', { min }) });
  }
  return c.json(await changeSettings(c.var.deps.db, actor(c), body, now(c)));
});
