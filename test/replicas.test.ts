// Two `kubecred serve` replicas on one real PostgreSQL: one first account however they start, a
// revocation on B denied by A's webhook within a second, a signed request replayed on the other replica
// refused, racing first requests producing one default kubeconfig, and A catching up after its change feed
// was cut off (with /readyz saying so meanwhile).

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, test } from 'node:test';
import * as $dara from '@darabonba/typescript';
import { OpenApiUtil } from '@alicloud/openapi-core';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { rawRequest } from './support/http.ts';
import { startPostgres, type TestPostgres } from './support/postgres.ts';
import { api, masterKey, sharing, startReplica, webhookVerdict } from './support/replicas.ts';
import { startServerProcess, type ServerProcess } from './support/server-process.ts';

let postgres: TestPostgres;
let url: string;
let a: ServerProcess;
let b: ServerProcess;
let cluster: { id: string };
let webhookToken: string;
let key: string;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function sql<T = any>(text: string, params: unknown[] = [], database = url): Promise<T[]> {
  const c = new pg.Client({ connectionString: database });
  await c.connect();
  try {
    return (await c.query(text, params)).rows as T[];
  } finally {
    await c.end();
  }
}

async function waitFor<T>(what: string, limitMs: number, probe: () => Promise<T | undefined | false>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  for (;;) {
    const value = await probe();
    if (value) return { value, ms: performance.now() - start };
    if (performance.now() - start > limitMs) assert.fail(`${what}: not within ${limitMs} ms`);
    await sleep(5);
  }
}

before(async () => {
  postgres = await startPostgres();
  url = await postgres.createDatabase('replicas');
  key = masterKey();
  // Both start at once on the empty database, as a Deployment's pods do.
  const [x, y] = await Promise.all([startReplica(url, key), startReplica(url, key)]);
  const bootstrapped = [x, y].filter((s) => s.rootToken);
  assert.equal(bootstrapped.length, 1, 'exactly one replica created the first account');
  a = bootstrapped[0];
  b = sharing(a === x ? y : x, a);
  const created = await api(a, 'POST', '/v1/clusters', { name: 'prod', publicEndpoint: 'https://203.0.113.7:6443' });
  assert.equal(created.status, 201, created.body);
  cluster = created.json;
  webhookToken = (await api(b, 'POST', `/v1/clusters/${cluster.id}/webhook-tokens`)).json.token;
});

after(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await postgres?.destroy();
});

test('replicas that start together on an empty database create one first account and are both ready', async () => {
  assert.deepEqual((await sql('select count(*)::int as n from accounts'))[0], { n: 1 });
  assert.deepEqual((await sql('select count(*)::int as n from api_tokens'))[0], { n: 1 });
  for (const s of [a, b]) {
    const r = await rawRequest(s, 'GET', '/readyz');
    assert.deepEqual([r.status, r.json.status, r.json.store], [200, 'ready', 'postgres']);
  }
});

test('a kubeconfig issued on A and revoked on B is denied by A\'s webhook within one second', async (t) => {
  const issued = await api(a, 'POST', `/v1/clusters/${cluster.id}/kubeconfig`, { temporaryMinutes: 60 });
  assert.equal(issued.status, 200, issued.body);
  const cred = issued.json.credential;
  const before = await webhookVerdict(a, cluster.id, webhookToken, cred.fingerprintSha256, cred.commonName);
  assert.deepEqual([before.allowed, before.denied], [false, false], 'no opinion while it is valid: RBAC decides');

  const revoked = await api(b, 'POST', `/v1/clusters/${cluster.id}/revocations`, { principalId: a.rootPrincipalId, reason: 'replica test' });
  assert.equal(revoked.status, 200, revoked.body);
  assert.ok(revoked.json.revoked.some((c: { id: string }) => c.id === cred.id));
  const { value, ms } = await waitFor('A denies', 1000, async () => {
    const v = await webhookVerdict(a, cluster.id, webhookToken, cred.fingerprintSha256, cred.commonName);
    return v.denied && v;
  });
  assert.match(value.reason!, /revoked/);
  t.diagnostic(`revoked on B -> denied by A after ${ms.toFixed(1)} ms`);
  console.log(`replicas: revocation on B denied by A's webhook ${ms.toFixed(1)} ms after B answered`);
});

test('a signed request replayed on the other replica is refused as a used nonce', async () => {
  const host = new URL(a.url).host;
  const signed = () => {
    const req = new $dara.Request();
    req.method = 'GET';
    req.pathname = `/k8s/${cluster.id}/user_config`;
    req.query = { TemporaryDurationMinutes: '15' };
    req.headers = {
      host, 'x-acs-version': '2015-12-15', 'x-acs-action': 'DescribeClusterUserKubeconfig', 'x-acs-date': new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      'x-acs-signature-nonce': crypto.randomUUID(), 'x-acs-content-sha256': crypto.createHash('sha256').update('').digest('hex'),
    };
    req.headers.authorization = OpenApiUtil.getAuthorization(req, 'ACS3-HMAC-SHA256', req.headers['x-acs-content-sha256'], a.accessKeyId, a.accessKeySecret);
    return { path: `${req.pathname}?TemporaryDurationMinutes=15`, headers: req.headers };
  };
  const one = signed();
  const onA = await rawRequest(a, 'GET', one.path, { headers: one.headers });
  assert.equal(onA.status, 200, onA.body);
  const replayOnB = await rawRequest(b, 'GET', one.path, { headers: one.headers });
  assert.equal(replayOnB.status, 400, replayOnB.body);
  assert.equal(replayOnB.json.code, 'SignatureNonceUsed');
  const two = signed();
  const freshOnB = await rawRequest(b, 'GET', two.path, { headers: two.headers });
  assert.equal(freshOnB.status, 200, 'the same request with a new nonce works on B: only the replay was refused');
});

test('racing first requests for the default kubeconfig on both replicas produce one default', async () => {
  const c = (await api(a, 'POST', '/v1/clusters', { name: 'race', publicEndpoint: 'https://203.0.113.8:6443' })).json;
  const answers = await Promise.all(Array.from({ length: 16 }, (_, i) => api(i % 2 ? b : a, 'POST', `/v1/clusters/${c.id}/kubeconfig`, {})));
  assert.deepEqual([...new Set(answers.map((r) => r.status))], [200], answers.map((r) => r.body).join('\n').slice(0, 500));
  const ids = new Set(answers.map((r) => r.json.credential.id));
  assert.equal(ids.size, 1, 'every caller got the same default kubeconfig');
  assert.equal(new Set(answers.map((r) => r.json.kubeconfig)).size, 1);
  const rows = await sql("select id from credentials where cluster_id = $1 and kind = 'default'", [c.id]);
  assert.equal(rows.length, 1);
  const issuedEvents = await sql("select count(*)::int as n from audit_events where action = 'IssueKubeconfig' and resource_id = $1", [[...ids][0]]);
  assert.equal(issuedEvents[0].n, 1);
});

test('racing reissues on both replicas each get a key of their own; only the last stays active', async () => {
  const c = (await api(a, 'POST', '/v1/clusters', { name: 'reissue-race', publicEndpoint: 'https://203.0.113.9:6443' })).json;
  for (const round of [1, 2, 3]) {
    // Round 1 starts with no default at all (the unique index decides); later rounds with one (the revocation does).
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => api(i % 2 ? b : a, 'POST', `/v1/clusters/${c.id}/reissue`, {})));
    assert.deepEqual([...new Set(answers.map((r) => r.status))], [200], `round ${round}: ${answers.map((r) => r.body).join('\n').slice(0, 500)}`);
    assert.equal(new Set(answers.map((r) => r.json.credential.id)).size, 6, `round ${round}: no two callers got the same key`);
    assert.ok(answers.every((r) => r.json.reused === false), `round ${round}: nothing handed out again`);
    const active = await sql("select id from credentials where cluster_id = $1 and state = 'active'", [c.id]);
    assert.equal(active.length, 1, `round ${round}: one active kubeconfig`);
  }
  const failures = await sql("select count(*)::int as n from audit_events where outcome = 'failure' and detail like $1", [`%${c.id}%`]);
  assert.equal(failures[0].n, 0);
});

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';

test("a CRL's number increases whichever replica builds it, though a replica's clock is 20 s behind", async (t) => {
  if (!fs.existsSync(LIBFAKETIME)) return t.skip('libfaketime is not installed (apt-get install faketime); .ci/run installs it');
  const behind = sharing(await startServerProcess({
    args: ['--database', url, '--log-level', 'warn'],
    env: { KUBECRED_MASTER_KEY: key, LD_PRELOAD: LIBFAKETIME, FAKETIME: '-20s', FAKETIME_DONT_FAKE_MONOTONIC: '1' },
  }), a);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubecred-crl-'));
  try {
    const numberOf = async (srv: ServerProcess, name: string) => {
      const r = await rawRequest(srv, 'GET', `/clusters/${cluster.id}/crl`);
      assert.equal(r.status, 200);
      const file = path.join(dir, name);
      fs.writeFileSync(file, r.raw);
      return BigInt(/crlNumber=(\w+)/.exec(execFileSync('openssl', ['crl', '-inform', 'DER', '-in', file, '-noout', '-crlnumber'], { encoding: 'utf8' }))![1]);
    };
    const first = await numberOf(a, 'a.crl');
    const later = await numberOf(behind, 'behind.crl');
    assert.ok(later > first, `the later CRL's number ${later} is not above the earlier one's ${first}`);
  } finally {
    await behind.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('both replicas list the one audit trail in the same order, newest first', async () => {
  const fromA = (await api(a, 'GET', '/v1/audit?limit=200')).json.items as Array<{ id: string; action: string }>;
  const fromB = (await api(b, 'GET', '/v1/audit?limit=200')).json.items as Array<{ id: string; action: string }>;
  assert.deepEqual(fromA, fromB);
  // The order is the database's sequence (not shown: it counts every account's events).
  const seqs = await sql('select id, seq from audit_events');
  const seqOf = new Map(seqs.map((r: { id: string; seq: string | number }) => [r.id, Number(r.seq)]));
  for (let i = 1; i < fromA.length; i++) assert.ok(seqOf.get(fromA[i - 1].id)! > seqOf.get(fromA[i].id)!);
  const actions = fromA.map((e) => e.action).reverse();
  assert.ok(actions.indexOf('RevokeKubeconfig') > actions.indexOf('IssueKubeconfig'), 'the revocation made on B follows the issuance made on A');
});

test('after its change feed is cut off, A reports not-ready, then catches up on what it missed', async (t) => {
  const issued = await api(a, 'POST', `/v1/clusters/${cluster.id}/kubeconfig`, { temporaryMinutes: 30 });
  const cred = issued.json.credential;
  // Nobody may open a new connection to the database; A's listening connection is then cut.
  await sql('alter database replicas allow_connections false', [], postgres.url('postgres'));
  try {
    await sql("select pg_terminate_backend(pid) from pg_stat_activity where datname = 'replicas' and application_name = 'kubecred-listen'", [], postgres.url('postgres'));
    const notReady = await waitFor('A not ready', 5000, async () => {
      const r = await rawRequest(a, 'GET', '/readyz');
      return r.status === 503 && r;
    });
    assert.ok(notReady.value.json.failing.includes('changeFeed'), JSON.stringify(notReady.value.json));
    await waitFor('the gap logged', 3000, async () => /"change feed down or behind: other replicas' revocations may go unheard here until it catches up"/.test(a.logs()));
    // B still holds pooled connections, and revokes; A's feed is down, so A cannot have heard.
    const revoked = await api(b, 'POST', `/v1/clusters/${cluster.id}/revocations`, { principalId: a.rootPrincipalId, reason: 'while A was deaf' });
    assert.equal(revoked.status, 200, revoked.body);
    const stale = await webhookVerdict(a, cluster.id, webhookToken, cred.fingerprintSha256, cred.commonName);
    assert.equal(stale.denied, false, 'the gap is real: A did not hear of it');
  } finally {
    await sql('alter database replicas allow_connections true', [], postgres.url('postgres'));
  }
  const { ms } = await waitFor('A denies after catching up', 10_000, async () => (await webhookVerdict(a, cluster.id, webhookToken, cred.fingerprintSha256, cred.commonName)).denied);
  t.diagnostic(`A caught up ${ms.toFixed(0)} ms after connections were allowed again`);
  await waitFor('A ready again', 10_000, async () => (await rawRequest(a, 'GET', '/readyz')).status === 200);
});

test('a catch-up that fails after the gap is retried: A stays not-ready until one succeeds, then denies what it missed', async (t) => {
  const issued = await api(a, 'POST', `/v1/clusters/${cluster.id}/kubeconfig`, { temporaryMinutes: 30 });
  const cred = issued.json.credential;
  // Opened before connections are refused: it renames the table under the catch-up query, so the query fails.
  const held = new pg.Client({ connectionString: url });
  await held.connect();
  const listeners = async () => (await held.query("select count(*)::int as n from pg_stat_activity where datname = 'replicas' and application_name = 'kubecred-listen'")).rows[0].n as number;
  let renamed = false;
  try {
    await sql('alter database replicas allow_connections false', [], postgres.url('postgres'));
    try {
      await sql("select pg_terminate_backend(pid) from pg_stat_activity where datname = 'replicas' and application_name = 'kubecred-listen'", [], postgres.url('postgres'));
      await waitFor('A not ready', 5000, async () => (await rawRequest(a, 'GET', '/readyz')).status === 503);
      const revoked = await api(b, 'POST', `/v1/clusters/${cluster.id}/revocations`, { principalId: a.rootPrincipalId, reason: 'missed, then a failing catch-up' });
      assert.equal(revoked.status, 200, revoked.body);
      await held.query('alter table credentials rename to credentials_away');
      renamed = true;
    } finally {
      await sql('alter database replicas allow_connections true', [], postgres.url('postgres'));
    }
    await waitFor('both feeds listening again', 15_000, async () => (await listeners()) === 2);
    // Connected again, but every catch-up fails: readiness must keep saying so, and the gap stays real.
    const start = performance.now();
    while (performance.now() - start < 2500) {
      const r = await rawRequest(a, 'GET', '/readyz');
      assert.equal(r.status, 503, `not ready while the catch-up after the gap keeps failing: ${r.body}`);
      assert.ok(r.json.failing.includes('changeFeed'), r.body);
      await sleep(100);
    }
    assert.equal((await webhookVerdict(a, cluster.id, webhookToken, cred.fingerprintSha256, cred.commonName)).denied, false, 'the gap is real');
  } finally {
    if (renamed) await held.query('alter table credentials_away rename to credentials');
    await held.end();
  }
  // Retried with backoff (at most 5 s apart), not left to the 60 s periodic catch-up.
  const { ms } = await waitFor('A denies after a retried catch-up', 10_000, async () => (await webhookVerdict(a, cluster.id, webhookToken, cred.fingerprintSha256, cred.commonName)).denied);
  t.diagnostic(`A caught up ${ms.toFixed(0)} ms after the table was back`);
  await waitFor('A ready again', 10_000, async () => (await rawRequest(a, 'GET', '/readyz')).status === 200);
});
