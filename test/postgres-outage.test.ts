// PostgreSQL restarted under load: while it is down requests fail cleanly (503 UNAVAILABLE with a
// request ID, never a 500, never a half-written row), the webhook keeps denying what was revoked,
// /readyz stays ready (degraded: store, changeFeed) for the outage grace, so that a readiness-gated Service
// keeps the webhook reachable, and says not ready once the grace is over (a second replica with a short
// one); afterwards every kubeconfig answered is stored with its audit event.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { rawRequest } from './support/http.ts';
import { startPostgres, type TestPostgres } from './support/postgres.ts';
import { api, masterKey, startReplica, webhookVerdict } from './support/replicas.ts';
import { startServerProcess, type ServerProcess } from './support/server-process.ts';

let postgres: TestPostgres;
let url: string;
let srv: ServerProcess;
let shortGrace: ServerProcess;
let clusterId: string;
let webhookToken: string;
let revokedCred: { fingerprintSha256: string; commonName: string };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  postgres = await startPostgres();
  url = await postgres.createDatabase('outage');
  const key = masterKey();
  srv = await startReplica(url, key);
  shortGrace = await startServerProcess({ args: ['--database', url, '--log-level', 'warn', '--outage-grace', '3'], env: { KUBECRED_MASTER_KEY: key } });
  clusterId = (await api(srv, 'POST', '/v1/clusters', { name: 'prod', publicEndpoint: 'https://203.0.113.9:6443' })).json.id;
  webhookToken = (await api(srv, 'POST', `/v1/clusters/${clusterId}/webhook-tokens`)).json.token;
  revokedCred = (await api(srv, 'POST', `/v1/clusters/${clusterId}/kubeconfig`, { temporaryMinutes: 60 })).json.credential;
  await api(srv, 'POST', `/v1/clusters/${clusterId}/revocations`, { principalId: srv.rootPrincipalId, reason: 'before the outage' });
  assert.equal((await webhookVerdict(srv, clusterId, webhookToken, revokedCred.fingerprintSha256, revokedCred.commonName)).denied, true);
});

after(async () => {
  await Promise.all([srv?.stop(), shortGrace?.stop()]);
  await postgres?.destroy();
});

async function waitForReady(server: ServerProcess): Promise<void> {
  const start = Date.now();
  while ((await rawRequest(server, 'GET', '/readyz')).status !== 200) {
    if (Date.now() - start > 15_000) assert.fail('the short-grace replica did not come back');
    await sleep(100);
  }
}

interface Answer { status: number; code?: string; requestId?: string; credentialId?: string; at: number }

test('PostgreSQL restarted under load: clean 503s meanwhile, /readyz ready (degraded) within the grace and not after it, nothing answered is lost', async (t) => {
  const answers: Answer[] = [];
  const readiness: Array<{ status: number; at: number; degraded?: string[] }> = [];
  const health: number[] = [];
  let running = true;
  const t0 = Date.now();

  const worker = async () => {
    while (running) {
      try {
        const r = await api(srv, 'POST', `/v1/clusters/${clusterId}/kubeconfig`, { temporaryMinutes: 15 });
        answers.push({ status: r.status, code: r.json?.code, requestId: r.json?.requestId ?? r.headers['x-request-id'] as string, credentialId: r.json?.credential?.id, at: Date.now() - t0 });
      } catch (e) {
        answers.push({ status: -1, code: String((e as Error).message), at: Date.now() - t0 });
      }
      if (answers.at(-1)!.status !== 200) await sleep(20);
    }
  };
  const prober = async () => {
    while (running) {
      const r = await rawRequest(srv, 'GET', '/readyz').catch((e) => ({ status: -1, error: String(e) }));
      readiness.push({ status: r.status, at: Date.now() - t0, degraded: (r as { json?: { degraded?: string[] } }).json?.degraded });
      health.push((await rawRequest(srv, 'GET', '/healthz').catch(() => ({ status: -1 }))).status);
      await sleep(50);
    }
  };
  const load = [worker(), worker(), worker(), prober()];

  const waitReadiness = async (status: number, limitMs: number, degraded?: string) => {
    const start = Date.now();
    while (!readiness.some((r) => r.status === status && r.at >= start - t0 && (degraded ? r.degraded?.includes(degraded) : !r.degraded))) {
      if (Date.now() - start > limitMs) assert.fail(`/readyz never answered ${status} within ${limitMs} ms: ${JSON.stringify(readiness.slice(-5))} ${JSON.stringify(answers.slice(-3))} alive=${srv.child.exitCode} ${srv.stderr().slice(-1500)}`);
      await sleep(25);
    }
  };

  await sleep(1500);
  const stoppedAt = Date.now() - t0;
  await postgres.stop();
  const stopDone = Date.now() - t0;
  // Ready, degraded: behind a readiness-gated Service the webhook stays reachable (docs/ha.md).
  await waitReadiness(200, 5000, 'store');
  const outageProbe = await rawRequest(srv, 'GET', '/readyz');
  assert.deepEqual([outageProbe.status, outageProbe.json.status, outageProbe.json.degraded], [200, 'ready', ['store', 'changeFeed']]);
  // The replica with a 3 s grace says not ready once it is over: past it, a replica cut off alone from the
  // database could be missing revocations made by others.
  const graceStart = Date.now();
  let lastShort;
  for (;;) {
    lastShort = await rawRequest(shortGrace, 'GET', '/readyz');
    if (lastShort.status === 503) break;
    assert.equal(lastShort.json.status, 'ready');
    if (Date.now() - graceStart > 15_000) assert.fail(`the 3 s grace never ended: ${lastShort.body}`);
    await sleep(100);
  }
  assert.deepEqual(lastShort.json.failing, ['store', 'changeFeed']);
  assert.ok(Date.now() - graceStart >= 1500, 'ready during the grace');
  // Nothing can be revoked while the database is down, so the in-memory index is current: the webhook
  // goes on answering for the kube-apiserver it already knows, and the revoked credential stays denied.
  await sleep(1100); // past the 1 s caller cache: this is the outage path, not the cache
  const duringOutage = await webhookVerdict(srv, clusterId, webhookToken, revokedCred.fingerprintSha256, revokedCred.commonName);
  assert.equal(duringOutage.denied, true, 'a revoked credential is still denied during the outage');
  await postgres.start();
  const restartedAt = Date.now() - t0;
  await waitReadiness(200, 15_000);
  await sleep(1500);
  running = false;
  await Promise.all(load);

  assert.equal(srv.child.exitCode, null, `kubecred kept running through the outage:\n${srv.stderr().slice(-2000)}`);
  assert.ok(!readiness.some((r) => r.status === -1), 'every readiness probe was answered');
  // The default grace (5 min) outlasts this outage: ready throughout it. Once PostgreSQL is back, a moment of
  // not ready (changeFeed) is right: the database answers again, but this replica has not caught up yet.
  // (While PostgreSQL shuts down, the pool may still answer a moment after the feed has dropped: that is not ready.)
  const probesDuringOutage = readiness.filter((r) => r.at > stopDone + 500 && r.at < restartedAt);
  assert.ok(probesDuringOutage.length > 10);
  assert.ok(probesDuringOutage.every((r) => r.status === 200), `ready throughout the outage: ${JSON.stringify(probesDuringOutage.filter((r) => r.status !== 200).slice(0, 3))}`);
  assert.ok(health.every((h) => h === 200), '/healthz does not depend on the database');
  const ok = answers.filter((x) => x.status === 200);
  const failed = answers.filter((x) => x.status !== 200);
  t.diagnostic(`${answers.length} requests: ${ok.length} answered 200, ${failed.length} refused (${[...new Set(failed.map((f) => `${f.status} ${f.code}`))].join(', ')}); database down from ${stoppedAt} to ${restartedAt} ms`);
  assert.ok(ok.some((x) => x.at < stoppedAt), 'requests succeeded before the outage');
  assert.ok(ok.some((x) => x.at > restartedAt), 'and after it, without restarting kubecred');
  assert.ok(failed.length > 0, 'the outage was felt');
  for (const f of failed) {
    assert.equal(f.status, 503, `during the outage every failure is a 503, got ${JSON.stringify(f)}`);
    assert.equal(f.code, 'UNAVAILABLE');
    assert.match(f.requestId ?? '', /^req_/);
  }

  // Everything answered is stored, each with its audit event; nothing is stored twice.
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const ids = ok.map((x) => x.credentialId!);
    const stored = await c.query('select id from credentials where id = any($1)', [ids]);
    assert.equal(stored.rowCount, ids.length, 'every answered kubeconfig is in the database');
    const audited = await c.query("select resource_id from audit_events where action = 'IssueKubeconfig' and resource_id = any($1)", [ids]);
    assert.equal(audited.rowCount, ids.length, 'each with its audit event');
    // A row without its audit event would be a partial write, whichever request it came from.
    const orphans = await c.query("select count(*)::int as n from credentials c where not exists (select 1 from audit_events e where e.resource_id = c.id and e.action = 'IssueKubeconfig')");
    assert.equal(orphans.rows[0].n, 0);
  } finally {
    await c.end();
  }
  const ready = await rawRequest(srv, 'GET', '/readyz');
  assert.deepEqual([ready.status, ready.json.degraded], [200, undefined], 'ready again, not degraded: change feed reconnected');
  await waitForReady(shortGrace);
});
