// Applies the migrations of migrations.ts to a database of either dialect: at start, and by `kubecred migrate`.
// Several PostgreSQL replicas may start at once: Kysely's Migrator holds an advisory lock while it applies them.
// SQLite has one writer: a server's owner lock (sqlite-store.ts) keeps `kubecred migrate` and a second server out.

import { Migrator, type Kysely } from 'kysely';
import { KubecredError } from '../core/errors.ts';
import { migrationProvider, type SqlDialect } from './migrations.ts';
import { slowMigrations } from './migrations-rebuilds.ts';

export interface MigrationReport {
  applied: string[];
  current: string[];
}

export interface MigrateOptions {
  /** Hears, before an upgrade of an existing database, which migrations it applies and which take long. */
  progress?: (line: string) => void;
  /**
   * false: a database some migrations behind is refused, not upgraded. Only `serve` and `migrate` upgrade, so
   * that a one-shot command run with a newer kubecred never rebuilds a table under a running older server.
   * A new database gets every migration either way.
   */
  upgrade?: boolean;
}

export async function migrateToLatest(db: Kysely<any>, dialect: SqlDialect, opts: MigrateOptions = {}): Promise<MigrationReport> {
  const migrator = new Migrator({ db, provider: migrationProvider(dialect) });
  if (opts.progress || opts.upgrade === false) {
    const all = await migrator.getMigrations();
    const pending = all.filter((m) => !m.executedAt).map((m) => m.name);
    // A new database gets every migration in a moment: nothing to say, nothing to refuse.
    if (pending.length > 0 && pending.length < all.length) {
      if (opts.upgrade === false) {
        throw new KubecredError('CONFLICT', `the database's schema is older than this kubecred's (pending migrations: ${pending.join(', ')}); upgrade it first: start the server, or stop it and run kubecred migrate`);
      }
      const slow = slowMigrations(dialect);
      opts.progress?.(`applying database migrations ${pending.map((n) => (slow[n] ? `${n} (${slow[n]})` : n)).join(', ')}`);
    }
  }
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`database migration ${failed} failed: ${reason(error)}`, { cause: error });
  }
  const current = (await migrator.getMigrations()).filter((m) => m.executedAt).map((m) => m.name);
  return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName), current };
}

/** The database's own words (disk full, lock timeout, a refusal of ours): its first line, never a stack. */
function reason(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\n')[0]!.slice(0, 300);
}
