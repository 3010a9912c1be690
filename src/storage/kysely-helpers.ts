// What every Kysely repository shares: opaque paging cursors, pages, and unique violations as CONFLICT.

import crypto from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { KubecredError } from '../core/errors.ts';
import type { Page } from '../core/model.ts';
import type { Database } from './schema.ts';

export type Db = Kysely<Database> | Transaction<Database>;

/** The listings cursors page through: a cursor is good for the listing that returned it only. */
export type Listing = 'principals' | 'tokens' | 'access-keys' | 'clusters' | 'webhook-tokens' | 'credentials' | 'policies' | 'audit';

/**
 * What a filtered listing's cursor is good for besides its listing: the filters (and owner) of the page that returned
 * it, hashed short. A cursor passed with other filters would go on silently in another listing (a `status=revoked`
 * walk resumed as `status=expired` skips and repeats rows): it is refused instead. Unset filters do not count.
 */
export const scopeOf = (filters: Record<string, string | number | boolean | undefined | null>): string => {
  const set = Object.entries(filters).filter(([, v]) => v !== undefined && v !== null && v !== '').sort(([a], [b]) => (a < b ? -1 : 1));
  return crypto.createHash('sha256').update(JSON.stringify(set)).digest('hex').slice(0, 8);
};

/**
 * Cursors are opaque to callers; inside they are the listing's name (with its scope, for a filtered listing) and the
 * last row's sort key (parts joined by dots).
 */
export const encodeCursor = (listing: Listing, key: string | number, scope?: string) =>
  Buffer.from(`${listing}${scope ? `~${scope}` : ''}:${key}`).toString('base64url');
/** A cursor of no scope (one returned before cursors had scopes) is taken with any filters. */
export const decodeCursor = (listing: Listing, cursor: string | null | undefined, scope?: string): string | undefined => {
  if (!cursor) return undefined;
  const m = /^([a-z-]+)(?:~([0-9a-f]{8}))?:([A-Za-z0-9_.]{1,120})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw new KubecredError('VALIDATION_FAILED', 'the paging cursor is not one this server returned', { details: { field: 'cursor' } });
  if (m[1] !== listing) throw new KubecredError('VALIDATION_FAILED', `the paging cursor came from another listing (${m[1]}, not ${listing}); pass the \`next\` of this listing's previous page`, { details: { field: 'cursor' } });
  if (m[2] !== undefined && m[2] !== scope) {
    throw new KubecredError('VALIDATION_FAILED', 'the paging cursor came from this listing with other filters (or for another owner); ask for the next page with the same filters, or start again without the cursor', { details: { field: 'cursor' } });
  }
  return m[3];
};

export function pageOf<R, T>(listing: Listing, rows: R[], limit: number, map: (r: R) => T, key: (r: R) => string | number, scope?: string): Page<T> {
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  return { items: items.map(map), next: more ? encodeCursor(listing, key(items[items.length - 1]), scope) : null };
}

/**
 * A page of the rows `keep` accepts, read a chunk at a time until `limit` are found (and one more, to know whether
 * there is a next page) or the rows run out. `next` names the last row returned, never a row left out: a listing
 * filtered by the caller's permissions must not hand out the IDs (time-ordered: creation times too) of rows the
 * caller may not see. Without `keep`, one read of `limit + 1` rows, as `pageOf`.
 */
export async function keptPage<R, T>(
  listing: Listing, page: { limit: number; cursor?: string | null }, read: (after: string | undefined, n: number) => Promise<R[]>,
  map: (r: R) => T, key: (r: R) => string, keep?: (item: T) => boolean | Promise<boolean>,
): Promise<Page<T>> {
  // Filtered: larger chunks, as most rows may be left out (a viewer of one cluster among hundreds).
  const chunk = keep ? Math.min(Math.max(page.limit + 1, 100), 500) : page.limit + 1;
  const kept: Array<{ row: R; item: T }> = [];
  let after = decodeCursor(listing, page.cursor);
  for (;;) {
    const rows = await read(after, chunk);
    for (const row of rows) {
      const item = map(row);
      if (!keep || (await keep(item))) kept.push({ row, item });
      if (kept.length > page.limit) break;
    }
    if (kept.length > page.limit || rows.length < chunk) break;
    after = key(rows[rows.length - 1]);
  }
  const more = kept.length > page.limit;
  const items = kept.slice(0, page.limit);
  return { items: items.map((k) => k.item), next: more ? encodeCursor(listing, key(items[items.length - 1].row)) : null };
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
