// kill -9 during issuance leaves no half-written rows: every certificate a client received is stored,
// every stored credential has its audit event, and the database passes SQLite's integrity check. A first start
// killed at any moment leaves a data directory the next start serves from.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { cliJson } from './support/cli.ts';
import { rawRequest } from './support/http.ts';
import { BIN, startServerProcess, tempDir } from './support/server-process.ts';

test('kill -9 during issuance: answered certificates are persisted with their audit events, nothing half-written', async () => {
  const first = await startServerProcess();
  const c = await cliJson(first, first.rootToken, ['cluster', 'create', 'crash', '--public-endpoint', 'https://192.0.2.50:6443']);
  const answered: string[] = [];
  const inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < 200; i++) {
    inFlight.push(rawRequest(first, 'POST', `/v1/clusters/${c.id}/kubeconfig`, { token: first.rootToken, body: '{"temporaryMinutes": 15}' })
      .then((r) => {
        if (r.status !== 200) return;
        answered.push(r.json.credential.id);
        // Kill while most requests are still in flight, some of them mid-transaction.
        if (answered.length === 25) first.child.kill('SIGKILL');
      })
      .catch(() => undefined));
  }
  await Promise.all(inFlight);
  await first.stop();
  assert.ok(answered.length > 0, 'some requests were answered before the kill');

  const db = new Database(path.join(first.dataDir, 'kubecred.db'), { readonly: true });
  try {
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    const ids = new Set(db.prepare('select id from credentials').pluck().all() as string[]);
    for (const id of answered) assert.ok(ids.has(id), `answered credential ${id} is stored`);
    const audited = new Set(db.prepare("select resource_id from audit_events where action = 'IssueKubeconfig'").pluck().all() as string[]);
    for (const id of ids) assert.ok(audited.has(id), `credential ${id} has its audit event`);
    console.log(`# ${answered.length} answered before kill -9, ${ids.size} stored, all audited`);
  } finally {
    db.close();
  }

  const second = await startServerProcess({ dataDir: first.dataDir, previous: first });
  try {
    const r = await rawRequest(second, 'POST', `/v1/clusters/${c.id}/kubeconfig`, { token: first.rootToken, body: '{}' });
    assert.equal(r.status, 200, 'the server works after the crash');
  } finally {
    await second.stop();
  }
});

test('kill -9 at any moment of a first start leaves a data directory the next start serves from', async () => {
  // Each round kills a first start a little later: during the migrations, the bootstrap or the listen. A smoke
  // test: the rounds rarely land in the few milliseconds between a migration's commit and Kysely's record of it,
  // which src/storage/migrate.test.ts reproduces exactly.
  for (let round = 0; round < 6; round++) {
    const dataDir = tempDir('kubecred-first-start-');
    const child = spawn(process.execPath, [BIN, 'serve', '--data-dir', dataDir, '--port', '0'], { stdio: 'ignore', env: { ...process.env, KUBECRED_MASTER_KEY: undefined } });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const db = path.join(dataDir, 'kubecred.db');
    for (let i = 0; i < 2000 && !fs.existsSync(db); i++) await new Promise((r) => setTimeout(r, 2));
    await new Promise((r) => setTimeout(r, round * 30));
    child.kill('SIGKILL');
    await exited;
    const again = await startServerProcess({ dataDir });
    try {
      assert.equal((await rawRequest(again, 'GET', '/healthz')).status, 200, `round ${round}`);
    } finally {
      await again.stop();
    }
  }
});
