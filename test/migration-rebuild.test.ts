// Migration 010 on a store written by the schema before it (009): SQLite rebuilds the credentials table without
// the fingerprint's unique index. Through the real CLI and server: every row and every other index survives, the
// upgrade says what it is doing, a kill -9 in the middle leaves the old table whole and the next run completes
// it, a rebuild that committed before its migration was recorded is not redone, and a server then serves from
// the rebuilt table. PostgreSQL only drops the constraint.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { COMMITTED_TABLE, migrationProvider } from '../src/storage/migrations.ts';
import { cli } from './support/cli.ts';
import { startPostgres } from './support/postgres.ts';
import { api } from './support/replicas.ts';
import { BIN, startServerProcess, tempDir, type ServerProcess } from './support/server-process.ts';

const REBUILD = '010_credentials_fingerprint_not_unique';
/** Applied after REBUILD whenever a 009 store is upgraded. */
const LISTING = '011_credentials_listing_by_status';
/** The migrations after 011, each quick. */
const LATER = ['012_credentials_sealed_keys', '013_accounts_unique_name', '014_console_sessions_last_used', '015_credentials_by_holder_covers_summary', '016_vendor_projects_per_account', '017_credentials_explicit_kind', '018_created_by'];
let source: ServerProcess;
let sourceDb: string;

before(async () => {
  source = await startServerProcess();
  const cluster = (await api(source, 'POST', '/v1/clusters', { name: 'prod', publicEndpoint: 'https://203.0.113.5:6443' })).json;
  assert.equal((await api(source, 'POST', `/v1/clusters/${cluster.id}/kubeconfig`, {})).status, 200);
  for (let i = 0; i < 3; i++) assert.equal((await api(source, 'POST', `/v1/clusters/${cluster.id}/kubeconfig`, { temporaryMinutes: 60 })).status, 200);
  await source.stop();
  sourceDb = path.join(source.dataDir, 'kubecred.db');
});
after(() => source?.stop());

/** A data directory as 009 left it: the source's key and TLS files, and every row of its database under schema 009. */
async function storeAt009(extraCredentials = 0): Promise<string> {
  const dir = tempDir('kubecred-at009-');
  for (const f of ['master.key', 'tls']) fs.cpSync(path.join(source.dataDir, f), path.join(dir, f), { recursive: true });
  const file = path.join(dir, 'kubecred.db');
  const raw = new BetterSqlite3(file);
  const db = new Kysely<any>({ dialect: new SqliteDialect({ database: raw }) });
  const { error } = await new Migrator({ db, provider: migrationProvider('sqlite') }).migrateTo('009_credentials_rare_filters');
  assert.ifError(error);
  assert.match(tableSql(raw), /"fingerprint_sha256" text not null unique/);
  raw.exec(`attach '${sourceDb}' as src`);
  const tables = (raw.prepare(`select name from main.sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like 'kysely_%' and name <> '${COMMITTED_TABLE}'`).all() as Array<{ name: string }>).map((t) => t.name);
  raw.transaction(() => {
    // The columns 009 had: later migrations add some (014: console_sessions.last_used_at) that the source has too.
    for (const t of tables) {
      const cols = (raw.prepare(`select name from pragma_table_info('${t}', 'main')`).all() as Array<{ name: string }>).map((c) => `"${c.name}"`).join(', ');
      raw.exec(`insert into main."${t}" (${cols}) select ${cols} from src."${t}"`);
    }
    if (extraCredentials > 0) {
      // Copies of one credential with their own ID, serial and fingerprint: a table big enough to take a while.
      const cols = (raw.pragma('table_info(credentials)') as Array<{ name: string }>).map((c) => c.name);
      const value = (c: string) => ({
        id: "'crd_bulk' || n.i", serial_hex: "printf('%040x', n.i)", fingerprint_sha256: "printf('%064x', n.i)", is_current: '0',
      } as Record<string, string>)[c] ?? `seed."${c}"`;
      raw.exec(`with recursive n(i) as (select 1 union all select i + 1 from n where i < ${extraCredentials})
        insert into main.credentials (${cols.map((c) => `"${c}"`).join(', ')})
        select ${cols.map(value).join(', ')} from (select * from main.credentials limit 1) seed, n`);
    }
  })();
  raw.exec('detach src');
  await db.destroy();
  return dir;
}

function tableSql(raw: BetterSqlite3.Database): string {
  return (raw.prepare("select sql from sqlite_master where type = 'table' and name = 'credentials'").get() as { sql: string }).sql;
}

function inspect(dir: string) {
  const raw = new BetterSqlite3(path.join(dir, 'kubecred.db'), { readonly: true });
  try {
    const indexes = (raw.pragma('index_list(credentials)') as Array<{ name: string; unique: number; partial: number }>).map((i) => {
      const cols = (raw.pragma(`index_info("${i.name}")`) as Array<{ name: string }>).map((c) => c.name).join(',');
      return `${i.name.startsWith('sqlite_autoindex') ? 'auto' : i.name} ${i.unique ? 'unique ' : ''}(${cols})${i.partial ? ' partial' : ''}`;
    }).sort();
    return {
      rows: raw.prepare('select * from credentials order by id').all(),
      indexes,
      applied: (raw.prepare('select name from kysely_migration order by name').all() as Array<{ name: string }>).map((m) => m.name),
      integrity: raw.pragma('integrity_check', { simple: true }),
      foreignKeys: raw.pragma('foreign_key_check'),
      tableSql: tableSql(raw),
      pages: raw.pragma('page_count', { simple: true }) as number,
      free: raw.pragma('freelist_count', { simple: true }) as number,
    };
  } finally {
    raw.close();
  }
}

test('migration 010 rebuilds a 009 store: same rows, same indexes but the fingerprint\'s, serials still unique; a server serves from it', async () => {
  const dir = await storeAt009();
  const before = inspect(dir);
  assert.ok(before.indexes.includes('auto unique (fingerprint_sha256)'));
  const r = await cli(null, null, ['migrate', '--data-dir', dir, '--output', 'json']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).applied, [REBUILD, LISTING, ...LATER]);
  assert.match(r.stderr, new RegExp(`applying database migrations ${REBUILD} \\(rebuilds the credentials table, about a minute per million credentials\\), ${LISTING} \\(rebuilds three indexes`));

  const now = inspect(dir);
  assert.equal(now.integrity, 'ok');
  assert.deepEqual(now.foreignKeys, []);
  assert.ok(now.applied.includes(REBUILD));
  assert.equal(now.rows.length, 4);
  assert.deepEqual(now.rows, before.rows);
  // Every index but the fingerprint's is still there (011 gives the three listing indexes more columns; 012 and 018 add one each).
  const names = (indexes: string[]) => indexes.map((i) => i.split(' (')[0]);
  const added = ['credentials_sealed_keys', 'credentials_issued_for_others'];
  assert.deepEqual(names(now.indexes).filter((n) => !added.includes(n)), names(before.indexes.filter((i) => i !== 'auto unique (fingerprint_sha256)')));
  for (const n of added) assert.ok(names(now.indexes).includes(n), n);
  assert.ok(now.indexes.includes('auto unique (serial_hex)'));
  // The same schema as a store created at 010 from the start (the source).
  assert.deepEqual(now.indexes, inspect(source.dataDir).indexes);
  assert.equal(now.tableSql, inspect(source.dataDir).tableSql);

  const raw = new BetterSqlite3(path.join(dir, 'kubecred.db'));
  const dup = { ...(raw.prepare('select * from credentials limit 1').get() as Record<string, unknown>), id: 'crd_duplicate_serial', is_current: 0, fingerprint_sha256: 'f'.repeat(64) };
  assert.throws(() => raw.prepare(`insert into credentials (${Object.keys(dup).map((k) => `"${k}"`).join(', ')}) values (${Object.keys(dup).map(() => '?').join(', ')})`).run(...Object.values(dup)), /UNIQUE constraint failed: credentials.serial_hex/);
  raw.close();

  const srv = await startServerProcess({ dataDir: dir, previous: source });
  try {
    const list = await api(srv, 'GET', '/v1/credentials');
    assert.equal(list.status, 200);
    assert.equal(list.json.items.length, 4);
    const cluster = list.json.items[0].clusterId;
    const issued = await api(srv, 'POST', `/v1/clusters/${cluster}/kubeconfig`, { temporaryMinutes: 15 });
    assert.equal(issued.status, 200, JSON.stringify(issued.json));
  } finally {
    await srv.stop();
  }
});

test('kill -9 during the rebuild leaves the 009 table whole; the next migrate completes it; a recorded-late rebuild is not redone', async () => {
  const dir = await storeAt009(20_000);
  const before = inspect(dir);
  assert.equal(before.rows.length, 20_004);

  const child = spawn(process.execPath, [BIN, 'migrate', '--data-dir', dir], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KUBECRED_CONFIG: '/nonexistent' } });
  let err = '';
  let gone = false;
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => {
    gone = true;
    resolve(signal ?? code);
  }));
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (d) => {
      err += d;
      if (err.includes('applying database migrations')) resolve();
    });
    child.on('exit', () => reject(new Error(`migrate ended before it announced the rebuild: ${err}`)));
  });
  // Killed once the rebuild's transaction is seen holding the write lock for 50 ms on end (the migrator's own
  // bookkeeping writes take well under a millisecond), whatever the machine's speed.
  const probe = new BetterSqlite3(path.join(dir, 'kubecred.db'), { timeout: 0 });
  let busySince = 0;
  while (!gone) {
    try {
      probe.exec('begin immediate');
      probe.exec('rollback');
      busySince = 0;
    } catch (e) {
      if ((e as { code?: string }).code !== 'SQLITE_BUSY') throw e;
      busySince ||= Date.now();
      if (Date.now() - busySince >= 50) break;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  child.kill('SIGKILL');
  probe.close();
  assert.equal(await exited, 'SIGKILL', `the rebuild finished before it was seen holding the write lock (${err})`);

  const killed = inspect(dir);
  assert.equal(killed.integrity, 'ok');
  assert.ok(!killed.applied.includes(REBUILD));
  assert.match(killed.tableSql, /"fingerprint_sha256" text not null unique/, 'the old table, whole');
  assert.deepEqual(killed.indexes, before.indexes);
  assert.deepEqual(killed.rows, before.rows);

  const again = await cli(null, null, ['migrate', '--data-dir', dir, '--output', 'json']);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(JSON.parse(again.stdout).applied, [REBUILD, LISTING, ...LATER]);
  const done = inspect(dir);
  assert.equal(done.integrity, 'ok');
  assert.deepEqual(done.rows, before.rows);
  assert.doesNotMatch(done.tableSql, /fingerprint_sha256" text not null unique/);
  // The rebuilt table and its indexes fill fewer pages than before (one index fewer); the old table's pages stay
  // in the file as free pages, which later writes reuse.
  assert.ok(done.pages - done.free < before.pages - before.free, `${done.pages - done.free} pages in use, ${before.pages - before.free} before`);

  // The rebuild committed, then the process died before Kysely recorded the migration (so before 011 too): the
  // next run finds the table already rebuilt and only records it; 011 builds the same indexes again; the later ones are only recorded.
  const raw = new BetterSqlite3(path.join(dir, 'kubecred.db'));
  raw.prepare('delete from kysely_migration where name >= ?').run(REBUILD);
  raw.close();
  const third = await cli(null, null, ['migrate', '--data-dir', dir, '--output', 'json']);
  assert.equal(third.code, 0, third.stderr);
  assert.deepEqual(JSON.parse(third.stdout).applied, [REBUILD, LISTING, ...LATER]);
  const last = inspect(dir);
  assert.deepEqual(last.rows, before.rows);
  assert.deepEqual(last.indexes, done.indexes);
});

test('a migration that fails says why; a one-shot command does not upgrade a schema; kubecred migrate will not run beside a server on the same SQLite file', async () => {
  // A credential whose cluster is gone (only possible by hand): the copy into the rebuilt table fails its foreign key.
  const dir = await storeAt009();
  const raw = new BetterSqlite3(path.join(dir, 'kubecred.db'));
  raw.pragma('foreign_keys = off');
  raw.exec(`create temp table orphan as select * from main.credentials limit 1;
    update temp.orphan set id = 'crd_orphan', serial_hex = 'ff', fingerprint_sha256 = 'ff', is_current = 0, cluster_id = 'cls_gone';
    insert into main.credentials select * from temp.orphan;`);
  raw.close();
  const failed = await cli(null, null, ['migrate', '--data-dir', dir]);
  assert.notEqual(failed.code, 0);
  assert.match(failed.stderr, /database migration 010_credentials_fingerprint_not_unique failed: FOREIGN KEY constraint failed/);
  assert.doesNotMatch(failed.stderr, /\bat .*\.(ts|js|mjs):\d|insert into|select \*/i, 'no stack or SQL');
  assert.ok(!inspect(dir).applied.includes(REBUILD));

  // A one-shot command of a newer kubecred (here account create) never upgrades the schema under a server.
  const older = await storeAt009();
  const oneShot = await cli(null, null, ['account', 'create', 'second', '--data-dir', older]);
  assert.equal(oneShot.code, 5, oneShot.stderr);
  assert.match(oneShot.stderr, /the database's schema is older than this kubecred's \(pending migrations: 010_credentials_fingerprint_not_unique, 011_credentials_listing_by_status, 012_credentials_sealed_keys, 013_accounts_unique_name, 014_console_sessions_last_used, 015_credentials_by_holder_covers_summary, 016_vendor_projects_per_account, 017_credentials_explicit_kind, 018_created_by\); upgrade it first/);
  assert.ok(!inspect(older).applied.includes(REBUILD));

  const srv = await startServerProcess({ dataDir: older, previous: source });
  try {
    const beside = await cli(null, null, ['migrate', '--data-dir', srv.dataDir]);
    assert.notEqual(beside.code, 0);
    assert.match(beside.stderr, /another kubecred server or migration is using .*kubecred\.db; stop it first/);
    assert.equal((await api(srv, 'GET', '/v1/credentials?limit=1')).status, 200);
  } finally {
    await srv.stop();
  }
});

test('kubecred serve upgrades a 009 store itself, says so, and serves with the rebuild checkpointed out of the WAL', async () => {
  const dir = await storeAt009(5_000);
  const srv = await startServerProcess({ dataDir: dir, previous: source });
  try {
    assert.match(srv.stderr(), /applying database migrations 010_credentials_fingerprint_not_unique \(rebuilds the credentials table/);
    // The rebuild wrote megabytes of pages through the WAL; they are in the database file before the server answers.
    const wal = fs.statSync(path.join(dir, 'kubecred.db-wal')).size;
    assert.ok(wal < 256 * 1024, `WAL of ${wal} bytes after the upgrade`);
    const list = await api(srv, 'GET', '/v1/credentials?limit=10');
    assert.equal(list.status, 200);
    assert.equal(list.json.items.length, 10);
  } finally {
    await srv.stop();
  }
});

test('on PostgreSQL, migration 010 drops the fingerprint\'s unique constraint and keeps the serial\'s; behind a lock it gives up after its lock timeout, saying so', async () => {
  const postgres = await startPostgres();
  try {
    const url = await postgres.createDatabase('at009');
    const pool = new pg.Pool({ connectionString: url });
    const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
    const { error } = await new Migrator({ db, provider: migrationProvider('postgres') }).migrateTo('009_credentials_rare_filters');
    assert.ifError(error);
    await db.destroy();
    const constraints = async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        return (await c.query("select conname from pg_constraint where conrelid = 'credentials'::regclass and contype = 'u' order by conname")).rows.map((r) => r.conname);
      } finally {
        await c.end();
      }
    };
    assert.deepEqual(await constraints(), ['credentials_fingerprint_sha256_key', 'credentials_serial_hex_key']);
    // Someone holds a lock on the table (a long pg_dump, say): the migration gives up after its lock timeout,
    // says so, and leaves the constraint, instead of queueing every replica's use of the table behind it.
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    await holder.query('begin');
    await holder.query('lock table credentials in access share mode');
    const t0 = Date.now();
    const blocked = await cli(null, null, ['migrate', '--database', url]);
    await holder.query('rollback');
    await holder.end();
    assert.notEqual(blocked.code, 0);
    assert.match(blocked.stderr, /database migration 010_credentials_fingerprint_not_unique failed: canceling statement due to lock timeout/);
    assert.ok(Date.now() - t0 < 30_000);
    assert.deepEqual(await constraints(), ['credentials_fingerprint_sha256_key', 'credentials_serial_hex_key']);

    const r = await cli(null, null, ['migrate', '--database', url, '--output', 'json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).applied, [REBUILD, LISTING, ...LATER]);
    assert.match(r.stderr, new RegExp(`applying database migrations ${REBUILD}, ${LISTING} \\(rebuilds three indexes`));
    assert.deepEqual(await constraints(), ['credentials_serial_hex_key']);
  } finally {
    await postgres.destroy();
  }
});
