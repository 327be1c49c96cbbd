import { type Migration, type MigrationProvider, type MigrationResultSet, Migrator } from 'kysely/migration';
import { migrations } from '../../migrations';
import type { Db } from './connect';

class StaticProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations;
  }
}

export function createMigrator(db: Db): Migrator {
  return new Migrator({ db, provider: new StaticProvider() });
}

/** Brings the schema to the newest migration; throws (with the failing migration's name) on error. */
export async function migrateToLatest(db: Db): Promise<NonNullable<MigrationResultSet["results"]>> {
  const { error, results } = await createMigrator(db).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`migration ${failed?.migrationName ?? '(unknown)'} failed: ${message}`);
  }
  return results ?? [];
}
