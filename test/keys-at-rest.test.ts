// RELIABILITY class 15, keys at rest, on a real server's SQLite files: no private key, access key secret or token
// secret in the database, its WAL or a backup, in any form; one flipped bit in a sealed value makes its use fail
// loudly (a coded error, logged without a stack or the value), never a silently wrong key.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import YAML from 'yaml';
import { cli, cliJson } from './support/cli.ts';
import { rawRequest } from './support/http.ts';
import { startServerProcess, tempDir, type ServerProcess } from './support/server-process.ts';

let srv: ServerProcess;
let clusterId: string;
const secrets: Array<[string, string]> = [];

before(async () => {
  srv = await startServerProcess();
  clusterId = (await cliJson(srv, srv.rootToken, ['cluster', 'create', 'prod', '--public-endpoint', 'https://192.0.2.60:6443'])).id;
  const kc = (await cli(srv, srv.rootToken, ['kubeconfig', 'get', '--cluster', 'prod'])).stdout;
  const keyPem = Buffer.from(YAML.parse(kc).users[0].user['client-key-data'], 'base64').toString();
  const keyDer = Buffer.from(keyPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  secrets.push(['the default kubeconfig\'s key (base64)', keyPem.replace(/-----[^-]+-----|\s/g, '').slice(0, 40)], ['its key (DER, hex)', keyDer.subarray(-32).toString('hex')]);
  const ak = await cliJson(srv, srv.rootToken, ['accesskey', 'create']);
  secrets.push(['an access key secret', ak.secret ?? ak.accessKeySecret], ['the first access key secret', srv.accessKeySecret], ['the root token\'s secret', srv.rootToken.split('.')[2]!]);
  assert.ok(secrets.every(([, s]) => typeof s === 'string' && s.length >= 20), JSON.stringify(secrets.map(([w, s]) => [w, typeof s])));
});
after(() => srv?.stop());

/** Every text and blob value of every table, as one string: what `sqlite3 .dump` would show. */
function dump(file: string): string {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    const tables = (db.prepare("select name from sqlite_master where type = 'table'").all() as Array<{ name: string }>).map((t) => t.name);
    return tables.map((t) => JSON.stringify(db.prepare(`select * from "${t}"`).raw().all(), (_k, v) => (Buffer.isBuffer(v) ? v.toString('latin1') : v))).join('\n');
  } finally {
    db.close();
  }
}

test('no private key, access key secret or token secret in the database, its WAL or a backup, while the server runs', async () => {
  const work = tempDir('kubecred-at-rest-');
  try {
    const copy = path.join(work, 'copy.db');
    const b = await cli(null, null, ['backup', copy, '--data-dir', srv.dataDir]);
    assert.equal(b.code, 0, b.stderr);
    const files = ['kubecred.db', 'kubecred.db-wal'].map((f) => path.join(srv.dataDir, f)).filter((f) => fs.existsSync(f));
    const raw = [...files, copy].map((f) => fs.readFileSync(f).toString('latin1')).join('\n');
    const logical = dump(copy);
    for (const [where, text] of [['the files', raw], ['a dump of every table', logical]] as const) {
      assert.doesNotMatch(text, /PRIVATE KEY/, `${where}: no PEM private key`);
      for (const [what, s] of secrets) assert.ok(!text.includes(s) && !text.includes(Buffer.from(s, 'latin1').toString('hex')), `${where}: ${what} is not there`);
    }
    assert.match(logical, /v2:[0-9a-f]{16}:/, 'the sealed values are there, under a named key');
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});

/** Flips the lowest bit of the last ciphertext byte of `column` in the row `where` picks (the server stopped). */
function flipOneBit(file: string, table: string, column: string, where: string, param: string): void {
  const db = new BetterSqlite3(file);
  try {
    const row = db.prepare(`select "${column}" as v from "${table}" where ${where}`).get(param) as { v: string };
    const [v, id, body] = row.v.split(':');
    const bytes = Buffer.from(body!, 'base64');
    bytes[bytes.length - 1]! ^= 1;
    db.prepare(`update "${table}" set "${column}" = ? where ${where}`).run(`${v}:${id}:${bytes.toString('base64')}`, param);
  } finally {
    db.close();
  }
}

test('one flipped bit in a sealed key fails its use loudly: a coded 5xx, logged without a stack, and never a key', async () => {
  await srv.stop();
  const file = path.join(srv.dataDir, 'kubecred.db');
  flipOneBit(file, 'credentials', 'key_sealed', "kind = 'default' and cluster_id = ?", clusterId);
  flipOneBit(file, 'clusters', 'client_ca_key_sealed', 'id = ?', clusterId);
  srv = await startServerProcess({ dataDir: srv.dataDir, previous: srv });
  const call = (body: unknown) => rawRequest(srv, 'POST', `/v1/clusters/${clusterId}/kubeconfig`, { token: srv.rootToken, body: JSON.stringify(body) });
  for (const [what, body] of [['the default kubeconfig (its sealed key)', {}], ['a temporary one (the sealed client CA key)', { temporaryMinutes: 15 }]] as const) {
    const r = await call(body);
    assert.ok(r.status >= 500, `${what}: ${r.status} ${r.body}`);
    assert.match(r.json?.code ?? '', /^[A-Z_]+$/, `${what}: coded`);
    assert.match(String(r.headers['x-request-id']), /^req_/);
    assert.doesNotMatch(r.body, /PRIVATE KEY|kubeconfig|at .*\.(ts|js|mjs):\d+|v2:[0-9a-f]{16}:|SELECT/, `${what}: no key, stack or sealed value`);
  }
  const logs = srv.logs();
  assert.match(logs, /"level":50/, 'logged as an error');
  assert.doesNotMatch(logs, /"stack"|at .*\.(ts|js|mjs):\d+|v2:[0-9a-f]{16}:|PRIVATE KEY/, 'the log has no stack, sealed value or key');
});
