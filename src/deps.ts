import type { Config } from './config.js';
import type { Db } from './db/connection.js';
import type { Assets } from './lib/assets.js';
import type { Clock } from './lib/clock.js';
import type { Logger } from './lib/logger.js';
import type { OneTimeSecrets } from './lib/one-time-secrets.js';
import type { PasswordHasher } from './lib/passwords.js';
import type { GroupCommit } from './models/group-commit.js';
import type { RateLimiter } from './lib/rate-limit.js';

/** Everything a request may need, built once by createApp. */
export interface Deps {
  db: Db;
  config: Readonly<Config>;
  clock: Clock;
  logger: Logger;
  hasher: PasswordHasher;
  assets: Assets;
  limits: {
    loginPerAccount: RateLimiter;
    loginPerIp: RateLimiter;
    capturePerIp: RateLimiter;
    capturePerKey: RateLimiter;
  };
  /** Runs the agent protocol's writes in groups, one transaction per group (src/models/group-commit.ts). */
  groupCommit: GroupCommit;
  /** New API tokens waiting for the one page that shows them, per login (src/routes/web/tokens.tsx). */
  newTokens: OneTimeSecrets;
  /** Resolves an IP to a host name from a cache filled off the request path; null when unknown. */
  resolveName: (ip: string) => string | null;
}
