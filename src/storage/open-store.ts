// Opens the configured Store: PostgreSQL when a database URL is given, else the embedded SQLite file.

import { KubecredError } from '../core/errors.ts';
import type { Store } from '../core/store-port.ts';
import type { MigrateOptions } from './migrate.ts';
import type { TransactionRetry } from './postgres/pg-transaction-retry.ts';
import { openSqliteStore } from './sqlite/sqlite-store.ts';

export interface StoreLocation {
  databaseUrl: string | null;
  databaseFile: string;
}

/**
 * `listen`: this is a server. On PostgreSQL it follows other replicas' changes; on SQLite it takes the file's
 * owner lock (one server per file). `exclusive`: take that lock without being a server (`kubecred migrate`).
 * Other one-shot commands leave both off.
 */
export async function openStore(where: StoreLocation, opts: { listen?: boolean; exclusive?: boolean; migrate?: MigrateOptions; onTransactionRetry?: (r: TransactionRetry) => void } = {}): Promise<Store> {
  if (!where.databaseUrl) return openSqliteStore({ file: where.databaseFile, exclusive: (opts.exclusive || opts.listen) ?? false, migrate: opts.migrate });
  // Loaded only when asked for: pg and the PostgreSQL store cost ~130 ms of every SQLite start otherwise
  // (the bundle keeps them in a chunk of their own).
  const { openPostgresStore } = await import('./postgres/postgres-store.ts');
  try {
    return await openPostgresStore({ url: where.databaseUrl, listen: opts.listen ?? false, migrate: opts.migrate, onTransactionRetry: opts.onTransactionRetry });
  } catch (e) {
    // Said to the operator who started this (a terminal, a pod log), never to an API caller: which database, and why.
    if (e instanceof KubecredError && e.code === 'UNAVAILABLE') {
      const why = causeCode(e);
      throw new KubecredError('UNAVAILABLE', `the database (${describeStore(where)}) is not reachable${why ? ` (${why})` : ''}; check --database / KUBECRED_DATABASE_URL and that it is up, then retry`, { cause: e });
    }
    throw e;
  }
}

/** The first driver's error code down a cause chain (ECONNREFUSED, ENOTFOUND, a PostgreSQL SQLSTATE), past kubecred's own. */
export function causeCode(e: unknown): string | null {
  for (let c = (e as { cause?: unknown }).cause, depth = 0; c && depth < 4; c = (c as { cause?: unknown }).cause, depth++) {
    if (c instanceof KubecredError) continue;
    const code = (c as { code?: unknown }).code;
    if (typeof code === 'string' && code) return code;
    const inner = (c as { errors?: Array<{ code?: unknown }> }).errors?.find((x) => typeof x?.code === 'string');
    if (inner) return inner.code as string;
  }
  return null;
}

/** A database URL with its password replaced, for messages. */
export function describeStore(where: StoreLocation): string {
  if (!where.databaseUrl) return `sqlite ${where.databaseFile}`;
  try {
    const u = new URL(where.databaseUrl);
    if (u.password) u.password = '***';
    return `postgres ${u.host}${u.pathname}`;
  } catch {
    return 'postgres (unparseable URL)';
  }
}
