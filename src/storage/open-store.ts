// Opens the configured Store: PostgreSQL when a database URL is given, else the embedded SQLite file.

import type { Store } from '../core/store-port.ts';
import type { MigrateOptions } from './migrate.ts';
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
export async function openStore(where: StoreLocation, opts: { listen?: boolean; exclusive?: boolean; migrate?: MigrateOptions } = {}): Promise<Store> {
  if (!where.databaseUrl) return openSqliteStore({ file: where.databaseFile, exclusive: (opts.exclusive || opts.listen) ?? false, migrate: opts.migrate });
  // Loaded only when asked for: pg and the PostgreSQL store cost ~130 ms of every SQLite start otherwise
  // (the bundle keeps them in a chunk of their own).
  const { openPostgresStore } = await import('./postgres/postgres-store.ts');
  return openPostgresStore({ url: where.databaseUrl, listen: opts.listen ?? false, migrate: opts.migrate });
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
