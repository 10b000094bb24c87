import { createAdaptorServer } from '@hono/node-server';
import supertest from 'supertest';
import type { Server } from 'node:http';
import { createApp } from '../../src/app.js';
import { testConfig, type Config } from '../../src/config.js';
import { openDatabase, type Db } from '../../src/db/connection.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { ManualClock } from '../../src/lib/clock.js';
import { PasswordHasher } from '../../src/lib/passwords.js';
import type { Deps } from '../../src/deps.js';
import type { Role } from '../../src/db/schema.js';
import { createUser } from '../../src/models/users.js';
import { hashToken, newToken } from '../../src/lib/tokens.js';
import { createApiToken } from '../../src/models/api-tokens.js';
import type Database from 'better-sqlite3';

// One cheap hash shared by every test user: argon2 at full cost would make each login slow.
export const TEST_PASSWORD = 'correct horse battery';
let testHash: Promise<string> | null = null;
export const hasher = new PasswordHasher(4);
export function testPasswordHash(): Promise<string> {
  return (testHash ??= hasher.hash(TEST_PASSWORD));
}

export interface TestApp {
  db: Db;
  sqlite: Database.Database;
  clock: ManualClock;
  deps: Deps;
  server: Server;
  request: ReturnType<typeof supertest>;
  close(): Promise<void>;
}

/** A freshly migrated in-memory database and the app over it, driven by supertest. */
export async function makeApp(overrides: Partial<Config> = {}, file = ':memory:'): Promise<TestApp> {
  const { db, sqlite } = openDatabase(file);
  await migrateToLatest(db);
  const clock = new ManualClock();
  const config = testConfig({ databasePath: file, ...overrides });
  const { app, deps } = createApp({ db, config, clock, hasher });
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  return {
    db,
    sqlite,
    clock,
    deps,
    server,
    request: supertest(server),
    async close() {
      server.close();
      await db.destroy();
    },
  };
}

let clientCounter = 0;
/** A client row with a unique name. */
export async function makeClient(t: TestApp, name = `Client ${++clientCounter}`): Promise<number> {
  const now = t.clock.now();
  const row = await t.db.insertInto('clients').values({ name, created_at: now, updated_at: now }).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

/** Creates a user with TEST_PASSWORD. */
export async function makeUser(t: TestApp, role: Role, opts: { email?: string; clientId?: number } = {}) {
  const clientId = role === 'client' ? (opts.clientId ?? (await makeClient(t))) : null;
  return createUser(
    t.db,
    { email: opts.email ?? `${role}-${Math.random().toString(36).slice(2, 8)}@example.com`, passwordHash: await testPasswordHash(), role, clientId },
    t.clock.now(),
  );
}

export interface Session {
  cookie: string;
  csrf: string;
  agent: ReturnType<typeof supertest.agent>;
}

/** Signs in through the login form and returns the cookie and the page's CSRF token. */
export async function login(t: TestApp, email: string, password = TEST_PASSWORD): Promise<Session> {
  const res = await t.request.post('/login').type('form').send({ email, password });
  if (res.status !== 303) throw new Error(`login failed for ${email}: ${res.status} ${res.text.slice(0, 300)}`);
  const setCookie = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  const cookie = setCookie.map((c) => c.split(';')[0]).find((c) => c.startsWith('sm_session='))!;
  const page = await t.request.get('/account').set('Cookie', cookie);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1];
  if (!csrf) throw new Error('no CSRF token on /account');
  return { cookie, csrf, agent: supertest.agent(t.server) };
}

/** A user of the role, signed in. */
export async function loginAs(t: TestApp, role: Role, opts: { clientId?: number } = {}) {
  const user = await makeUser(t, role, opts);
  const session = await login(t, user.email);
  return { user, ...session };
}

/** An API token of the role; returns the plaintext. */
export async function makeApiToken(t: TestApp, role: 'admin' | 'support' = 'admin'): Promise<string> {
  const token = newToken('smt_');
  await createApiToken(t.db, { name: `test ${role}`, tokenHash: hashToken(token), role, createdBy: null }, t.clock.now());
  return token;
}
