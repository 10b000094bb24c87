import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { hashToken, newToken } from '../../src/lib/tokens.js';
import { insertClient, insertLicense } from '../helpers/licensing.js';
import { call, sleep, spawnServer, stopServer } from '../reliability/server-process.js';

// kill -9 under load, again and again: every operation answered with success must
// be in the database afterwards, none that was refused may be, and the limits hold.
// Heartbeat soft state (lastSeenAt, metrics, packages) may be lost; it is not checked.

const ROUNDS = 24;
const AGENTS = 8;
const ADMIN_TOKEN = newToken('smt_');
const LOCK_CODE = 'letmein';

/** A seeded generator, so a failing run can be replayed with CRASH_SEED. */
const seed = Number(process.env.CRASH_SEED ?? Date.now() % 1_000_000);
let state = seed || 1;
const rand = () => {
  state = (state * 1103515245 + 12345) & 0x7fffffff;
  return state / 0x7fffffff;
};
const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];

interface Lic {
  id: number;
  key: string;
  clientId: number;
  maxHosts: number;
  maxSessions: number | null;
  features: Record<string, number | null>;
  infobases: { ext: string; id: number }[];
  fingerprints: Record<string, string>[];
}

interface Sess {
  id: string;
  licenseId: number;
  hostId: number;
  number: number;
  scope: string;
  csid: string;
  token: string;
  features: Set<string>;
  /** Features whose last add/remove got no answer. */
  uncertain: Set<string>;
}

type Candidates<T> = { values: T[] };

describe('kill -9 under load', () => {
  let dir: string;
  let file: string;
  const lics: Lic[] = [];
  const infobaseIds: number[] = [];

  // ---- what the servers answered ----
  const sessions = new Map<string, Sess>();
  const numbers = new Map<string, Map<number, string>>();
  const refusedCsids = new Map<string, string>();
  const refusalCodes = new Map<string, number>();
  const unknownCaptures: { body: Record<string, unknown>; lic: Lic; scope: string }[] = [];
  const existsClosedCsids = new Set<string>();
  const releasedOk = new Set<string>();
  const terminatedOk = new Set<string>();
  const resetOk = new Set<number>();
  const locks = new Map<number, Candidates<string | null>>();
  const poolSize: Candidates<number> = { values: [10] };
  const counts = { captures: 0, releases: 0, terminations: 0, resets: 0, lockChanges: 0, featureChanges: 0, settings: 0, unknown: 0, kills: 0 };
  let csidCounter = 0;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-crash-'));
    file = path.join(dir, 'monitor.db');
    const { db } = openDatabase(file);
    await migrateToLatest(db);
    const now = Date.now();
    await db.insertInto('api_tokens').values({ name: 'crash', token_hash: hashToken(ADMIN_TOKEN), role: 'admin', created_by: null, created_at: now }).execute();
    const clientA = await insertClient(db, now, 'Crash A');
    const clientB = await insertClient(db, now, 'Crash B');
    const ibs: Record<number, { ext: string; id: number }[]> = { [clientA]: [], [clientB]: [] };
    for (const [clientId, ext] of [
      [clientA, 'ib-a1'],
      [clientA, 'ib-a2'],
      [clientB, 'ib-b1'],
    ] as const) {
      const row = await db.insertInto('infobases').values({ client_id: clientId, external_id: ext, name: ext, created_at: now }).returning('id').executeTakeFirstOrThrow();
      ibs[clientId].push({ ext, id: row.id });
      infobaseIds.push(row.id);
      locks.set(row.id, { values: [null] });
    }
    const specs: { clientId: number; maxHosts: number; maxSessions: number | null; features: Record<string, number | null> }[] = [
      { clientId: clientA, maxHosts: 3, maxSessions: null, features: { reports: null, export: 2 } },
      { clientId: clientA, maxHosts: 2, maxSessions: 4, features: { reports: 1 } },
      { clientId: clientB, maxHosts: 4, maxSessions: 6, features: { export: 3 } },
    ];
    for (const [i, s] of specs.entries()) {
      const l = await insertLicense(db, now, s);
      lics.push({
        ...l,
        maxHosts: s.maxHosts,
        maxSessions: s.maxSessions,
        features: s.features,
        infobases: ibs[s.clientId],
        fingerprints: Array.from({ length: s.maxHosts + 3 }, (_, n) => ({ cpu: `CPU-${i}-${n}`, board: `B-${n}`, mac: `00:00:00:00:0${i}:0${n}` })),
      });
    }
    await db.destroy();
  });

  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const scopeOf = (lic: Lic, ext: string | undefined) => (ext ? `ib:${lic.infobases.find((b) => b.ext === ext)!.id}` : `lic:${lic.id}`);

  function recordSession(answer: any, lic: Lic, scope: string, csid: string, owner: Sess[]) {
    const known = sessions.get(answer.sessionId);
    if (known) {
      known.token = answer.token;
      return;
    }
    const s: Sess = {
      id: answer.sessionId,
      licenseId: lic.id,
      hostId: answer.hostId,
      number: answer.sessionNumber,
      scope,
      csid,
      token: answer.token,
      features: new Set(answer.features),
      uncertain: new Set(),
    };
    sessions.set(s.id, s);
    owner.push(s);
    const byNumber = numbers.get(scope) ?? new Map<number, string>();
    numbers.set(scope, byNumber);
    // The same number answered for two sessions of one scope is a double-booking, whenever it happened.
    expect(byNumber.get(s.number) ?? s.id, `session number ${s.number} of ${scope} answered twice`).toBe(s.id);
    byNumber.set(s.number, s.id);
  }

  function refused(csid: string, code: string) {
    refusedCsids.set(csid, code);
    refusalCodes.set(code, (refusalCodes.get(code) ?? 0) + 1);
  }

  /** The answer, or null when the connection failed (the server died): the outcome is then unknown. */
  async function send(base: string, method: string, url: string, body?: unknown, headers?: Record<string, string>) {
    let res;
    try {
      res = await call(base, method, url, body, headers);
    } catch {
      counts.unknown++;
      return null;
    }
    expect(res.status, `${method} ${url}: ${JSON.stringify(res.json)}`).toBeLessThan(500);
    return res;
  }

  /** One agent: captures, heartbeats, features and releases of its own sessions, one request at a time. */
  async function agent(base: string, own: Sess[], running: () => boolean) {
    while (running()) {
      const r = rand();
      const mine = own.filter((s) => !releasedOk.has(s.id));
      if (unknownCaptures.length && r < 0.3) {
        // Retry an open that got no answer, same clientSessionId: it is either new or the same session.
        const u = unknownCaptures.shift()!;
        const res = await send(base, 'POST', '/api/v1/sessions', u.body);
        if (!res) {
          unknownCaptures.push(u);
          return;
        }
        settleRetry(res, u, own);
      } else if (r < 0.5 || mine.length === 0) {
        const lic = pick(lics);
        const feats = Object.keys(lic.features).filter(() => rand() < 0.35);
        if (rand() < 0.05) feats.push('unlicensed');
        const ib = rand() < 0.6 ? pick(lic.infobases).ext : undefined;
        const csid = `cs-${seed}-${++csidCounter}`;
        const body: Record<string, unknown> = {
          licenseKey: lic.key,
          clientSessionId: csid,
          fingerprint: pick(lic.fingerprints),
          machine: { hostname: 'CRASH-SRV', os: 'Linux' },
          user: `user${Math.floor(rand() * 20)}`,
          connectionType: rand() < 0.1 ? 'background' : 'client',
          features: feats,
          ...(ib ? { infobase: { id: ib, name: ib } } : {}),
          ...(rand() < 0.2 ? { permissionCode: LOCK_CODE } : {}),
        };
        const scope = scopeOf(lic, ib);
        const res = await send(base, 'POST', '/api/v1/sessions', body);
        if (!res) {
          unknownCaptures.push({ body, lic, scope });
          return;
        }
        if (res.status === 201) {
          counts.captures++;
          recordSession(res.json, lic, scope, csid, own);
        } else refused(csid, res.json.error.code);
      } else {
        const s = pick(mine);
        const auth = { authorization: `Bearer ${s.token}` };
        const lic = lics.find((l) => l.id === s.licenseId)!;
        const drop = () => own.splice(own.indexOf(s), 1);
        if (r < 0.7) {
          const hb = { sleeping: rand() < 0.2, metrics: { cpuMs: { total: Math.floor(rand() * 1e6) } } };
          const res = await send(base, 'POST', `/api/v1/sessions/${s.id}/heartbeat`, hb, auth);
          if (!res) return;
          expect([200, 410]).toContain(res.status);
          if (res.status === 410) drop();
        } else if (r < 0.85) {
          const f = rand() < 0.1 ? 'unlicensed' : pick(Object.keys(lic.features));
          const remove = rand() < 0.4;
          const res = remove
            ? await send(base, 'DELETE', `/api/v1/sessions/${s.id}/features/${f}`, undefined, auth)
            : await send(base, 'POST', `/api/v1/sessions/${s.id}/features`, { feature: f }, auth);
          if (!res) {
            s.uncertain.add(f);
            return;
          }
          if (res.status === 200) {
            s.features = new Set(res.json.features);
            s.uncertain.clear();
            counts.featureChanges++;
          } else if (res.status === 204) {
            s.features.delete(f);
            s.uncertain.delete(f);
            counts.featureChanges++;
          } else if (res.status === 410) drop();
          else expect(['feature_not_licensed', 'feature_limit_reached']).toContain(res.json.error.code);
        } else {
          const res = await send(base, 'DELETE', `/api/v1/sessions/${s.id}`, undefined, auth);
          if (!res) return; // released or not: either is fine
          expect(res.status).toBe(204);
          releasedOk.add(s.id);
          counts.releases++;
          drop();
        }
      }
    }
  }

  function settleRetry(res: { status: number; json: any }, u: (typeof unknownCaptures)[number], own: Sess[]) {
    const csid = u.body.clientSessionId as string;
    if (res.status === 201 || res.status === 200) recordSession(res.json, u.lic, u.scope, csid, own);
    else if (res.status === 410) existsClosedCsids.add(csid);
    else refused(csid, res.json.error.code);
  }

  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

  /** Support's side: terminations and binding resets of sessions and hosts the agents were told about. */
  async function operator(base: string, running: () => boolean) {
    while (running()) {
      const open = [...sessions.values()].filter((s) => !releasedOk.has(s.id) && !terminatedOk.has(s.id) && !resetOk.has(s.hostId));
      if (!open.length) {
        await sleep(5);
        continue;
      }
      const s = pick(open);
      if (rand() < 0.6) {
        const res = await send(base, 'DELETE', `/api/v1/admin/sessions/${s.id}`, { message: 'crash test' }, admin);
        if (!res) return;
        expect(res.status).toBe(204);
        terminatedOk.add(s.id);
        counts.terminations++;
      } else {
        const res = await send(base, 'DELETE', `/api/v1/admin/licenses/${s.licenseId}/hosts/${s.hostId}`, { reason: 'crash test' }, admin);
        if (!res) return;
        expect([204, 404]).toContain(res.status);
        if (res.status === 204) {
          resetOk.add(s.hostId);
          counts.resets++;
        }
      }
    }
  }

  /** Lock and settings changes, one at a time, so the last answered one is the state to expect. */
  async function locksmith(base: string, running: () => boolean, round: number) {
    let n = 0;
    /** Applies an answered change; an unanswered one may or may not have happened. */
    const settle = <T,>(c: Candidates<T>, value: T, res: { status: number } | null, ok: number) => {
      if (!res) {
        c.values.push(value);
        return false;
      }
      expect(res.status).toBe(ok);
      c.values = [value];
      return true;
    };
    while (running()) {
      n++;
      const r = rand();
      if (r < 0.15) {
        const size = Math.floor(rand() * 20);
        if (!settle(poolSize, size, await send(base, 'PATCH', '/api/v1/admin/settings', { poolSize: size }, admin), 200)) return;
        counts.settings++;
        continue;
      }
      const ib = pick(infobaseIds);
      const c = locks.get(ib)!;
      if (r < 0.2) {
        // A lock whose window is already over is refused and changes nothing.
        const res = await send(base, 'PUT', `/api/v1/admin/infobases/${ib}/lock`, { message: 'never', to: new Date(Date.now() - 60_000).toISOString() }, admin);
        if (!res) return;
        expect(res.status).toBe(400);
        continue;
      }
      const ok =
        r < 0.5
          ? settle(c, null, await send(base, 'DELETE', `/api/v1/admin/infobases/${ib}/lock`, undefined, admin), 204)
          : await (async () => {
              const message = `maintenance ${round}.${n}`;
              const body = { message, permissionCode: LOCK_CODE, denyBackgroundJobs: rand() < 0.5 };
              return settle(c, message, await send(base, 'PUT', `/api/v1/admin/infobases/${ib}/lock`, body, admin), 200);
            })();
      if (!ok) return;
      counts.lockChanges++;
    }
  }

  it(`survives ${ROUNDS} kills with nothing answered lost`, async () => {
    const owners: Sess[][] = Array.from({ length: AGENTS }, () => []);
    for (let round = 0; round < ROUNDS; round++) {
      const server = spawnServer(file);
      if (round % 6 === 5) {
        // Killed while starting: during migrations, restart forgiveness or the first requests.
        await sleep(150 + rand() * 900);
      } else {
        const port = await server.ready;
        const base = `http://127.0.0.1:${port}`;
        let live = true;
        const running = () => live;
        const work = [
          ...owners.map((own) => agent(base, own, running)),
          operator(base, running),
          locksmith(base, running, round),
        ];
        await sleep(200 + rand() * 800);
        const killed = stopServer(server, 'SIGKILL');
        live = false;
        await killed;
        await Promise.all(work);
      }
      await stopServer(server, 'SIGKILL');
      counts.kills++;
    }

    // One clean start after the last crash: it must come up, answer and stop with 0.
    const server = spawnServer(file);
    const port = await server.ready;
    const health = await call(`http://127.0.0.1:${port}`, 'GET', '/healthz');
    expect(health.status).toBe(200);
    // Unanswered opens are answered now: the same session if it was committed, else a new one.
    const own: Sess[] = [];
    for (const u of unknownCaptures.splice(0)) settleRetry(await call(`http://127.0.0.1:${port}`, 'POST', '/api/v1/sessions', u.body), u, own);
    expect((await stopServer(server, 'SIGTERM')).code).toBe(0);

    verify();
    console.log(`crash test seed ${seed}:`, JSON.stringify({ ...counts, refusals: Object.fromEntries(refusalCodes) }));
    // The run did real work of every kind, so passing means something.
    expect(counts.kills).toBeGreaterThanOrEqual(20);
    expect(counts.captures).toBeGreaterThan(100);
    expect(counts.releases).toBeGreaterThan(5);
    expect(counts.terminations).toBeGreaterThan(5);
    expect(counts.resets).toBeGreaterThan(5);
    expect(counts.lockChanges).toBeGreaterThan(5);
    expect(counts.featureChanges).toBeGreaterThan(5);
    expect(refusalCodes.get('host_limit_reached') ?? 0).toBeGreaterThan(0);
    expect(refusalCodes.get('infobase_locked') ?? 0).toBeGreaterThan(0);
  });

  function verify() {
    const sqlite = new Database(file);
    try {
      expect(sqlite.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(sqlite.pragma('foreign_key_check')).toEqual([]);
      const q = <T,>(text: string, ...params: unknown[]) => sqlite.prepare(text).all(...params) as T[];
      type Row = { id: string; license_id: number; host_id: number; session_number: number; client_session_id: string | null; closed_at: number | null; close_reason: string | null };
      const rows = new Map(q<Row>('select id, license_id, host_id, session_number, client_session_id, closed_at, close_reason from sessions').map((r) => [r.id, r]));
      const hosts = new Map(q<{ id: number; reset_at: number | null }>('select id, reset_at from hosts').map((h) => [h.id, h]));
      const featureRows = q<{ session_id: string; feature: string }>('select session_id, feature from session_features');
      const featuresOf = (id: string) => new Set(featureRows.filter((f) => f.session_id === id).map((f) => f.feature));

      // Every answered open is there, as answered.
      for (const s of sessions.values()) {
        const row = rows.get(s.id);
        expect(row, `session ${s.id} answered 201 but missing`).toBeDefined();
        expect([row!.license_id, row!.host_id, row!.session_number, row!.client_session_id]).toEqual([s.licenseId, s.hostId, s.number, s.csid]);
        if (releasedOk.has(s.id) || terminatedOk.has(s.id) || resetOk.has(s.hostId)) {
          expect(row!.closed_at, `session ${s.id} was closed (answered) but is open`).not.toBeNull();
        }
        // A closed session holds no feature (its rows wait for the pruning job and count for nothing).
        if (row!.closed_at === null) {
          const have = featuresOf(s.id);
          for (const f of s.features) if (!s.uncertain.has(f)) expect(have.has(f), `feature ${f} of ${s.id} lost`).toBe(true);
          for (const f of have) expect(s.features.has(f) || s.uncertain.has(f), `feature ${f} of ${s.id} was removed`).toBe(true);
        }
      }
      const byCsid = new Map([...rows.values()].map((r) => [r.client_session_id, r]));
      for (const csid of existsClosedCsids) expect(byCsid.get(csid)?.closed_at, csid).not.toBeNull();
      // Nothing refused is there.
      for (const [csid, code] of refusedCsids) expect(byCsid.has(csid), `refused (${code}) open ${csid} is in the database`).toBe(false);
      // Every answered reset is there; no open session on a reset host.
      for (const id of resetOk) expect(hosts.get(id)?.reset_at, `reset host ${id}`).not.toBeNull();
      for (const r of rows.values()) if (r.closed_at === null) expect(hosts.get(r.host_id)!.reset_at, `open session ${r.id} on a reset host`).toBeNull();
      // A host is only ever bound together with a session.
      const withSessions = new Set([...rows.values()].map((r) => r.host_id));
      for (const h of hosts.keys()) expect(withSessions.has(h), `host ${h} bound without a session`).toBe(true);

      // Limits.
      for (const lic of lics) {
        const bound = q<{ n: number }>('select count(*) n from hosts where license_id = ? and reset_at is null', lic.id)[0].n;
        expect(bound, `bound hosts of license ${lic.id}`).toBeLessThanOrEqual(lic.maxHosts);
        const open = q<{ n: number }>('select count(*) n from sessions where license_id = ? and closed_at is null', lic.id)[0].n;
        if (lic.maxSessions !== null) expect(open, `open sessions of license ${lic.id}`).toBeLessThanOrEqual(lic.maxSessions);
        for (const [f, limit] of Object.entries(lic.features)) {
          if (limit === null) continue;
          const held = q<{ n: number }>(
            'select count(*) n from session_features f join sessions s on s.id = f.session_id where f.license_id = ? and f.feature = ? and s.closed_at is null',
            lic.id,
            f,
          )[0].n;
          expect(held, `holders of ${f} on license ${lic.id}`).toBeLessThanOrEqual(limit);
        }
      }
      // Session numbers: unique per scope, and the counter is past every number used.
      const dup = q(
        `select coalesce('ib:' || infobase_id, 'lic:' || license_id) scope, session_number, count(*) n from sessions group by 1, 2 having n > 1`,
      );
      expect(dup).toEqual([]);
      const behind = q(
        `select s.scope from (select coalesce('ib:' || infobase_id, 'lic:' || license_id) scope, max(session_number) top from sessions group by 1) s
         left join session_counters c on c.scope = s.scope where c.last_number is null or c.last_number < s.top`,
      );
      expect(behind).toEqual([]);

      // Locks and settings: the last answered change (or one whose answer was lost).
      for (const [ib, c] of locks) {
        const row = q<{ lock_set_at: number | null; lock_message: string | null }>('select lock_set_at, lock_message from infobases where id = ?', ib)[0];
        const actual = row.lock_set_at === null ? null : row.lock_message;
        expect(c.values, `lock of infobase ${ib}`).toContain(actual);
      }
      expect(poolSize.values).toContain(q<{ pool_size: number }>('select pool_size from settings')[0].pool_size);
    } finally {
      sqlite.close();
    }
  }
});
