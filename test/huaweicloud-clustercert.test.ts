// The Huawei Cloud CCE surface end to end: the official SDK (AK/SK) and a plain X-Auth-Token request
// fetch cluster certificates, the SDK's signed generic request revokes them, the native inventory agrees.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startFakeApiserver, type FakeApiserver } from './support/fake-apiserver.ts';
import { rawRequest } from './support/http.ts';
import { cli, cliJson } from './support/cli.ts';
import { cceClient, createCert, PROJECT_ID, revokeCert, sdkError, setupCce } from './support/huaweicloud-sdk.ts';
import { startServerProcess, type ServerProcess } from './support/server-process.ts';

let srv: ServerProcess;
let api: FakeApiserver;
let env: Awaited<ReturnType<typeof setupCce>>;
const DAY = 24 * 3600 * 1000;

before(async () => {
  srv = await startServerProcess();
  api = await startFakeApiserver();
  const caFile = path.join(srv.dataDir, 'apiserver-ca.pem');
  fs.writeFileSync(caFile, api.caPem);
  env = await setupCce(srv, { publicEndpoint: api.url, serverCaFile: caFile });
  api.setClientCa(env.cluster.clientCaPem);
});

after(async () => {
  await api?.close();
  await srv?.stop();
});

// Asynchronous: the fake API server lives in this process and must keep answering.
const kubectl = (...args: string[]) => new Promise<string>((resolve, reject) => {
  execFile('/usr/bin/kubectl', args, { encoding: 'utf8' }, (err, stdout, stderr) => (err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr}`)) : resolve(stdout)));
});

const certOf = (kubeconfig: any) => new crypto.X509Certificate(Buffer.from(kubeconfig.users[0].user['client-certificate-data'], 'base64'));
const cceUrl = (clusterId: string, op: string) => `/api/v3/projects/${PROJECT_ID}/clusters/${clusterId}/${op}`;
const inventory = async (principalId: string, status: string) =>
  (await rawRequest(srv, 'GET', `/v1/credentials?cluster=${env.cluster.id}&principal=${principalId}&status=${status}`, { token: srv.rootToken })).json.items as any[];

test('the SDK fetches a cluster certificate with AK/SK: CCE kubeconfig JSON, Port-ID, CN is the caller, the days asked for', async () => {
  const client = cceClient(srv, env.alice.ak, env.alice.sk, PROJECT_ID);
  const res = await createCert(client, env.cluster.id, 30);
  assert.equal(res.httpStatusCode, 200);
  assert.equal(res.kind, 'Config');
  assert.deepEqual(res.clusters.map((c: any) => [c.name, c.cluster.server]), [['internalCluster', 'https://10.0.0.10:6443'], ['externalCluster', api.url]]);
  assert.deepEqual(res.contexts.map((c: any) => c.name), ['internal', 'external']);
  assert.equal(res['current-context'], 'external');
  assert.ok(res.users[0].user['client-key-data']);
  assert.match(res['Port-ID'], /^crd_/);
  const cert = certOf(res);
  assert.equal(cert.subject, `CN=${env.alice.id}\nO=dev`);
  assert.ok(Math.abs(new Date(cert.validTo).getTime() - (Date.now() + 30 * DAY)) < 120_000, cert.validTo);
});

test('the kubeconfig parses with kubectl config view and its external context reaches the cluster as the caller', async () => {
  const res = await createCert(cceClient(srv, env.alice.ak, env.alice.sk, PROJECT_ID), env.cluster.id, 1);
  delete res.httpStatusCode;
  delete res['Port-ID'];
  const file = path.join(env.work, 'cce.kubeconfig');
  fs.writeFileSync(file, JSON.stringify(res), { mode: 0o600 });
  const view = JSON.parse(await kubectl('config', 'view', '--kubeconfig', file, '--raw', '-o', 'json'));
  assert.equal(view['current-context'], 'external');
  assert.equal(view.clusters.length, 2);
  const who = JSON.parse(await kubectl('--kubeconfig', file, 'get', '--raw', '/whoami'));
  assert.deepEqual(who.user, { name: env.alice.id, groups: ['dev'] });
});

test('a plain HTTPS request with X-Auth-Token fetches a certificate too; duration -1 is 1827 days; expire_at sets the end', async () => {
  const r = await rawRequest(srv, 'POST', cceUrl(env.cluster.id, 'clustercert'), { body: JSON.stringify({ duration: -1 }), headers: { 'x-auth-token': env.alice.token } });
  assert.equal(r.status, 200, r.body);
  assert.match(String(r.headers['port-id']), /^crd_/);
  assert.match(String(r.headers['x-request-id']), /^req_/);
  assert.equal(r.headers['cache-control'], 'no-store', 'the answer holds a private key: no cache may keep it');
  assert.ok(Math.abs(new Date(certOf(r.json).validTo).getTime() - (Date.now() + 1827 * DAY)) < 120_000);
  const end = new Date(Date.now() + 3 * DAY);
  const goTime = `${end.toISOString().slice(0, 10)} ${end.toISOString().slice(11, 19)} +0000 UTC`;
  const e = await rawRequest(srv, 'POST', cceUrl(env.cluster.id, 'clustercert'), { body: JSON.stringify({ expire_at: goTime, duration: 5 }), headers: { 'x-auth-token': env.alice.token } });
  assert.equal(e.status, 200, e.body);
  assert.ok(Math.abs(new Date(certOf(e.json).validTo).getTime() - end.getTime()) < 2000);
});

test('revoke through the SDK signed generic request revokes every certificate of the user; the native inventory agrees; a new one can be fetched', async () => {
  const client = cceClient(srv, env.alice.ak, env.alice.sk, PROJECT_ID);
  const active = await inventory(env.alice.id, 'active');
  assert.ok(active.length >= 4);
  const res = await revokeCert(client, env.cluster.id, { userId: env.alice.id });
  assert.equal(res.httpStatusCode, 200);
  assert.equal((await inventory(env.alice.id, 'active')).length, 0);
  const revoked = await inventory(env.alice.id, 'revoked');
  assert.deepEqual(revoked.map((c) => c.id).sort(), active.map((c) => c.id).sort());
  const again = await createCert(client, env.cluster.id, 7);
  const now = await inventory(env.alice.id, 'active');
  assert.deepEqual(now.map((c) => c.id), [again['Port-ID']]);
});

test('the account root revokes an agency (role) with agencyId', async () => {
  const role = JSON.parse((await rawRequest(srv, 'POST', '/v1/principals', { token: srv.rootToken, body: JSON.stringify({ name: 'ci-agency', kind: 'role' }) })).body);
  const root = cceClient(srv, srv.accessKeyId, srv.accessKeySecret, PROJECT_ID);
  const r = await revokeCert(root, env.cluster.id, { agencyId: role.id });
  assert.equal(r.httpStatusCode, 200);
});

test("a deleted user's ID, read off the audit trail's deletion event (002's method 2), is revoked through the SDK; nothing it held is left usable", async () => {
  await cliJson(srv, srv.rootToken, ['principal', 'create', 'leaver']);
  await cliJson(srv, srv.rootToken, ['policy', 'attach', 'cce-self', '--principal', 'leaver']);
  const key = await cliJson(srv, srv.rootToken, ['accesskey', 'create', '--principal', 'leaver']);
  const leaver = cceClient(srv, key.accessKeyId, key.accessKeySecret, PROJECT_ID);
  const cert = await createCert(leaver, env.cluster.id, 3);
  await cliJson(srv, srv.rootToken, ['principal', 'delete', 'leaver']);
  // The CTS deleteUser event's resource ID is kubecred's DeletePrincipal event's.
  const [event] = await cliJson(srv, srv.rootToken, ['audit', 'list', '--action', 'DeletePrincipal']);
  const userId = event.resourceId as string;
  assert.equal(userId, certOf(cert).subject.match(/CN=([^\n]+)/)![1], 'the CN of what it downloaded is the same ID');

  const root = cceClient(srv, srv.accessKeyId, srv.accessKeySecret, PROJECT_ID);
  assert.equal((await revokeCert(root, env.cluster.id, { userId })).httpStatusCode, 200);
  const rows = await cliJson(srv, srv.rootToken, ['credential', 'list', '--principal', userId]);
  assert.deepEqual(rows.map((c: any) => [c.id, c.status]), [[cert['Port-ID'], 'revoked']], 'the inventory still lists it by the deleted ID');
  const revocations = await cliJson(srv, srv.rootToken, ['audit', 'list', '--action', 'RevokeKubeconfig', '--resource', env.cluster.id]);
  assert.ok(revocations.some((e: any) => e.detail.principal === userId && e.outcome === 'success'), 'the revocation is audited');
  // Its name is free for someone new, and names only the living.
  const byName = await sdkError(revokeCert(root, env.cluster.id, { userId: 'leaver' }));
  assert.equal(byName.httpStatusCode, 404);
});

test("who may revoke whom: ACK's self-only revoke grants nothing here; CCE's revoke reaches other users but never the root", async () => {
  // carol holds exactly docs/aliyun.md's example: her own kubeconfigs through ACK.
  await cliJson(srv, srv.rootToken, ['principal', 'create', 'carol']);
  await cliJson(srv, srv.rootToken, ['policy', 'create', 'ack-self', '--document', JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: ['cs:DescribeClusterUserKubeconfig', 'cs:RevokeK8sClusterKubeConfig'], Resource: 'acs:cs:*:*:cluster/*' }] })]);
  await cliJson(srv, srv.rootToken, ['policy', 'attach', 'ack-self', '--principal', 'carol']);
  const carolKey = await cliJson(srv, srv.rootToken, ['accesskey', 'create', '--principal', 'carol']);
  const carolToken = (await cliJson(srv, srv.rootToken, ['token', 'create', '--principal', 'carol'])).token;
  const dave = await cliJson(srv, srv.rootToken, ['principal', 'create', 'dave']);
  await rawRequest(srv, 'POST', `/v1/clusters/${env.cluster.id}/kubeconfig`, { token: srv.rootToken, body: '{}' });
  await rawRequest(srv, 'POST', `/v1/clusters/${env.cluster.id}/kubeconfig`, { token: srv.rootToken, body: JSON.stringify({ principalId: dave.id }) });
  const rootId = (await rawRequest(srv, 'GET', '/v1/whoami', { token: srv.rootToken })).json.principal.id;

  const carolCce = cceClient(srv, carolKey.accessKeyId, carolKey.accessKeySecret, PROJECT_ID);
  for (const userId of [dave.id, rootId]) {
    const e = await sdkError(revokeCert(carolCce, env.cluster.id, { userId }));
    assert.equal(e.httpStatusCode, 403, `carol revoking ${userId} through CCE`);
  }
  const native = await cli(srv, carolToken, ['revoke', '--cluster', env.cluster.id, '--principal', 'dave']);
  assert.equal(native.code, 3, native.stderr);
  assert.match(native.stderr, /RevokeUserKubeconfig/);
  assert.equal((await inventory(dave.id, 'active')).length, 1, "dave's kubeconfig survived");
  assert.equal((await inventory(rootId, 'active')).length, 1, "the root's kubeconfig survived");
  // Her own: allowed through each surface her policy names (ACK's action also covers the native revoke of her own).
  assert.equal((await cli(srv, carolToken, ['revoke', '--cluster', env.cluster.id])).code, 0);

  // alice holds CCE's revoke: other users' kubeconfigs, but not the root's.
  const alice = cceClient(srv, env.alice.ak, env.alice.sk, PROJECT_ID);
  assert.equal((await revokeCert(alice, env.cluster.id, { userId: dave.id })).httpStatusCode, 200);
  assert.equal((await inventory(dave.id, 'active')).length, 0);
  const onRoot = await sdkError(revokeCert(alice, env.cluster.id, { userId: rootId }));
  assert.equal(onRoot.httpStatusCode, 403);
  assert.equal((await inventory(rootId, 'active')).length, 1);
  const denials = (await rawRequest(srv, 'GET', '/v1/audit?outcome=denied&action=kubecred:RevokeUserKubeconfig', { token: srv.rootToken })).json.items;
  assert.ok(denials.length >= 3, 'each refusal audited');

});

test('a name in userId or agencyId must name that kind of principal; a service mesh is not a CCE cluster', async () => {
  const root = cceClient(srv, srv.accessKeyId, srv.accessKeySecret, PROJECT_ID);
  await cliJson(srv, srv.rootToken, ['principal', 'create', 'deployer', '--kind', 'role']);
  for (const [body, field] of [[{ agencyId: 'alice' }, 'agencyId'], [{ userId: 'deployer' }, 'userId']] as const) {
    const e = await sdkError(revokeCert(root, env.cluster.id, body));
    assert.equal(e.httpStatusCode, 400, JSON.stringify(body));
    assert.match(e.errorMsg, new RegExp(field === 'agencyId' ? 'userId' : 'agencyId'));
  }
  const mesh = await cliJson(srv, srv.rootToken, ['cluster', 'create', 'mesh', '--kind', 'service-mesh', '--public-endpoint', 'https://203.0.113.40:6443', '--region', 'cn-north-4']);
  const get = await sdkError(createCert(root, mesh.id, 1));
  assert.equal(get.httpStatusCode, 404);
  const revoke = await sdkError(revokeCert(root, mesh.id, { userId: env.alice.id }));
  assert.equal(revoke.httpStatusCode, 404);
});

test("a project is one region's: a cluster of another region is not found through it, as CCE answers", async () => {
  const sg = await cliJson(srv, srv.rootToken, ['cluster', 'create', 'sg', '--public-endpoint', 'https://192.0.2.60:6443', '--region', 'ap-southeast-1']);
  const root = cceClient(srv, srv.accessKeyId, srv.accessKeySecret, PROJECT_ID);
  const get = await sdkError(createCert(root, sg.id, 1));
  assert.equal(get.httpStatusCode, 404);
  assert.match(get.errorMsg, /ap-southeast-1.*cn-north-4/);
  assert.equal((await sdkError(revokeCert(root, sg.id, { userId: env.alice.id }))).httpStatusCode, 404);
  assert.deepEqual(await cliJson(srv, srv.rootToken, ['credential', 'list', '--cluster', 'sg']), []);
  // Through a project of its own region it is there.
  await cliJson(srv, srv.rootToken, ['project', 'add', 'b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6', '--region', 'ap-southeast-1']);
  const inRegion = cceClient(srv, srv.accessKeyId, srv.accessKeySecret, 'b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6');
  assert.match((await createCert(inRegion, sg.id, 1))['Port-ID'], /^crd_/);
});

test('a token cluster answers a kubeconfig carrying its bearer token, which kubectl reads', async () => {
  const tok = await cliJson(srv, srv.rootToken, ['cluster', 'create', 'tokens', '--token-kubeconfigs', '--public-endpoint', 'https://203.0.113.30:6443', '--region', 'cn-north-4']);
  const res = await createCert(cceClient(srv, env.alice.ak, env.alice.sk, PROJECT_ID), tok.id, 1);
  assert.deepEqual(Object.keys(res.users[0].user), ['token']);
  assert.match(res.users[0].user.token, /^kct1\./);
  delete res.httpStatusCode;
  delete res['Port-ID'];
  const file = path.join(env.work, 'cce-token.kubeconfig');
  fs.writeFileSync(file, JSON.stringify(res), { mode: 0o600 });
  const view = JSON.parse(await kubectl('config', 'view', '--kubeconfig', file, '--raw', '-o', 'json'));
  assert.equal(view.users[0].user.token, res.users[0].user.token);
});

test('a certificate with the days or the end asked for is kind explicit in the inventory, not temporary (15 minutes to 3 days); the summary counts it in its band', async () => {
  const days = await createCert(cceClient(srv, env.alice.ak, env.alice.sk, PROJECT_ID), env.cluster.id, 400);
  const end = new Date(Date.now() + 2 * DAY);
  const byEnd = await rawRequest(srv, 'POST', cceUrl(env.cluster.id, 'clustercert'), { body: JSON.stringify({ expire_at: end.toISOString().replace(/\.\d+Z$/, 'Z') }), headers: { 'x-auth-token': env.alice.token } });
  assert.equal(byEnd.status, 200, byEnd.body);
  const temporary = await rawRequest(srv, 'POST', `/v1/clusters/${env.cluster.id}/kubeconfig`, { token: srv.rootToken, body: JSON.stringify({ temporaryMinutes: 60 }) });
  assert.equal(temporary.status, 200, temporary.body);

  const cce = [days['Port-ID'], byEnd.headers['port-id']] as string[];
  for (const id of cce) assert.equal((await rawRequest(srv, 'GET', `/v1/credentials/${id}`, { token: srv.rootToken })).json.kind, 'explicit', id);
  assert.equal(temporary.json.credential.kind, 'temporary');
  const ofKind = async (kind: string) => (await cliJson(srv, srv.rootToken, ['credential', 'list', '--cluster', env.cluster.id, '--kind', kind])).map((c: any) => c.id);
  assert.deepEqual((await ofKind('explicit')).filter((id: string) => cce.includes(id)).sort(), [...cce].sort());
  const temporaries = await ofKind('temporary');
  assert.ok(temporaries.includes(temporary.json.credential.id) && !cce.some((id) => temporaries.includes(id)));

  const summary = (await rawRequest(srv, 'GET', `/v1/clusters/${env.cluster.id}/kubeconfig-summary`, { token: srv.rootToken })).json;
  const band = (untilDays: number) => summary.expiry.bands.find((b: any) => b.untilDays === untilDays);
  assert.ok(band(730).explicit >= 1, '400 days: the 1-2 years band');
  assert.ok(band(7).explicit >= 1, 'two days: the 1-7 days band');
  assert.ok(summary.holders.find((h: any) => h.principalId === env.alice.id).kinds.includes('explicit'));
});
