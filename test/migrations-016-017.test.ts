// `kubecred migrate` on a store written by the schema before 016 (015), on SQLite and on PostgreSQL.
// 016 keys vendor projects by (account, vendor, project ID): every mapping survives (SQLite rebuilds the table,
// PostgreSQL replaces the primary key), a second account may then map a project ID another one holds, and an
// account still may not map one twice. 017 relabels the certificates CCE asked for with an explicit end, recorded as
// `temporary`, as `explicit` where their validity shows it (longer than any temporary one); nothing else changes kind.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { KubecredError } from '../src/core/errors.ts';
import type { Store, VendorProject } from '../src/core/store-port.ts';
import { migrationProvider } from '../src/storage/migrations.ts';
import { openPostgresStore } from '../src/storage/postgres/postgres-store.ts';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.ts';
import { cli } from './support/cli.ts';
import { startPostgres, type TestPostgres } from './support/postgres.ts';
import { tempDir } from './support/server-process.ts';

const BEFORE = '015_credentials_by_holder_covers_summary';
const MIGRATION = '016_vendor_projects_per_account';
const APPLIED = [MIGRATION, '017_credentials_explicit_kind', '018_created_by'];
const T = 1_700_000_000_000;
const MIN = 60_000;
/** Credentials as 015 stored them: [id, kind, minutes from issue to end] and the kind each must have after 017. */
const KINDS: Array<[string, string, number, string]> = [
  ['crd_temporary_hour', 'temporary', 60, 'temporary'],
  ['crd_temporary_3d', 'temporary', 4320, 'temporary'],
  ['crd_cce_400d', 'temporary', 400 * 1440, 'explicit'],
  ['crd_cce_3d1m', 'temporary', 4321, 'explicit'],
  ['crd_default', 'default', 3 * 365 * 1440, 'default'],
  ['crd_csr', 'csr', 3 * 365 * 1440, 'csr'],
];
const ROWS = [
  { vendor: 'huaweicloud', project_id: 'p-shared', account_id: 'acc_a', region: 'cn-north-4', created_at: 1_700_000_000_001 },
  { vendor: 'huaweicloud', project_id: 'p-a2', account_id: 'acc_a', region: 'ap-southeast-1', created_at: 1_700_000_000_002 },
  { vendor: 'huaweicloud', project_id: 'p-b', account_id: 'acc_b', region: 'cn-north-1', created_at: 1_700_000_000_003 },
];
const asProject = (r: typeof ROWS[number]): VendorProject => ({ vendor: r.vendor, projectId: r.project_id, accountId: r.account_id, region: r.region, createdAt: new Date(r.created_at) });

/** Writes two accounts and their mappings under schema 015, and shows that 015 lets a project ID have one account. */
async function seedAt015(db: Kysely<any>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  const { error } = await new Migrator({ db, provider: migrationProvider(dialect) }).migrateTo(BEFORE);
  assert.ifError(error);
  await db.insertInto('accounts').values([{ id: 'acc_a', name: 'a', created_at: 1 }, { id: 'acc_b', name: 'b', created_at: 2 }]).execute();
  await db.insertInto('vendor_projects').values(ROWS).execute();
  await assert.rejects(db.insertInto('vendor_projects').values({ ...ROWS[0], account_id: 'acc_b' }).execute(), /UNIQUE constraint failed|duplicate key/, 'under 015 a project ID has one account');
  await db.insertInto('principals').values({ id: 'usr_a', account_id: 'acc_a', kind: 'user', name: 'alice', groups: '[]', is_root: 0, created_at: T, deleted_at: null }).execute();
  await db.insertInto('clusters').values({
    id: 'cls_a', account_id: 'acc_a', name: 'prod', kind: 'kubernetes', region: 'cn-north-4', public_endpoint: 'https://203.0.113.9:6443', private_endpoint: null,
    server_ca_pem: null, client_ca_cert_pem: 'CA', client_ca_key_sealed: 'sealed', client_ca_algorithm: 'ec-p256', client_ca_source: 'generated',
    allow_system_groups: 0, created_at: T, deleted_at: null, v: 1,
  }).execute();
  await db.insertInto('credentials').values(KINDS.map(([id, kind, minutes], i) => ({
    id, account_id: 'acc_a', cluster_id: 'cls_a', principal_id: 'usr_a', kind, key_source: 'generated', serial_hex: `0${i}`, fingerprint_sha256: `f${i}`,
    cert_pem: 'PEM', key_sealed: null, common_name: 'usr_a', groups: '[]', not_before: T - 5 * MIN, not_after: T + minutes * MIN, state: 'active',
    is_current: kind === 'default' ? 1 : 0, issued_at: T, issued_by: 'usr_a', request_id: 'req_1', revoked_at: null, revoked_by: null, revoke_reason: null,
    superseded_at: null, v: 1,
  }))).execute();
  await db.destroy();
}

/** Each credential's kind after the upgrade, through the store. */
async function checkKinds(store: Store): Promise<void> {
  for (const [id, , , kind] of KINDS) assert.equal((await store.credentials.get('acc_a', id))?.kind, kind, id);
}

/** What the upgraded store must do with the rows 015 left. */
async function checkUpgraded(store: Store): Promise<void> {
  try {
    await checkKinds(store);
    for (const r of ROWS) assert.deepEqual(await store.vendorProjects.get(r.vendor, r.account_id, r.project_id), asProject(r));
    assert.deepEqual(await store.vendorProjects.listForAccount('acc_a'), [asProject(ROWS[1]), asProject(ROWS[0])]);
    const bShared: VendorProject = { vendor: 'huaweicloud', projectId: 'p-shared', accountId: 'acc_b', region: 'cn-north-4', createdAt: new Date(1_700_000_000_010) };
    await store.vendorProjects.put(bShared);
    assert.deepEqual(await store.vendorProjects.get('huaweicloud', 'acc_b', 'p-shared'), bShared);
    assert.deepEqual(await store.vendorProjects.get('huaweicloud', 'acc_a', 'p-shared'), asProject(ROWS[0]), "A's mapping is untouched");
    await assert.rejects(store.vendorProjects.put({ ...bShared, region: 'eu-west-0' }), (e: unknown) => e instanceof KubecredError && e.code === 'CONFLICT');
  } finally {
    await store.close();
  }
}

let postgres: TestPostgres;
before(async () => {
  postgres = await startPostgres();
});
after(() => postgres?.destroy());

test('SQLite: kubecred migrate upgrades a 015 store: vendor_projects rebuilt with every row, defined as a new store defines it; CCE certificates relabelled', async () => {
  const dir = tempDir('kubecred-at015-');
  const file = path.join(dir, 'kubecred.db');
  const raw = new BetterSqlite3(file);
  raw.pragma('foreign_keys = ON');
  await seedAt015(new Kysely<any>({ dialect: new SqliteDialect({ database: raw }) }), 'sqlite');

  const r = await cli(null, null, ['migrate', '--data-dir', dir, '--output', 'json']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).applied, APPLIED);
  const check = new BetterSqlite3(file, { readonly: true });
  const definition = (d: BetterSqlite3.Database) => d.prepare("select type, name, sql from sqlite_master where tbl_name = 'vendor_projects' order by name").all();
  const upgraded = definition(check);
  assert.equal(check.pragma('integrity_check', { simple: true }), 'ok');
  assert.deepEqual(check.pragma('foreign_key_check'), []);
  check.close();
  assert.ok(!JSON.stringify(upgraded).includes('vendor_projects_016'), 'renamed into place');
  const freshFile = path.join(tempDir('kubecred-fresh-'), 'kubecred.db');
  await (await openSqliteStore({ file: freshFile })).close();
  const freshDb = new BetterSqlite3(freshFile, { readonly: true });
  assert.deepEqual(upgraded, definition(freshDb));
  freshDb.close();

  await checkUpgraded(await openSqliteStore({ file }));
});

test('PostgreSQL: kubecred migrate upgrades a 015 database: every project mapping kept under the new primary key; CCE certificates relabelled', async () => {
  const url = await postgres.createDatabase('at015');
  await seedAt015(new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url }) }) }), 'postgres');

  const r = await cli(null, null, ['migrate', '--database', url, '--output', 'json']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).applied, APPLIED);
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const key = await c.query(`select conname, array(select a.attname from unnest(x.conkey) with ordinality k(n, o) join pg_attribute a on a.attrelid = x.conrelid and a.attnum = k.n order by k.o)::text[] as cols
      from pg_constraint x where x.conrelid = 'vendor_projects'::regclass and x.contype = 'p'`);
    assert.deepEqual(key.rows, [{ conname: 'vendor_projects_pk', cols: ['account_id', 'vendor', 'project_id'] }]);
  } finally {
    await c.end();
  }
  await checkUpgraded(await openPostgresStore({ url, listen: false }));
});
