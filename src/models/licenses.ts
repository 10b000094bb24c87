import { sql } from 'kysely';
import type { Db } from '../db/connection.js';
import type { Updateable } from 'kysely';
import type { HostRow, LicenseRow, LicenseTable } from '../db/schema.js';
import { invalid, notFound } from '../lib/errors.js';
import { isDotName } from '../lib/path-segment.js';
import { newLicenseKey } from '../lib/tokens.js';
import type { Actor } from './actor.js';
import { recordAudit } from './audit.js';
import { decodeCursor, pageLimit, toPage, type PageRequest, type Paged } from './paging.js';
import { bumpChangeMarker, closeSessions } from './session-lifecycle.js';
import { getSettings } from './settings.js';
import { contains } from './sql-helpers.js';

export const SELF_RESET_WINDOW_MS = 30 * 86_400_000;
const MAX_FEATURES = 200;
const MAX_FEATURE_NAME = 128;
const MAX_LIMIT = 1_000_000;

/** A license key with its rules, as cards, lists and the admin API show it. */
export interface License {
  id: number;
  clientId: number;
  clientName: string;
  key: string;
  product: string;
  /** The licensed features in name order. */
  features: string[];
  /** Per-feature concurrent limits; features without a limit are absent. */
  featureLimits: Record<string, number>;
  maxHosts: number;
  maxSessions: number | null;
  expiresAt: number | null;
  suspendedAt: number | null;
  /** null = the settings default; 0 = no self-service resets. */
  selfResetQuota: number | null;
  notes: string | null;
  createdAt: number;
  updatedAt: number;
  boundHosts: number;
  liveSessions: number;
}

export interface LicenseInput {
  clientId: number;
  product: string;
  features?: string[] | null;
  featureLimits?: Record<string, number> | null;
  maxHosts: number;
  maxSessions?: number | null;
  expiresAt?: number | null;
  selfResetQuota?: number | null;
  notes?: string | null;
}

/** PATCH semantics: absent = unchanged, null = cleared (optional fields only). */
export interface LicenseChanges {
  product?: string;
  features?: string[] | null;
  featureLimits?: Record<string, number> | null;
  maxHosts?: number;
  maxSessions?: number | null;
  expiresAt?: number | null;
  selfResetQuota?: number | null;
  notes?: string | null;
  suspended?: boolean;
}

type LicenseListRow = LicenseRow & { client_name: string; bound_hosts: number | null; live_sessions: number | null };

function licenseQuery(db: Db) {
  return db
    .selectFrom('licenses')
    .innerJoin('clients', 'clients.id', 'licenses.client_id')
    .selectAll('licenses')
    .select('clients.name as client_name')
    .select((eb) => [
      eb
        .selectFrom('hosts')
        .whereRef('hosts.license_id', '=', 'licenses.id')
        .where('hosts.reset_at', 'is', null)
        .select(eb.fn.countAll<number>().as('n'))
        .as('bound_hosts'),
      eb
        .selectFrom('sessions')
        .whereRef('sessions.license_id', '=', 'licenses.id')
        .where('sessions.closed_at', 'is', null)
        .select(eb.fn.countAll<number>().as('n'))
        .as('live_sessions'),
    ]);
}

async function featuresOf(db: Db, licenseIds: number[]): Promise<Map<number, { feature: string; max_sessions: number | null }[]>> {
  const out = new Map<number, { feature: string; max_sessions: number | null }[]>();
  if (licenseIds.length === 0) return out;
  for (let i = 0; i < licenseIds.length; i += 500) {
    const rows = await db
      .selectFrom('license_features')
      .select(['license_id', 'feature', 'max_sessions'])
      .where('license_id', 'in', licenseIds.slice(i, i + 500))
      .orderBy('feature')
      .execute();
    for (const r of rows) {
      const list = out.get(r.license_id) ?? [];
      list.push({ feature: r.feature, max_sessions: r.max_sessions });
      out.set(r.license_id, list);
    }
  }
  return out;
}

function toLicense(r: LicenseListRow, feats: { feature: string; max_sessions: number | null }[]): License {
  // Entries, not assignments: a feature may be called "__proto__".
  const featureLimits: Record<string, number> = Object.fromEntries(feats.flatMap((f) => (f.max_sessions === null ? [] : [[f.feature, f.max_sessions]])));
  return {
    id: r.id,
    clientId: r.client_id,
    clientName: r.client_name,
    key: r.key,
    product: r.product,
    features: feats.map((f) => f.feature),
    featureLimits,
    maxHosts: r.max_hosts,
    maxSessions: r.max_sessions,
    expiresAt: r.expires_at,
    suspendedAt: r.suspended_at,
    selfResetQuota: r.self_reset_quota,
    notes: r.notes,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    boundHosts: Number(r.bound_hosts ?? 0),
    liveSessions: Number(r.live_sessions ?? 0),
  };
}

async function withFeatures(db: Db, rows: LicenseListRow[]): Promise<License[]> {
  const feats = await featuresOf(db, rows.map((r) => r.id));
  return rows.map((r) => toLicense(r, feats.get(r.id) ?? []));
}

/** The key as people type it: upper case, no surrounding blanks. */
export function normalizeLicenseKey(key: string): string {
  return key.trim().toUpperCase();
}

/** The license with this id, with features and limits (confined to `scopeClientId` when given). */
export async function licenseById(db: Db, id: number, scopeClientId: number | null = null): Promise<License | undefined> {
  let q = licenseQuery(db).where('licenses.id', '=', id);
  if (scopeClientId !== null) q = q.where('licenses.client_id', '=', scopeClientId);
  const row = await q.executeTakeFirst();
  return row && (await withFeatures(db, [row]))[0];
}

/** The license with this key (case-insensitive), with features and limits. */
export async function licenseByKey(db: Db, key: string, scopeClientId: number | null = null): Promise<License | undefined> {
  let q = licenseQuery(db).where('licenses.key', '=', normalizeLicenseKey(key));
  if (scopeClientId !== null) q = q.where('licenses.client_id', '=', scopeClientId);
  const row = await q.executeTakeFirst();
  return row && (await withFeatures(db, [row]))[0];
}

export interface LicenseFilter {
  clientId?: number | null;
  /** Exact key (case-insensitive). */
  key?: string | null;
  /** Exact product name. */
  product?: string | null;
  /** Part of the key, product or client name. */
  q?: string | null;
  /** Confines the list to one client (client users). */
  scopeClientId?: number | null;
  suspended?: boolean;
  /** Only licenses whose expiry has passed (true) or not (false) at `now`. */
  expired?: boolean;
  /** Only licenses with at most one free host slot. */
  nearHostLimit?: boolean;
}

/** Licenses newest first, filtered, keyset-paged. */
export async function listLicenses(db: Db, filter: LicenseFilter, page: PageRequest, now: number): Promise<Paged<License>> {
  const limit = pageLimit(page.limit);
  let q = licenseQuery(db);
  if (filter.scopeClientId != null) q = q.where('licenses.client_id', '=', filter.scopeClientId);
  if (filter.clientId != null) q = q.where('licenses.client_id', '=', filter.clientId);
  if (filter.key) q = q.where('licenses.key', '=', normalizeLicenseKey(filter.key));
  if (filter.product) q = q.where('licenses.product', '=', filter.product);
  const text = filter.q?.trim();
  if (text) {
    const parts = [contains('licenses.key', text), contains('licenses.product', text), contains('clients.name', text)];
    // A key read out over the phone or copied from a log comes without its dashes: "72PREZWD" finds 72PR-EZWD-….
    const compact = text.replace(/[-\s]/g, '');
    if (/^[A-Za-z0-9]{4,}$/.test(compact)) parts.push(sql<boolean>`replace(licenses.key, '-', '') like ${`%${compact}%`}`);
    q = q.where((eb) => eb.or(parts));
  }
  if (filter.suspended !== undefined) q = q.where('licenses.suspended_at', filter.suspended ? 'is not' : 'is', null);
  if (filter.expired === true) q = q.where('licenses.expires_at', '<=', now);
  if (filter.expired === false) q = q.where((eb) => eb.or([eb('licenses.expires_at', 'is', null), eb('licenses.expires_at', '>', now)]));
  if (filter.nearHostLimit) {
    q = q.where(
      sql<boolean>`(select count(*) from hosts h where h.license_id = licenses.id and h.reset_at is null) >= licenses.max_hosts - 1`,
    );
  }
  if (page.cursor) {
    const [id] = decodeCursor(page.cursor, ['number'] as const);
    q = q.where('licenses.id', '<', id);
  }
  const rows = await q.orderBy('licenses.id', 'desc').limit(limit + 1).execute();
  const paged = toPage(rows, limit, (r) => [r.id], (r) => r);
  return { items: await withFeatures(db, paged.items), nextCursor: paged.nextCursor };
}

function checkFeatures(features: string[] | null | undefined, problems: Record<string, string>): string[] | undefined {
  if (features === undefined) return undefined;
  if (features === null) return [];
  const seen = new Set<string>();
  features.forEach((f, i) => {
    if (typeof f !== 'string' || f.length === 0) problems[`features.${i}`] = 'must not be empty';
    else if ([...f].length > MAX_FEATURE_NAME) problems[`features.${i}`] = `at most ${MAX_FEATURE_NAME} characters`;
    else if (isDotName(f)) problems[`features.${i}`] = 'must not be "." or ".."';
    // A name given twice is refused, not merged: which line's limit would hold is anyone's guess.
    else if (seen.has(f.normalize('NFC'))) problems[`features.${i}`] = 'api.v.duplicate_feature';
    else seen.add(f.normalize('NFC'));
  });
  if (seen.size > MAX_FEATURES) problems.features = `at most ${MAX_FEATURES} features`;
  return [...seen].sort();
}

function checkLimit(v: number | null | undefined, field: string, min: number, max: number, problems: Record<string, string>): void {
  if (v === undefined || v === null) return;
  if (!Number.isInteger(v) || v < min || v > max) problems[field] = `must be a whole number from ${min} to ${max}`;
}

function checkText(v: string | null | undefined, field: string, max: number, required: boolean, problems: Record<string, string>): string | null | undefined {
  if (v === undefined) return undefined;
  const s = (v ?? '').trim();
  if (required && !s) problems[field] = 'must not be empty';
  else if ([...s].length > max) problems[field] = `at most ${max} characters`;
  return s || null;
}

/** Feature limits must name licensed features: returns the rows to store. */
function featureRows(features: string[], limits: Record<string, number | null>, problems: Record<string, string>) {
  const named = new Set<string>();
  for (const [f, n] of Object.entries(limits)) {
    if (!features.includes(f.normalize('NFC'))) problems[`featureLimits.${f}`] = 'is not one of the license\'s features';
    else if (named.has(f.normalize('NFC'))) problems[`featureLimits.${f}`] = 'api.v.duplicate_feature';
    else checkLimit(n, `featureLimits.${f}`, 1, MAX_LIMIT, problems);
    named.add(f.normalize('NFC'));
  }
  const byName = new Map(Object.entries(limits).map(([f, n]) => [f.normalize('NFC'), n] as const));
  return features.map((feature) => ({ feature, max_sessions: byName.get(feature) ?? null }));
}

function throwIf(problems: Record<string, string>): void {
  if (Object.keys(problems).length) throw invalid(problems);
}

function checkLicenseInput(input: LicenseInput, problems: Record<string, string>) {
  const product = checkText(input.product ?? '', 'product', 200, true, problems);
  const notes = checkText(input.notes, 'notes', 4000, false, problems);
  const features = checkFeatures(input.features, problems) ?? [];
  if (input.maxHosts === undefined || input.maxHosts === null) problems.maxHosts = 'required';
  checkLimit(input.maxHosts, 'maxHosts', 1, MAX_LIMIT, problems);
  checkLimit(input.maxSessions, 'maxSessions', 1, MAX_LIMIT, problems);
  checkLimit(input.selfResetQuota, 'selfResetQuota', 0, 1000, problems);
  checkLimit(input.expiresAt, 'expiresAt', 0, 8.64e15, problems);
  const rows = featureRows(features, input.featureLimits ?? {}, problems);
  return { product, notes, features, rows };
}

/**
 * Every problem of a whole license's fields that needs no database, by field
 * ("maxHosts", "features.2", "featureLimits.export"); empty when there is none.
 * A form asks before it saves, so that each field's problem is shown at once.
 */
export function licenseInputProblems(input: LicenseInput): Record<string, string> {
  const problems: Record<string, string> = {};
  checkLicenseInput(input, problems);
  return problems;
}

/** Creates a license with a fresh unique key, its features and limits (audited 'license.created'). */
export async function createLicense(db: Db, actor: Actor, input: LicenseInput, now: number): Promise<License> {
  const problems: Record<string, string> = {};
  const { product, notes, features, rows } = checkLicenseInput(input, problems);
  throwIf(problems);
  return db.transaction().execute(async (trx) => {
    const client = await trx.selectFrom('clients').select(['id', 'name']).where('id', '=', input.clientId).executeTakeFirst();
    if (!client) throw invalid({ clientId: 'api.v.no_such_client' });
    // Inside BEGIN IMMEDIATE the check and the insert cannot race; a clash of ~98-bit keys is only theoretical.
    let key = newLicenseKey();
    for (let tries = 0; await trx.selectFrom('licenses').select('id').where('key', '=', key).executeTakeFirst(); tries++) {
      if (tries > 10) throw new Error('could not generate a unique license key');
      key = newLicenseKey();
    }
    const row = await trx
      .insertInto('licenses')
      .values({
        client_id: client.id,
        key,
        product: product!,
        max_hosts: input.maxHosts,
        max_sessions: input.maxSessions ?? null,
        expires_at: input.expiresAt ?? null,
        self_reset_quota: input.selfResetQuota ?? null,
        notes: notes ?? null,
        created_at: now,
        updated_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    if (rows.length) await trx.insertInto('license_features').values(rows.map((r) => ({ license_id: row.id, ...r }))).execute();
    await recordAudit(
      trx,
      actor,
      {
        action: 'license.created',
        targetType: 'license',
        targetId: row.id,
        targetLabel: key,
        clientId: client.id,
        details: {
          product,
          features,
          featureLimits: Object.fromEntries(rows.filter((r) => r.max_sessions !== null).map((r) => [r.feature, r.max_sessions])),
          maxHosts: input.maxHosts,
          maxSessions: input.maxSessions ?? null,
          expiresAt: input.expiresAt ?? null,
          selfResetQuota: input.selfResetQuota ?? null,
        },
      },
      now,
    );
    return (await licenseById(trx, row.id))!;
  });
}

/**
 * Applies a PATCH: absent fields stay, null clears an optional one, `features`
 * and `featureLimits` replace the whole list/map (limits of features that stay
 * are kept when only `features` is sent). Lowering a limit affects only new
 * captures. Audited 'license.updated' with what changed; `suspended` goes
 * through the suspension rules in the same transaction.
 */
export async function updateLicense(db: Db, actor: Actor, id: number, changes: LicenseChanges, now: number): Promise<License> {
  const problems: Record<string, string> = {};
  const product = changes.product === undefined ? undefined : checkText(changes.product, 'product', 200, true, problems);
  const notes = checkText(changes.notes, 'notes', 4000, false, problems);
  const newFeatures = checkFeatures(changes.features, problems);
  if (changes.maxHosts === null) problems.maxHosts = 'must not be null';
  checkLimit(changes.maxHosts, 'maxHosts', 1, MAX_LIMIT, problems);
  checkLimit(changes.maxSessions, 'maxSessions', 1, MAX_LIMIT, problems);
  checkLimit(changes.selfResetQuota, 'selfResetQuota', 0, 1000, problems);
  checkLimit(changes.expiresAt, 'expiresAt', 0, 8.64e15, problems);
  throwIf(problems);
  return db.transaction().execute(async (trx) => {
    const before = await licenseById(trx, id);
    if (!before) throw notFound();
    const features = newFeatures ?? before.features;
    let limits: Record<string, number | null>;
    if (changes.featureLimits !== undefined) limits = changes.featureLimits ?? {};
    else limits = Object.fromEntries(Object.entries(before.featureLimits).filter(([f]) => features.includes(f)));
    const rows = featureRows(features, limits, problems);
    throwIf(problems);

    const set: Updateable<LicenseTable> = {};
    const changed: Record<string, { from: unknown; to: unknown }> = {};
    const note = (field: keyof License, col: keyof LicenseTable, to: string | number | null | undefined) => {
      if (to === undefined || before[field] === to) return;
      (set as Record<string, unknown>)[col] = to;
      changed[field] = { from: before[field], to };
    };
    note('product', 'product', product ?? undefined);
    note('maxHosts', 'max_hosts', changes.maxHosts);
    note('maxSessions', 'max_sessions', changes.maxSessions);
    note('expiresAt', 'expires_at', changes.expiresAt);
    note('selfResetQuota', 'self_reset_quota', changes.selfResetQuota);
    note('notes', 'notes', notes);
    const newLimits = Object.fromEntries(rows.filter((r) => r.max_sessions !== null).map((r) => [r.feature, r.max_sessions]));
    if (JSON.stringify(features) !== JSON.stringify(before.features)) changed.features = { from: before.features, to: features };
    if (JSON.stringify(newLimits) !== JSON.stringify(before.featureLimits)) changed.featureLimits = { from: before.featureLimits, to: newLimits };

    if (Object.keys(changed).length) {
      await trx.updateTable('licenses').set({ ...set, updated_at: now }).where('id', '=', id).execute();
      if (changed.features || changed.featureLimits) {
        await trx.deleteFrom('license_features').where('license_id', '=', id).execute();
        if (rows.length) await trx.insertInto('license_features').values(rows.map((r) => ({ license_id: id, ...r }))).execute();
      }
      await recordAudit(
        trx,
        actor,
        { action: 'license.updated', targetType: 'license', targetId: id, targetLabel: before.key, clientId: before.clientId, details: changed },
        now,
      );
      await bumpChangeMarker(trx);
    }
    if (changes.suspended !== undefined) await applySuspension(trx, actor, id, changes.suspended, now);
    return (await licenseById(trx, id))!;
  });
}

/**
 * How many bound hosts and open sessions the license has above its limits (0 when within). Lowering
 * a limit frees and closes nothing (it refuses only new captures), so an edit may leave a license above it.
 */
/** Open sessions holding each feature of the license that has a limit, above that limit (feature → holders). */
export async function featuresAboveLimits(db: Db, l: Pick<License, 'id' | 'featureLimits'>): Promise<Record<string, number>> {
  const limited = Object.keys(l.featureLimits);
  if (!limited.length) return {};
  const rows = await db
    .selectFrom('session_features as f')
    .innerJoin('sessions as s', 's.id', 'f.session_id')
    .select(['f.feature', (eb) => eb.fn.countAll<number>().as('n')])
    .where('f.license_id', '=', l.id)
    .where('s.closed_at', 'is', null)
    .where('f.feature', 'in', limited)
    .groupBy('f.feature')
    .execute();
  return Object.fromEntries(rows.filter((r) => r.n > l.featureLimits[r.feature]).map((r) => [r.feature, Number(r.n)]));
}

export function usageAboveLimits(l: Pick<License, 'boundHosts' | 'maxHosts' | 'liveSessions' | 'maxSessions'>): { hosts: number; sessions: number } {
  return { hosts: Math.max(0, l.boundHosts - l.maxHosts), sessions: l.maxSessions === null ? 0 : Math.max(0, l.liveSessions - l.maxSessions) };
}

/**
 * Suspends (closing every live session of the license with reason
 * 'license_suspended' in the same transaction) or lifts a suspension (which
 * reopens nothing). A call that changes nothing writes nothing. Returns the
 * number of sessions closed.
 */
async function applySuspension(trx: Db, actor: Actor, id: number, suspended: boolean, now: number, reason: string | null = null): Promise<number> {
  const lic = await trx.selectFrom('licenses').select(['id', 'key', 'client_id', 'suspended_at']).where('id', '=', id).executeTakeFirst();
  if (!lic) throw notFound();
  if (suspended === (lic.suspended_at !== null)) return 0;
  await trx.updateTable('licenses').set({ suspended_at: suspended ? now : null, updated_at: now }).where('id', '=', id).execute();
  const closed = suspended ? await closeSessions(trx, { licenseId: id }, 'license_suspended', now) : [];
  await recordAudit(
    trx,
    actor,
    {
      action: suspended ? 'license.suspended' : 'license.unsuspended',
      targetType: 'license',
      targetId: id,
      targetLabel: lic.key,
      clientId: lic.client_id,
      reason,
      details: suspended ? { closedSessions: closed.length } : null,
    },
    now,
  );
  await bumpChangeMarker(trx);
  return closed.length;
}

/** Suspends or unsuspends a license (see applySuspension); audited 'license.suspended' / 'license.unsuspended'. */
export async function setLicenseSuspended(
  db: Db,
  actor: Actor,
  id: number,
  suspended: boolean,
  now: number,
  reason: string | null = null,
): Promise<{ license: License; closedSessions: number }> {
  return db.transaction().execute(async (trx) => {
    const closedSessions = await applySuspension(trx, actor, id, suspended, now, reason);
    return { license: (await licenseById(trx, id))!, closedSessions };
  });
}

/** A bound host (license × fingerprint) as staff see it. */
export interface BoundHost {
  id: number;
  licenseId: number;
  fingerprintHash: string;
  /** The fingerprint's components as the agent sent them. */
  components: Record<string, string>;
  machine: { hostname: string | null; os: string | null; ip: string | null };
  boundAt: number;
  lastSeenAt: number;
  liveSessions: number;
}

function parseComponents(text: string): Record<string, string> {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, string>) : {};
  } catch {
    return {};
  }
}

/** The license's bound hosts (not reset), oldest binding first, with their live session counts. */
export async function boundHosts(db: Db, licenseId: number): Promise<BoundHost[]> {
  // One pass over the license's open sessions (indexed by license, not by host), counted per host.
  const rows = await db
    .selectFrom('hosts')
    .leftJoin(
      (eb) =>
        eb
          .selectFrom('sessions')
          .select(['sessions.host_id', eb.fn.countAll<number>().as('n'), sql<number>`max(sessions.last_seen_at)`.as('seen')])
          .where('sessions.license_id', '=', licenseId)
          .where('sessions.closed_at', 'is', null)
          .groupBy('sessions.host_id')
          .as('live'),
      (join) => join.onRef('live.host_id', '=', 'hosts.id'),
    )
    .selectAll('hosts')
    .select(['live.n as live_sessions', 'live.seen as sessions_seen_at'])
    .where('hosts.license_id', '=', licenseId)
    .where('hosts.reset_at', 'is', null)
    .orderBy('hosts.bound_at')
    .orderBy('hosts.id')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    licenseId: r.license_id,
    fingerprintHash: r.fingerprint_hash,
    components: parseComponents(r.components),
    machine: { hostname: r.machine_hostname, os: r.machine_os, ip: r.machine_ip },
    boundAt: r.bound_at,
    // The host's row follows its sessions to 5 minutes (one write per host, not per heartbeat); its
    // open sessions' own last heartbeat is exact.
    lastSeenAt: Math.max(r.last_seen_at, Number(r.sessions_seen_at ?? 0)),
    liveSessions: Number(r.live_sessions ?? 0),
  }));
}

/** The host row (bound or reset) with this id, or undefined. */
export async function hostById(db: Db, hostId: number): Promise<HostRow | undefined> {
  return db.selectFrom('hosts').selectAll().where('id', '=', hostId).executeTakeFirst();
}

/** Self-service resets of the license by client users in the rolling 30 days before `now`. */
export async function selfResetsUsed(db: Db, licenseId: number, now: number): Promise<number> {
  const row = await db
    .selectFrom('hosts')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('license_id', '=', licenseId)
    .where('reset_by_client', '=', 1)
    .where('reset_at', '>', now - SELF_RESET_WINDOW_MS)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The self-reset quota that applies: the license's own, else the settings default (0 = none). */
export function effectiveQuota(license: { selfResetQuota: number | null }, selfResetQuotaDefault: number): number {
  return license.selfResetQuota ?? selfResetQuotaDefault;
}

/** How many self-service resets the license allows per 30 days, how many are used and how many remain. */
export async function selfResetStatus(db: Db, license: { id: number; selfResetQuota: number | null }, now: number): Promise<{ quota: number; used: number; remaining: number }> {
  const quota = effectiveQuota(license, (await getSettings(db)).selfResetQuotaDefault);
  const used = await selfResetsUsed(db, license.id, now);
  return { quota, used, remaining: Math.max(0, quota - used) };
}
