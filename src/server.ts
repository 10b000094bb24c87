import { serve } from '@hono/node-server';
import { createApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { openDatabase } from './db/connection.js';
import { migrateToLatest } from './db/migrate.js';
import { systemClock } from './lib/clock.js';
import { createLogger } from './lib/logger.js';
import { hashToken, newToken } from './lib/tokens.js';
import { createSetupToken } from './models/setup.js';
import { hasActiveAdmin } from './models/users.js';
import { startJobs } from './jobs/index.js';

/** Entry point: config → database → migrations → serve → graceful shutdown. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`Configuration error: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const logger = createLogger(config.logLevel);
  const { db, sqlite } = openDatabase(config.databasePath);
  try {
    await migrateToLatest(db);
  } catch (e) {
    logger.error('database migration failed; not starting', { error: e instanceof Error ? e.message : String(e) });
    await db.destroy();
    process.exit(1);
  }
  const clock = systemClock;
  const { app, deps } = createApp({ db, config, clock, logger });
  const jobs = await startJobs(deps, sqlite);

  const base = config.publicUrl ?? `http://localhost:${config.port}`;
  if (!config.publicUrl || !config.publicUrl.startsWith('https://')) {
    logger.warn('PUBLIC_URL is not https: cookies are sent without the Secure flag. Put an HTTPS proxy in front and set PUBLIC_URL=https://…');
  }
  if (!(await hasActiveAdmin(db))) {
    const token = newToken();
    await createSetupToken(db, hashToken(token), clock.now(), config.setupLinkMinutes * 60_000);
    // The one place a secret is printed: the operator needs this link to create the first admin.
    process.stdout.write(
      `\nNo administrator exists yet. Open this one-time link within ${config.setupLinkMinutes} minutes to create one:\n\n  ${base}/setup/${token}\n\n`,
    );
  }

  const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, (info) => {
    logger.info('listening', { address: info.address, port: info.port, database: config.databasePath });
    process.stdout.write(`Session Monitor is listening on ${base}\n`);
  });

  let stopping = false;
  const shutdown = (signal: string) => {
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
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((e) => {
  process.stderr.write(`Fatal: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
