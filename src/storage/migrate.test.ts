// On SQLite every migration runs whole or not at all: Kysely runs them outside any transaction there, and a
// migration of several statements that stopped half-way would leave objects behind that its next run trips over.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { migrateToLatest } from './migrate.ts';
import { migrationProvider } from './migrations.ts';

test('a SQLite migration that fails half-way leaves nothing of itself behind, and runs whole once the cause is gone', async () => {
  const raw = new BetterSqlite3(':memory:');
  const db = new Kysely<any>({ dialect: new SqliteDialect({ database: raw }) });
  try {
    const { error } = await new Migrator({ db, provider: migrationProvider('sqlite') }).migrateTo('008_credentials_unexpired');
    assert.ifError(error);
    const indexes = () => (raw.pragma('index_list(credentials)') as Array<{ name: string }>).map((i) => i.name).filter((n) => /settled|kind_by/.test(n)).sort();
    // 009 creates four partial indexes; the last of them is in the way, so its fourth statement fails.
    raw.exec('create index credentials_kind_by_account on credentials (account_id)');
    await assert.rejects(migrateToLatest(db, 'sqlite'), /database migration 009_credentials_rare_filters failed: index credentials_kind_by_account already exists/);
    assert.deepEqual(indexes(), ['credentials_kind_by_account'], 'the three indexes 009 had created before it failed are gone with it');

    raw.exec('drop index credentials_kind_by_account');
    const report = await migrateToLatest(db, 'sqlite');
    assert.deepEqual(report.applied, ['009_credentials_rare_filters', '010_credentials_fingerprint_not_unique', '011_credentials_listing_by_status']);
    assert.deepEqual(indexes(), ['credentials_kind_by_account', 'credentials_kind_by_cluster', 'credentials_settled_by_account', 'credentials_settled_by_cluster']);
  } finally {
    await db.destroy();
  }
});
