// The migrations that rebuild the credentials table or its indexes: long on a large store (a minute, tens of seconds
// per million credentials), so each dialect takes its own path, with its own transactions, locks and memory bounds,
// and each can stop half-way and run again. The others, quick, are in migrations.ts, which lists them all.

import { sql, type Kysely, type Migration } from 'kysely';
import type { SqlDialect } from './migrations.ts';

/**
 * No unique index on the fingerprint. A fingerprint is the SHA-256 of a certificate whose serial is unique already
 * (its own index), or of a token that holds the credential's own unique ID, so this index guaranteed nothing more;
 * no query reads by it either (the webhook finds fingerprints in memory, the revocation index). Keyed by a hash,
 * it was the one B-tree that every issuance wrote at a random leaf: on a store of a million credentials those
 * leaves no longer fit the page cache, and each issuance paid a read and a separate page in the commit for it.
 *
 * PostgreSQL drops the constraint. SQLite cannot drop an inline UNIQUE: the table is rebuilt the documented way
 * (sqlite.org/lang_altertable.html#otheralter: create the new table, copy, drop, rename, recreate the indexes) in
 * one transaction, so a crash leaves the old table whole; about a minute per million credentials, once.
 */
const FINGERPRINT_UNIQUE = '"fingerprint_sha256" text not null unique';
export const m010 = (dialect: SqlDialect): Migration => ({
  async up(db: Kysely<any>) {
    if (dialect === 'postgres') {
      // DROP CONSTRAINT waits for every lock on the table (a long pg_dump, say), and every replica's reads and
      // writes of credentials would queue behind it: give up after 10 s instead, and let the next start retry.
      await sql`set local lock_timeout = '10s'`.execute(db);
      await sql`alter table credentials drop constraint if exists credentials_fingerprint_sha256_key`.execute(db);
      return;
    }
    await sortingOnDisk(db, () => rebuildCredentialsTable(db));
  },
});

/**
 * Runs `build` with SQLite sorting new indexes in temporary files, not in memory (the store keeps temp_store = MEMORY
 * for its savepoints): building indexes over a million credentials then peaks at ~140 MB instead of ~800 MB, which
 * would be over a container's memory limit.
 */
async function sortingOnDisk(db: Kysely<any>, build: () => Promise<void>): Promise<void> {
  const { rows: [was] } = await sql<{ temp_store: number }>`pragma temp_store`.execute(db);
  await sql`pragma temp_store = file`.execute(db);
  try {
    await build();
  } finally {
    await sql.raw(`pragma temp_store = ${Number(was?.temp_store ?? 0)}`).execute(db);
  }
}

async function rebuildCredentialsTable(db: Kysely<any>): Promise<void> {
  await db.transaction().execute(async (tx) => {
    const unique = await sql<{ name: string }>`select l.name from pragma_index_list('credentials') l where l."unique" = 1
      and (select group_concat(i.name) from pragma_index_info(l.name) i) = 'fingerprint_sha256'`.execute(tx);
    // Already rebuilt: a crash came after this transaction committed and before the migration was recorded.
    if (unique.rows.length === 0) return;
    const table = await sql<{ sql: string }>`select sql from sqlite_master where type = 'table' and name = 'credentials'`.execute(tx);
    const create = table.rows[0]!.sql;
    if (!create.includes(FINGERPRINT_UNIQUE)) {
      throw new Error('the credentials table is not defined the way migrations 001 and 004 defined it (changed by hand?), so it is not rebuilt; put that definition back, then start again');
    }
    const rebuilt = create.replace(/^CREATE TABLE "credentials"/, 'CREATE TABLE "credentials_rebuilt"').replace(FINGERPRINT_UNIQUE, '"fingerprint_sha256" text not null');
    if (!rebuilt.startsWith('CREATE TABLE "credentials_rebuilt"')) throw new Error('unexpected definition of the credentials table');
    const dependents = await sql<{ type: string; name: string; sql: string }>`select type, name, sql from sqlite_master where tbl_name = 'credentials' and type in ('index', 'trigger') and sql is not null`.execute(tx);
    // The indexes go first, so the copy reuses their pages and the file does not grow by a whole table.
    for (const d of dependents.rows) if (d.type === 'index') await sql`drop index ${sql.id(d.name)}`.execute(tx);
    await sql.raw(rebuilt).execute(tx);
    // Same definition, so the same columns in the same order.
    await sql`insert into credentials_rebuilt select * from credentials`.execute(tx);
    await sql`drop table credentials`.execute(tx);
    await sql`alter table credentials_rebuilt rename to credentials`.execute(tx);
    for (const d of dependents.rows) await sql.raw(d.sql).execute(tx);
  });
}

/**
 * The inventory's three listing indexes (by account, by cluster, by principal: newest first) also carry each
 * credential's state and expiry, after its ID. A page filtered by status (active or expired: a test of both, against
 * the clock) is then filtered inside the index, and reads from the table only the rows it answers with. Before, it
 * read the table row of every newer credential it skipped: listing expired kubeconfigs on a store whose newest
 * ~11,000 credentials were still valid took 16-20 ms (96 ms with a cold cache), and 2-3 ms after. Listing the
 * active ones of a cluster that has been quiet longer than its kubeconfigs last was the same walk. Same B-trees as
 * before (each index replaced under its own name), so an issuance writes no more of them.
 */
const LISTING_INDEXES = [
  { name: 'credentials_by_account', columns: ['account_id', 'id', 'state', 'not_after'] },
  { name: 'credentials_by_cluster', columns: ['account_id', 'cluster_id', 'id', 'state', 'not_after'] },
  { name: 'credentials_by_principal', columns: ['account_id', 'principal_id', 'id', 'state', 'not_after'] },
];
export const m011 = (dialect: SqlDialect): Migration => ({
  async up(db: Kysely<any>) {
    if (dialect === 'sqlite') {
      // One index at a time, each old one dropped first so the new one reuses its pages, each pair in a transaction
      // of its own: building all three in one held ~280 MB at its peak on a million credentials, one at a time 134 MB.
      // Repeatable: a run that stopped after some pairs, or before it was recorded, only builds them again.
      return sortingOnDisk(db, async () => {
        for (const i of LISTING_INDEXES) {
          await db.transaction().execute(async (tx) => {
            await tx.schema.dropIndex(i.name).ifExists().execute();
            await tx.schema.createIndex(i.name).on('credentials').columns(i.columns).execute();
          });
        }
      });
    }
    // PostgreSQL: the new indexes are built under other names first, which only makes writes wait (CREATE INDEX's
    // SHARE lock). DROP INDEX takes the table's ACCESS EXCLUSIVE lock, which stops every replica's reads too and is
    // held until the migrations commit: it comes last, with the renames, just before. As in 010, a long lock holder
    // makes the migration fail and be retried at the next start rather than queue every replica behind it.
    await sql`set local lock_timeout = '10s'`.execute(db);
    for (const i of LISTING_INDEXES) await db.schema.createIndex(`${i.name}_011`).on('credentials').columns(i.columns).execute();
    for (const i of LISTING_INDEXES) {
      await db.schema.dropIndex(i.name).ifExists().execute();
      await sql`alter index ${sql.id(`${i.name}_011`)} rename to ${sql.id(i.name)}`.execute(db);
    }
  },
});

/** Migrations that take long on a large store, per dialect, and what to tell whoever waits for them. */
export function slowMigrations(dialect: SqlDialect): Record<string, string> {
  const indexes = { '011_credentials_listing_by_status': 'rebuilds three indexes of the credentials table, about 20 seconds per million credentials' };
  if (dialect === 'postgres') return indexes;
  return { '010_credentials_fingerprint_not_unique': 'rebuilds the credentials table, about a minute per million credentials', ...indexes };
}
