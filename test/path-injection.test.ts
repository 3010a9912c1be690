// RELIABILITY class 12: names and IDs with `../`, `%2e%2e`, NUL, look-alike unicode or `/`, through the API and
// the CLI's file-writing commands. Every one is refused with a coded answer (never a 500 or a stack), and no file
// appears outside the data directory or the target the user named.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { cli, cliJson } from './support/cli.ts';
import { rawRequest, type RawResponse } from './support/http.ts';
import { startServerProcess, tempDir, type ServerProcess } from './support/server-process.ts';

let srv: ServerProcess;
let dataDirBefore: string[];

/** Every path under `dir`, relative to it (the SQLite WAL and shared-memory files come and go with checkpoints). */
const listing = (dir: string) => (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => !/-(wal|shm)$/.test(f)).sort();

before(async () => {
  srv = await startServerProcess();
  await cliJson(srv, srv.rootToken, ['cluster', 'create', 'prod', '--public-endpoint', 'https://192.0.2.40:6443']);
  dataDirBefore = listing(srv.dataDir);
});
after(() => srv?.stop());

const call = (method: string, p: string, body?: unknown) =>
  rawRequest(srv, method, p, { token: srv.rootToken, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

function assertCoded(r: RawResponse, statuses: number[], what: string) {
  assert.ok(statuses.includes(r.status), `${what}: ${r.status} ${r.body}`);
  assert.match(r.json?.code ?? '', /^[A-Z_]+$/, `${what}: a coded error`);
  assert.match(String(r.headers['x-request-id']), /^req_/);
  assert.doesNotMatch(r.body, /at .*\.(ts|js|mjs):\d+|SELECT|INSERT|sqlite|ENOENT|\/tmp\//i, `${what}: no stack, SQL or path`);
}

const EVIL_NAMES = ['../x', '..', '.', 'a/b', 'a\\b', '%2e%2e', '..%2f..%2fetc', 'a\u0000b', '\u0000', 'ａlice', 'alice\u202e', 'ALICE', 'a\u2215b', 'x'.repeat(64) + '/../y'];

test('names with traversal, NUL, `/` or look-alike unicode are refused for principals, clusters and policies', async () => {
  const doc = { Version: '1', Statement: [{ Effect: 'Allow', Action: ['kubecred:GetKubeconfig'], Resource: '*' }] };
  for (const name of EVIL_NAMES) {
    assertCoded(await call('POST', '/v1/principals', { name }), [400], `principal ${JSON.stringify(name)}`);
    assertCoded(await call('POST', '/v1/clusters', { name, publicEndpoint: 'https://192.0.2.41:6443' }), [400], `cluster ${JSON.stringify(name)}`);
    assertCoded(await call('POST', '/v1/policies', { name, document: doc }), [400], `policy ${JSON.stringify(name)}`);
  }
  const principals = await call('GET', '/v1/principals?limit=500');
  assert.deepEqual(principals.json.items.map((p: { name: string }) => p.name).filter((n: string) => n !== 'root'), [], 'nothing was created');
});

test('IDs in paths with traversal, NUL or encoded separators find nothing and reach no file', async () => {
  const ids = ['..%2F..%2Fetc%2Fpasswd', '%2e%2e', '%2e%2e%2f%2e%2e%2fmaster.key', '..%5c..%5cmaster.key', '%00', 'cls_%00', 'a%00b',
    '%C0%AE%C0%AE', '%EF%BC%8F', '..%252f..%252fkubecred.db', encodeURIComponent('cls_../../kubecred.db')];
  for (const id of ids) {
    for (const p of [`/v1/clusters/${id}`, `/v1/principals/${id}`, `/v1/policies/${id}`, `/v1/credentials/${id}`, `/v1/clusters/${id}/kubeconfig`]) {
      const r = await call(p.endsWith('/kubeconfig') ? 'POST' : 'GET', p, p.endsWith('/kubeconfig') ? {} : undefined);
      assertCoded(r, [400, 404], p);
    }
  }
  // The console serves files: nothing of the data directory behind it, whatever the encoding.
  for (const p of ['/console/%2e%2e/%2e%2e/master.key', '/console/..%2f..%2fkubecred.db', '/%2e%2e/master.key', '/console/assets/%00.js', '/clusters/..%2f..%2fmaster.key/crl']) {
    const r = await rawRequest(srv, 'GET', p);
    assert.ok([400, 404].includes(r.status), `${p}: ${r.status}`);
    assert.doesNotMatch(r.body, /SQLite format|BEGIN|PRIVATE KEY/, `${p}: no file content`);
  }
  assert.deepEqual(listing(srv.dataDir), dataDirBefore, 'no file appeared in the data directory');
  assert.doesNotMatch(srv.logs(), /"stack"|at .*\.(ts|js|mjs):\d+|"level":50/, 'no stack trace or error line in the log');
});

test('kube-config, kubeconfig get and backup write exactly the files the user named, through `..` too, and nothing beside them', async () => {
  const work = tempDir('kubecred-paths-');
  try {
    fs.mkdirSync(path.join(work, 'sub'));
    const out = path.join(work, 'sub', '..', 'out');
    const kc = await cli(srv, srv.rootToken, ['cluster', 'kube-config', 'prod', '--out', out]);
    assert.equal(kc.code, 0, kc.stderr);
    const written = fs.readdirSync(path.join(work, 'out')).sort();
    assert.deepEqual(written, ['README.md', 'authorization-config.yaml', 'authz-webhook.kubeconfig', 'client-ca.crt', 'kube-apiserver-flags.txt'], 'its fixed file names only');

    const get = await cli(srv, srv.rootToken, ['kubeconfig', 'get', '--cluster', 'prod', '-o', path.join(work, 'sub', '..', 'kc.yaml')]);
    assert.equal(get.code, 0, get.stderr);
    const backup = await cli(null, null, ['backup', path.join(work, 'sub', '..', 'copy.db'), '--data-dir', srv.dataDir]);
    assert.equal(backup.code, 0, backup.stderr);
    assert.deepEqual(fs.readdirSync(work).sort(), ['copy.db', 'kc.yaml', 'out', 'sub'], 'the named files, no temporary or partial file');
    assert.deepEqual(fs.readdirSync(path.join(work, 'sub')), []);

    // A cluster given as a path: looked up (and not found), nothing written anywhere (argv cannot carry a NUL).
    for (const cluster of ['../prod', '..%2fprod', 'prod/../prod', '../../../etc']) {
      const r = await cli(srv, srv.rootToken, ['cluster', 'kube-config', cluster, '--out', path.join(work, 'evil')]);
      assert.notEqual(r.code, 0, `${JSON.stringify(cluster)} was accepted`);
      assert.doesNotMatch(r.stderr, /at .*\.(ts|js|mjs):\d+/, 'no stack trace');
    }
    assert.deepEqual(fs.readdirSync(path.join(work, 'evil')), [], 'the refused commands wrote no file');
    assert.deepEqual(listing(srv.dataDir), dataDirBefore, 'no file appeared in the data directory');
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});
