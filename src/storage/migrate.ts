// Applies the migrations of migrations.ts to a database of either dialect: at start, and by `kubecred migrate`.
// Several replicas may start at once; Kysely's Migrator takes a lock table so only one applies each step.

import { Migrator, type Kysely } from 'kysely';
import { migrationProvider, type SqlDialect } from './migrations.ts';

export interface MigrationReport {
  applied: string[];
  current: string[];
}

export async function migrateToLatest(db: Kysely<any>, dialect: SqlDialect): Promise<MigrationReport> {
  const migrator = new Migrator({ db, provider: migrationProvider(dialect) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`database migration ${failed} failed`, { cause: error });
  }
  const current = (await migrator.getMigrations()).filter((m) => m.executedAt).map((m) => m.name);
  return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName), current };
}
