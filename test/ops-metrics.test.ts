// What /metrics says about the webhooks and the database, read from a running `kubecred serve`: each webhook
// decision counted by review and decision (SQLite), and on PostgreSQL the store's failures and the change feed's
// health, which /readyz weighs, through a database outage (and /readyz's 503 then, as /openapi.json documents it).

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import YAML from 'yaml';
import { rawRequest } from './support/http.ts';
import { documentedResponses } from './support/openapi.ts';
import { startPostgres, type TestPostgres } from './support/postgres.ts';
import { api, masterKey } from './support/replicas.ts';
import { serversStoppedAfterAll, type ServerProcess } from './support/server-process.ts';

const start = serversStoppedAfterAll();
let postgres: TestPostgres | undefined;
after(() => postgres?.destroy());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One sample's value from the Prometheus text, or undefined when the series is absent. */
async function sample(srv: ServerProcess, series: string): Promise<number | undefined> {
  const m = await rawRequest(srv, 'GET', '/metrics');
  assert.equal(m.status, 200);
  const line = m.body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const decision = (review: string, d: string) => `kubecred_webhook_decisions_total{review="${review}",decision="${d}"}`;

test('/metrics counts every webhook decision by review and decision: authorize deny and no_opinion, authenticate authenticated and unauthenticated', async () => {
  const srv = await start();
  const x509 = (await api(srv, 'POST', '/v1/clusters', { name: 'x509', publicEndpoint: 'https://192.0.2.10:6443' })).json.id as string;
  const tokens = (await api(srv, 'POST', '/v1/clusters', { name: 'tokens', publicEndpoint: 'https://192.0.2.11:6443', credentialType: 'token' })).json.id as string;
  for (const [review, d] of [['authorize', 'deny'], ['authorize', 'no_opinion'], ['authenticate', 'authenticated'], ['authenticate', 'unauthenticated']]) {
    assert.equal(await sample(srv, decision(review!, d!)), 0, `${review} ${d} is there at 0 before any review`);
  }
  const webhookToken = async (cluster: string) => (await api(srv, 'POST', `/v1/clusters/${cluster}/webhook-tokens`)).json.token as string;
  const [x509Hook, tokenHook] = [await webhookToken(x509), await webhookToken(tokens)];

  const revoked = (await api(srv, 'POST', `/v1/clusters/${x509}/kubeconfig`, { temporaryMinutes: 60 })).json.credential;
  assert.equal((await api(srv, 'POST', `/v1/credentials/${revoked.id}/revoke`, {})).status, 200);
  const authorize = (fingerprint: string) => rawRequest(srv, 'POST', `/kube/clusters/${x509}/authorize`, {
    token: x509Hook,
    body: JSON.stringify({ apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { user: revoked.commonName, groups: [], extra: { 'authentication.kubernetes.io/credential-id': [`X509SHA256=${fingerprint}`] } } }),
  });
  for (let i = 0; i < 3; i++) assert.equal((await authorize(revoked.fingerprintSha256)).json.status.denied, true);
  const other = await authorize('0'.repeat(64));
  assert.deepEqual(other.json.status, { allowed: false }, 'no opinion on a credential kubecred did not issue');

  const kubeconfigToken = YAML.parse((await api(srv, 'POST', `/v1/clusters/${tokens}/kubeconfig`, {})).json.kubeconfig).users[0].user.token as string;
  const authenticate = (token: string) => rawRequest(srv, 'POST', `/kube/clusters/${tokens}/authenticate`, {
    token: tokenHook, body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } }),
  });
  assert.equal((await authenticate(kubeconfigToken)).json.status.authenticated, true);
  for (const t of ['kct1.crd_nope.x', 'not-a-kubecred-token']) assert.equal((await authenticate(t)).json.status.authenticated, false);
  // Refused reviews are not decisions: a wrong webhook token, a malformed body.
  assert.equal((await rawRequest(srv, 'POST', `/kube/clusters/${x509}/authorize`, { token: tokenHook, body: '{}' })).status, 401);
  assert.equal((await rawRequest(srv, 'POST', `/kube/clusters/${x509}/authorize`, { token: x509Hook, body: '[]' })).status, 400);

  assert.equal(await sample(srv, decision('authorize', 'deny')), 3);
  assert.equal(await sample(srv, decision('authorize', 'no_opinion')), 1);
  assert.equal(await sample(srv, decision('authenticate', 'authenticated')), 1);
  assert.equal(await sample(srv, decision('authenticate', 'unauthenticated')), 2);
  // SQLite: no database server to fail and no change feed; its own write failures are counted as before.
  assert.equal(await sample(srv, 'kubecred_store_failures_total{reason="unreachable"}'), undefined);
  assert.equal(await sample(srv, 'kubecred_store_transaction_retries_total{reason="deadlock"}'), undefined, 'SQLite\'s one writer never deadlocks: nothing is run again');
  assert.equal(await sample(srv, 'kubecred_change_feed_healthy'), undefined);
  assert.equal(await sample(srv, 'kubecred_store_write_failures_total{reason="disk_full"}'), 0);
});

test('on PostgreSQL /metrics exports the store failures and the change feed health /readyz weighs, and both follow an outage', async () => {
  postgres = await startPostgres();
  const url = await postgres.createDatabase('metrics');
  const srv = await start({ args: ['--database', url, '--log-level', 'warn', '--outage-grace', '2'], env: { KUBECRED_MASTER_KEY: masterKey() } });
  const openapi = documentedResponses((await rawRequest(srv, 'GET', '/openapi.json')).json);
  openapi.check('GET', '/readyz', await rawRequest(srv, 'GET', '/readyz'));
  assert.equal(await sample(srv, 'kubecred_change_feed_healthy'), 1);
  assert.equal(await sample(srv, 'kubecred_change_feed_stale_seconds'), 0);
  assert.equal(await sample(srv, 'kubecred_store_failures_total{reason="unreachable"}'), 0);
  assert.equal(await sample(srv, 'kubecred_store_failures_total{reason="gave_up"}'), 0);
  assert.equal(await sample(srv, 'kubecred_store_transaction_retries_total{reason="deadlock"}'), 0);
  assert.equal(await sample(srv, 'kubecred_store_transaction_retries_total{reason="serialization_failure"}'), 0);
  assert.equal(await sample(srv, decision('authorize', 'deny')), 0, 'the webhook counter is there on PostgreSQL too');

  await postgres.stop();
  try {
    const refused = await api(srv, 'GET', '/v1/clusters');
    assert.equal(refused.status, 503);
    assert.equal(refused.json.code, 'UNAVAILABLE');
    // The feed notices within its heartbeat; the gauge follows what /readyz says, from the same source.
    const deadline = Date.now() + 20_000;
    while (await sample(srv, 'kubecred_change_feed_healthy') !== 0) {
      assert.ok(Date.now() < deadline, 'the change feed was never reported down');
      await sleep(200);
    }
    await sleep(1_500);
    assert.ok((await sample(srv, 'kubecred_change_feed_stale_seconds'))! >= 1, 'stale for as long as the feed has been down');
    // Past the 2 s grace nothing answers: not ready, in the shape /openapi.json documents for /readyz's 503.
    let ready = await rawRequest(srv, 'GET', '/readyz');
    while (ready.status !== 503) {
      assert.ok(Date.now() < deadline, `/readyz stayed ${ready.status}`);
      await sleep(200);
      ready = await rawRequest(srv, 'GET', '/readyz');
    }
    assert.deepEqual(ready.json.failing, ['store', 'changeFeed']);
    openapi.check('GET', '/readyz', ready);
    assert.ok((await sample(srv, 'kubecred_store_failures_total{reason="unreachable"}'))! >= 1);
    assert.equal(await sample(srv, 'kubecred_store_failures_total{reason="gave_up"}'), 0);
  } finally {
    await postgres.start();
  }
  const deadline = Date.now() + 20_000;
  while (await sample(srv, 'kubecred_change_feed_healthy') !== 1) {
    assert.ok(Date.now() < deadline, 'the change feed never came back');
    await sleep(200);
  }
  assert.equal(await sample(srv, 'kubecred_change_feed_stale_seconds'), 0);
});
