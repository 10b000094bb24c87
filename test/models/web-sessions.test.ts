import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashToken } from '../../src/lib/tokens.js';
import { changeMarker } from '../../src/models/session-lifecycle.js';
import { webSessionAndChangeMarker } from '../../src/models/web-sessions.js';
import { makeApp, type TestApp } from '../helpers/app.js';

// The 5-second poll's one read (the login, its user, the change marker) runs straight on the
// connection when no transaction is open on it; it must never see a write not yet committed.

describe('webSessionAndChangeMarker', () => {
  let t: TestApp;
  const token = 'poll-token';
  beforeEach(async () => {
    t = await makeApp();
    const now = t.clock.now();
    t.sqlite
      .prepare("insert into users (email, name, password_hash, role, created_at, password_changed_at) values ('p@x.test', 'P', 'x', 'support', ?, ?)")
      .run(now, now);
    t.sqlite
      .prepare("insert into web_sessions (token_hash, user_id, created_at, last_active_at, expires_at) values (?, (select id from users where email = 'p@x.test'), ?, ?, ?)")
      .run(hashToken(token), now, now, now + 3_600_000);
  });
  afterEach(() => t.close());

  const bump = (trx: typeof t.db) => sql`update server_state set change_version = change_version + 1 where id = 1`.execute(trx);
  const turn = () => new Promise((r) => setImmediate(r));

  it('answers the login, its user and the marker; nothing for an unknown token', async () => {
    const found = await webSessionAndChangeMarker(t.db, hashToken(token));
    expect(found?.ws.user.email).toBe('p@x.test');
    expect(found?.ws.user.role).toBe('support');
    expect(found?.ws.expiresAt).toBe(t.clock.now() + 3_600_000);
    expect(found?.changeMarker).toBe(await changeMarker(t.db));
    expect(await webSessionAndChangeMarker(t.db, hashToken('other'))).toBeUndefined();
  });

  it('while a transaction is open, waits for it and answers what it committed', async () => {
    const before = await changeMarker(t.db);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const tx = t.db.transaction().execute(async (trx) => {
      await bump(trx);
      await sql`delete from web_sessions`.execute(trx);
      await gate;
    });
    await turn();
    expect(t.sqlite.inTransaction).toBe(true);
    let settled = false;
    const read = webSessionAndChangeMarker(t.db, hashToken(token)).finally(() => (settled = true));
    await turn();
    expect(settled).toBe(false);
    release();
    await tx;
    expect(await read).toBeUndefined();
    expect(await changeMarker(t.db)).toBe(before + 1);
  });

  it('never answers a write that is then rolled back', async () => {
    const before = await changeMarker(t.db);
    let fail!: () => void;
    const gate = new Promise<void>((_, reject) => (fail = () => reject(new Error('rolled back'))));
    const tx = t.db.transaction().execute(async (trx) => {
      await bump(trx);
      await gate;
    });
    await turn();
    const read = webSessionAndChangeMarker(t.db, hashToken(token));
    fail();
    await expect(tx).rejects.toThrow('rolled back');
    const found = await read;
    expect(found?.changeMarker).toBe(before);
    expect(found?.ws.user.email).toBe('p@x.test');
  });
});
