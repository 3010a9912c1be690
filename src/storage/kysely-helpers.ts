// What every Kysely repository shares: opaque paging cursors, pages, and unique violations as CONFLICT.

import type { Kysely, Transaction } from 'kysely';
import { KubecredError } from '../core/errors.ts';
import type { Page } from '../core/model.ts';
import type { Database } from './schema.ts';

export type Db = Kysely<Database> | Transaction<Database>;

/** The listings cursors page through: a cursor is good for the listing that returned it only. */
export type Listing = 'principals' | 'tokens' | 'access-keys' | 'clusters' | 'webhook-tokens' | 'credentials' | 'policies' | 'audit';

/** Cursors are opaque to callers; inside they are the listing's name and the last row's sort key. */
export const encodeCursor = (listing: Listing, key: string | number) => Buffer.from(`${listing}:${key}`).toString('base64url');
export const decodeCursor = (listing: Listing, cursor: string | null | undefined): string | undefined => {
  if (!cursor) return undefined;
  const m = /^([a-z-]+):([A-Za-z0-9_]{1,80})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw new KubecredError('VALIDATION_FAILED', 'the paging cursor is not one this server returned', { details: { field: 'cursor' } });
  if (m[1] !== listing) throw new KubecredError('VALIDATION_FAILED', `the paging cursor came from another listing (${m[1]}, not ${listing}); pass the \`next\` of this listing's previous page`, { details: { field: 'cursor' } });
  return m[2];
};

export function pageOf<R, T>(listing: Listing, rows: R[], limit: number, map: (r: R) => T, key: (r: R) => string | number): Page<T> {
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  return { items: items.map(map), next: more ? encodeCursor(listing, key(items[items.length - 1])) : null };
}

/** Unique-constraint violations become a domain CONFLICT; the SQL text never leaves this layer. */
export function isUniqueViolation(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  return err?.code === 'SQLITE_CONSTRAINT_UNIQUE' || err?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || err?.code === '23505';
}

export async function insertOrConflict(run: () => Promise<unknown>, what: string, hint?: string, details?: Record<string, unknown>): Promise<void> {
  try {
    await run();
  } catch (e) {
    if (isUniqueViolation(e)) throw new KubecredError('CONFLICT', `${what} already exists${hint ? `; ${hint}` : ''}`, { cause: e, details });
    throw e;
  }
}
