// Schema migrations, written once with Kysely's schema builder so every SQL backend gets the same tables.
// Never edit a migration that has shipped: add a new one. (One exception, which changes no schema: 007-009, which
// only build indexes and take seconds on a large store, say IF NOT EXISTS, so that one that committed and died
// before Kysely recorded it is only recorded at the next start, instead of failing every start after.)
// The one dialect difference (the audit sequence column) is spelled per dialect; test/storage-schema.test.ts
// fails if the schemas drift.

import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { m010, m011 } from './migrations-rebuilds.ts';

export type SqlDialect = 'sqlite' | 'postgres';

const m001 = (dialect: SqlDialect): Migration => ({
  async up(db: Kysely<any>) {
    await db.schema.createTable('accounts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();

    await db.schema.createTable('principals')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('groups', 'text', (c) => c.notNull())
      .addColumn('is_root', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('deleted_at', 'bigint')
      .execute();
    await db.schema.createIndex('principals_live_name').unique().on('principals')
      .columns(['account_id', 'name']).where(sql.ref('deleted_at'), 'is', null).execute();

    await db.schema.createTable('api_tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('account_id', 'text', (c) => c.notNull())
      .addColumn('principal_id', 'text', (c) => c.notNull().references('principals.id'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('secret_hash', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint')
      .addColumn('revoked_at', 'bigint')
      .execute();

    await db.schema.createTable('access_keys')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('account_id', 'text', (c) => c.notNull())
      .addColumn('principal_id', 'text', (c) => c.notNull().references('principals.id'))
      .addColumn('secret_sealed', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('revoked_at', 'bigint')
      .execute();

    await db.schema.createTable('clusters')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('region', 'text', (c) => c.notNull())
      .addColumn('public_endpoint', 'text')
      .addColumn('private_endpoint', 'text')
      .addColumn('server_ca_pem', 'text')
      .addColumn('client_ca_cert_pem', 'text', (c) => c.notNull())
      .addColumn('client_ca_key_sealed', 'text', (c) => c.notNull())
      .addColumn('client_ca_algorithm', 'text', (c) => c.notNull())
      .addColumn('client_ca_source', 'text', (c) => c.notNull())
      .addColumn('allow_system_groups', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('deleted_at', 'bigint')
      .addColumn('v', 'integer', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('clusters_live_name').unique().on('clusters')
      .columns(['account_id', 'name']).where(sql.ref('deleted_at'), 'is', null).execute();

    await db.schema.createTable('credentials')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('account_id', 'text', (c) => c.notNull())
      .addColumn('cluster_id', 'text', (c) => c.notNull().references('clusters.id'))
      .addColumn('principal_id', 'text', (c) => c.notNull().references('principals.id'))
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('key_source', 'text', (c) => c.notNull())
      .addColumn('serial_hex', 'text', (c) => c.notNull().unique())
      .addColumn('fingerprint_sha256', 'text', (c) => c.notNull().unique())
      .addColumn('cert_pem', 'text', (c) => c.notNull())
      .addColumn('key_sealed', 'text')
      .addColumn('common_name', 'text', (c) => c.notNull())
      .addColumn('groups', 'text', (c) => c.notNull())
      .addColumn('not_before', 'bigint', (c) => c.notNull())
      .addColumn('not_after', 'bigint', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('is_current', 'integer', (c) => c.notNull())
      .addColumn('issued_at', 'bigint', (c) => c.notNull())
      .addColumn('issued_by', 'text', (c) => c.notNull())
      .addColumn('request_id', 'text', (c) => c.notNull())
      .addColumn('revoked_at', 'bigint')
      .addColumn('revoked_by', 'text')
      .addColumn('revoke_reason', 'text')
      .addColumn('superseded_at', 'bigint')
      .addColumn('v', 'integer', (c) => c.notNull())
      .execute();
    // The database itself guarantees "one default kubeconfig per (cluster, principal)", whatever races.
    await db.schema.createIndex('credentials_one_current_default').unique().on('credentials')
      .columns(['cluster_id', 'principal_id']).where(sql.ref('is_current'), '=', 1).execute();
    await db.schema.createIndex('credentials_by_cluster').on('credentials').columns(['account_id', 'cluster_id', 'id']).execute();
    await db.schema.createIndex('credentials_by_principal').on('credentials').columns(['account_id', 'principal_id', 'id']).execute();
    await db.schema.createIndex('credentials_by_account').on('credentials').columns(['account_id', 'id']).execute();

    await db.schema.createTable('validity_overrides')
      .addColumn('cluster_id', 'text', (c) => c.notNull())
      .addColumn('principal_id', 'text', (c) => c.notNull())
      .addColumn('hours', 'integer', (c) => c.notNull())
      .addColumn('set_by', 'text', (c) => c.notNull())
      .addColumn('set_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('validity_overrides_pk', ['cluster_id', 'principal_id'])
      .execute();

    await db.schema.createTable('policies')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('document', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addUniqueConstraint('policies_name', ['account_id', 'name'])
      .execute();

    await db.schema.createTable('policy_attachments')
      .addColumn('policy_id', 'text', (c) => c.notNull().references('policies.id'))
      .addColumn('principal_id', 'text', (c) => c.notNull().references('principals.id'))
      .addColumn('attached_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('policy_attachments_pk', ['policy_id', 'principal_id'])
      .execute();

    await db.schema.createTable('audit_events')
      .addColumn('seq', dialect === 'postgres' ? 'bigint' : 'integer', (c) => (dialect === 'postgres' ? c.primaryKey().generatedAlwaysAsIdentity() : c.primaryKey().autoIncrement()))
      .addColumn('id', 'text', (c) => c.notNull().unique())
      .addColumn('account_id', 'text', (c) => c.notNull())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('actor_id', 'text')
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('resource_type', 'text', (c) => c.notNull())
      .addColumn('resource_id', 'text')
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addColumn('source_ip', 'text')
      .addColumn('request_id', 'text')
      .addColumn('detail', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('audit_by_account').on('audit_events').columns(['account_id', 'seq']).execute();
  },
});

/** Replay protection for signed vendor requests, and the vendor project IDs that name accounts. */
const m002: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('signature_nonces')
      .addColumn('nonce_key', 'text', (c) => c.primaryKey())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('signature_nonces_expiry').on('signature_nonces').column('expires_at').execute();

    await db.schema.createTable('vendor_projects')
      .addColumn('vendor', 'text', (c) => c.notNull())
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
      .addColumn('region', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('vendor_projects_pk', ['vendor', 'project_id'])
      .execute();
  },
};

/** Tokens kube-apiserver presents to the webhooks, one set per cluster. */
const m003: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('webhook_tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('cluster_id', 'text', (c) => c.notNull().references('clusters.id'))
      .addColumn('secret_hash', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('revoked_at', 'bigint')
      .execute();
  },
};

/** Token kubeconfigs, for clusters whose CA key cannot be handed to kubecred. */
const m004: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('clusters').addColumn('credential_type', 'text', (c) => c.notNull().defaultTo('x509')).execute();
    await db.schema.alterTable('credentials').addColumn('credential_type', 'text', (c) => c.notNull().defaultTo('x509')).execute();
  },
};

/** Browser sessions of the web console: a cookie names a row; the row names the API token it was opened with. */
const m005: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createTable('console_sessions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('secret_hash', 'text', (c) => c.notNull())
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
      .addColumn('principal_id', 'text', (c) => c.notNull().references('principals.id'))
      .addColumn('token_id', 'text', (c) => c.notNull().references('api_tokens.id'))
      .addColumn('csrf_hash', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('revoked_at', 'bigint')
      .execute();
    await db.schema.createIndex('console_sessions_expiry').on('console_sessions').column('expires_at').execute();
  },
};

/**
 * Several replicas on one database: a settings table (master-key check, first-start claim), indexes that
 * let a replica catch up on credential changes since a time, and on PostgreSQL a trigger that announces
 * every credential change with NOTIFY, delivered to the other replicas when (and only if) its transaction commits.
 */
const m006 = (dialect: SqlDialect): Migration => ({
  async up(db: Kysely<any>) {
    await db.schema.createTable('settings')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('credentials_issued_at').on('credentials').column('issued_at').execute();
    await db.schema.createIndex('credentials_revoked_at').on('credentials').column('revoked_at').where(sql.ref('revoked_at'), 'is not', null).execute();
    await db.schema.createIndex('credentials_superseded_at').on('credentials').column('superseded_at').where(sql.ref('superseded_at'), 'is not', null).execute();
    if (dialect !== 'postgres') return;
    await sql`
      create function kubecred_notify_credential() returns trigger language plpgsql as $$
      begin
        perform pg_notify(${sql.lit(CREDENTIAL_CHANNEL)}, json_build_object(
          'id', new.id, 'c', new.cluster_id, 'p', new.principal_id, 'f', new.fingerprint_sha256,
          's', new.state, 'n', new.not_after)::text);
        return null;
      end $$`.execute(db);
    await sql`
      create trigger credentials_notify after insert or update of state, not_after on credentials
      for each row execute function kubecred_notify_credential()`.execute(db);
  },
});

/** Revocation and supersession find a holder's credentials without the account: index them by (cluster, principal). */
const m007: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createIndex('credentials_by_holder').ifNotExists().on('credentials').columns(['cluster_id', 'principal_id', 'state']).execute();
  },
};

/**
 * Loading the revocation index at start reads only unexpired credentials (Repos.credentials.scanUnexpired):
 * led by not_after, so the read is a range of the index from now on; holding every column that read selects,
 * so it never touches the table (SQLite: "USING COVERING INDEX"; PostgreSQL: an index-only scan once vacuumed).
 * On a store of a million mostly expired credentials that is tens of thousands of index entries instead of the table.
 */
const m008: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createIndex('credentials_unexpired').ifNotExists().on('credentials')
      .columns(['not_after', 'id', 'cluster_id', 'principal_id', 'state', 'fingerprint_sha256']).execute();
  },
};

/**
 * Inventory pages filtered to a rare state or kind (revoked or superseded; default or CSR kubeconfigs) read only
 * the matching rows, newest first, instead of walking back through every newer temporary kubeconfig: on a store
 * of a million mostly temporary credentials such a page had grown to ~40 ms. Partial, so the bulk never enters
 * them: a temporary kubeconfig (active when issued) is written to none, and issuance costs no more B-trees; a
 * revocation adds its rows to two. Queries name the index's own condition (kysely-repos.ts, credentials.list),
 * which both SQLite and PostgreSQL need to see that a partial index applies.
 */
const m009: Migration = {
  async up(db: Kysely<any>) {
    const settled = [sql.ref('state'), '<>', 'active'] as const;
    const kinds = [sql.ref('kind'), '<>', 'temporary'] as const;
    await db.schema.createIndex('credentials_settled_by_cluster').ifNotExists().on('credentials').columns(['account_id', 'cluster_id', 'state', 'id']).where(...settled).execute();
    await db.schema.createIndex('credentials_settled_by_account').ifNotExists().on('credentials').columns(['account_id', 'state', 'id']).where(...settled).execute();
    await db.schema.createIndex('credentials_kind_by_cluster').ifNotExists().on('credentials').columns(['account_id', 'cluster_id', 'kind', 'id']).where(...kinds).execute();
    await db.schema.createIndex('credentials_kind_by_account').ifNotExists().on('credentials').columns(['account_id', 'kind', 'id']).where(...kinds).execute();
  },
};

/**
 * The credentials that hold a sealed secret (default kubeconfigs: their key, or their token), for a master-key
 * rotation to find without reading every row: on a store of a million mostly temporary credentials they are ~2 %.
 * Partial, so a temporary kubeconfig (no sealed key) is written to it never and issuance costs no more B-trees.
 */
const m012: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createIndex('credentials_sealed_keys').ifNotExists().on('credentials').column('id').where(sql.ref('key_sealed'), 'is not', null).execute();
  },
};

/**
 * One account per name: `account create` checked before inserting, so two run at once on PostgreSQL could both
 * pass. Names that an earlier race doubled keep the oldest account's; each later one gets its ID appended (the
 * root-token recovery and `account create` find accounts by name).
 */
const m013: Migration = {
  async up(db: Kysely<any>) {
    const accounts = await db.selectFrom('accounts').select(['id', 'name']).orderBy('created_at').orderBy('id').execute();
    const seen = new Set<string>();
    for (const a of accounts) {
      if (!seen.has(a.name)) seen.add(a.name);
      else await db.updateTable('accounts').set({ name: `${a.name}-${a.id}` }).where('id', '=', a.id).execute();
    }
    await db.schema.createIndex('accounts_unique_name').unique().on('accounts').column('name').execute();
  },
};

/** Console sessions end after an idle time (core/console-sessions.ts): when each was last used. */
const m014: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('console_sessions').addColumn('last_used_at', 'bigint').execute();
  },
};

/**
 * The console's kubeconfig summary counts a cluster's credentials by (principal, kind, state) with their ends: the
 * holder index (007) carries kind and not_after too, so the count reads the index alone (a cluster of 100,000
 * credentials: ~50 ms instead of ~600 ms, on the event loop the webhooks share). Still one index, so issuance
 * writes no more B-trees; every query that read 007's columns reads the same prefix. ~5 s on a million rows.
 */
const m015: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.dropIndex('credentials_by_holder').ifExists().execute();
    await db.schema.createIndex('credentials_by_holder').on('credentials').columns(['cluster_id', 'principal_id', 'state', 'kind', 'not_after']).execute();
  },
};

/**
 * A vendor project ID is mapped per account: the key is (account, vendor, project ID), not (vendor, project ID). The
 * ID is chosen by whoever holds the vendor project, so a global key let one tenant register another's ID first, and
 * its CONFLICT told any tenant which IDs other accounts use. Led by the account, so an account's list and the CCE
 * surface's lookup (caller's account, project in the path) both read the key. Every row is kept: under the old key
 * no two rows can clash under the new one.
 *
 * PostgreSQL replaces the constraint. SQLite cannot change a primary key: the table is rebuilt the documented way
 * (create, copy, drop, rename), in the migration's own transaction; it holds a row per mapped project, so it is quick.
 */
const m016 = (dialect: SqlDialect): Migration => ({
  async up(db: Kysely<any>) {
    const key = ['account_id', 'vendor', 'project_id'] as const;
    if (dialect === 'postgres') {
      // Every CCE request reads this table: as in 010, a long lock holder fails the migration (retried at the next
      // start) rather than queueing every replica's requests behind it.
      await sql`set local lock_timeout = '10s'`.execute(db);
      await db.schema.alterTable('vendor_projects').dropConstraint('vendor_projects_pk').execute();
      await db.schema.alterTable('vendor_projects').addPrimaryKeyConstraint('vendor_projects_pk', [...key]).execute();
      return;
    }
    await db.schema.createTable('vendor_projects_016')
      .addColumn('vendor', 'text', (c) => c.notNull())
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
      .addColumn('region', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('vendor_projects_pk', [...key])
      .execute();
    const columns = ['vendor', 'project_id', 'account_id', 'region', 'created_at'] as const;
    await db.insertInto('vendor_projects_016').columns([...columns]).expression(db.selectFrom('vendor_projects').select([...columns])).execute();
    await db.schema.dropTable('vendor_projects').execute();
    await db.schema.alterTable('vendor_projects_016').renameTo('vendor_projects').execute();
  },
});

/**
 * Certificates asked for with an explicit end (CCE's duration or expire_at, up to 1827 days) were recorded as kind
 * `temporary`, which the inventory and the console describe as 15 minutes to 3 days; they now have a kind of their
 * own, `explicit`. Those already issued that outlast any temporary one (more than 4320 minutes from issue to end:
 * the longest temporary validity when this shipped, written out so the migration never changes with it) can only be
 * such certificates and are relabelled; one of 3 days or less cannot be told from a temporary one and keeps its kind.
 * One pass over the table, writing only the rows it relabels (the NOTIFY trigger of 006 does not watch kind).
 */
const m017: Migration = {
  async up(db: Kysely<any>) {
    await db.updateTable('credentials').set({ kind: 'explicit' })
      .where('kind', '=', 'temporary').where(sql`not_after - issued_at`, '>', 4320 * 60_000).execute();
  },
};

/**
 * Who made each API token and access key: the principal whose request did (null for those made on the server at the
 * first start or by `account root-token`, and for those made before this migration). A token someone made for a role
 * outlives its maker, and whoever offboards the maker must be able to find it.
 *
 * And the inventory by issuer: the credentials a principal issued for another one (a role's kubeconfigs fetched by an
 * admin) in a partial index. Partial, so a kubeconfig fetched for oneself, nearly every issuance, is written to it
 * never and costs no more B-trees; one issued for another costs one more entry. A listing by issuer reads this index
 * for those and credentials_by_principal for the issuer's own (kysely-credential-repos.ts, credentials.list).
 */
const m018: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('api_tokens').addColumn('created_by', 'text').execute();
    await db.schema.alterTable('access_keys').addColumn('created_by', 'text').execute();
    await db.schema.createIndex('credentials_issued_for_others').ifNotExists().on('credentials').columns(['account_id', 'issued_by', 'id'])
      .where(sql.ref('issued_by'), '<>', sql.ref('principal_id')).execute();
  },
};

/** The PostgreSQL NOTIFY channel that carries committed credential changes between replicas. */
export const CREDENTIAL_CHANNEL = 'kubecred_credentials';

export function migrationsFor(dialect: SqlDialect): Record<string, Migration> {
  const all: Record<string, Migration> = {
    '001_initial': m001(dialect), '002_vendor_auth': m002, '003_webhook_tokens': m003, '004_token_kubeconfigs': m004,
    '005_console_sessions': m005, '006_replicas': m006(dialect), '007_credentials_by_holder': m007,
    '008_credentials_unexpired': m008, '009_credentials_rare_filters': m009,
    '010_credentials_fingerprint_not_unique': m010(dialect), '011_credentials_listing_by_status': m011(dialect),
    '012_credentials_sealed_keys': m012, '013_accounts_unique_name': m013, '014_console_sessions_last_used': m014,
    '015_credentials_by_holder_covers_summary': m015, '016_vendor_projects_per_account': m016(dialect),
    '017_credentials_explicit_kind': m017, '018_created_by': m018,
  };
  return dialect === 'sqlite' ? Object.fromEntries(Object.entries(all).map(([name, m]) => [name, OWN_TRANSACTION.has(name) ? m : atomic(name, m)])) : all;
}

/** SQLite migrations that open their own transactions, and are repeatable (they check what they find first): the rebuilds. */
const OWN_TRANSACTION = new Set(['010_credentials_fingerprint_not_unique', '011_credentials_listing_by_status']);

/** SQLite only: the migrations whose transaction committed, written in that transaction (see atomic). */
export const COMMITTED_TABLE = 'kubecred_migrations_committed';

/**
 * Kysely runs SQLite's migrations outside any transaction (its adapter declares no transactional DDL; on
 * PostgreSQL the pending ones run in one, with their records) and records each one only after it has run.
 * - A migration of several statements that died half-way (a kill -9, a startup probe giving up on a long index
 *   build) would leave some of its tables or indexes behind: each runs in a transaction, whole or not at all.
 * - One killed after its commit and before Kysely's record (a first start killed in its first quarter second
 *   could do it) would meet its own tables at the next start and stop every start after at "already exists":
 *   the transaction also notes the migration's name, and a noted migration is not run again, only recorded.
 */
const atomic = (name: string, m: Migration): Migration => ({
  up: (db) => db.transaction().execute(async (tx) => {
    await sql`create table if not exists ${sql.table(COMMITTED_TABLE)} (name text primary key)`.execute(tx);
    const noted = await sql`select 1 from ${sql.table(COMMITTED_TABLE)} where name = ${name}`.execute(tx);
    if (noted.rows.length > 0) return;
    await m.up(tx);
    await sql`insert into ${sql.table(COMMITTED_TABLE)} (name) values (${name})`.execute(tx);
  }),
});

export const migrationProvider = (dialect: SqlDialect): MigrationProvider => ({ getMigrations: async () => migrationsFor(dialect) });
