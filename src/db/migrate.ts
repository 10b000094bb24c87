import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider, type MigrationResult } from 'kysely';

// src/db → ../../migrations, the same from dist/src/db → dist/migrations.
const migrationFolder = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

/**
 * Kysely's FileMigrationProvider, but importing from our own module so that
 * TypeScript migrations load under the test runner and tsx as well as compiled.
 */
export const provider: MigrationProvider = {
  async getMigrations() {
    const migrations: Record<string, Migration> = {};
    for (const file of (await fs.readdir(migrationFolder)).sort()) {
      if (!/\.(js|ts)$/.test(file) || file.endsWith('.d.ts')) continue;
      const mod = (await import(pathToFileURL(path.join(migrationFolder, file)).href)) as Migration;
      migrations[file.replace(/\.(js|ts)$/, '')] = mod;
    }
    return migrations;
  },
};

export class MigrationFailed extends Error {}

/**
 * The migrations this database has that this version does not know: it was written by a newer
 * version (an image rolled back after an upgrade). Kysely would call that "corrupted migrations".
 */
async function unknownMigrations(db: Kysely<any>): Promise<string[]> {
  const table = await sql<{ n: number }>`select count(*) as n from sqlite_schema where type = 'table' and name = 'kysely_migration'`.execute(db);
  if (!table.rows[0]?.n) return [];
  const known = new Set(Object.keys(await provider.getMigrations()));
  const applied = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db);
  return applied.rows.map((r) => r.name).filter((name) => !known.has(name));
}

/** Applies every pending migration in order; throws (naming it) if one fails or the database is from a newer version. */
export async function migrateToLatest(db: Kysely<any>): Promise<MigrationResult[]> {
  const unknown = await unknownMigrations(db);
  if (unknown.length) {
    throw new MigrationFailed(
      `it was written by a newer version of Session Monitor (its migration ${unknown[unknown.length - 1]} is unknown to this one): run that version or a later one, or restore a backup taken before the upgrade`,
    );
  }
  // Unordered: three migrations of 2026-11-21 were named before ones already released (-40, -51 and -52
  // after -50 and -60), so a database written in between has later names applied and earlier ones
  // pending. Kysely refuses that ("corrupted migrations") unless told the pending ones may run after;
  // each migration stands on its own (test/db/migrations.test.ts upgrades those databases).
  const { error, results } = await new Migrator({ db, provider, allowUnorderedMigrations: true }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    const why = error instanceof Error ? error.message : String(error);
    throw new MigrationFailed(failed ? `migration ${failed.migrationName} failed: ${why}` : `its migrations could not be applied: ${why}`);
  }
  return results ?? [];
}
