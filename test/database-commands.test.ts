// `kubecred migrate` and `kubecred backup` through the real CLI: migrations applied once on PostgreSQL,
// an unreachable database named as such, an online SQLite backup a second server can start from, and migrate
// refused beside a running server.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { cli } from './support/cli.ts';
import { api } from './support/replicas.ts';
import { startPostgres, freePort, type TestPostgres } from './support/postgres.ts';
import { BIN, startServerProcess, tempDir, type ServerProcess } from './support/server-process.ts';
import { backupSqlite, copyIntoNewPrivateFile } from '../src/cli/commands-database.ts';

let postgres: TestPostgres;
let srv: ServerProcess;

before(async () => {
  postgres = await startPostgres();
  srv = await startServerProcess();
});
after(async () => {
  await srv?.stop();
  await postgres?.destroy();
});

test('kubecred migrate applies every migration to a new PostgreSQL database once, then has nothing to do', async () => {
  const url = await postgres.createDatabase('migrate');
  const first = await cli(null, null, ['migrate', '--database', url, '--output', 'json']);
  assert.equal(first.code, 0, first.stderr);
  const r1 = JSON.parse(first.stdout);
  assert.deepEqual(r1.applied, r1.current);
  assert.ok(r1.current.includes('006_replicas'));
  assert.doesNotMatch(first.stdout, /kubecred-test/, 'the password is not printed');
  const again = await cli(null, null, ['migrate', '--database', url]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /already up to date/);
});

test('kubecred migrate against a database that does not answer exits 7 with a clear message', async () => {
  const r = await cli(null, null, ['migrate', '--database', `postgres://kubecred:secret-pw@127.0.0.1:${await freePort()}/x`]);
  assert.equal(r.code, 7);
  // It names which database (never its password) and why, and what to check.
  assert.match(r.stderr, /the database \(postgres 127\.0\.0\.1:\d+\/x\) is not reachable \(ECONNREFUSED\); check --database \/ KUBECRED_DATABASE_URL/);
  assert.doesNotMatch(r.stderr + r.stdout, /secret-pw|at .*\.ts/);
});

test('kubecred backup copies the live SQLite database (0600); a server started from the copy serves the same kubeconfig', async () => {
  const cluster = (await api(srv, 'POST', '/v1/clusters', { name: 'prod', publicEndpoint: 'https://203.0.113.5:6443' })).json;
  const issued = (await api(srv, 'POST', `/v1/clusters/${cluster.id}/kubeconfig`, {})).json;
  const out = path.join(tempDir('kubecred-backup-'), 'copy.db');
  const r = await cli(null, null, ['backup', out, '--data-dir', srv.dataDir, '--output', 'json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).credentials, 1);
  assert.equal(fs.statSync(out).mode & 0o777, 0o600);
  assert.deepEqual(fs.readdirSync(path.dirname(out)), ['copy.db'], 'no partial copy, -wal or -shm left beside it');
  const db = new BetterSqlite3(out, { readonly: true });
  assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
  db.close();

  const again = await cli(null, null, ['backup', out, '--data-dir', srv.dataDir]);
  assert.equal(again.code, 2, 'an existing file is never overwritten');
  const pgBackup = await cli(null, null, ['backup', out, '--database', 'postgres://u@127.0.0.1/x']);
  assert.equal(pgBackup.code, 2);
  assert.match(pgBackup.stderr, /pg_dump/);

  // Restore: the copy plus the master key make a working data directory.
  const restored = tempDir('kubecred-restored-');
  fs.copyFileSync(out, path.join(restored, 'kubecred.db'));
  fs.copyFileSync(path.join(srv.dataDir, 'master.key'), path.join(restored, 'master.key'));
  const second = await startServerProcess({ dataDir: restored, previous: srv });
  try {
    const same = (await api(second, 'POST', `/v1/clusters/${cluster.id}/kubeconfig`, {})).json;
    assert.equal(same.credential.id, issued.credential.id);
    assert.equal(same.kubeconfig, issued.kubeconfig);
  } finally {
    await second.stop();
  }
});

test('backup finishes while another connection writes every few milliseconds (a stepped backup restarts on each write)', { timeout: 60_000 }, async () => {
  const dir = tempDir('kubecred-busy-');
  const file = path.join(dir, 'busy.db');
  const writer = new BetterSqlite3(file);
  writer.pragma('journal_mode = WAL');
  writer.exec('create table credentials (id integer primary key, blob text); create table t (n integer)');
  const insert = writer.prepare('insert into credentials (blob) values (?)');
  writer.transaction(() => { for (let i = 0; i < 4000; i++) insert.run('x'.repeat(4000)); })();
  const tick = writer.prepare('insert into t (n) values (?)');
  let writes = 0;
  const timer = setInterval(() => tick.run(writes++), 2);
  try {
    const r = await backupSqlite(file, path.join(dir, 'copy.db'));
    assert.equal(r.credentials, 4000);
    assert.ok(writes > 0);
  } finally {
    clearInterval(timer);
    writer.close();
  }
});

test('kubecred restore after a kill -9 (a WAL left behind) puts the backup in place, keeps the replaced files, and refuses beside a running server', async () => {
  const first = await startServerProcess();
  const before = (await api(first, 'POST', '/v1/clusters', { name: 'kept', publicEndpoint: 'https://203.0.113.6:6443' })).json;
  const leaver = (await api(first, 'POST', '/v1/principals', { name: 'leaver' })).json;
  const stays = (await api(first, 'POST', '/v1/principals', { name: 'stays' })).json;
  const token = (await api(first, 'POST', `/v1/principals/${stays.id}/tokens`, {})).json;
  const out = path.join(tempDir('kubecred-restore-'), 'copy.db');
  assert.equal((await cli(null, null, ['backup', out, '--data-dir', first.dataDir])).code, 0);
  for (let i = 0; i < 20; i++) await api(first, 'POST', '/v1/clusters', { name: `after-${i}`, publicEndpoint: 'https://203.0.113.7:6443' });
  // Access taken away after the backup, of what the backup holds: the restore re-applies it, and says so.
  assert.equal((await api(first, 'DELETE', `/v1/principals/${stays.id}/tokens/${token.id}`)).status, 200);
  assert.equal((await api(first, 'DELETE', `/v1/principals/${leaver.id}`)).status, 200);
  assert.equal((await api(first, 'DELETE', `/v1/clusters/${before.id}`)).status, 200);
  const busy = await cli(null, null, ['restore', out, '--data-dir', first.dataDir]);
  assert.equal(busy.code, 5, busy.stderr);
  assert.match(busy.stderr, /stop it first/);
  await first.stop('SIGKILL');
  const db = path.join(first.dataDir, 'kubecred.db');
  assert.ok(fs.statSync(`${db}-wal`).size > 0, 'the crash left a WAL holding the later writes');

  const r = await cli(null, null, ['restore', out, '--data-dir', first.dataDir, '--output', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assert.equal(result.replacedKeptAs.length, 3, 'the replaced database, its -wal and -shm, kept aside');
  // Read from the replaced database's write-ahead log, where the crash left them.
  assert.deepEqual([result.reapplied.tokens, result.reapplied.principals, result.reapplied.clusters], [[token.id], [leaver.id], [before.id]]);
  assert.deepEqual(result.undone, []);
  assert.match(r.stderr, /3 revocation\(s\) and deletion\(s\) made after the backup were re-applied/);
  assert.equal(fs.existsSync(`${db}-wal`), false);
  assert.equal(fs.statSync(db).mode & 0o777, 0o600);
  const check = new BetterSqlite3(db, { readonly: true });
  assert.equal(check.pragma('integrity_check', { simple: true }), 'ok');
  check.close();
  const second = await startServerProcess({ dataDir: first.dataDir, previous: first });
  try {
    const names = (await api(second, 'GET', '/v1/clusters')).json.items.map((c: { name: string }) => c.name);
    assert.deepEqual(names, [], 'none of those made since, and the one deleted since stays deleted');
  } finally {
    await second.stop();
  }
  assert.equal((await cli(null, null, ['restore', path.join(path.dirname(out), 'none.db'), '--data-dir', first.dataDir])).code, 2);
  // Another server's backup is sealed under its master key: refused before anything is moved.
  const other = await startServerProcess();
  const foreign = path.join(path.dirname(out), 'foreign.db');
  assert.equal((await cli(null, null, ['backup', foreign, '--data-dir', other.dataDir])).code, 0);
  await other.stop();
  const filesBefore = fs.readdirSync(first.dataDir).sort();
  const refused = await cli(null, null, ['restore', foreign, '--data-dir', first.dataDir]);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /sealed under another master key[\s\S]*nothing was changed/);
  assert.deepEqual(fs.readdirSync(first.dataDir).sort(), filesBefore);
});

const hasStrace = spawnSync('strace', ['-o', '/dev/null', 'true']).status === 0;

test('kubecred restore under umask 000 of a 0644 backup creates its copy exclusively and 0600 from the first byte', { skip: !hasStrace && 'strace (or ptrace) is not available' }, async () => {
  const from = await startServerProcess();
  const backup = path.join(tempDir('kubecred-restore-'), 'open.db');
  assert.equal((await cli(null, null, ['backup', backup, '--data-dir', from.dataDir])).code, 0);
  await from.stop();
  fs.chmodSync(backup, 0o644);
  const trace = path.join(path.dirname(backup), 'restore.strace');
  // The shell sets the umask, then becomes strace, which runs the CLI as the user would.
  const r = spawnSync('sh', ['-c', 'umask 000 && exec "$@"', 'sh', 'strace', '-f', '-qq', '-e', 'trace=openat,open,creat,chmod,fchmod,fchmodat', '-o', trace,
    process.execPath, BIN, 'restore', backup, '--data-dir', from.dataDir], { encoding: 'utf8', env: { ...process.env, KUBECRED_MASTER_KEY: undefined } });
  assert.equal(r.status, 0, r.stderr);
  const db = path.join(from.dataDir, 'kubecred.db');
  assert.equal(fs.statSync(db).mode & 0o777, 0o600);
  const calls = fs.readFileSync(trace, 'utf8').split('\n').filter((l) => l.includes('.partial-'));
  // The copy, then the write-ahead log and shared memory SQLite makes beside it when the restore carries into it.
  const logs = calls.filter((l) => /\.partial-\d+-(wal|shm)"/.test(l) && /O_CREAT/.test(l));
  assert.ok(logs.every((l) => /, 0600\) = \d+$/.test(l)), logs.join('\n'));
  const creates = calls.filter((l) => /\.partial-\d+"/.test(l) && /O_CREAT/.test(l));
  assert.equal(creates.length, 1, calls.join('\n'));
  assert.match(creates[0]!, /O_CREAT\|O_EXCL|O_EXCL\|O_CREAT|O_EXCL.*O_CREAT|O_CREAT.*O_EXCL/, 'created exclusively');
  assert.match(creates[0]!, /, 0600\) = \d+$/, 'created 0600 (with umask 000, what is asked is what is made)');
  assert.ok(!calls.some((l) => /chmod/.test(l)), 'no mode fixed afterwards: it was never wider');
});

test('the copy a restore makes is created 0600 and exclusively: never into a file or symlink already there', () => {
  const dir = tempDir('kubecred-copy-');
  const from = path.join(dir, 'from');
  fs.writeFileSync(from, Buffer.alloc(3 << 20, 7), { mode: 0o644 });
  const old = process.umask(0);
  try {
    copyIntoNewPrivateFile(from, path.join(dir, 'to'));
  } finally {
    process.umask(old);
  }
  assert.equal(fs.statSync(path.join(dir, 'to')).mode & 0o777, 0o600);
  assert.deepEqual(fs.readFileSync(path.join(dir, 'to')), fs.readFileSync(from), 'every byte, across several chunks');
  fs.symlinkSync(path.join(dir, 'elsewhere'), path.join(dir, 'planted'));
  assert.throws(() => copyIntoNewPrivateFile(from, path.join(dir, 'planted')), /EEXIST/);
  assert.ok(!fs.existsSync(path.join(dir, 'elsewhere')), 'nothing written through the symlink');
});

test('kubecred migrate beside a running server on the same SQLite file exits 5, naming the --database flag for replicas', async () => {
  const r = await cli(null, null, ['migrate', '--data-dir', srv.dataDir]);
  assert.equal(r.code, 5, r.stderr);
  assert.match(r.stderr, /another kubecred server or migration is using .*kubecred\.db; stop it first/);
  assert.match(r.stderr, /replicas on one PostgreSQL database \(--database postgres:\/\/…, or KUBECRED_DATABASE_URL\)/);
  assert.doesNotMatch(r.stderr, /--database-url/, 'no such flag');
  assert.equal((await api(srv, 'GET', '/v1/clusters')).status, 200, 'the server keeps serving');
});

test("kubecred account root-token gives a lost root a new token, beside the running server; audited, the old one kept", async () => {
  const r = await cli(null, null, ['account', 'root-token', '--data-dir', srv.dataDir, '--output', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.rootPrincipalId, srv.rootPrincipalId);
  assert.match(out.rootToken, /^kc1\.tok_/);
  const who = await cli(srv, out.rootToken, ['whoami', '--output', 'json']);
  assert.equal(who.code, 0, who.stderr);
  assert.equal(JSON.parse(who.stdout).isRoot, true);
  assert.equal((await cli(srv, srv.rootToken, ['whoami'])).code, 0, 'the earlier token keeps working');
  const events = JSON.parse((await cli(srv, out.rootToken, ['audit', 'list', '--action', 'CreateToken', '--output', 'json'])).stdout);
  assert.ok(events.some((e: any) => e.detail.tokenId === out.tokenId && e.actorId === null), 'audited, with no actor');
  const table = await cli(null, null, ['account', 'root-token', '--data-dir', srv.dataDir]);
  assert.match(table.stdout, /root token: +kc1\.tok_/);
  assert.equal((await cli(null, null, ['account', 'root-token', 'no-such-account', '--data-dir', srv.dataDir])).code, 4);
  const empty = tempDir('kubecred-no-db-');
  const none = await cli(null, null, ['account', 'root-token', '--data-dir', empty]);
  assert.equal(none.code, 2, none.stderr);
  assert.match(none.stderr, /there is no database at/);
  assert.deepEqual(fs.readdirSync(empty), [], 'nothing created');
});
