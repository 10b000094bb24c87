import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { createApp } from './app.js';
import { ConfigError, loadConfig, localBase, type Config } from './config.js';
import { DatabaseOpenError, openDatabase } from './db/connection.js';
import { migrateToLatest } from './db/migrate.js';
import { systemClock } from './lib/clock.js';
import { createLogger } from './lib/logger.js';
import { startingResponse } from './lib/starting.js';
import { hashToken, newToken } from './lib/tokens.js';
import { recordAudit } from './models/audit.js';
import { createSetupToken } from './models/setup.js';
import { hasActiveAdmin } from './models/users.js';
import { startJobs } from './jobs/index.js';

/** Ends a start that cannot go on: one line on stderr saying what to fix, no stack trace. */
function refuseToStart(message: string, exitCode = 1): never {
  process.stderr.write(`${message}\n`);
  process.exit(exitCode);
}

/** Resolves with the address once the server listens; rejects with the listen error. */
function listening(server: ServerType): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** A listen error as the line to print and the exit code (2 when a variable must change), or null for an unexpected one. */
function listenRefusal(e: NodeJS.ErrnoException, config: Readonly<Config>): [string, number] | null {
  const host = `HOST ${config.host}`;
  switch (e.code) {
    case 'EADDRINUSE':
      return [`Session Monitor cannot start: port ${config.port} is already in use on ${host} (is another server running? set PORT)`, 1];
    case 'EACCES':
      return [`Session Monitor cannot start: port ${config.port} needs privileges this process does not have (set PORT above 1023)`, 1];
    case 'EADDRNOTAVAIL':
      return [`Configuration error: HOST: "${config.host}" is not an address of this machine`, 2];
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return [`Configuration error: HOST: the host name "${config.host}" does not resolve to an address`, 2];
  }
  return null;
}

/** Entry point: config → database → migrations → serve → graceful shutdown. */
async function main(): Promise<void> {
  // Until it serves, a stop request ends the start at once: as PID 1 in a container node has no
  // default action for SIGTERM, so `docker stop` during migrations would wait out its timeout.
  // An interrupted migration rolls back with its transaction. One listener for the whole life:
  // removing the last one drops a signal that arrived and was not yet dispatched.
  let stop: (signal: NodeJS.Signals) => void = (signal) => {
    process.stderr.write(`Session Monitor: ${signal} during start-up; stopped before serving.\n`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) refuseToStart(`Configuration error: ${e.message}`, 2);
    throw e;
  }
  const logger = createLogger(config.logLevel);
  // The port before the database: a start that cannot listen (another server on it) creates,
  // migrates and changes nothing. Until the app is ready the port answers 503 (the health check too).
  let app: ReturnType<typeof createApp>['app'] | null = null;
  const server = serve({
    fetch: (req, env) => (app ? app.fetch(req, env) : startingResponse(req, config.defaultLocale)),
    port: config.port,
    hostname: config.host,
  });
  let address: AddressInfo;
  try {
    address = await listening(server);
  } catch (e) {
    const refusal = listenRefusal(e as NodeJS.ErrnoException, config);
    if (!refusal) throw e;
    refuseToStart(...refusal);
  }
  let opened;
  try {
    opened = openDatabase(config.databasePath);
  } catch (e) {
    if (e instanceof DatabaseOpenError) refuseToStart(`Session Monitor cannot start: ${e.message} (DATABASE_PATH)`);
    throw e;
  }
  const { db, sqlite } = opened;
  let migrated: string[] = [];
  try {
    migrated = (await migrateToLatest(db)).map((r) => r.migrationName);
  } catch (e) {
    await db.destroy();
    // A read-only file or folder shows up here, as SQLite's "attempt to write a readonly database".
    refuseToStart(`Session Monitor cannot start: cannot update the database ${config.databasePath}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const clock = systemClock;
  if (migrated.length) {
    // An upgrade says what it changed, in the log and in the audit log (as the CLI's migrate does).
    logger.info('database updated', { migrations: migrated.join(', ') });
    await recordAudit(db, { type: 'system', name: 'server', ip: null }, { action: 'database.migrated', details: { migrations: migrated } }, clock.now());
  }
  const created = createApp({ db, config, clock, logger });
  const { deps } = created;
  const jobs = await startJobs(deps, sqlite);
  app = created.app;

  if (!config.publicUrl) {
    logger.warn('PUBLIC_URL is not set: cookies are sent without the Secure flag and links name this machine. Put an HTTPS proxy in front and set PUBLIC_URL=https://…');
  } else if (!config.publicUrl.startsWith('https://')) {
    logger.warn('PUBLIC_URL is not https: cookies are sent without the Secure flag. Put an HTTPS proxy in front and set PUBLIC_URL=https://…');
  }
  // Stopping drains the server from here on, before anything is printed: whoever reads the output may stop it at once.
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    // Stop accepting, let in-flight requests finish, then stop timers and close the database.
    const force = setTimeout(() => {
      logger.warn('in-flight requests did not finish in 10 s; closing anyway');
      process.exit(1);
    }, 10_000);
    force.unref();
    // Keep-alive connections hold close() open: close each one as soon as its
    // in-flight request is answered, not when the client happens to drop it.
    const closeIdle = () => (server as unknown as { closeIdleConnections?: () => void }).closeIdleConnections?.();
    const drain = setInterval(closeIdle, 50);
    server.close(async () => {
      clearInterval(drain);
      await jobs.stop();
      await db.destroy();
      logger.info('stopped');
      process.exit(0);
    });
    closeIdle();
  };
  stop = shutdown;

  // With PORT=0 the system picks the port: the links name the one it picked.
  const base = config.publicUrl ?? localBase(config.host, address.port);
  // Only once listening: a start that fails to listen (say, its port held by a server on this
  // same database) would otherwise have replaced that server's setup link with a dead one.
  if (!(await hasActiveAdmin(db))) {
    const token = newToken();
    await createSetupToken(db, hashToken(token), clock.now(), config.setupLinkMinutes * 60_000);
    // The one place a secret is printed: the operator needs this link to create the first admin.
    process.stdout.write(
      `\nNo administrator exists yet. Open this one-time link within ${config.setupLinkMinutes} minute${config.setupLinkMinutes === 1 ? '' : 's'} to create one:\n\n  ${base}/setup/${token}\n\n`,
    );
  }
  logger.info('listening', { address: address.address, port: address.port, database: config.databasePath });
  process.stdout.write(`Session Monitor is listening on ${base}\n`);
}

main().catch((e) => {
  process.stderr.write(`Fatal: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
