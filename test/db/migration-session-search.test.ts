import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Migrator, type Migration } from 'kysely';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { projectRoot } from '../../src/lib/paths.js';
import { sessionSearchText } from '../../src/models/session-search.js';

const folder = path.join(projectRoot, 'migrations');
const SEARCH = '2026-11-21-40-session-search-text';

describe('migration 2026-11-21-40 (sessions.search_text)', () => {
  it('fills the search text of open sessions as a capture would, leaves closed ones to the column-by-column search, and widens the started index', async () => {
    const { db, sqlite } = openDatabase(':memory:');
    // The migrations before it only.
    const before: Record<string, Migration> = {};
    for (const f of fs.readdirSync(folder).sort()) {
      if (!f.endsWith('.ts') || f.replace(/\.ts$/, '') >= SEARCH) continue;
      before[f.replace(/\.ts$/, '')] = (await import(pathToFileURL(path.join(folder, f)).href)) as Migration;
    }
    const { error } = await new Migrator({ db, provider: { getMigrations: async () => before } }).migrateToLatest();
    expect(error).toBeUndefined();

    sqlite.pragma('foreign_keys = OFF');
    const insert = sqlite.prepare(`insert into sessions (id, license_id, client_id, host_id, session_number, client_session_id, token_hash, user_name,
      connection_type, machine_hostname, machine_ip, client_ip, client_hostname, started_at, last_seen_at, heartbeat_interval_sec, updated_at, closed_at)
      values (?, 1, 1, 1, ?, ?, 'h', ?, 'client', ?, ?, ?, ?, 1, 1, 60, 1, ?)`);
    insert.run('open-1', 1, 'App-1', 'Иванов И.', 'ACC-SRV', '10.0.0.5', null, 'БУХ-ПК', null);
    insert.run('open-2', 2, null, 'Smith', null, null, '10.0.0.9', null, null);
    insert.run('closed-1', 3, null, 'Петров', 'SRV', null, null, null, 5);
    sqlite.pragma('foreign_keys = ON');

    const results = await migrateToLatest(db);
    expect(results.find((r) => r.migrationName === SEARCH)?.status).toBe('Success');
    const rows = sqlite.prepare('select * from sessions order by session_number').all() as Record<string, unknown>[];
    expect(rows.map((r) => r.search_text)).toEqual([
      sessionSearchText(rows[0] as never),
      sessionSearchText(rows[1] as never),
      null,
    ]);
    expect(rows[0].search_text).toBe('иванов и.\napp-1\nacc-srv\nбух-пк\n10.0.0.5\n');
    const cols = (sqlite.prepare("select name from pragma_index_info('sessions_open_started')").all() as { name: string }[]).map((r) => r.name);
    expect(cols).toEqual(['started_at', 'id', 'search_text', 'license_id', 'client_id', 'infobase_id', 'session_number']);
    await db.destroy();
  });
});
