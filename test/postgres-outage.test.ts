// PostgreSQL restarted under load: while it is down requests fail cleanly (503 UNAVAILABLE with a
// request ID, never a 500, never a half-written row), the webhook keeps denying what was revoked,
// /readyz goes not-ready and back, and afterwards every kubeconfig answered is stored with its audit event.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { rawRequest } from './support/http.ts';
import { startPostgres, type TestPostgres } from './support/postgres.ts';
import { api, masterKey, startReplica, webhookVerdict } from './support/replicas.ts';
import type { ServerProcess } from './support/server-process.ts';

let postgres: TestPostgres;
let url: string;
let srv: ServerProcess;
let clusterId: string;
let webhookToken: string;
let revokedCred: { fingerprintSha256: string; commonName: string };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  postgres = await startPostgres();
  url = await postgres.createDatabase('outage');
  srv = await startReplica(url, masterKey());
  clusterId = (await api(srv, 'POST', '/v1/clusters', { name: 'prod', publicEndpoint: 'https://203.0.113.9:6443' })).json.id;
  webhookToken = (await api(srv, 'POST', `/v1/clusters/${clusterId}/webhook-tokens`)).json.token;
  revokedCred = (await api(srv, 'POST', `/v1/clusters/${clusterId}/kubeconfig`, { temporaryMinutes: 60 })).json.credential;
  await api(srv, 'POST', `/v1/clusters/${clusterId}/revocations`, { principalId: srv.rootPrincipalId, reason: 'before the outage' });
  assert.equal((await webhookVerdict(srv, clusterId, webhookToken, revokedCred.fingerprintSha256, revokedCred.commonName)).denied, true);
});

after(async () => {
  await srv?.stop();
  await postgres?.destroy();
});

interface Answer { status: number; code?: string; requestId?: string; credentialId?: string; at: number }

test('PostgreSQL restarted under load: clean 503s meanwhile, /readyz down and back, nothing answered is lost', async (t) => {
  const answers: Answer[] = [];
  const readiness: Array<{ status: number; at: number }> = [];
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
      readiness.push({ status: r.status, at: Date.now() - t0 });
      await sleep(50);
    }
  };
  const load = [worker(), worker(), worker(), prober()];

  const waitReadiness = async (status: number, limitMs: number) => {
    const start = Date.now();
    while (!readiness.some((r) => r.status === status && r.at >= start - t0)) {
      if (Date.now() - start > limitMs) assert.fail(`/readyz never answered ${status} within ${limitMs} ms: ${JSON.stringify(readiness.slice(-5))} ${JSON.stringify(answers.slice(-3))} alive=${srv.child.exitCode} ${srv.stderr().slice(-1500)}`);
      await sleep(25);
    }
  };

  await sleep(1500);
  const stoppedAt = Date.now() - t0;
  await postgres.stop();
  await waitReadiness(503, 5000);
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
  assert.equal(ready.status, 200, 'ready again, change feed reconnected');
});
