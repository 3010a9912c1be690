// The Huawei Cloud CCE surface refuses bad requests in CCE's error shape, which the official SDK turns
// into error objects with status, code, message and request ID; a refused request changes nothing.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cli, cliJson } from './support/cli.ts';
import { rawRequest } from './support/http.ts';
import { cceClient, createCert, PROJECT_ID, revokeCert, sdkError, setupCce, ShowClusterRequest } from './support/huaweicloud-sdk.ts';
import { startServerProcess, type ServerProcess } from './support/server-process.ts';

let srv: ServerProcess;
let env: Awaited<ReturnType<typeof setupCce>>;

before(async () => {
  srv = await startServerProcess();
  env = await setupCce(srv, { publicEndpoint: 'https://203.0.113.10:6443' });
});

after(async () => {
  await srv?.stop();
});

const alice = () => cceClient(srv, env.alice.ak, env.alice.sk, PROJECT_ID);
const issuedCount = async () => (await rawRequest(srv, 'GET', `/v1/credentials?cluster=${env.cluster.id}`, { token: srv.rootToken })).json.items.length as number;
const cceUrl = (op: string, project = PROJECT_ID) => `/api/v3/projects/${project}/clusters/${env.cluster.id}/${op}`;

function assertSdkError(e: Awaited<ReturnType<typeof sdkError>>, status: number, code: string, message: RegExp) {
  assert.equal(e.httpStatusCode, status, e.errorMsg);
  assert.equal(e.errorCode, code);
  assert.match(e.errorMsg, message);
  assert.match(e.requestId, /^req_[0-9a-f]{24}$/);
}

test('a wrong secret key is refused with 401 APIGW.0301 and issues nothing', async () => {
  const before = await issuedCount();
  const e = await sdkError(createCert(cceClient(srv, env.alice.ak, 'not-the-secret', PROJECT_ID), env.cluster.id, 30));
  assertSdkError(e, 401, 'APIGW.0301', /signature does not match/);
  assert.equal(await issuedCount(), before);
});

test('an unknown access key looks exactly like a wrong signature', async () => {
  const e = await sdkError(createCert(cceClient(srv, 'NOSUCHKEY12345678', env.alice.sk, PROJECT_ID), env.cluster.id, 30));
  assertSdkError(e, 401, 'APIGW.0301', /signature does not match, or the access key is unknown/);
});

test('an X-Sdk-Date more than 15 minutes off is refused as stale', async () => {
  const e = await sdkError(revokeCert(alice(), env.cluster.id, { userId: env.alice.id }, { 'X-Sdk-Date': '20200101T000000Z' }));
  assertSdkError(e, 401, 'APIGW.0301', /15 minutes/);
});

test('a signed body that was altered on the way is refused', async () => {
  const client = alice();
  // Sign one body, send another: the SDK's axios call is intercepted after signing.
  client.hcClient.httpClient._axiosInstance.interceptors.request.use((r: any) => ({ ...r, data: JSON.stringify({ duration: 1827 }) }));
  const e = await sdkError(createCert(client, env.cluster.id, 1));
  assertSdkError(e, 401, 'APIGW.0301', /signature does not match/);
});

test('no credentials at all, or a bad X-Auth-Token, is 401 in CCE shape with X-Request-Id', async () => {
  const none = await rawRequest(srv, 'POST', cceUrl('clustercert'), { body: '{"duration":1}' });
  assert.equal(none.status, 401);
  assert.equal(none.json.error_code, 'APIGW.0301');
  assert.equal(none.json.kind, 'Status');
  assert.equal(none.json.code, 401);
  assert.match(String(none.headers['x-request-id']), /^req_/);
  const bad = await rawRequest(srv, 'POST', cceUrl('clustercert'), { body: '{"duration":1}', headers: { 'x-auth-token': 'kc1.tok_nope.nope' } });
  assert.equal(bad.status, 401);
  assert.equal(bad.json.error_code, 'APIGW.0301');
});

test('an unknown cluster is 404 CCE.01404001', async () => {
  const e = await sdkError(createCert(alice(), 'cls_doesnotexist', 30));
  assertSdkError(e, 404, 'CCE.01404001', /cluster "cls_doesnotexist" was not found/);
});

test('what the router refuses before any route is 400 CCE.01400001 in CCE shape with X-Request-Id', async () => {
  // An over-long cluster ID through the SDK: the router refuses it, and the SDK still reads code, message and request ID.
  const long = await sdkError(createCert(alice(), 'c'.repeat(129), 30));
  assertSdkError(long, 400, 'CCE.01400001', /longer than 128 characters/);
  // A path the SDK would never send: not valid percent-encoding, on a CCE operation and on no operation at all.
  for (const path of [`/api/v3/projects/%ff/clusters/${env.cluster.id}/clustercert`, '/api/v3/%ff']) {
    const r = await rawRequest(srv, 'POST', path, { body: '{"duration":1}', headers: { 'x-auth-token': env.alice.token } });
    assert.equal(r.status, 400, path);
    assert.equal(r.json.kind, 'Status', path);
    assert.equal(r.json.error_code, 'CCE.01400001', path);
    assert.match(r.json.error_msg, /percent-encod/);
    assert.match(String(r.headers['x-request-id']), /^req_[0-9a-f]{24}$/);
  }
});

test('a CCE operation asked with another method is 405 CCE.01405001 with Allow, after authentication; an unknown operation stays 404', async () => {
  const r = await rawRequest(srv, 'GET', cceUrl('clustercert'), { headers: { 'x-auth-token': env.alice.token } });
  assert.equal(r.status, 405, r.body);
  assert.equal(r.headers.allow, 'POST');
  assert.equal(r.json.kind, 'Status');
  assert.equal(r.json.code, 405);
  assert.equal(r.json.reason, 'MethodNotAllowed');
  assert.equal(r.json.error_code, 'CCE.01405001');
  assert.match(r.json.error_msg, /clustercert takes POST, not GET/);
  assert.match(String(r.headers['x-request-id']), /^req_[0-9a-f]{24}$/);
  assert.equal(r.headers['cache-control'], 'no-store');
  // The SDK, signing a DELETE of clustercertrevoke with AK/SK, reads the code, message and request ID.
  const e = await sdkError(alice().hcClient.sendRequest({
    method: 'DELETE', url: '/api/v3/projects/{project_id}/clusters/{cluster_id}/clustercertrevoke', contentType: 'application/json',
    pathParams: { cluster_id: env.cluster.id }, headers: { 'Content-Type': 'application/json' }, queryParams: {}, data: {},
  }));
  assertSdkError(e, 405, 'CCE.01405001', /clustercertrevoke takes POST, not DELETE/);
  // Nobody is told which methods a CCE path takes before they authenticate; a path of no operation is 404.
  const anonymous = await rawRequest(srv, 'GET', cceUrl('clustercert'));
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.headers.allow, undefined);
  const none = await rawRequest(srv, 'GET', cceUrl('nothing'), { headers: { 'x-auth-token': env.alice.token } });
  assert.equal(none.status, 404);
  assert.equal(none.json.error_code, 'CCE.01404001');
});

test('an SDK read (ShowCluster: a GET whose body "{}" it signs) is authenticated and answered 404, not refused as a bad signature; a GET body past the limit is 413', async () => {
  const e = await sdkError(alice().showCluster(new ShowClusterRequest().withClusterId(env.cluster.id)));
  assertSdkError(e, 404, 'CCE.01404001', /no CCE operation GET/);
  const big = await rawRequest(srv, 'GET', cceUrl('nothing'), { headers: { 'x-auth-token': env.alice.token, 'content-length': String(2 * 1024 * 1024) }, body: Buffer.alloc(2 * 1024 * 1024, 0x20) });
  assert.equal(big.status, 413, big.body);
  assert.equal(big.json.error_code, 'CCE.01413001');
});

test('a project not mapped to the account is 404 and names the command that maps it', async () => {
  const e = await sdkError(createCert(cceClient(srv, env.alice.ak, env.alice.sk, 'ffffffffffffffffffffffffffffffff'), env.cluster.id, 30));
  assertSdkError(e, 404, 'CCE.01404001', /kubecred project add/);
});

test('a duration out of range is 400 CCE.01400001 and issues nothing', async () => {
  const before = await issuedCount();
  for (const d of [0, 1828, -2]) {
    const e = await sdkError(createCert(alice(), env.cluster.id, d));
    assertSdkError(e, 400, 'CCE.01400001', /duration must be -1/);
  }
  const early = await rawRequest(srv, 'POST', cceUrl('clustercert'), { body: JSON.stringify({ expire_at: new Date(Date.now() + 60_000).toISOString().slice(0, 19) + 'Z' }), headers: { 'x-auth-token': env.alice.token } });
  assert.equal(early.status, 400);
  assert.match(early.json.error_msg, /expire_at must be from 15 minutes to 1827 days ahead/);
  // A date that does not exist is refused, in either form, not rolled over into the next month.
  for (const expireAt of ['2027-02-30T16:00:00Z', '2027-02-30 16:00:00 +0000 UTC', '2027-01-01T24:00:00Z']) {
    const impossible = await rawRequest(srv, 'POST', cceUrl('clustercert'), { body: JSON.stringify({ expire_at: expireAt }), headers: { 'x-auth-token': env.alice.token } });
    assert.equal(impossible.status, 400, expireAt);
    assert.match(impossible.json.error_msg, /^expire_at must be a time like/, expireAt);
  }
  // JSON reads 1e400 as Infinity: it is out of range, not "null".
  const huge = await rawRequest(srv, 'POST', cceUrl('clustercert'), { body: '{"duration": 1e400}', headers: { 'x-auth-token': env.alice.token } });
  assert.equal(huge.status, 400);
  assert.match(huge.json.error_msg, /^duration must be .*; got a number out of range$/);
  const missing = await rawRequest(srv, 'POST', cceUrl('clustercert'), { body: '{}', headers: { 'x-auth-token': env.alice.token } });
  assert.match(missing.json.error_msg, /give "duration"/);
  assert.equal(await issuedCount(), before);
});

test('userId and agencyId together (or neither) is 400 CCE.01400001 and revokes nothing', async () => {
  await createCert(alice(), env.cluster.id, 30);
  const active = (await rawRequest(srv, 'GET', `/v1/credentials?cluster=${env.cluster.id}&status=active`, { token: srv.rootToken })).json.items.length;
  const both = await sdkError(revokeCert(alice(), env.cluster.id, { userId: env.alice.id, agencyId: 'rol_x' }));
  assertSdkError(both, 400, 'CCE.01400001', /exactly one of "userId" or "agencyId"/);
  const neither = await sdkError(revokeCert(alice(), env.cluster.id, {}));
  assertSdkError(neither, 400, 'CCE.01400001', /exactly one/);
  const swapped = await sdkError(revokeCert(alice(), env.cluster.id, { agencyId: env.alice.id }));
  assertSdkError(swapped, 400, 'CCE.01400001', /is a user; send it as "userId"/);
  assert.equal((await rawRequest(srv, 'GET', `/v1/credentials?cluster=${env.cluster.id}&status=active`, { token: srv.rootToken })).json.items.length, active);
});

test('an unknown user is 404 CCE.01404001', async () => {
  const e = await sdkError(revokeCert(alice(), env.cluster.id, { userId: 'usr_nobodyhere' }));
  assertSdkError(e, 404, 'CCE.01404001', /principal "usr_nobodyhere" was not found/);
});

test('a policy that denies the CCE action is 403 CCE.01403001 and the denial is audited', async () => {
  const e = await sdkError(createCert(cceClient(srv, env.bob.ak, env.bob.sk, PROJECT_ID), env.cluster.id, 30));
  assertSdkError(e, 403, 'CCE.01403001', /explicitly denied/);
  const audit = await rawRequest(srv, 'GET', '/v1/audit?outcome=denied', { token: srv.rootToken });
  assert.ok(audit.json.items.some((ev: any) => ev.actorId === env.bob.id && ev.requestId === e.requestId), audit.body);
});

test('a non-JSON body is refused with 415 in CCE shape; application/x-pem-file, on CCE\'s list, carries the JSON body too', async () => {
  const r = await rawRequest(srv, 'POST', cceUrl('clustercert'), { body: 'duration=1', headers: { 'x-auth-token': env.alice.token, 'content-type': 'text/plain' } });
  assert.equal(r.status, 415);
  assert.equal(r.json.error_code, 'CCE.01415001');
  const pem = await rawRequest(srv, 'POST', cceUrl('clustercert'), { body: JSON.stringify({ duration: 1 }), headers: { 'x-auth-token': env.alice.token, 'content-type': 'application/x-pem-file' } });
  assert.equal(pem.status, 200, pem.body);
  assert.ok(pem.json.users?.[0]?.user?.['client-certificate-data']);
});

test('project add and list are root only', async () => {
  const denied = await rawRequest(srv, 'POST', '/v1/projects', { token: env.alice.token, body: JSON.stringify({ projectId: 'p2', region: 'cn-north-4' }) });
  assert.equal(denied.status, 403);
  assert.equal(denied.json.code, 'ROOT_ONLY');
  const list = await rawRequest(srv, 'GET', '/v1/projects', { token: srv.rootToken });
  assert.deepEqual(list.json.items.map((p: any) => [p.projectId, p.region, p.vendor]), [[PROJECT_ID, 'cn-north-4', 'huaweicloud']]);
  const dup = await rawRequest(srv, 'POST', '/v1/projects', { token: srv.rootToken, body: JSON.stringify({ projectId: PROJECT_ID, region: 'cn-north-4' }) });
  assert.equal(dup.status, 409);
});

test('project remove is root only; the removed project\'s CCE paths then answer 404 naming the command that maps it', async () => {
  await cliJson(srv, srv.rootToken, ['project', 'add', 'p-removed', '--region', 'cn-north-4']);
  const asAlice = () => rawRequest(srv, 'POST', cceUrl('clustercert', 'p-removed'), { body: JSON.stringify({ duration: 1 }), headers: { 'x-auth-token': env.alice.token, 'content-type': 'application/json' } });
  assert.equal((await asAlice()).status, 200);
  const denied = await rawRequest(srv, 'DELETE', '/v1/projects/p-removed', { token: env.alice.token });
  assert.equal(denied.status, 403);
  assert.equal(denied.json.code, 'ROOT_ONLY');
  assert.deepEqual(await cliJson(srv, srv.rootToken, ['project', 'remove', 'p-removed']), { removed: true });
  const gone = await asAlice();
  assert.equal(gone.status, 404, gone.body);
  assert.equal(gone.json.error_code, 'CCE.01404001');
  assert.match(gone.json.error_msg, /kubecred project add/);
  assert.equal((await cli(srv, srv.rootToken, ['project', 'remove', 'p-removed'])).code, 4, 'already removed');
  const trail = await rawRequest(srv, 'GET', '/v1/audit?action=RemoveProject', { token: srv.rootToken });
  assert.deepEqual(trail.json.items.map((e: any) => [e.action, e.outcome]), [['RemoveProject', 'success'], ['kubecred:RemoveProject', 'denied']]);
});

test('a signed request sent again is refused with 401 APIGW.0301 and issues nothing more', async () => {
  const client = alice();
  let sent: { url: string; headers: Record<string, string>; data: string } | null = null;
  // Keep what the SDK signed and sent, to send exactly those bytes a second time.
  client.hcClient.httpClient._axiosInstance.interceptors.request.use((r: any) => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(r.headers ?? {})) if (typeof v === 'string') headers[k.toLowerCase()] = v;
    sent = { url: new URL(r.url, srv.url).pathname + (new URL(r.url, srv.url).search), headers, data: typeof r.data === 'string' ? r.data : JSON.stringify(r.data) };
    return r;
  });
  const first = await createCert(client, env.cluster.id, 3);
  assert.equal(first.httpStatusCode, 200);
  const before = await issuedCount();
  const { url, headers, data } = sent!;
  assert.match(headers.authorization ?? '', /^SDK-HMAC-SHA256 /);
  const replay = await rawRequest(srv, 'POST', url, { body: data, headers });
  assert.equal(replay.status, 401, replay.body);
  assert.equal(replay.json.error_code, 'APIGW.0301');
  assert.match(replay.json.error_msg, /already received/);
  assert.equal(await issuedCount(), before, 'the replay issued nothing');
  // A new request, signed anew, still works.
  assert.equal((await createCert(alice(), env.cluster.id, 4)).httpStatusCode, 200);
});
