// The Store for several replicas: PostgreSQL through Kysely and a pg pool. The same repositories
// as SQLite (kysely-repos.ts); what differs is the connection, the error mapping and the change feed.

import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Store } from '../../core/store-port.ts';
import { kyselyRepos } from '../kysely-repos.ts';
import { guardErrors, mapRepoErrors } from '../map-errors.ts';
import { migrateToLatest, type MigrateOptions } from '../migrate.ts';
import type { Database } from '../schema.ts';
import { pgChangeFeed } from './pg-change-feed.ts';
import { toDomainError } from './pg-errors.ts';
import { pgTypes } from './pg-types.ts';

export interface PostgresOptions {
  /** postgres://user:password@host:port/database[?sslmode=...] */
  url: string;
  poolSize?: number;
  /** Listen for other replicas' credential changes (off for one-shot commands such as migrate). */
  listen?: boolean;
  /** Whether pending migrations may be applied to an existing database, and who hears about it. */
  migrate?: MigrateOptions;
}

export function postgresPool(url: string, max = 10): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    types: pgTypes,
    connectionTimeoutMillis: 3_000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    statement_timeout: 15_000,
    application_name: 'kubecred',
  });
  // A connection dropped by a database restart: the pool discards it and opens another on demand.
  // The pool listens for errors only on idle connections; one checked out (mid-transaction) would
  // otherwise crash the process with an unhandled 'error' event. Its pending query fails on its own.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

export async function openPostgresStore(opts: PostgresOptions): Promise<Store> {
  const pool = postgresPool(opts.url, opts.poolSize);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  let migrations;
  try {
    migrations = await guardErrors(() => migrateToLatest(db, 'postgres', opts.migrate), toDomainError)();
  } catch (e) {
    await db.destroy();
    throw e;
  }
  const changeFeed = opts.listen === false ? undefined : pgChangeFeed(opts.url);
  return {
    ...mapRepoErrors(kyselyRepos(db), toDomainError),
    dialect: 'postgres',
    migrations,
    changeFeed,
    transaction: guardErrors((fn) => db.transaction().execute((trx) => fn(kyselyRepos(trx))), toDomainError),
    ping: guardErrors(async () => {
      await sql`select 1`.execute(db);
    }, toDomainError),
    close: async () => {
      await changeFeed?.stop();
      await db.destroy();
    },
  };
}
