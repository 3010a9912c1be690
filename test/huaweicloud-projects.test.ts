// Project IDs are mapped per account. Two tenants of one server map the same Huawei Cloud project ID (their SDK
// configurations already carry it) and each reaches its own clusters through it, with the official SDK; a project ID
// only another account maps is "not registered for your account", word for word what an unknown one gets.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { cli, cliJson } from './support/cli.ts';
import { rawRequest } from './support/http.ts';
import { cceClient, createCert, PROJECT_ID, sdkError } from './support/huaweicloud-sdk.ts';
import { startServerProcess, type ServerProcess } from './support/server-process.ts';

interface Tenant { name: string; accountId: string; rootToken: string; ak: string; sk: string; clusterId: string; clientCaPem: string }

let srv: ServerProcess;
let a: Tenant;
let b: Tenant;
/** A project ID only tenant A maps. */
const A_ONLY = 'aa11bb22cc33dd44ee55ff6600778899';

async function cluster(token: string, name: string, endpoint: string): Promise<{ id: string; clientCaPem: string }> {
  return cliJson(srv, token, ['cluster', 'create', name, '--public-endpoint', endpoint, '--region', 'cn-north-4']);
}

before(async () => {
  srv = await startServerProcess();
  const ca = await cluster(srv.rootToken, 'prod-a', 'https://203.0.113.71:6443');
  a = { name: 'default', accountId: srv.accountId, rootToken: srv.rootToken, ak: srv.accessKeyId, sk: srv.accessKeySecret, clusterId: ca.id, clientCaPem: ca.clientCaPem };
  const created = await cli(null, null, ['account', 'create', 'tenant-b', '--data-dir', srv.dataDir, '--output', 'json']);
  assert.equal(created.code, 0, created.stderr);
  const acct = JSON.parse(created.stdout);
  const cb = await cluster(acct.rootToken, 'prod-b', 'https://203.0.113.72:6443');
  b = { name: 'tenant-b', accountId: acct.accountId, rootToken: acct.rootToken, ak: acct.accessKeyId, sk: acct.accessKeySecret, clusterId: cb.id, clientCaPem: cb.clientCaPem };
  assert.ok(b.ak && b.sk && b.accountId !== a.accountId);
});

after(() => srv?.stop());

const projects = async (t: Tenant) => (await cliJson(srv, t.rootToken, ['project', 'list'])).map((p: any) => [p.projectId, p.region]);

test('two accounts map the same project ID, each through its own interface (CLI, native API); each lists only its own', async () => {
  const byCli = await cli(srv, a.rootToken, ['project', 'add', PROJECT_ID, '--region', 'cn-north-4', '--output', 'json']);
  assert.equal(byCli.code, 0, byCli.stderr);
  const byApi = await rawRequest(srv, 'POST', '/v1/projects', { token: b.rootToken, body: JSON.stringify({ projectId: PROJECT_ID, region: 'cn-north-4' }) });
  assert.equal(byApi.status, 201, byApi.body);
  assert.equal((await cli(srv, a.rootToken, ['project', 'add', A_ONLY, '--region', 'cn-north-4'])).code, 0);
  assert.deepEqual(await projects(a), [[PROJECT_ID, 'cn-north-4'], [A_ONLY, 'cn-north-4']].sort());
  assert.deepEqual(await projects(b), [[PROJECT_ID, 'cn-north-4']]);
  // Mapping it again within the account is the only conflict, and it says what to do.
  const again = await rawRequest(srv, 'POST', '/v1/projects', { token: b.rootToken, body: JSON.stringify({ projectId: PROJECT_ID, region: 'cn-north-1' }) });
  assert.equal(again.status, 409, again.body);
  assert.match(again.json.message, /your account maps it .*kubecred project remove/);
});

test("the official SDK of each account reaches that account's own cluster through the shared project ID", async () => {
  for (const [me, other] of [[a, b], [b, a]] as const) {
    const client = cceClient(srv, me.ak, me.sk, PROJECT_ID);
    const res = await createCert(client, me.clusterId, 7);
    assert.equal(res.httpStatusCode, 200, me.name);
    const cert = new crypto.X509Certificate(Buffer.from(res.users[0].user['client-certificate-data'], 'base64'));
    assert.ok(cert.verify(new crypto.X509Certificate(me.clientCaPem).publicKey), `signed by ${me.name}'s cluster CA`);
    const listed = await rawRequest(srv, 'GET', `/v1/credentials?cluster=${me.clusterId}`, { token: me.rootToken });
    assert.ok(listed.json.items.some((c: any) => c.id === res['Port-ID']), `in ${me.name}'s inventory`);
    // The other tenant's cluster is not there through the same project ID.
    const cross = await sdkError(createCert(client, other.clusterId, 7));
    assert.equal(cross.httpStatusCode, 404, `${me.name} asking for ${other.name}'s cluster`);
  }
});

test('a project ID only another account maps answers the caller\'s "not registered for your account" 404, the same as an unknown one', async () => {
  const unknown = 'ffffffffffffffffffffffffffffffff';
  const bClient = (project: string) => cceClient(srv, b.ak, b.sk, project);
  const theirs = await sdkError(createCert(bClient(A_ONLY), b.clusterId, 7));
  const nobodys = await sdkError(createCert(bClient(unknown), b.clusterId, 7));
  assert.equal(theirs.httpStatusCode, 404);
  assert.equal(theirs.errorCode, 'CCE.01404001');
  assert.match(theirs.errorMsg, new RegExp(`project "${A_ONLY}" is not registered for your account; .*kubecred project add ${A_ONLY} --region`));
  assert.equal(theirs.errorMsg.replaceAll(A_ONLY, unknown), nobodys.errorMsg, "nothing tells A's project from an unknown one");
  assert.equal(nobodys.httpStatusCode, 404);
  for (const secretOfA of [a.accountId, a.clusterId, 'default']) assert.ok(!theirs.errorMsg.includes(secretOfA), secretOfA);
  // The same with a token instead of a signature.
  const token = (await cliJson(srv, b.rootToken, ['token', 'create'])).token as string;
  const byToken = await rawRequest(srv, 'POST', `/api/v3/projects/${A_ONLY}/clusters/${b.clusterId}/clustercert`, { body: JSON.stringify({ duration: 1 }), headers: { 'x-auth-token': token, 'content-type': 'application/json' } });
  assert.equal(byToken.status, 404, byToken.body);
  assert.match(byToken.json.error_msg, /is not registered for your account/);
  // A's own SDK reaches A's cluster through it.
  assert.equal((await createCert(cceClient(srv, a.ak, a.sk, A_ONLY), a.clusterId, 1)).httpStatusCode, 200);
});

test("removing one account's mapping leaves the other's", async () => {
  assert.deepEqual(await cliJson(srv, b.rootToken, ['project', 'remove', PROJECT_ID]), { removed: true });
  const gone = await sdkError(createCert(cceClient(srv, b.ak, b.sk, PROJECT_ID), b.clusterId, 1));
  assert.equal(gone.httpStatusCode, 404);
  assert.equal((await createCert(cceClient(srv, a.ak, a.sk, PROJECT_ID), a.clusterId, 1)).httpStatusCode, 200);
  assert.deepEqual(await projects(a), [[PROJECT_ID, 'cn-north-4'], [A_ONLY, 'cn-north-4']].sort());
});
