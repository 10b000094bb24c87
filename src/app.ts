import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Config } from './config.js';
import type { Db } from './db/connection.js';
import type { Deps } from './deps.js';
import { loadAssets, type Assets } from './lib/assets.js';
import { renderJsxWithoutAsyncHooks } from './lib/jsx-context.js';
import type { Clock } from './lib/clock.js';
import { silentLogger, type Logger } from './lib/logger.js';
import { OneTimeSecrets } from './lib/one-time-secrets.js';
import { PasswordHasher } from './lib/passwords.js';
import { GroupCommit } from './models/group-commit.js';
import { RateLimiter } from './lib/rate-limit.js';
import { compressWeb } from './middleware/compress.js';
import { clientIp, type AppEnv } from './middleware/context.js';
import { onError, onNotFound } from './middleware/errors.js';
import { securityHeaders } from './middleware/security-headers.js';
import { csrfProtection, loadViewer } from './middleware/web-auth.js';
import { apiRoutes } from './routes/api/index.js';
import { benchRoutes } from './routes/bench.js';
import { healthRoutes } from './routes/health.js';
import { staticRoutes } from './routes/static.js';
import { auditRoutes } from './routes/web/audit.js';
import { authRoutes } from './routes/web/auth.js';
import { homeRoutes } from './routes/web/home.js';
import { answerUnchangedPoll, monitorRoutes } from './routes/web/monitor.js';
import { licensesRoutes } from './routes/web/licenses.js';
import { clientsRoutes } from './routes/web/clients.js';
import { infobasesRoutes } from './routes/web/infobases.js';
import { cabinetRoutes } from './routes/web/cabinet.js';
import { settingsRoutes } from './routes/web/settings.js';
import { tokensRoutes } from './routes/web/tokens.js';
import { usersRoutes } from './routes/web/users.js';

export interface AppOptions {
  db: Db;
  config: Readonly<Config>;
  clock: Clock;
  logger?: Logger;
  hasher?: PasswordHasher;
  assets?: Assets;
  resolveName?: (ip: string) => string | null;
}

/** The largest web form body accepted (a license's feature list and notes fit many times over); larger → 413. */
const WEB_MAX_BODY_BYTES = 256 * 1024;

let sharedAssets: Assets | null = null;

/** Builds the whole application without listening: the server and the tests both use it. */
export function createApp(opts: AppOptions): { app: Hono<AppEnv>; deps: Deps } {
  const { config } = opts;
  renderJsxWithoutAsyncHooks();
  const windowMs = (s: number) => s * 1000;
  const deps: Deps = {
    db: opts.db,
    config,
    clock: opts.clock,
    logger: opts.logger ?? silentLogger,
    hasher: opts.hasher ?? new PasswordHasher(config.passwordHashConcurrency),
    assets: opts.assets ?? (sharedAssets ??= loadAssets()),
    limits: {
      loginPerAccount: new RateLimiter(config.loginMaxFailuresPerAccount, windowMs(config.loginWindowSeconds)),
      loginPerIp: new RateLimiter(config.loginMaxFailuresPerIp, windowMs(config.loginWindowSeconds)),
      capturePerIp: new RateLimiter(config.captureRatePerIp, windowMs(config.captureRateWindowSeconds)),
      capturePerKey: new RateLimiter(config.captureRatePerKey, windowMs(config.captureRateWindowSeconds)),
    },
    // Ten minutes: the page is one redirect away; a token not seen by then is revoked and made again.
    newTokens: new OneTimeSecrets(10 * 60_000),
    resolveName: opts.resolveName ?? (() => null),
    groupCommit: new GroupCommit(opts.db),
  };

  const app = new Hono<AppEnv>();
  app.onError(onError);
  app.notFound(onNotFound);
  app.use('*', async (c, next) => {
    c.set('deps', deps);
    c.set('ip', clientIp(c, config.trustProxy));
    c.set('apiActor', null);
    c.set('viewer', null);
    await next();
  });
  // The monitor's 5-second poll answered "unchanged" (a bare 304) before any other middleware; any other request goes on.
  app.get('/monitor', answerUnchangedPoll);
  app.use('*', securityHeaders);
  app.route('/', healthRoutes);
  app.route('/', staticRoutes);
  if (config.benchEndpoints) app.route('/', benchRoutes);
  // The JSON API answers every /api/v1 path itself, so no web middleware runs for it.
  app.route('/api/v1', apiRoutes);

  // The web UI: compressed HTML, signed-in user, CSRF on every state change.
  const web = new Hono<AppEnv>();
  // Forms are small; without a cap anyone could make the server buffer any size (CSRF and login read the body first).
  // Not for GET/HEAD (node discards an unread body): bodyLimit reads c.req.raw.body, which makes the
  // node adapter build a whole web Request per call — 0.08 ms on each 5-second poll (npm run bench).
  const limitBody = bodyLimit({ maxSize: WEB_MAX_BODY_BYTES });
  web.use('*', compressWeb());
  // The signed-in user (from the cookie alone) before the size check, so its 413 page is theirs: their language, their menu.
  web.use('*', loadViewer);
  web.use('*', (c, next) => (c.req.method === 'GET' || c.req.method === 'HEAD' ? next() : limitBody(c, next)));
  web.use('*', csrfProtection);
  web.route('/', homeRoutes);
  web.route('/', authRoutes);
  web.route('/', settingsRoutes);
  web.route('/', usersRoutes);
  web.route('/', tokensRoutes);
  web.route('/', auditRoutes);
  web.route('/', monitorRoutes);
  web.route('/', licensesRoutes);
  web.route('/', clientsRoutes);
  web.route('/', infobasesRoutes);
  web.route('/', cabinetRoutes);
  app.route('/', web);

  return { app, deps };
}
