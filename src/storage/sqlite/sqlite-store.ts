// The embedded default Store: one SQLite file in WAL mode, through Kysely and better-sqlite3.
// All writes go through one connection, so transactions are serialized; it must never be opened by two servers.

import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import type { Repos, Store } from '../../core/store-port.ts';
import { migrateToLatest, type MigrationReport } from '../migrate.ts';
import type { Database } from '../schema.ts';
import { kyselyRepos } from '../kysely-repos.ts';

export interface SqliteOptions {
  /** File path, or ':memory:' for tests of storage alone. */
  file: string;
}

export async function openSqliteStore(opts: SqliteOptions): Promise<Store> {
  if (opts.file !== ':memory:') {
    fs.mkdirSync(path.dirname(opts.file), { recursive: true, mode: 0o700 });
    // The database holds sealed keys and token hashes: nobody else may read it.
    if (!fs.existsSync(opts.file)) fs.closeSync(fs.openSync(opts.file, 'a', 0o600));
  }
  const raw = new BetterSqlite3(opts.file);
  raw.pragma('journal_mode = WAL');
  // FULL: a certificate answered to a client must survive a power cut, not only a process crash.
  raw.pragma('synchronous = FULL');
  raw.pragma('foreign_keys = ON');
  raw.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }) });
  const migrations = await migrateToLatest(db, 'sqlite');
  return sqliteStore(db, migrations);
}

function sqliteStore(db: Kysely<Database>, migrations: MigrationReport): Store {
  const repos: Repos = kyselyRepos(db);
  return {
    ...repos,
    dialect: 'sqlite',
    migrations,
    transaction: (fn) => db.transaction().execute((trx) => fn(kyselyRepos(trx))),
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    close: () => db.destroy(),
  };
}
