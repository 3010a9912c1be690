// The Store for several replicas: PostgreSQL through Kysely and a pg pool. The same repositories
// as SQLite (kysely-repos.ts); what differs is the connection, the error mapping and the change feed.

import { Kysely, PostgresDialect, sql, type Transaction } from 'kysely';
import pg from 'pg';
import type { Repos, Store } from '../../core/store-port.ts';
import { kyselyRepos, policiesOfLive } from '../kysely-repos.ts';
import { policyFromRow } from '../row-mappers.ts';
import { guardErrors, mapRepoErrors } from '../map-errors.ts';
import { migrateToLatest, type MigrateOptions } from '../migrate.ts';
import type { Database } from '../schema.ts';
import { pgChangeFeed } from './pg-change-feed.ts';
import { ABORT_REASONS, toDomainError, type AbortReason, type PgFailure } from './pg-errors.ts';
import { rerunningAborted, type TransactionRetry } from './pg-transaction-retry.ts';
import { pgTypes } from './pg-types.ts';

export interface PostgresOptions {
  /** postgres://user:password@host:port/database[?sslmode=...] */
  url: string;
  poolSize?: number;
  /** Listen for other replicas' credential changes (off for one-shot commands such as migrate). */
  listen?: boolean;
  /** Whether pending migrations may be applied to an existing database, and who hears about it. */
  migrate?: MigrateOptions;
  /** Told each time a transaction the database aborted (a deadlock's loser) is run again, for the log. */
  onTransactionRetry?: (r: TransactionRetry) => void;
}

/** The server cancels a statement after this long (it answers, with 57014). */
export const STATEMENT_TIMEOUT_MS = 15_000;
/**
 * A query with no answer at all this long after it was sent is on a dead connection (a half-open TCP
 * session: a failover, a vanished host, dropped NAT or firewall state): the server would have cancelled it
 * at STATEMENT_TIMEOUT_MS and said so. Its client is then destroyed, so the pool opens a fresh one.
 */
export const QUERY_TIMEOUT_MS = STATEMENT_TIMEOUT_MS + 2_000;
/** TCP keepalive from 10 s of silence (the OS default is 2 hours), for idle connections that died. */
const KEEPALIVE_DELAY_MS = 10_000;

export function postgresPool(url: string, max = 10): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    types: pgTypes,
    connectionTimeoutMillis: 3_000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    query_timeout: QUERY_TIMEOUT_MS,
    application_name: 'kubecred',
  });
  // A connection dropped by a database restart: the pool discards it and opens another on demand.
  // The pool listens for errors only on idle connections; one checked out (mid-transaction) would
  // otherwise crash the process with an unhandled 'error' event. Its pending query fails on its own.
  pool.on('error', () => {});
  pool.on('connect', (client) => {
    client.on('error', () => {});
    destroyOnQueryTimeout(client);
  });
  return pool;
}

/**
 * pg's query_timeout fails the caller's promise but leaves the unanswered query in the client, which goes
 * back to the pool looking healthy: every later query on it would queue behind the dead one. Destroying
 * the socket ends the client (not queryable), so the pool drops it on release instead of handing it out again.
 */
function destroyOnQueryTimeout(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const result = query(...args);
    if (result instanceof Promise) {
      result.catch((e: unknown) => {
        if (isQueryTimeout(e)) (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
      });
    }
    return result;
  };
}

export const isQueryTimeout = (e: unknown): boolean => (e as Error | undefined)?.message === 'Query read timeout';

/**
 * PostgreSQL's holds on a principal's or cluster's row (and a policy's, and a decision's policies, below): SELECT ... FOR SHARE, which issuances share, a deletion's
 * UPDATE waits for, and which waits for a deletion under way and then reads the row it committed (READ COMMITTED
 * checks the WHERE again). Shared, so issuances on one cluster never wait for each other, nor for a connection
 * that froze mid-transaction (an exclusive hold made every later issuance wait for it until the database
 * noticed it dead).
 */
function withRowHolds(repos: Repos, db: Kysely<Database> | Transaction<Database>): Repos {
  const live = (table: 'principals' | 'clusters') => async (accountId: string, id: string): Promise<boolean> =>
    (await (db as Kysely<Database>).selectFrom(table as 'principals').select('id')
      .where('account_id', '=', accountId).where('id', '=', id).where('deleted_at', 'is', null).forShare().executeTakeFirst()) !== undefined;
  const holdPolicy = async (accountId: string, id: string, mode: 'share' | 'exclusive'): Promise<boolean> => {
    const q = (db as Kysely<Database>).selectFrom('policies').select('id').where('account_id', '=', accountId).where('id', '=', id);
    return (await (mode === 'share' ? q.forShare() : q.forUpdate()).executeTakeFirst()) !== undefined;
  };
  // FOR SHARE locks the rows of every table joined: the attachments (a detach deletes one), the policies (an update or
  // a deletion holds one FOR UPDATE first) and the principal (its deletion updates it). READ COMMITTED reads a row
  // such a change committed while this waited, or skips it when the change removed it from the join.
  const holdForPrincipal = async (principalId: string) => (await policiesOfLive(db as Kysely<Database>, principalId).forShare().execute()).map(policyFromRow);
  return {
    ...repos,
    principals: { ...repos.principals, holdLive: live('principals') },
    clusters: { ...repos.clusters, holdLive: live('clusters') },
    policies: { ...repos.policies, hold: holdPolicy, holdForPrincipal },
  };
}

export async function openPostgresStore(opts: PostgresOptions): Promise<Store> {
  const failures: Record<PgFailure, number> = { unreachable: 0, gave_up: 0 };
  // Counted once, where a driver error becomes UNAVAILABLE (one already mapped passes through unchanged).
  const mapError = (e: unknown) => toDomainError(e, (reason) => failures[reason]++);
  const pool = postgresPool(opts.url, opts.poolSize);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  let migrations;
  try {
    migrations = await guardErrors(() => migrateToLatest(db, 'postgres', opts.migrate), mapError)();
  } catch (e) {
    await db.destroy();
    throw e;
  }
  const changeFeed = opts.listen === false ? undefined : pgChangeFeed(opts.url);
  const retries = Object.fromEntries(ABORT_REASONS.map((r) => [r, 0])) as Record<AbortReason, number>;
  const retried = (r: TransactionRetry) => {
    retries[r.reason]++;
    opts.onTransactionRetry?.(r);
  };
  return {
    ...mapRepoErrors(withRowHolds(kyselyRepos(db), db), mapError),
    dialect: 'postgres',
    migrations,
    changeFeed,
    // Inside guardErrors: an abort is counted and answered UNAVAILABLE only once the runs again are spent.
    transaction: guardErrors((fn) => rerunningAborted(() => db.transaction().execute((trx) => fn(withRowHolds(kyselyRepos(trx), trx))), retried), mapError),
    failures: () => ({ ...failures }),
    transactionRetries: () => ({ ...retries }),
    ping: guardErrors(async () => {
      await sql`select 1`.execute(db);
    }, mapError),
    sharedClockMs: guardErrors(async () => {
      const r = await sql<{ ms: string }>`select floor(extract(epoch from clock_timestamp()) * 1000)::bigint as ms`.execute(db);
      return Number(r.rows[0]!.ms);
    }, mapError),
    close: async () => {
      await changeFeed?.stop();
      await db.destroy();
    },
  };
}
