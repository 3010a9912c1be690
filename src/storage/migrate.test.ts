// On SQLite a migration that stops half-way leaves nothing of itself behind, and one that committed but was not
// recorded runs again without tripping over what it made: Kysely runs SQLite's migrations outside any transaction
// and records each one only after it. Through the store's own Kysely dialect.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator } from 'kysely';
import { migrateToLatest } from './migrate.ts';
import { migrationProvider } from './migrations.ts';
import { Connection, Gate, KubecredSqliteDialect, type Connections } from './sqlite/sqlite-driver.ts';

function open() {
  const raw = new BetterSqlite3(':memory:');
  const c: Connections = { writer: new Connection(raw), reader: null, gate: new Gate(), durable: null };
  return { raw, db: new Kysely<any>({ dialect: new KubecredSqliteDialect(c, 'store') }) };
}

const partial = (raw: BetterSqlite3.Database) => (raw.pragma('index_list(credentials)') as Array<{ name: string }>)
  .map((i) => i.name).filter((n) => /settled|kind_by/.test(n)).sort();
const ALL_009 = ['credentials_kind_by_account', 'credentials_kind_by_cluster', 'credentials_settled_by_account', 'credentials_settled_by_cluster'];

test('a SQLite migration that fails half-way leaves nothing of itself behind, and runs whole once the cause is gone', async () => {
  const { raw, db } = open();
  try {
    const { error } = await new Migrator({ db, provider: migrationProvider('sqlite') }).migrateTo('008_credentials_unexpired');
    assert.ifError(error);
    // 009 builds four partial indexes; a table in the way of the last name makes its fourth statement fail.
    raw.exec('create table credentials_kind_by_account (x)');
    await assert.rejects(migrateToLatest(db, 'sqlite'), /database migration 009_credentials_rare_filters failed: there is already a table named credentials_kind_by_account/);
    assert.deepEqual(partial(raw), [], 'the three indexes 009 had built before it failed are gone with it');
    assert.equal(raw.inTransaction, false);

    raw.exec('drop table credentials_kind_by_account');
    const report = await migrateToLatest(db, 'sqlite');
    assert.deepEqual(report.applied, ['009_credentials_rare_filters', '010_credentials_fingerprint_not_unique', '011_credentials_listing_by_status', '012_credentials_sealed_keys', '013_accounts_unique_name', '014_console_sessions_last_used', '015_credentials_by_holder_covers_summary', '016_vendor_projects_per_account', '017_credentials_explicit_kind', '018_created_by']);
    assert.deepEqual(partial(raw), ALL_009);
  } finally {
    await db.destroy();
  }
});

test('SQLite migrations that committed and then died before Kysely recorded them are recorded at the next start', async () => {
  const { raw, db } = open();
  try {
    const all = (await migrateToLatest(db, 'sqlite')).applied;
    const schema = () => raw.prepare("select type, name, sql from sqlite_master where name <> 'kysely_migration' order by name").all();
    const before = schema();
    // As if the process had died right after each migration committed, before its row was written: a first start
    // killed in its first quarter second could leave any of them so.
    raw.prepare('delete from kysely_migration').run();
    const report = await migrateToLatest(db, 'sqlite');
    assert.deepEqual(report.applied, all);
    assert.equal(all.length, 18);
    assert.deepEqual(schema(), before, 'the same tables and indexes, defined the same way');
  } finally {
    await db.destroy();
  }
});

test('migration 013 makes account names unique: a name an earlier race doubled stays with the oldest account, the later ones get their ID appended', async () => {
  const { raw, db } = open();
  try {
    const { error } = await new Migrator({ db, provider: migrationProvider('sqlite') }).migrateTo('012_credentials_sealed_keys');
    assert.ifError(error);
    const add = raw.prepare('insert into accounts (id, name, created_at) values (?, ?, ?)');
    add.run('acc_b', 'team', 2);
    add.run('acc_a', 'team', 1);
    add.run('acc_c', 'team', 3);
    add.run('acc_d', 'other', 1);
    await migrateToLatest(db, 'sqlite');
    assert.deepEqual(raw.prepare('select id, name from accounts order by id').all(), [
      { id: 'acc_a', name: 'team' }, { id: 'acc_b', name: 'team-acc_b' }, { id: 'acc_c', name: 'team-acc_c' }, { id: 'acc_d', name: 'other' },
    ]);
    assert.throws(() => add.run('acc_e', 'other', 4), /UNIQUE constraint failed: accounts.name/);
  } finally {
    await db.destroy();
  }
});
