// Two admins acting on each other at the same moment on PostgreSQL: each request's transaction holds its caller's
// policies FOR SHARE (authorizer.transaction) and then writes the other's rows, so the two wait for each other and
// PostgreSQL aborts one (40P01). The store runs the loser again: both get a real answer, never 503. The lock order is
// forced from outside: a test connection share-locks the two rows to be written, so both requests take their own
// holds and block on their writes before it lets go. The requests go through the real HTTP API. An issuance that lost a
// deadlock after minting (against the test's own connection) is run again without a trace of its first run, and so is
// a page of `kubecred master-key reseal`, whose counts are only the committed run's.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { cli } from './support/cli.ts';
import { rawRequest, type RawResponse } from './support/http.ts';
import { startPostgres, type TestPostgres } from './support/postgres.ts';
import { masterKey } from './support/replicas.ts';
import { serversStoppedAfterAll, type ServerProcess } from './support/server-process.ts';

const start = serversStoppedAfterAll();
let postgres: TestPostgres;
let url: string;
let srv: ServerProcess;

before(async () => {
  postgres = await startPostgres();
  url = await postgres.createDatabase('deadlock');
  srv = await start({ args: ['--database', url, '--log-level', 'info'], env: { KUBECRED_MASTER_KEY: masterKey() } });
});
after(() => postgres?.destroy());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const call = (token: string, method: string, path: string, body?: unknown) =>
  rawRequest(srv, method, path, { token, body: body === undefined ? undefined : JSON.stringify(body) });
const root = (method: string, path: string, body?: unknown) => call(srv.rootToken, method, path, body);

async function policy(name: string, actions: string[]): Promise<string> {
  const r = await root('POST', '/v1/policies', { name, document: { Version: '1', Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }] } });
  assert.equal(r.status, 201, r.body);
  return r.json.id;
}

/** A user with the policies given attached, and a token of it. */
async function admin(name: string, policies: string[]): Promise<{ id: string; token: string }> {
  const p = (await root('POST', '/v1/principals', { name })).json;
  for (const pol of policies) assert.equal((await root('POST', `/v1/principals/${p.id}/policies`, { policy: pol })).status, 200);
  return { id: p.id, token: (await root('POST', `/v1/principals/${p.id}/tokens`, {})).json.token };
}

/** One sample's value from /metrics, or undefined when the series is absent. */
async function sample(series: string): Promise<number | undefined> {
  const line = (await rawRequest(srv, 'GET', '/metrics')).body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/**
 * Runs `requests` while a test connection holds `lockSql`'s rows FOR SHARE, lets go once both of kubecred's
 * transactions are waiting on a lock (each has taken its own holds by then), and answers what they answered.
 */
async function deadlocked(lockSql: string, params: unknown[], requests: () => Array<Promise<RawResponse>>): Promise<RawResponse[]> {
  const holder = new pg.Client({ connectionString: url });
  await holder.connect();
  try {
    await holder.query('begin');
    assert.equal((await holder.query(lockSql, params)).rowCount, 2, 'both rows held');
    const answers = Promise.all(requests());
    const deadline = Date.now() + 10_000;
    for (;;) {
      await holder.query('select pg_stat_clear_snapshot()'); // else this transaction sees its first snapshot of the statistics
      const waiting = (await holder.query("select count(*)::int as n from pg_stat_activity where application_name = 'kubecred' and wait_event_type = 'Lock'")).rows[0].n;
      if (waiting >= 2) break;
      assert.ok(Date.now() < deadline, `only ${waiting} of kubecred's transactions came to wait on a lock`);
      await sleep(20);
    }
    await holder.query('rollback');
    return await answers;
  } finally {
    await holder.end();
  }
}

test('two admins detaching a policy from each other at once both get 200, the deadlock retried and counted', async () => {
  const all = await policy('admins', ['kubecred:*']);
  const extraA = await policy('extra-a', ['kubecred:ListClusters']);
  const extraB = await policy('extra-b', ['kubecred:ListClusters']);
  const a = await admin('admin-a', [all, extraA]);
  const b = await admin('admin-b', [all, extraB]);
  const [byA, byB] = await deadlocked(
    'select 1 from policy_attachments where (policy_id, principal_id) in (($1, $2), ($3, $4)) for share', [extraA, a.id, extraB, b.id],
    () => [call(a.token, 'DELETE', `/v1/principals/${b.id}/policies/${extraB}`), call(b.token, 'DELETE', `/v1/principals/${a.id}/policies/${extraA}`)],
  );
  assert.deepEqual([byA.status, byB.status], [200, 200], `${byA.body}\n${byB.body}`);
  assert.deepEqual([byA.json, byB.json], [{ detached: true }, { detached: true }]);
  for (const who of [a, b]) {
    const left = (await root('GET', `/v1/principals/${who.id}/policies`)).json.items.map((p: { id: string }) => p.id);
    assert.deepEqual(left, [all], 'each lost its extra policy, once');
  }
  // Each detach audited once: the run that was rolled back left nothing.
  const detaches = (await root('GET', '/v1/audit?action=DetachPolicy&limit=10')).json.items;
  assert.equal(detaches.length, 2);
  assert.equal(await sample('kubecred_store_transaction_retries_total{reason="deadlock"}'), 1);
  assert.equal(await sample('kubecred_store_failures_total{reason="gave_up"}'), 0);
  const retried = srv.logs().split('\n').filter((l) => l.includes('running it again'));
  assert.equal(retried.length, 1, srv.logs());
  const line = JSON.parse(retried[0]!);
  assert.deepEqual([line.level, line.sqlState, line.reason, line.attempt], [40, '40P01', 'deadlock', 1]);
  assert.doesNotMatch(retried[0]!, /select|delete|update|policy_attachments/i, 'no SQL in the log');
});

test('two admins deleting each other at once: one is deleted (200), the other refused as deleted (403), never 503', async () => {
  const all = await policy('deleters', ['kubecred:*']);
  const a = await admin('deleter-a', [all]);
  const b = await admin('deleter-b', [all]);
  const before = (await sample('kubecred_store_transaction_retries_total{reason="deadlock"}')) ?? 0;
  const [byA, byB] = await deadlocked(
    'select 1 from principals where id in ($1, $2) for share', [a.id, b.id],
    () => [call(a.token, 'DELETE', `/v1/principals/${b.id}`), call(b.token, 'DELETE', `/v1/principals/${a.id}`)],
  );
  const statuses = [byA.status, byB.status].sort();
  assert.deepEqual(statuses, [200, 403], `${byA.body}\n${byB.body}`);
  // The loser ran again after the winner committed: its caller was deleted, so it has no policies left to decide on.
  const loser = byA.status === 403 ? byA : byB;
  assert.equal(loser.json.code, 'ACCESS_DENIED');
  const living = (await root('GET', '/v1/principals?limit=100')).json.items.map((p: { id: string }) => p.id);
  assert.equal([a.id, b.id].filter((id) => living.includes(id)).length, 1, 'exactly one of them deleted');
  assert.equal(await sample('kubecred_store_transaction_retries_total{reason="deadlock"}'), before + 1);
});

/** Waits until `n` of kubecred's connections wait on a lock, seen from `c` (whose own snapshot of the statistics is cleared). */
async function kubecredWaiting(c: pg.Client, n: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    await c.query('select pg_stat_clear_snapshot()');
    const waiting = (await c.query("select count(*)::int as n from pg_stat_activity where application_name = 'kubecred' and wait_event_type = 'Lock'")).rows[0].n;
    if (waiting >= n) return;
    assert.ok(Date.now() < deadline, `only ${waiting} of kubecred's transactions came to wait on a lock`);
    await sleep(20);
  }
}

test('an issuance aborted after minting is run again: one kubeconfig answered, stored, audited and indexed, never the first run\'s', async () => {
  const cluster = (await root('POST', '/v1/clusters', { name: 'prod', publicEndpoint: 'https://192.0.2.10:6443' })).json.id;
  const indexed = (await sample('kubecred_revocation_index_credentials'))!;
  const retriesBefore = (await sample('kubecred_store_transaction_retries_total{reason="deadlock"}'))!;
  const holder = new pg.Client({ connectionString: url });
  await holder.connect();
  let issued: RawResponse;
  try {
    // The issuance's audit insert waits for the table; then this connection asks for the root's row, which the
    // issuance holds FOR SHARE: a deadlock, which the issuance (the first to wait, and the quicker to look) loses.
    await holder.query('begin');
    await holder.query("set local deadlock_timeout = '10s'");
    await holder.query('lock table audit_events in share mode');
    const answer = root('POST', `/v1/clusters/${cluster}/kubeconfig`, { temporaryMinutes: 15 });
    await kubecredWaiting(holder, 1);
    await holder.query('select 1 from principals where id = $1 for update', [srv.rootPrincipalId]);
    await holder.query('rollback');
    issued = await answer;
  } finally {
    await holder.end();
  }
  assert.equal(issued.status, 200, issued.body);
  assert.equal(await sample('kubecred_store_transaction_retries_total{reason="deadlock"}'), retriesBefore + 1, 'the issuance was run again');
  const stored = (await root('GET', `/v1/credentials?cluster=${cluster}&limit=10`)).json.items;
  assert.equal(stored.length, 1, 'the first run\'s credential was rolled back');
  assert.equal(issued.json.credential.id, stored[0].id, 'the answer is the stored one');
  const audited = (await root('GET', `/v1/audit?action=IssueKubeconfig&resource=${stored[0].id}&limit=10`)).json.items;
  assert.equal(audited.length, 1);
  // The revocation index hears only of the run that committed.
  assert.equal(await sample('kubecred_revocation_index_credentials'), indexed + 1);
});

test('master-key reseal: a page aborted half-way is run again and counted once', async () => {
  const dbUrl = await postgres.createDatabase('reseal');
  const k1 = masterKey();
  const k2 = masterKey();
  const one = await start({ args: ['--database', dbUrl, '--log-level', 'warn'], env: { KUBECRED_MASTER_KEY: k1 } });
  const make = async (name: string) => (await rawRequest(one, 'POST', '/v1/clusters', { token: one.rootToken, body: JSON.stringify({ name, publicEndpoint: 'https://192.0.2.10:6443' }) })).json.id as string;
  const [c1, c2] = [await make('first'), await make('second')].sort();
  await one.stop();
  const holder = new pg.Client({ connectionString: dbUrl });
  await holder.connect();
  let done;
  try {
    // The reseal's first page (the clusters' CA keys, by ID) replaces c1, then waits for c2, held here; asking for
    // c1 then makes a deadlock, which the reseal (the first to wait) loses after replacing one of its two.
    await holder.query('begin');
    await holder.query("set local deadlock_timeout = '10s'");
    await holder.query('select 1 from clusters where id = $1 for update', [c2]);
    const reseal = cli(null, null, ['master-key', 'reseal', '--database', dbUrl, '-o', 'json'], { KUBECRED_MASTER_KEY: k2, KUBECRED_PREVIOUS_MASTER_KEYS: k1 });
    await kubecredWaiting(holder, 1);
    await holder.query('select 1 from clusters where id = $1 for update', [c1]);
    await holder.query('rollback');
    done = await reseal;
  } finally {
    await holder.end();
  }
  assert.equal(done.code, 0, done.stderr);
  const caKeys = JSON.parse(done.stdout).secrets.find((s: { kind: string }) => s.kind === 'cluster-ca-key');
  assert.deepEqual([caKeys.resealed, caKeys.underCurrentKey, caKeys.total], [2, 2, 2], 'each of the two counted once');
});
