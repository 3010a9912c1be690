// `kubecred restore` carries the credentials issued after the backup into the restored database, revoked: through the
// real CLI, the real server and raw SubjectAccessReviews carrying the certificate's SHA-256 (Kubernetes 1.32+).

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { cli, cliJson } from './support/cli.ts';
import { cceClient, createCert, PROJECT_ID, setupCce } from './support/huaweicloud-sdk.ts';
import { api, webhookVerdict } from './support/replicas.ts';
import { rawRequest } from './support/http.ts';
import { BIN, startServerProcess, tempDir, type ServerProcess } from './support/server-process.ts';
import BetterSqlite3 from 'better-sqlite3';

const fingerprintOf = (pem: string) => crypto.createHash('sha256').update(new crypto.X509Certificate(pem).raw).digest('hex');

async function restore(dataDir: string, backup: string, format: 'json' | 'table' = 'json') {
  const r = await cli(null, null, ['restore', backup, '--data-dir', dataDir, ...(format === 'json' ? ['--output', 'json'] : [])]);
  assert.equal(r.code, 0, r.stderr);
  return { ...r, json: format === 'json' ? JSON.parse(r.stdout) : null };
}

test('kubecred restore carries the kubeconfigs issued after the backup, revoked: the webhook denies them, the inventory, the CRL and the audit trail know them', { timeout: 120_000 }, async () => {
  let srv: ServerProcess = await startServerProcess({ args: ['--log-level', 'warn'] });
  try {
    const { cluster: prod, alice } = await setupCce(srv, { publicEndpoint: 'https://203.0.113.10:6443' });
    const prodHook = (await api(srv, 'POST', `/v1/clusters/${prod.id}/webhook-tokens`)).json.token;
    const before = (await api(srv, 'POST', `/v1/clusters/${prod.id}/kubeconfig`, { principalId: alice.id })).json.credential;
    const backup = path.join(tempDir('kubecred-carry-'), 'before.db');
    assert.equal((await cli(null, null, ['backup', backup, '--data-dir', srv.dataDir])).code, 0);

    // After the backup: an 1,800-day CCE certificate (explicit), a principal and a cluster made since, a temporary
    // kubeconfig of that principal on each cluster, a webhook token for the new cluster, and alice deleted.
    const cce = await createCert(cceClient(srv, alice.ak, alice.sk, PROJECT_ID), prod.id, 1800);
    const cceFingerprint = fingerprintOf(Buffer.from(cce.users[0].user['client-certificate-data'], 'base64').toString());
    const carol = await cliJson(srv, srv.rootToken, ['principal', 'create', 'carol', '--group', 'dev']);
    const late = (await api(srv, 'POST', '/v1/clusters', { name: 'late', publicEndpoint: 'https://203.0.113.11:6443' })).json;
    const lateHook = (await api(srv, 'POST', `/v1/clusters/${late.id}/webhook-tokens`)).json;
    const temp = (await api(srv, 'POST', `/v1/clusters/${prod.id}/kubeconfig`, { principalId: carol.id, temporaryMinutes: 600 })).json.credential;
    const onLate = (await api(srv, 'POST', `/v1/clusters/${late.id}/kubeconfig`, { principalId: carol.id })).json.credential;
    // dave is made, given a kubeconfig and deleted after the backup: his deletion is not undone (he is carried deleted),
    // nor alice's (she is in the backup: her deletion is re-applied).
    const dave = await cliJson(srv, srv.rootToken, ['principal', 'create', 'dave']);
    const daves = (await api(srv, 'POST', `/v1/clusters/${prod.id}/kubeconfig`, { principalId: dave.id })).json.credential;
    for (const p of ['alice', 'dave']) assert.equal((await cli(srv, srv.rootToken, ['principal', 'delete', p])).code, 0);
    const explicit = (await cliJson(srv, srv.rootToken, ['credential', 'list', '--principal', alice.id, '--kind', 'explicit']))[0];
    assert.equal(explicit.fingerprintSha256, cceFingerprint);
    // Killed: the latest writes are in the write-ahead log only.
    await srv.stop('SIGKILL');

    const first = await restore(srv.dataDir, backup);
    const carried = first.json.carried;
    const ids = [explicit.id, temp.id, onLate.id, daves.id].sort();
    assert.deepEqual(carried.credentials.map((c: any) => c.id), ids, 'the four issued after the backup, named');
    // alice's and dave's deletions revoked theirs already, and those revocations are carried as they were; the others are revoked now.
    assert.deepEqual(carried.credentials.filter((c: any) => c.revokedByRestore).map((c: any) => c.id).sort(), [temp.id, onLate.id].sort());
    assert.deepEqual(carried.byCluster.map((b: any) => [b.clusterId, b.credentials, b.clusterCarriedDeleted]).sort(), [[prod.id, 3, false], [late.id, 1, true]].sort());
    assert.deepEqual(carried.principals.sort(), [carol.id, dave.id].sort());
    assert.deepEqual(carried.clusters, [late.id]);
    assert.deepEqual(carried.webhookTokens, [lateHook.id]);
    // alice was in the backup: her deletion is re-applied (restore-reapply.test.ts), with the revocation of her kubeconfig.
    assert.deepEqual(first.json.undone, [], 'nothing left to do again');
    assert.deepEqual(first.json.reapplied.principals, [alice.id]);
    assert.deepEqual(first.json.reapplied.credentials.map((c: any) => c.id), [before.id]);
    assert.match(first.stderr, /4 credential\(s\) issued after the backup were carried into the restored database as revoked/);

    srv = await startServerProcess({ dataDir: srv.dataDir, previous: srv });
    const denied = async (clusterId: string, hook: string, fingerprint: string, user: string) => {
      const v = await webhookVerdict(srv, clusterId, hook, fingerprint, user);
      assert.equal(v.denied, true, `${fingerprint} on ${clusterId}: ${JSON.stringify(v)}`);
      assert.match(v.reason ?? '', /was revoked/);
    };
    await denied(prod.id, prodHook, cceFingerprint, alice.id);
    await denied(prod.id, prodHook, temp.fingerprintSha256, carol.id);
    // The cluster made after the backup is carried deleted with its webhook token: its API server can still ask.
    await denied(late.id, lateHook.token, onLate.fingerprintSha256, carol.id);
    await denied(prod.id, prodHook, before.fingerprintSha256, alice.id);

    const listed = await cliJson(srv, srv.rootToken, ['credential', 'list', '--state', 'revoked']);
    assert.deepEqual(listed.map((c: any) => c.id).sort(), [...ids, before.id].sort());
    for (const c of listed) {
      assert.equal(c.status, 'revoked');
      assert.match(c.revokeReason, [explicit.id, daves.id, before.id].includes(c.id) ? /principal deleted/ : /issued after the backup that was restored; revoked by kubecred restore/);
    }
    const crl = await rawRequest(srv, 'GET', `/clusters/${prod.id}/crl`);
    assert.equal(crl.status, 200);
    const crlFile = path.join(path.dirname(backup), 'prod.crl');
    fs.writeFileSync(crlFile, crl.raw);
    const text = execFileSync('openssl', ['crl', '-inform', 'DER', '-in', crlFile, '-noout', '-text'], { encoding: 'utf8' }).toUpperCase();
    for (const serial of [explicit.serial, temp.serial]) assert.match(text, new RegExp(`SERIAL NUMBER: ${serial.toUpperCase()}`));
    const events = await cliJson(srv, srv.rootToken, ['audit', 'list', '--action', 'CarryCredentials']);
    assert.equal(events.length, 1);
    assert.equal(events[0].actorId, null);
    assert.deepEqual([...events[0].detail.credentialIds].sort(), ids);
    assert.equal(events[0].detail.carried, 4);
    assert.equal(events[0].detail.revoked, 2);
    assert.deepEqual(events[0].detail.principalsCarriedDeleted.sort(), [carol.id, dave.id].sort());
    await srv.stop();

    // Again, from the same backup: the same four carried, their revocation kept as it was; named in the table.
    const again = await restore(srv.dataDir, backup, 'table');
    assert.match(again.stdout, /carried from the replaced database: 4 credential\(s\) issued after the backup, all revoked/);
    for (const id of ids) assert.match(again.stdout, new RegExp(id));
    assert.match(again.stdout, new RegExp(`clusters made after the backup, carried as deleted.*${late.id}`));
    srv = await startServerProcess({ dataDir: srv.dataDir, previous: srv });
    const relisted = await cliJson(srv, srv.rootToken, ['credential', 'list', '--state', 'revoked']);
    assert.deepEqual(relisted.map((c: any) => [c.id, c.revokedAt]).sort(), listed.map((c: any) => [c.id, c.revokedAt]).sort());
    await denied(prod.id, prodHook, cceFingerprint, alice.id);
  } finally {
    await srv.stop();
  }
});

test('kubecred restore when nothing was issued after the backup carries nothing', async () => {
  const srv = await startServerProcess();
  try {
    const cluster = (await api(srv, 'POST', '/v1/clusters', { name: 'prod', publicEndpoint: 'https://203.0.113.12:6443' })).json;
    await api(srv, 'POST', `/v1/clusters/${cluster.id}/kubeconfig`, {});
    const backup = path.join(tempDir('kubecred-carry-'), 'same.db');
    assert.equal((await cli(null, null, ['backup', backup, '--data-dir', srv.dataDir])).code, 0);
    await srv.stop();
    const r = await restore(srv.dataDir, backup);
    assert.deepEqual(r.json.carried, { credentials: [], byCluster: [], principals: [], clusters: [], accounts: [], webhookTokens: [], caKeysNotOpening: [] });
    assert.doesNotMatch(r.stderr, /carried/);
    const table = await restore(srv.dataDir, backup, 'table');
    assert.doesNotMatch(table.stdout, /carried/);
  } finally {
    await srv.stop();
  }
});

const hasStrace = spawnSync('strace', ['-o', '/dev/null', 'true']).status === 0;

/** A server with a backup, then `n` temporary kubeconfigs issued after it, then killed: what a restore carries. */
async function backupThenIssue(n: number, endpoint: string) {
  const srv = await startServerProcess({ args: ['--log-level', 'warn'] });
  const cluster = (await api(srv, 'POST', '/v1/clusters', { name: 'prod', publicEndpoint: endpoint })).json;
  const backup = path.join(tempDir('kubecred-carry-'), 'killed.db');
  assert.equal((await cli(null, null, ['backup', backup, '--data-dir', srv.dataDir])).code, 0);
  const issued: string[] = [];
  for (let i = 0; i < n; i++) issued.push((await api(srv, 'POST', `/v1/clusters/${cluster.id}/kubeconfig`, { temporaryMinutes: 60 })).json.credential.id);
  await srv.stop('SIGKILL');
  return { srv, backup, issued, db: path.join(srv.dataDir, 'kubecred.db') };
}

/** The IDs of the revoked credentials in a database file, read directly. */
function revokedIn(db: string): string[] {
  const file = new BetterSqlite3(db, { readonly: true });
  try {
    return file.prepare("select id from credentials where state = 'revoked' order by id").pluck().all() as string[];
  } finally {
    file.close();
  }
}

/** `kubecred restore` under strace, killed (SIGKILL) at the system call `inject` names. */
function restoreKilledAt(dataDir: string, backup: string, inject: string): void {
  const r = spawnSync('strace', ['-f', '-qq', '-o', '/dev/null', '-e', `inject=${inject}`, process.execPath, BIN, 'restore', backup, '--data-dir', dataDir], { encoding: 'utf8', env: { ...process.env, KUBECRED_MASTER_KEY: undefined } });
  assert.ok(r.signal === 'SIGKILL' || r.status === 137, `${inject}: killed (${r.status} ${r.signal} ${r.stderr})`);
}

test('a restore killed between moving the database aside and putting its copy in place: run again, it reads the database it moved aside, and carries everything', { skip: !hasStrace && 'strace (or ptrace) is not available' }, async () => {
  const { srv, backup, issued, db } = await backupThenIssue(2, 'https://203.0.113.14:6443');
  try {
    // The database and each of its -wal and -shm are renamed aside, then the copy into place: killed at that last rename.
    const last = ['', '-wal', '-shm'].filter((x) => fs.existsSync(`${db}${x}`)).length + 1;
    restoreKilledAt(srv.dataDir, backup, `rename,renameat,renameat2:signal=KILL:when=${last}`);
    assert.ok(!fs.existsSync(db), 'cut off with no database in place');
    const aside = fs.readdirSync(srv.dataDir).find((f) => /^kubecred\.db\.replaced-[^]*Z$/.test(f));
    assert.ok(aside, 'the database moved aside');

    const again = await restore(srv.dataDir, backup);
    assert.equal(again.json.replacedReadFrom, path.join(srv.dataDir, aside), 'read from what was moved aside');
    assert.deepEqual(again.json.carried.credentials.map((c: any) => c.id), issued, 'the credentials issued after the backup, carried');
    assert.deepEqual(revokedIn(db), issued);
  } finally {
    await srv.stop();
  }
});

test('a restore killed (kill -9) while carrying, or before it moves the database aside, leaves the database as it was; run again, it carries everything', { skip: !hasStrace && 'strace (or ptrace) is not available' }, async () => {
  const { srv, backup, issued, db } = await backupThenIssue(3, 'https://203.0.113.13:6443');
  try {
    const files = () => ['', '-wal'].map((s) => crypto.createHash('sha256').update(fs.readFileSync(`${db}${s}`)).digest('hex'));
    const was = files();
    // The first fsync is the copy of the backup's; the second, the carry's commit. The first rename moves the database aside.
    for (const [inject, logLeft] of [['fsync:signal=KILL:when=2', true], ['rename,renameat,renameat2:signal=KILL:when=1', false]] as const) {
      restoreKilledAt(srv.dataDir, backup, inject);
      // Killed in the carry's commit, its transaction is in the copy's log; killed at the rename, it was checkpointed.
      assert.equal(fs.readdirSync(srv.dataDir).some((f) => /^kubecred\.db\.partial-\d+-wal$/.test(f)), logLeft, inject);
      assert.deepEqual(files(), was, `${inject}: the database and its log untouched`);
      assert.ok(fs.readdirSync(srv.dataDir).some((f) => f.startsWith('kubecred.db.partial-')), 'the unfinished copy is left');
      assert.ok(!fs.readdirSync(srv.dataDir).some((f) => f.includes('.replaced-')), 'nothing moved aside');
    }
    const r = await restore(srv.dataDir, backup);
    assert.deepEqual(r.json.carried.credentials.map((c: any) => c.id), issued);
    assert.deepEqual(fs.readdirSync(srv.dataDir).filter((f) => f.includes('.partial-')), [], 'the unfinished copies removed');
    assert.deepEqual(revokedIn(db), issued);
  } finally {
    await srv.stop();
  }
});
