import type { Db } from '../db/connection.js';
import { unauthorized } from '../lib/errors.js';
import { closeSessions } from './session-lifecycle.js';
import { CLOSED_ANSWER_MS, tokenMatches } from './sessions.js';

/** An agent releases its session (PROTOCOL §4): the seat is free at once; releasing a closed session is fine. */
export async function releaseSession(db: Db, sessionId: string, tokenHash: string, now: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const s = await trx.selectFrom('sessions').select(['token_hash', 'closed_at']).where('id', '=', sessionId).executeTakeFirst();
    if (!s || !tokenMatches(s.token_hash, tokenHash)) throw unauthorized();
    if (s.closed_at !== null) {
      if (now - s.closed_at >= CLOSED_ANSWER_MS) throw unauthorized();
      return;
    }
    await closeSessions(trx, { sessionIds: [sessionId] }, 'released', now);
  });
}
