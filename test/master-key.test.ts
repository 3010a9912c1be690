// Rotating the master key, through the real CLI and servers: a data directory's master.key rotated with the
// server stopped (and killed half-way, several times), and keys from the environment on two PostgreSQL
// replicas rolled over while they serve. After each: the same default kubeconfigs come back, new ones are
// signed by the same client CAs, access keys still sign for the official Alibaba SDK, and a server that holds
// only the old key refuses to start.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import CsModule, * as Cs from '@alicloud/cs20151215';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import YAML from 'yaml';
import { cli } from './support/cli.ts';
import { rawRequest, type RawResponse } from './support/http.ts';
import { startPostgres, type TestPostgres } from './support/postgres.ts';
import { masterKey, sharing, startReplica } from './support/replicas.ts';
import { BIN, startServerProcess, type ServerProcess } from './support/server-process.ts';
import { accessKeySecretAad } from '../src/core/api-credentials.ts';
import { clusterCaKeyAad, credentialKeyAad } from '../src/core/credential-issuer.ts';
import { MASTER_KEY_CHECK } from '../src/core/master-key-check.ts';
import { masterKeyId } from '../src/pki/sealer.ts';

const CsClient = ((CsModule as any).default ?? CsModule) as unknown as typeof CsModule.default;

let postgres: TestPostgres | undefined;
const dirs: string[] = [];

before(async () => {
  postgres = await startPostgres();
});

after(async () => {
  await postgres?.destroy();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const api = (srv: ServerProcess, method: string, p: string, body?: unknown, token = srv.rootToken): Promise<RawResponse> =>
  rawRequest(srv, method, p, { token, body: body === undefined ? undefined : JSON.stringify(body) });

async function ok(p: Promise<RawResponse>, status = 200): Promise<any> {
  const r = await p;
  assert.equal(r.status, status, r.body);
  return r.json;
}

/** A cluster with a generated client CA, a user with a default kubeconfig and an access key, and the root's own default. */
async function populate(srv: ServerProcess) {
  const cluster = await ok(api(srv, 'POST', '/v1/clusters', { name: 'prod', publicEndpoint: 'https://203.0.113.7:6443' }), 201);
  const alice = await ok(api(srv, 'POST', '/v1/principals', { name: 'alice' }), 201);
  const aliceKey = await ok(api(srv, 'POST', `/v1/principals/${alice.id}/access-keys`), 201);
  const defaults = {
    root: await ok(api(srv, 'POST', `/v1/clusters/${cluster.id}/kubeconfig`, {})),
    alice: await ok(api(srv, 'POST', `/v1/clusters/${cluster.id}/kubeconfig`, { principalId: alice.id })),
  };
  return { cluster, alice, aliceKey, defaults };
}

const keyOf = (kubeconfig: string): string => YAML.parse(kubeconfig).users[0].user['client-key-data'];

/** What a rotated store must still do: the same defaults, new kubeconfigs under the same CA, the access keys' signatures. */
async function stillServes(srv: ServerProcess, world: Awaited<ReturnType<typeof populate>>) {
  const root = await ok(api(srv, 'POST', `/v1/clusters/${world.cluster.id}/kubeconfig`, {}));
  assert.equal(root.reused, true);
  assert.equal(root.certificatePem, world.defaults.root.certificatePem);
  assert.equal(keyOf(root.kubeconfig), keyOf(world.defaults.root.kubeconfig), 'the default kubeconfig key opened under the new master key');
  const alice = await ok(api(srv, 'POST', `/v1/clusters/${world.cluster.id}/kubeconfig`, { principalId: world.alice.id }));
  assert.equal(keyOf(alice.kubeconfig), keyOf(world.defaults.alice.kubeconfig));

  // A new certificate, signed with the re-sealed client CA key: it verifies against the cluster's CA.
  const temp = await ok(api(srv, 'POST', `/v1/clusters/${world.cluster.id}/kubeconfig`, { temporaryMinutes: 15 }));
  const leaf = new crypto.X509Certificate(temp.certificatePem);
  const ca = new crypto.X509Certificate(world.cluster.clientCaPem);
  assert.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey), 'signed by the same client CA');

  // The root's access key secret, re-sealed, still checks an ACS3 signature made by the official SDK.
  const client = new CsClient(new $OpenApiUtil.Config({ accessKeyId: srv.accessKeyId, accessKeySecret: srv.accessKeySecret, endpoint: new URL(srv.url).host, protocol: 'https', ca: fs.readFileSync(srv.caFile, 'utf8') }));
  const r = await client.describeClusterUserKubeconfig(world.cluster.id, new Cs.DescribeClusterUserKubeconfigRequest({}));
  assert.equal(keyOf(r.body!.config!), keyOf(world.defaults.root.kubeconfig), 'the SDK signed with the access key and got the default kubeconfig');
}

/** Every sealed value in a SQLite store, with the key ID it names. */
function sealedIn(dataDir: string): string[] {
  const db = new BetterSqlite3(path.join(dataDir, 'kubecred.db'), { readonly: true });
  try {
    return [
      ...db.prepare('select client_ca_key_sealed as s from clusters').all(),
      ...db.prepare('select key_sealed as s from credentials where key_sealed is not null').all(),
      ...db.prepare('select secret_sealed as s from access_keys').all(),
      ...db.prepare("select value as s from settings where name = 'master-key-check'").all(),
    ].map((r: any) => r.s as string);
  } finally {
    db.close();
  }
}

/** The additional data each sealed value of a SQLite store is bound to (its row), as the sealer uses it. */
function aadsIn(dataDir: string): string[] {
  const db = new BetterSqlite3(path.join(dataDir, 'kubecred.db'), { readonly: true });
  try {
    const ids = (table: string) => db.prepare(`select id from ${table}`).all().map((r: any) => r.id as string);
    return [
      ...ids('clusters').map(clusterCaKeyAad), ...ids('credentials').map(credentialKeyAad), ...ids('access_keys').map(accessKeySecretAad),
      `settings:${MASTER_KEY_CHECK}`,
    ];
  } finally {
    db.close();
  }
}

/** How many `v2:<key id>:<base64>` values in `bytes` open under `key` with one of `aads` (what an attacker holding both would do). */
function openableWith(key: Buffer, aads: string[], bytes: string): number {
  let n = 0;
  for (const m of bytes.matchAll(new RegExp(`v2:${masterKeyId(key)}:([A-Za-z0-9+/=]+)`, 'g'))) {
    const buf = Buffer.from(m[1]!, 'base64');
    const opens = (aad: string) => {
      try {
        const d = crypto.createDecipheriv('aes-256-gcm', key, buf.subarray(0, 12));
        d.setAAD(Buffer.from(aad));
        d.setAuthTag(buf.subarray(12, 28));
        d.update(buf.subarray(28));
        d.final();
        return true;
      } catch {
        return false;
      }
    };
    if (aads.some(opens)) n++;
  }
  return n;
}

const keyFile = (dir: string, name = 'master.key') => Buffer.from(fs.readFileSync(path.join(dir, name), 'utf8').trim(), 'base64');
const mode = (file: string) => fs.statSync(file).mode & 0o777;

test("a data directory's master.key is rotated with the server stopped: every secret re-sealed, the old key retired, the same kubeconfigs served", async () => {
  let srv = await startServerProcess({ args: ['--log-level', 'warn'] });
  const dir = srv.dataDir;
  dirs.push(dir);
  const world = await populate(srv);
  const oldKey = keyFile(dir);
  const oldId = masterKeyId(oldKey);

  const status = await cli(null, null, ['master-key', 'status', '--data-dir', dir, '-o', 'json']);
  assert.equal(status.code, 0, status.stderr);
  const before = JSON.parse(status.stdout);
  assert.deepEqual(before.keys, [{ role: 'current', keyId: oldId, source: path.join(dir, 'master.key') }]);
  assert.deepEqual(Object.fromEntries(before.secrets.map((s: any) => [s.kind, [s.total, s.underCurrentKey]])),
    { 'cluster-ca-key': [1, 1], 'credential-key': [2, 2], 'access-key-secret': [2, 2], 'master-key-check': [1, 1] });

  const beside = await cli(null, null, ['master-key', 'rotate', '--data-dir', dir]);
  assert.equal(beside.code, 5, beside.stderr);
  assert.match(beside.stderr, /another kubecred server or migration is using .*; stop it first/);
  assert.ok(!fs.existsSync(path.join(dir, 'master.key.next')), 'nothing staged while the server runs');
  await srv.stop();

  const rotated = await cli(null, null, ['master-key', 'rotate', '--data-dir', dir, '-o', 'json']);
  assert.equal(rotated.code, 0, rotated.stderr);
  const r = JSON.parse(rotated.stdout);
  const newKey = keyFile(dir);
  assert.notDeepEqual(newKey, oldKey);
  assert.equal(r.masterKeyId, masterKeyId(newKey));
  assert.equal(r.previousMasterKeyId, oldId);
  assert.deepEqual(Object.fromEntries(r.secrets.map((s: any) => [s.kind, s.resealed])), { 'cluster-ca-key': 1, 'credential-key': 2, 'access-key-secret': 2, 'master-key-check': 1 });
  assert.equal(r.retiredKeyFile, path.join(dir, `master.key.retired-${oldId}`));
  assert.deepEqual(keyFile(dir, `master.key.retired-${oldId}`), oldKey);
  assert.equal(mode(path.join(dir, 'master.key')), 0o600);
  assert.equal(mode(r.retiredKeyFile), 0o600);
  assert.ok(!fs.existsSync(path.join(dir, 'master.key.next')));
  const sealed = sealedIn(dir);
  assert.equal(sealed.length, 6);
  for (const s of sealed) assert.match(s, new RegExp(`^v2:${r.masterKeyId}:`));
  // The old key alone no longer opens this database: a server given it refuses to start, naming both keys.
  const refused = await startServerProcess({ dataDir: dir, env: { KUBECRED_MASTER_KEY: oldKey.toString('base64') } }).catch((e: Error) => e);
  assert.ok(refused instanceof Error);
  assert.match(refused.message, new RegExp(`sealed under master key ${r.masterKeyId}; this server holds ${oldId}`));

  srv = await startServerProcess({ dataDir: dir, previous: srv, args: ['--log-level', 'info'] });
  try {
    await stillServes(srv, world);
    assert.match(srv.logs(), new RegExp(`"masterKey":"${r.masterKeyId}".*master key loaded`));
    const audit = await ok(api(srv, 'GET', '/v1/audit?action=ResealSecrets'));
    assert.equal(audit.items.length, 1);
    assert.deepEqual(audit.items[0].detail.masterKeyId, r.masterKeyId);
  } finally {
    await srv.stop();
  }
});

test('master-key status with a key that opens nothing still lists what is sealed and under which key, and exits 5; reseal with it refuses with 5', async () => {
  const srv = await startServerProcess({ args: ['--log-level', 'warn'] });
  const dir = srv.dataDir;
  await srv.stop();
  const wrong = { KUBECRED_MASTER_KEY: crypto.randomBytes(32).toString('base64') };
  const status = await cli(null, null, ['master-key', 'status', '--data-dir', dir, '-o', 'json'], wrong);
  assert.equal(status.code, 5, status.stderr);
  const report = JSON.parse(status.stdout);
  const ca = report.secrets.find((s: any) => s.kind === 'cluster-ca-key') ?? report.secrets[0];
  assert.ok(report.secrets.some((s: any) => s.total > 0 && s.unopenable === s.total), status.stdout);
  assert.equal(ca.underCurrentKey, 0);
  assert.match(status.stderr, /open with none of the keys given/);
  assert.match(status.stderr, /The master key does not match the database's \(its secrets are sealed under master key [0-9a-f]{16}/);
  const reseal = await cli(null, null, ['master-key', 'reseal', '--data-dir', dir], wrong);
  assert.equal(reseal.code, 5, reseal.stderr);
  assert.match(reseal.stderr, /the master key does not match the database's/);
});

test('after a rotation no value the retired key opens is left in the database file, its write-ahead log, or a backup taken after', async () => {
  const srv = await startServerProcess({ args: ['--log-level', 'warn'] });
  const dir = srv.dataDir;
  dirs.push(dir);
  // Client CA keys and default kubeconfig keys under the old key, some of them revoked and reissued: rows that moved.
  for (let i = 0; i < 5; i++) {
    const cluster = await ok(api(srv, 'POST', '/v1/clusters', { name: `c${i}`, publicEndpoint: `https://10.0.0.${i + 1}:6443` }), 201);
    await ok(api(srv, 'POST', `/v1/clusters/${cluster.id}/kubeconfig`, {}));
    if (i === 1) {
      await ok(api(srv, 'POST', `/v1/clusters/${cluster.id}/reissue`, { reason: 'test' }));
    }
  }
  await srv.stop();
  const oldKey = keyFile(dir);
  const oldId = masterKeyId(oldKey);
  const sealedBefore = sealedIn(dir);

  const rotated = await cli(null, null, ['master-key', 'rotate', '--data-dir', dir, '-o', 'json']);
  assert.equal(rotated.code, 0, rotated.stderr);
  assert.equal(JSON.parse(rotated.stdout).oldCopies, 'dropped');
  assert.match(rotated.stderr, /replaced values are gone from the database file and its write-ahead log/);
  const backup = path.join(dir, 'after-rotation.db');
  const b = await cli(null, null, ['backup', '--data-dir', dir, backup]);
  assert.equal(b.code, 0, b.stderr);

  const aads = aadsIn(dir);
  for (const file of ['kubecred.db', 'kubecred.db-wal', 'after-rotation.db']) {
    const bytes = fs.existsSync(path.join(dir, file)) ? fs.readFileSync(path.join(dir, file)).toString('latin1') : '';
    assert.equal(openableWith(oldKey, aads, bytes), 0, `values the retired key opens in ${file}`);
    assert.ok(!bytes.includes(`v2:${oldId}:`), `a value naming the retired key in ${file}`);
    for (const v of sealedBefore) assert.ok(!bytes.includes(v.slice(-40)), `a value as sealed before the rotation in ${file}`);
  }
});

test('a rotation killed at any moment leaves a data directory a server starts on, and running it again finishes it', async () => {
  let srv = await startServerProcess({ args: ['--log-level', 'warn'] });
  const dir = srv.dataDir;
  dirs.push(dir);
  const world = await populate(srv);
  // Enough default kubeconfigs for several pages of re-sealing.
  for (let i = 0; i < 60; i++) {
    const p = await ok(api(srv, 'POST', '/v1/principals', { name: `user-${i}` }), 201);
    await ok(api(srv, 'POST', `/v1/clusters/${world.cluster.id}/kubeconfig`, { principalId: p.id }));
  }
  await srv.stop();
  const oldKey = keyFile(dir);

  for (const delay of [250, 400, 550, 700, 900]) {
    const child = spawn(process.execPath, [BIN, 'master-key', 'rotate', '--data-dir', dir], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await new Promise((resolve) => setTimeout(resolve, delay));
    child.kill('SIGKILL');
    await exited;
    // Whatever the moment: master.key exists, and with master.key.next beside it every secret opens.
    assert.ok(fs.existsSync(path.join(dir, 'master.key')));
    const status = await cli(null, null, ['master-key', 'status', '--data-dir', dir, '-o', 'json']);
    assert.ok(status.code === 0 || status.code === 5, status.stderr);
    for (const s of JSON.parse(status.stdout).secrets) assert.equal(s.unopenable, 0, `${s.kind} after a kill at ${delay} ms`);
  }
  srv = await startServerProcess({ dataDir: dir, previous: srv, args: ['--log-level', 'warn'] });
  try {
    await stillServes(srv, world);
  } finally {
    await srv.stop();
  }
  let finished = await cli(null, null, ['master-key', 'rotate', '--data-dir', dir, '-o', 'json']);
  assert.equal(finished.code, 0, finished.stderr);

  // The narrowest window, made on purpose: everything re-sealed under the new key, and the kill came before the
  // rename (master.key still the old key, master.key.next the new one). The server opens with both; rotate finishes.
  const rotatedTo = keyFile(dir);
  const retired = path.join(dir, `master.key.retired-${JSON.parse(finished.stdout).previousMasterKeyId}`);
  fs.renameSync(path.join(dir, 'master.key'), path.join(dir, 'master.key.next'));
  fs.copyFileSync(retired, path.join(dir, 'master.key'));
  const window = JSON.parse((await cli(null, null, ['master-key', 'status', '--data-dir', dir, '-o', 'json'])).stdout);
  assert.deepEqual(window.keys.map((k: any) => k.role), ['current', 'previous']);
  for (const s of window.secrets) assert.deepEqual([s.unopenable, s.underPreviousKeys], [0, s.total], s.kind);
  srv = await startServerProcess({ dataDir: dir, previous: srv, args: ['--log-level', 'warn'] });
  try {
    await stillServes(srv, world);
  } finally {
    await srv.stop();
  }
  finished = await cli(null, null, ['master-key', 'rotate', '--data-dir', dir, '-o', 'json']);
  assert.equal(finished.code, 0, finished.stderr);
  assert.ok(JSON.parse(finished.stdout).secrets.every((s: any) => s.resealed === 0), 'nothing left to re-seal');
  const key = keyFile(dir);
  assert.deepEqual(key, rotatedTo);
  assert.notDeepEqual(key, oldKey);
  for (const s of sealedIn(dir)) assert.match(s, new RegExp(`^v2:${masterKeyId(key)}:`));
  srv = await startServerProcess({ dataDir: dir, previous: srv, args: ['--log-level', 'warn'] });
  try {
    await stillServes(srv, world);
  } finally {
    await srv.stop();
  }
});

test('replicas on PostgreSQL roll over to a new key from the environment while they serve: new key to open first, then to seal, reseal, then the old key goes', async () => {
  const url = await postgres!.createDatabase('master_key');
  const k1 = masterKey();
  const k2 = masterKey();
  const id1 = masterKeyId(Buffer.from(k1, 'base64'));
  const id2 = masterKeyId(Buffer.from(k2, 'base64'));
  const a = await startReplica(url, k1);
  dirs.push(a.dataDir);
  const world = await populate(a);
  const both = { KUBECRED_MASTER_KEY: k2, KUBECRED_PREVIOUS_MASTER_KEYS: k1 };
  const reseal = (env: NodeJS.ProcessEnv) => cli(null, null, ['master-key', 'reseal', '--database', url, '-o', 'json'], env);

  // 1. A is rolled to open with the new key too, still sealing with the old one.
  await a.stop();
  const a1 = sharing(await startServerProcess({ args: ['--database', url, '--log-level', 'warn'], env: { KUBECRED_MASTER_KEY: k1, KUBECRED_PREVIOUS_MASTER_KEYS: k2 } }), a);
  dirs.push(a1.dataDir);
  // 2. A second replica starts sealing with the new key, the old one beside it, while A still seals with the old.
  let b = sharing(await startServerProcess({ args: ['--database', url, '--log-level', 'warn'], env: both }), a);
  dirs.push(b.dataDir);
  try {
    assert.match(b.logs(), new RegExp(`"masterKey":"${id2}","previousMasterKeys":\\["${id1}"\\].*a master-key rotation is under way`));
    await stillServes(b, world);
    // What B seals meanwhile (a new cluster's CA key) is under the new key, and A opens it: step 1 is why.
    const made = await ok(api(b, 'POST', '/v1/clusters', { name: 'made-on-b', publicEndpoint: 'https://203.0.113.8:6443' }), 201);
    const onA = await ok(api(a1, 'POST', `/v1/clusters/${made.id}/kubeconfig`, {}));
    assert.match(onA.kubeconfig, /client-key-data/);
    await stillServes(a1, world);
    const bobKey = await ok(api(b, 'POST', `/v1/principals/${world.alice.id}/access-keys`), 201);
    assert.ok(bobKey.accessKeyId);
    await a1.stop();

    // Without the previous key the rollover cannot begin: status says so (exit 5, the keys named, what opens listed).
    const only2 = await cli(null, null, ['master-key', 'status', '--database', url], { KUBECRED_MASTER_KEY: k2 });
    assert.equal(only2.code, 5);
    assert.match(only2.stderr, new RegExp(`sealed under master key ${id1}; this server holds ${id2}`));

    // 3. Reseal while B serves.
    const done = await reseal(both);
    assert.equal(done.code, 0, done.stderr);
    const counts = Object.fromEntries(JSON.parse(done.stdout).secrets.map((s: any) => [s.kind, [s.resealed, s.underCurrentKey, s.total]]));
    assert.deepEqual(counts, { 'cluster-ca-key': [1, 2, 2], 'credential-key': [3, 3, 3], 'access-key-secret': [2, 3, 3], 'master-key-check': [1, 1, 1] });
    assert.match(done.stderr, /remove KUBECRED_PREVIOUS_MASTER_KEYS from every server/);
    await stillServes(b, world);
    const again = await reseal(both);
    assert.equal(again.code, 0, again.stderr);
    assert.ok(JSON.parse(again.stdout).secrets.every((s: any) => s.resealed === 0), 'a second run finds nothing left');
  } finally {
    await b.stop();
  }

  // 4. The old key goes: a replica that holds only it refuses to start; one with only the new key serves everything.
  const old = await startReplica(url, k1).catch((e: Error) => e);
  assert.ok(old instanceof Error);
  assert.match(old.message, new RegExp(`sealed under master key ${id2}; this server holds ${id1}`));
  b = sharing(await startReplica(url, k2), a);
  dirs.push(b.dataDir);
  try {
    await stillServes(b, world);
    const status = await cli(null, null, ['master-key', 'status', '--database', url, '-o', 'json'], { KUBECRED_MASTER_KEY: k2 });
    assert.equal(status.code, 0, status.stderr);
    assert.ok(JSON.parse(status.stdout).secrets.every((s: any) => s.unopenable === 0 && s.underCurrentKey === s.total));
  } finally {
    await b.stop();
  }
});
