import argon2 from 'argon2';
import { Semaphore } from './semaphore.js';

// OWASP's minimum for argon2id: 19 MiB of memory, 2 iterations, 1 lane.
const OPTIONS = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export const MIN_PASSWORD_LENGTH = 10;

export class PasswordHasherBusy extends Error {}

/**
 * Hashing is CPU- and memory-heavy and runs on libuv's small thread pool, which
 * the agent API's file and crypto work shares. A cap keeps a login flood from
 * starving it; past a short queue, logins are refused rather than queued forever.
 */
export class PasswordHasher {
  private readonly gate: Semaphore;
  // A real hash to verify against when the account does not exist, so that
  // unknown and known e-mails take the same time.
  private dummy: Promise<string> | null = null;

  constructor(concurrency: number, maxQueue = 64) {
    this.gate = new Semaphore(concurrency, maxQueue);
  }

  async hash(password: string): Promise<string> {
    const out = await this.gate.run(() => argon2.hash(password, OPTIONS));
    if (out === null) throw new PasswordHasherBusy();
    return out;
  }

  /** True when password matches; with hash null it still spends the time and answers false. */
  async verify(hash: string | null, password: string): Promise<boolean> {
    this.dummy ??= argon2.hash('not a password of anyone', OPTIONS);
    const target = hash ?? (await this.dummy);
    const out = await this.gate.run(async () => {
      try {
        return await argon2.verify(target, password);
      } catch {
        return false;
      }
    });
    if (out === null) throw new PasswordHasherBusy();
    return hash !== null && out;
  }
}
