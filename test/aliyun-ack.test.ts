// ACK and ASM kubeconfig operations driven by the official Alibaba Cloud SDKs against the real server:
// @alicloud/cs20151215 (ACS3, and ROA v1 via signatureAlgorithm "v2") and @alicloud/openapi-client for ASM RPC.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import CsModule, * as Cs from '@alicloud/cs20151215';
import { $OpenApiUtil, OpenApiUtil } from '@alicloud/openapi-core';
import * as $dara from '@darabonba/typescript';
import OpenApiClientModule, * as OpenApiClient from '@alicloud/openapi-client';
import { cliJson } from './support/cli.ts';
import { rawRequest } from './support/http.ts';
import { startServerProcess, tempDir, type ServerProcess } from './support/server-process.ts';
import { rejectionOf } from './support/rejection.ts';

const CsClient = ((CsModule as any).default ?? CsModule) as unknown as typeof CsModule.default;
const LegacyClient = ((OpenApiClientModule as any).default ?? OpenApiClientModule) as unknown as typeof OpenApiClientModule.default;

let srv: ServerProcess;
let work: string;
let ca: string;
let prod: { id: string };
let mesh: { id: string };
let alice: { id: string };
let bob: { id: string };
let aliceKey: { accessKeyId: string; accessKeySecret: string };
let bobKey: { accessKeyId: string; accessKeySecret: string };

const endpoint = () => new URL(srv.url).host;

function ack(key: { accessKeyId: string; accessKeySecret: string }, v1 = false) {
  return new CsClient(new $OpenApiUtil.Config({
    accessKeyId: key.accessKeyId, accessKeySecret: key.accessKeySecret, endpoint: endpoint(), protocol: 'https', ca,
    ...(v1 ? { signatureAlgorithm: 'v2' } : {}),
  }));
}
const rootKey = () => ({ accessKeyId: srv.accessKeyId, accessKeySecret: srv.accessKeySecret });

/** ASM has no SDK on the registry: the generic client builds the RPC call exactly as the generated one does. */
async function asm(key: { accessKeyId: string; accessKeySecret: string }, action: string, params: Record<string, string>, where: 'query' | 'body', v1 = false): Promise<any> {
  const client = new LegacyClient(new OpenApiClient.Config({
    accessKeyId: key.accessKeyId, accessKeySecret: key.accessKeySecret, endpoint: endpoint(), protocol: 'https', ca,
    ...(v1 ? { signatureAlgorithm: 'v2' } : {}),
  }));
  const req = new OpenApiClient.OpenApiRequest(where === 'query' ? { query: params } : { body: params });
  const p = new OpenApiClient.Params({ action, version: '2020-01-11', protocol: 'HTTPS', pathname: '/', method: 'POST', authType: 'AK', style: 'RPC', reqBodyType: 'formData', bodyType: 'json' });
  return (await client.callApi(p, req, { ca } as any)).body;
}

const kubectl = (...args: string[]) => new Promise<string>((resolve, reject) => {
  execFile('/usr/bin/kubectl', args, { encoding: 'utf8' }, (err, stdout, stderr) => (err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr}`)) : resolve(stdout)));
});

/** Parses the kubeconfig with kubectl's own loader and returns its client certificate. */
async function certOf(config: string): Promise<crypto.X509Certificate> {
  const file = path.join(work, `k-${crypto.randomUUID()}.yaml`);
  fs.writeFileSync(file, config, { mode: 0o600 });
  const view = JSON.parse(await kubectl('config', 'view', '--kubeconfig', file, '--raw', '-o', 'json'));
  return new crypto.X509Certificate(Buffer.from(view.users[0].user['client-certificate-data'], 'base64'));
}
const serverOf = async (config: string) => {
  const file = path.join(work, `s-${crypto.randomUUID()}.yaml`);
  fs.writeFileSync(file, config, { mode: 0o600 });
  return JSON.parse(await kubectl('config', 'view', '--kubeconfig', file, '-o', 'json')).clusters[0].cluster.server;
};
const cnOf = (c: crypto.X509Certificate) => /CN=([^\n,]+)/.exec(c.subject)?.[1];
const notAfterMs = (c: crypto.X509Certificate) => new Date(c.validTo).getTime();

const sdkError = (p: Promise<unknown>) => rejectionOf(p);

/** An ACS3-signed ROA request built by hand (the root's key), for bodies and headers the SDK never sends. */
function signedRaw(method: string, pathname: string, action: string, body: string, contentType = 'application/json; charset=utf-8') {
  const req = new $dara.Request();
  req.method = method;
  req.pathname = pathname;
  req.headers = {
    host: endpoint(), 'x-acs-version': '2015-12-15', 'x-acs-action': action, 'x-acs-date': new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    'x-acs-signature-nonce': crypto.randomUUID(), 'content-type': contentType, 'x-acs-content-sha256': crypto.createHash('sha256').update(body).digest('hex'),
  };
  req.query = {};
  req.headers.authorization = OpenApiUtil.getAuthorization(req, 'ACS3-HMAC-SHA256', req.headers['x-acs-content-sha256']!, srv.accessKeyId, srv.accessKeySecret);
  return rawRequest(srv, method, pathname, { body, headers: req.headers });
}

before(async () => {
  srv = await startServerProcess();
  work = tempDir('kubecred-aliyun-');
  ca = fs.readFileSync(srv.caFile, 'utf8');
  prod = await cliJson(srv, srv.rootToken, ['cluster', 'create', 'prod', '--public-endpoint', 'https://203.0.113.10:6443', '--private-endpoint', 'https://10.0.0.10:6443', '--region', 'cn-hangzhou']);
  mesh = await cliJson(srv, srv.rootToken, ['cluster', 'create', 'mesh', '--kind', 'service-mesh', '--public-endpoint', 'https://203.0.113.20:6443', '--private-endpoint', 'https://10.0.0.20:6443']);
  alice = await cliJson(srv, srv.rootToken, ['principal', 'create', 'alice', '--group', 'dev']);
  bob = await cliJson(srv, srv.rootToken, ['principal', 'create', 'bob']);
  const doc = { Version: '1', Statement: [
    { Effect: 'Allow', Action: ['cs:DescribeClusterUserKubeconfig', 'cs:DescribeClusterV2UserKubeconfig', 'cs:RevokeK8sClusterKubeConfig', 'servicemesh:*'], Resource: '*' },
    { Effect: 'Allow', Action: ['cs:ListClusterKubeconfigStates'], Resource: `acs:cs:cn-hangzhou:*:cluster/${prod.id}` },
    { Effect: 'Deny', Action: ['cs:DescribeClusterUserKubeconfig'], Resource: '*', Condition: { NumericGreaterThan: { 'cs:KubeConfigDurationMinutes': '1440' } } },
  ] };
  fs.writeFileSync(path.join(work, 'aliyun.json'), JSON.stringify(doc));
  await cliJson(srv, srv.rootToken, ['policy', 'create', 'aliyun-self', '--file', path.join(work, 'aliyun.json')]);
  await cliJson(srv, srv.rootToken, ['policy', 'attach', 'aliyun-self', '--principal', 'alice']);
  aliceKey = await cliJson(srv, srv.rootToken, ['accesskey', 'create', '--principal', 'alice']);
  bobKey = await cliJson(srv, srv.rootToken, ['accesskey', 'create', '--principal', 'bob']);
});

after(async () => {
  await srv?.stop();
});

test('DescribeClusterUserKubeconfig: kubectl parses it, CN is the user, expiration is RFC 3339 UTC and equals notAfter', async () => {
  const r = await ack(aliceKey).describeClusterUserKubeconfig(prod.id, new Cs.DescribeClusterUserKubeconfigRequest({}));
  assert.equal(r.statusCode, 200);
  assert.match(r.body!.expiration!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const cert = await certOf(r.body!.config!);
  assert.equal(cnOf(cert), alice.id);
  assert.equal(notAfterMs(cert), Date.parse(r.body!.expiration!));
  assert.ok(Date.parse(r.body!.expiration!) > Date.now() + 2.9 * 365 * 86400_000, 'the default lasts three years');
  assert.equal(await serverOf(r.body!.config!), 'https://203.0.113.10:6443');
  const again = await ack(aliceKey).describeClusterUserKubeconfig(prod.id, new Cs.DescribeClusterUserKubeconfigRequest({}));
  assert.equal(again.body!.config, r.body!.config, 'asking again returns the same default kubeconfig');
  assert.ok(r.headers!['x-acs-request-id']);
});

test('PrivateIpAddress picks the private endpoint; the V2 operation answers the config alone', async () => {
  const p = await ack(aliceKey).describeClusterUserKubeconfig(prod.id, new Cs.DescribeClusterUserKubeconfigRequest({ privateIpAddress: true }));
  assert.equal(await serverOf(p.body!.config!), 'https://10.0.0.10:6443');
  const v2 = await ack(aliceKey).describeClusterV2UserKubeconfig(prod.id, new Cs.DescribeClusterV2UserKubeconfigRequest({ privateIpAddress: false }));
  assert.equal(await serverOf(v2.body!.config!), 'https://203.0.113.10:6443');
});

test('TemporaryDurationMinutes is honoured; 14 and 4321 are refused with InvalidParameter', async () => {
  const t = await ack(aliceKey).describeClusterUserKubeconfig(prod.id, new Cs.DescribeClusterUserKubeconfigRequest({ temporaryDurationMinutes: 30 }));
  const cert = await certOf(t.body!.config!);
  assert.equal(notAfterMs(cert), Date.parse(t.body!.expiration!));
  assert.ok(Math.abs(notAfterMs(cert) - (Date.now() + 30 * 60_000)) < 120_000);
  for (const minutes of [14, 4321]) {
    const e = await sdkError(ack(aliceKey).describeClusterUserKubeconfig(prod.id, new Cs.DescribeClusterUserKubeconfigRequest({ temporaryDurationMinutes: minutes })));
    assert.equal(e.code, 'InvalidParameter');
    assert.equal(e.statusCode, 400);
    assert.match(e.message, /15 to 4320/);
    // Named as sent, not as core calls it (temporaryMinutes).
    assert.match(e.message, /The specified parameter "TemporaryDurationMinutes" is not valid/);
    assert.doesNotMatch(e.message, /temporaryMinutes/);
    assert.match(e.requestId, /^req_/);
  }
});

test('the condition key cs:KubeConfigDurationMinutes bounds temporary kubeconfigs, and the denial answers like the vendor', async () => {
  const e = await sdkError(ack(aliceKey).describeClusterUserKubeconfig(prod.id, new Cs.DescribeClusterUserKubeconfigRequest({ temporaryDurationMinutes: 2000 })));
  assert.equal(e.code, 'Forbidden.RAM');
  assert.equal(e.statusCode, 403);
  assert.match(e.requestId, /^req_/);
  assert.match(e.message, /explicitly denied/);
  assert.equal(e.accessDeniedDetail.AuthAction, 'cs:DescribeClusterUserKubeconfig');
  assert.equal(e.accessDeniedDetail.NoPermissionType, 'ExplicitDeny');
  const none = await sdkError(ack(bobKey).describeClusterUserKubeconfig(prod.id, new Cs.DescribeClusterUserKubeconfigRequest({})));
  assert.equal(none.code, 'Forbidden.RAM');
  assert.equal(none.accessDeniedDetail.NoPermissionType, 'ImplicitDeny');
});

test('an unknown cluster, or a service mesh asked through ACK, is ErrorClusterNotFound', async () => {
  for (const id of ['cls_doesnotexist', mesh.id]) {
    const e = await sdkError(ack(rootKey()).describeClusterUserKubeconfig(id, new Cs.DescribeClusterUserKubeconfigRequest({})));
    assert.equal(e.code, 'ErrorClusterNotFound');
    assert.equal(e.statusCode, 404);
    assert.match(e.requestId, /^req_/);
  }
});

test('DescribeSubaccountK8sClusterUserConfig: the root fetches a user\'s kubeconfig; a user without the grant is refused', async () => {
  const r = await ack(rootKey()).describeSubaccountK8sClusterUserConfig(prod.id, bob.id, new Cs.DescribeSubaccountK8sClusterUserConfigRequest({ temporaryDurationMinutes: 60 }));
  assert.equal(cnOf(await certOf(r.body!.config!)), bob.id);
  assert.match(r.body!.expiration!, /Z$/);
  const e = await sdkError(ack(aliceKey).describeSubaccountK8sClusterUserConfig(prod.id, bob.id, new Cs.DescribeSubaccountK8sClusterUserConfigRequest({})));
  assert.equal(e.code, 'Forbidden.RAM');
});

test("DescribeSubaccountK8sClusterUserConfig never hands the root's kubeconfig to anyone but the root, whatever the policies say", async () => {
  await cliJson(srv, srv.rootToken, ['principal', 'create', 'helpdesk']);
  await cliJson(srv, srv.rootToken, ['policy', 'create', 'subaccount-configs', '--document', JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: ['cs:DescribeSubaccountK8sClusterUserConfig'], Resource: '*' }] })]);
  await cliJson(srv, srv.rootToken, ['policy', 'attach', 'subaccount-configs', '--principal', 'helpdesk']);
  const key = await cliJson(srv, srv.rootToken, ['accesskey', 'create', '--principal', 'helpdesk']);
  const rootId = (await cliJson(srv, srv.rootToken, ['whoami'])).id;
  const ofBob = await ack(key).describeSubaccountK8sClusterUserConfig(prod.id, bob.id, new Cs.DescribeSubaccountK8sClusterUserConfigRequest({}));
  assert.equal(cnOf(await certOf(ofBob.body!.config!)), bob.id);
  const ofRoot = await sdkError(ack(key).describeSubaccountK8sClusterUserConfig(prod.id, rootId, new Cs.DescribeSubaccountK8sClusterUserConfigRequest({})));
  assert.equal(ofRoot.code, 'Forbidden.RAM');
  assert.match(ofRoot.message, /only the account's root/);
});

test('UpdateK8sClusterUserConfigExpire is root-only, refuses 0 and 876001 hours, and sets the next kubeconfig\'s validity', async () => {
  const denied = await sdkError(ack(aliceKey).updateK8sClusterUserConfigExpire(prod.id, new Cs.UpdateK8sClusterUserConfigExpireRequest({ expireHour: 24, user: alice.id })));
  assert.equal(denied.code, 'Forbidden.RAM');
  assert.match(denied.message, /root/);
  for (const hours of [0, 876001]) {
    const e = await sdkError(ack(rootKey()).updateK8sClusterUserConfigExpire(prod.id, new Cs.UpdateK8sClusterUserConfigExpireRequest({ expireHour: hours, user: alice.id })));
    assert.equal(e.code, 'InvalidParameter', `${hours} hours`);
    // Named as sent (expire_hour), not as core calls it (hours).
    assert.match(e.message, /The specified parameter "expire_hour" is not valid: must be a whole number of hours from 1 to 876000; got \d+/, `${hours} hours`);
  }
  // A number beyond double range (the SDK cannot send one: sign the raw body) is said to be out of range, not "null".
  const expire = (body: string, contentType?: string) => signedRaw('POST', `/k8s/${prod.id}/user_config/expire`, 'UpdateK8sClusterUserConfigExpire', body, contentType);
  const huge = await expire('{"expire_hour": 1e400, "user": "' + alice.id + '"}');
  assert.equal(huge.status, 400, huge.body);
  assert.equal(huge.json.code, 'InvalidParameter');
  assert.match(huge.json.message, /"expire_hour" is not valid: .*got a number out of range$/);
  // A user that is not a string is invalid, not "missing"; one longer than any ID is refused without echoing it.
  const numeric = await expire('{"expire_hour": 24, "user": 5}');
  assert.equal(numeric.json.code, 'InvalidParameter', numeric.body);
  const long = await expire(JSON.stringify({ expire_hour: 24, user: 'u'.repeat(100_000) }));
  assert.equal(long.json.code, 'InvalidParameter', long.body.slice(0, 300));
  assert.ok(long.body.length < 1000, 'the value is not echoed');
  // A body that is not declared JSON is refused, as the native and CCE surfaces refuse it.
  const plain = await expire(JSON.stringify({ expire_hour: 24, user: alice.id }), 'text/plain');
  assert.equal(plain.status, 415, plain.body);
  assert.equal(plain.json.code, 'UnsupportedMediaType');
  const ok = await ack(rootKey()).updateK8sClusterUserConfigExpire(prod.id, new Cs.UpdateK8sClusterUserConfigExpireRequest({ expireHour: 48, user: alice.id }));
  assert.equal(ok.statusCode, 200);
  const k = await ack(aliceKey).describeClusterUserKubeconfig(prod.id, new Cs.DescribeClusterUserKubeconfigRequest({}));
  assert.ok(Math.abs(Date.parse(k.body!.expiration!) - (Date.now() + 48 * 3600_000)) < 120_000);
});

test('RevokeK8sClusterKubeConfig: the user list marks it Removed, the cluster list drops it, and a new one can be fetched', async () => {
  await ack(aliceKey).describeClusterUserKubeconfig(prod.id, new Cs.DescribeClusterUserKubeconfigRequest({}));
  const listed = await ack(aliceKey).listClusterKubeconfigStates(prod.id, new Cs.ListClusterKubeconfigStatesRequest({ pageNumber: 1, pageSize: 50 }));
  const mine = listed.body!.states!.find((s) => s.accountId === alice.id)!;
  assert.equal(mine.certState, 'Unexpired');
  assert.equal(mine.accountType, 'RamUser');
  assert.equal(mine.revokable, true);
  assert.equal(listed.body!.page!.pageNumber, 1);
  const r = await ack(aliceKey).revokeK8sClusterKubeConfig(prod.id);
  assert.equal(r.statusCode, 200);
  const user = await ack(rootKey()).listUserKubeConfigStates(alice.id, new Cs.ListUserKubeConfigStatesRequest({ pageNumber: 1, pageSize: 10 }));
  const onProd = user.body!.states!.find((s) => s.clusterId === prod.id)!;
  assert.equal(onProd.certState, 'Removed');
  assert.equal(onProd.clusterName, 'prod');
  const after = await ack(rootKey()).listClusterKubeconfigStates(prod.id, new Cs.ListClusterKubeconfigStatesRequest({}));
  assert.equal(after.body!.states!.find((s) => s.accountId === alice.id), undefined);
  const fresh = await ack(aliceKey).describeClusterUserKubeconfig(prod.id, new Cs.DescribeClusterUserKubeconfigRequest({}));
  assert.ok(Date.parse(fresh.body!.expiration!) > Date.now() + 2.9 * 365 * 86400_000, 'the revocation reset the custom validity');
  const native = await cliJson(srv, srv.rootToken, ['credential', 'list', '--cluster', 'prod', '--principal', 'alice', '--state', 'revoked']);
  assert.ok(native.length >= 1);
});

test('ListClusterKubeconfigStates lists each holder once, users and roles with their own type, read in one batch', async () => {
  const names = ['holder-u1', 'holder-u2', 'holder-r1'];
  const ids: Record<string, string> = {};
  for (const n of names) {
    const p = await cliJson(srv, srv.rootToken, ['principal', 'create', n, ...(n.includes('-r') ? ['--kind', 'role'] : [])]);
    ids[n] = p.id;
    for (let i = 0; i < 2; i++) {
      const r = await rawRequest(srv, 'POST', `/v1/clusters/${prod.id}/kubeconfig`, { token: srv.rootToken, body: JSON.stringify({ principalId: p.id, ...(i ? { temporaryMinutes: 30 } : {}) }) });
      assert.equal(r.status, 200, r.body);
    }
  }
  const states = (await ack(rootKey()).listClusterKubeconfigStates(prod.id, new Cs.ListClusterKubeconfigStatesRequest({ pageSize: 50 }))).body!.states!;
  for (const n of names) {
    const rows = states.filter((s) => s.accountId === ids[n]);
    assert.equal(rows.length, 1, `${n} listed once`);
    assert.equal(rows[0]!.accountName, n);
    assert.equal(rows[0]!.accountType, n.includes('-r') ? 'RamRole' : 'RamUser');
    assert.equal(rows[0]!.accountState, 'Active');
    assert.equal(rows[0]!.certState, 'Unexpired');
  }
  const sorted = states.map((s) => s.accountId!);
  assert.deepEqual(sorted, [...sorted].sort((a, b) => a.localeCompare(b)), 'ordered by principal ID');
});

test('a kubeconfig superseded by a new validity is listed as Removed (the webhook denies it), until the next one is fetched', async () => {
  const carol = await cliJson(srv, srv.rootToken, ['principal', 'create', 'carol-superseded']);
  const stateOnProd = async () => (await ack(rootKey()).listUserKubeConfigStates(carol.id, new Cs.ListUserKubeConfigStatesRequest({ pageNumber: 1, pageSize: 100 }))).body!.states!.find((s) => s.clusterId === prod.id)!.certState;
  await ack(rootKey()).describeSubaccountK8sClusterUserConfig(prod.id, carol.id, new Cs.DescribeSubaccountK8sClusterUserConfigRequest({}));
  assert.equal(await stateOnProd(), 'Unexpired');
  await ack(rootKey()).updateK8sClusterUserConfigExpire(prod.id, new Cs.UpdateK8sClusterUserConfigExpireRequest({ expireHour: 48, user: carol.id }));
  assert.equal(await stateOnProd(), 'Removed');
  const onCluster = await ack(rootKey()).listClusterKubeconfigStates(prod.id, new Cs.ListClusterKubeconfigStatesRequest({}));
  assert.equal(onCluster.body!.states!.find((s) => s.accountId === carol.id), undefined, 'not listed as holding a usable kubeconfig');
  await ack(rootKey()).describeSubaccountK8sClusterUserConfig(prod.id, carol.id, new Cs.DescribeSubaccountK8sClusterUserConfigRequest({}));
  assert.equal(await stateOnProd(), 'Unexpired');
});

test('ListUserKubeConfigStates says Unissued for a cluster where the user never had a kubeconfig, with vendor paging', async () => {
  await cliJson(srv, srv.rootToken, ['cluster', 'create', 'empty', '--public-endpoint', 'https://203.0.113.30:6443']);
  const r = await ack(rootKey()).listUserKubeConfigStates(bob.id, new Cs.ListUserKubeConfigStatesRequest({ pageNumber: 1, pageSize: 100 }));
  assert.equal(r.body!.states!.find((s) => s.clusterName === 'empty')!.certState, 'Unissued');
  assert.equal(r.body!.page!.totalCount, 2, 'kubernetes clusters only');
  const bad = await sdkError(ack(rootKey()).listUserKubeConfigStates(bob.id, new Cs.ListUserKubeConfigStatesRequest({ pageSize: 101 })));
  assert.equal(bad.code, 'InvalidParameter');
});

test("ListUserKubeConfigStates on oneself shows the clusters one holds something on or may get kubeconfigs of, not the account's others", async () => {
  const lister = await grantee('self-lister', [{ Effect: 'Allow', Action: 'ram:ListUsers', Resource: '*' }]);
  const mine = async () => (await ack(lister).listUserKubeConfigStates((await cliJson(srv, srv.rootToken, ['principal', 'show', 'self-lister'])).id, new Cs.ListUserKubeConfigStatesRequest({}))).body!.states!;
  assert.deepEqual(await mine(), [], 'no policy, nothing held: no cluster names');
  const id = (await cliJson(srv, srv.rootToken, ['principal', 'show', 'self-lister'])).id;
  assert.equal((await rawRequest(srv, 'POST', `/v1/clusters/${prod.id}/kubeconfig`, { token: srv.rootToken, body: JSON.stringify({ principalId: id }) })).status, 200);
  assert.deepEqual((await mine()).map((s) => [s.clusterName, s.certState]), [['prod', 'Unexpired']]);
});

test('CleanClusterUserPermissions and CleanUserPermissions revoke the kubeconfigs; the whole clean also removes the grants', async () => {
  const carol = await cliJson(srv, srv.rootToken, ['principal', 'create', 'carol']);
  await cliJson(srv, srv.rootToken, ['policy', 'attach', 'aliyun-self', '--principal', 'carol']);
  const carolKey = await cliJson(srv, srv.rootToken, ['accesskey', 'create', '--principal', 'carol']);
  await ack(carolKey).describeClusterUserKubeconfig(prod.id, new Cs.DescribeClusterUserKubeconfigRequest({}));
  await ack(rootKey()).cleanClusterUserPermissions(prod.id, carol.id, new Cs.CleanClusterUserPermissionsRequest({ force: true }));
  let active = await cliJson(srv, srv.rootToken, ['credential', 'list', '--principal', 'carol', '--state', 'active']);
  assert.equal(active.length, 0);
  await ack(carolKey).describeClusterUserKubeconfig(prod.id, new Cs.DescribeClusterUserKubeconfigRequest({}));
  const r = await ack(rootKey()).cleanUserPermissions(carol.id, new Cs.CleanUserPermissionsRequest({ force: true }));
  assert.ok(r.body!.requestId);
  active = await cliJson(srv, srv.rootToken, ['credential', 'list', '--principal', 'carol', '--state', 'active']);
  assert.equal(active.length, 0);
  const e = await sdkError(ack(carolKey).describeClusterUserKubeconfig(prod.id, new Cs.DescribeClusterUserKubeconfigRequest({})));
  assert.equal(e.code, 'Forbidden.RAM', 'the policy was detached');
  const self = await sdkError(ack(rootKey()).cleanUserPermissions(srv.rootPrincipalId, new Cs.CleanUserPermissionsRequest({})));
  assert.equal(self.code, 'InvalidParameter');
});

test('CleanUserPermissions with an empty cluster list (ClusterIds=, as the SDK sends []) is refused, not read as every cluster', async () => {
  const dave = await cliJson(srv, srv.rootToken, ['principal', 'create', 'dave']);
  await cliJson(srv, srv.rootToken, ['policy', 'attach', 'aliyun-self', '--principal', 'dave']);
  await ack(rootKey()).describeSubaccountK8sClusterUserConfig(prod.id, dave.id, new Cs.DescribeSubaccountK8sClusterUserConfigRequest({}));
  const e = await sdkError(ack(rootKey()).cleanUserPermissions(dave.id, new Cs.CleanUserPermissionsRequest({ clusterIds: [], force: true })));
  assert.equal(e.code, 'InvalidParameter');
  assert.match(e.message, /at least one cluster/);
  assert.equal((await cliJson(srv, srv.rootToken, ['credential', 'list', '--principal', 'dave', '--state', 'active'])).length, 1, 'nothing revoked');
  assert.equal((await cliJson(srv, srv.rootToken, ['policy', 'list', '--principal', 'dave'])).length, 1, 'nothing detached');
});

test('ASM DescribeServiceMeshKubeconfig answers Kubeconfig and ExpireTime as "YYYY-MM-DD hh:mm:ss" equal to notAfter', async () => {
  const r = await asm(aliceKey, 'DescribeServiceMeshKubeconfig', { ServiceMeshId: mesh.id, PrivateIpAddress: 'true' }, 'query');
  assert.match(r.RequestId, /^req_/);
  assert.match(r.ExpireTime, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  const cert = await certOf(r.Kubeconfig);
  assert.equal(cnOf(cert), alice.id);
  assert.equal(notAfterMs(cert), Date.parse(`${r.ExpireTime.replace(' ', 'T')}Z`));
  assert.equal(await serverOf(r.Kubeconfig), 'https://10.0.0.20:6443');
  const e = await sdkError(asm(aliceKey, 'DescribeServiceMeshKubeconfig', { ServiceMeshId: prod.id }, 'query'));
  assert.equal(e.code, 'ServiceMesh.NotFound');
  assert.equal(e.data.HostId, endpoint());
});

test('ASM RevokeKubeconfig answers a new kubeconfig, and the old credential is revoked in the native inventory', async () => {
  const old = await asm(aliceKey, 'DescribeServiceMeshKubeconfig', { ServiceMeshId: mesh.id }, 'query');
  const oldSerial = (await certOf(old.Kubeconfig)).serialNumber.toLowerCase();
  const r = await asm(aliceKey, 'RevokeKubeconfig', { ServiceMeshId: mesh.id, PrivateIpAddress: 'false' }, 'body');
  assert.match(r.RequestId, /^req_/);
  const fresh = await certOf(r.Kubeconfig);
  assert.notEqual(fresh.serialNumber.toLowerCase(), oldSerial);
  const revoked = await cliJson(srv, srv.rootToken, ['credential', 'list', '--cluster', 'mesh', '--principal', 'alice', '--state', 'revoked']);
  assert.ok(revoked.some((c: any) => c.serial.toLowerCase().replace(/^0+/, '') === oldSerial.replace(/^0+/, '')));
  const active = await cliJson(srv, srv.rootToken, ['credential', 'list', '--cluster', 'mesh', '--principal', 'alice', '--state', 'active']);
  assert.equal(active.length, 1);
});

test('ASM: Action in the query and a different x-acs-action header is refused; nothing is revoked', async () => {
  await asm(aliceKey, 'DescribeServiceMeshKubeconfig', { ServiceMeshId: mesh.id }, 'query');
  const before = await cliJson(srv, srv.rootToken, ['credential', 'list', '--cluster', 'mesh', '--principal', 'alice', '--state', 'active']);
  const client = new LegacyClient(new OpenApiClient.Config({ accessKeyId: aliceKey.accessKeyId, accessKeySecret: aliceKey.accessKeySecret, endpoint: endpoint(), protocol: 'https', ca }));
  // The ACS3 client signs x-acs-action (Describe); the query adds Action=RevokeKubeconfig, also signed.
  const req = new OpenApiClient.OpenApiRequest({ query: { ServiceMeshId: mesh.id, Action: 'RevokeKubeconfig' } });
  const p = new OpenApiClient.Params({ action: 'DescribeServiceMeshKubeconfig', version: '2020-01-11', protocol: 'HTTPS', pathname: '/', method: 'POST', authType: 'AK', style: 'RPC', reqBodyType: 'formData', bodyType: 'json' });
  const e = await sdkError(client.callApi(p, req, { ca } as any));
  assert.equal(e.code, 'InvalidParameter');
  assert.match(e.message, /"Action" and the x-acs-action header differ/);
  const after = await cliJson(srv, srv.rootToken, ['credential', 'list', '--cluster', 'mesh', '--principal', 'alice', '--state', 'active']);
  assert.deepEqual(after.map((c: any) => c.id), before.map((c: any) => c.id), 'nothing revoked or issued');
});

/** A new user with one policy and an access key. */
async function grantee(name: string, statements: unknown[]) {
  await cliJson(srv, srv.rootToken, ['principal', 'create', name]);
  await cliJson(srv, srv.rootToken, ['policy', 'create', `${name}-policy`, '--document', JSON.stringify({ Version: '1', Statement: statements })]);
  await cliJson(srv, srv.rootToken, ['policy', 'attach', `${name}-policy`, '--principal', name]);
  return cliJson(srv, srv.rootToken, ['accesskey', 'create', '--principal', name]) as Promise<{ accessKeyId: string; accessKeySecret: string }>;
}

test("a vendor's action names grant on that vendor's kind of cluster only: ASM's on service meshes, ACK's on Kubernetes clusters", async () => {
  // ASM's permission has "All Resources", so its policies say "*": that must not reach Kubernetes clusters.
  const meshReader = await grantee('mesh-reader', [{ Effect: 'Allow', Action: 'servicemesh:DescribeServiceMeshKubeconfig', Resource: '*' }]);
  assert.match((await asm(meshReader, 'DescribeServiceMeshKubeconfig', { ServiceMeshId: mesh.id }, 'query')).Kubeconfig, /client-certificate-data/);
  const onAck = await sdkError(ack(meshReader).describeClusterUserKubeconfig(prod.id, new Cs.DescribeClusterUserKubeconfigRequest({})));
  assert.equal(onAck.code, 'Forbidden.RAM');
  // ACK's revoke grant (also on "*") must not revoke-and-reissue a mesh's kubeconfig through ASM.
  const ackRevoker = await grantee('ack-revoker', [{ Effect: 'Allow', Action: 'cs:RevokeK8sClusterKubeConfig', Resource: '*' }]);
  assert.equal((await ack(ackRevoker).revokeK8sClusterKubeConfig(prod.id)).statusCode, 200);
  const onMesh = await sdkError(asm(ackRevoker, 'RevokeKubeconfig', { ServiceMeshId: mesh.id }, 'body'));
  assert.equal(onMesh.code, 'Forbidden.RAM');
  const issued = await cliJson(srv, srv.rootToken, ['credential', 'list', '--principal', 'ack-revoker']);
  assert.deepEqual(issued, [], 'nothing was issued to it');
});

test('cs:CleanClusterUserPermissions cleans the clusters named, never all of a user (which detaches the policies: cs:CleanUserPermissions)', async () => {
  const cleaner = await grantee('cluster-cleaner', [{ Effect: 'Allow', Action: 'cs:CleanClusterUserPermissions', Resource: '*' }]);
  const victim = await cliJson(srv, srv.rootToken, ['principal', 'create', 'clean-victim']);
  await cliJson(srv, srv.rootToken, ['policy', 'attach', 'aliyun-self', '--principal', 'clean-victim']);
  await ack(rootKey()).describeSubaccountK8sClusterUserConfig(prod.id, victim.id, new Cs.DescribeSubaccountK8sClusterUserConfigRequest({}));
  const all = await sdkError(ack(cleaner).cleanUserPermissions(victim.id, new Cs.CleanUserPermissionsRequest({ force: true })));
  assert.equal(all.code, 'Forbidden.RAM');
  assert.equal((await cliJson(srv, srv.rootToken, ['policy', 'list', '--principal', 'clean-victim'])).length, 1, 'its grants stay');
  assert.equal((await ack(cleaner).cleanClusterUserPermissions(prod.id, victim.id, new Cs.CleanClusterUserPermissionsRequest({ force: true }))).statusCode, 200);
  const some = await ack(cleaner).cleanUserPermissions(victim.id, new Cs.CleanUserPermissionsRequest({ clusterIds: [prod.id], force: true }));
  assert.equal(some.statusCode, 200, 'naming the clusters is the cluster-scoped clean');
  assert.equal((await cliJson(srv, srv.rootToken, ['credential', 'list', '--principal', 'clean-victim', '--state', 'active'])).length, 0);
  const whole = await grantee('whole-cleaner', [{ Effect: 'Allow', Action: 'cs:CleanUserPermissions', Resource: '*' }]);
  assert.equal((await ack(whole).cleanUserPermissions(victim.id, new Cs.CleanUserPermissionsRequest({ clusterIds: [prod.id] }))).statusCode, 200, 'the whole clean covers some clusters too');
  await ack(whole).cleanUserPermissions(victim.id, new Cs.CleanUserPermissionsRequest({}));
  assert.equal((await cliJson(srv, srv.rootToken, ['policy', 'list', '--principal', 'clean-victim'])).length, 0);
});

test('the older HMAC-SHA1 signatures work too: ROA v1 (describe, temporary, revoke, states) and RPC v1', async () => {
  const v1 = ack(aliceKey, true);
  const k = await v1.describeClusterUserKubeconfig(prod.id, new Cs.DescribeClusterUserKubeconfigRequest({ privateIpAddress: true }));
  assert.equal(cnOf(await certOf(k.body!.config!)), alice.id);
  const t = await v1.describeClusterUserKubeconfig(prod.id, new Cs.DescribeClusterUserKubeconfigRequest({ temporaryDurationMinutes: 15 }));
  assert.ok(Date.parse(t.body!.expiration!) < Date.now() + 16 * 60_000);
  await v1.revokeK8sClusterKubeConfig(prod.id);
  const states = await ack(rootKey(), true).listUserKubeConfigStates(alice.id, new Cs.ListUserKubeConfigStatesRequest({}));
  assert.equal(states.body!.states!.find((s) => s.clusterId === prod.id)!.certState, 'Removed');
  const m = await asm(aliceKey, 'DescribeServiceMeshKubeconfig', { ServiceMeshId: mesh.id }, 'body', true);
  assert.match(m.ExpireTime, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  const bad = await sdkError(ack({ ...aliceKey, accessKeySecret: 'wrong' }, true).describeClusterUserKubeconfig(prod.id, new Cs.DescribeClusterUserKubeconfigRequest({})));
  assert.equal(bad.code, 'SignatureDoesNotMatch');
});
