// The SDK generation still widely installed: @alicloud/cs20151215 3.3.5 (installed under the alias
// cs20151215-v3) signs ROA requests with HMAC-SHA1 ("acs AK:signature"). Describe, temporary,
// revoke and states must work with it unchanged.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import LegacyCsModule, * as LegacyCs from 'cs20151215-v3';
import * as OpenApi from '@alicloud/openapi-client';
import * as TeaUtil from '@alicloud/tea-util';
import YAML from 'yaml';
import { cliJson } from './support/cli.ts';
import { startServerProcess, tempDir, type ServerProcess } from './support/server-process.ts';
import { rejectionOf } from './support/rejection.ts';

const LegacyClient = ((LegacyCsModule as any).default ?? LegacyCsModule) as any;
const RuntimeOptions = ((TeaUtil as any).RuntimeOptions ?? (TeaUtil as any).default?.RuntimeOptions);

let srv: ServerProcess;
let ca: string;
let prod: { id: string };
let alice: { id: string };
let key: { accessKeyId: string; accessKeySecret: string };

before(async () => {
  srv = await startServerProcess();
  ca = fs.readFileSync(srv.caFile, 'utf8');
  const work = tempDir('kubecred-aliyun-legacy-');
  prod = await cliJson(srv, srv.rootToken, ['cluster', 'create', 'legacy', '--region', 'cn-hangzhou', '--public-endpoint', 'https://203.0.113.20:6443']);
  alice = await cliJson(srv, srv.rootToken, ['principal', 'create', 'alice']);
  fs.writeFileSync(path.join(work, 'p.json'), JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: ['cs:DescribeClusterUserKubeconfig', 'cs:RevokeK8sClusterKubeConfig', 'cs:ListClusterKubeconfigStates'], Resource: '*' }] }));
  await cliJson(srv, srv.rootToken, ['policy', 'create', 'legacy', '--file', path.join(work, 'p.json')]);
  await cliJson(srv, srv.rootToken, ['policy', 'attach', 'legacy', '--principal', 'alice']);
  key = await cliJson(srv, srv.rootToken, ['accesskey', 'create', '--principal', 'alice']);
});
after(() => srv?.stop());

function client(k = key) {
  return new LegacyClient(new OpenApi.Config({ accessKeyId: k.accessKeyId, accessKeySecret: k.accessKeySecret, endpoint: new URL(srv.url).host, protocol: 'https', ca } as any));
}
const runtime = () => new RuntimeOptions({ ca });

/** The old SDK has no revoke or states methods; its generic doROARequest signs them the same way. */
const roa = (action: string, method: string, pathname: string, query: Record<string, string> = {}, k = key) =>
  client(k).doROARequest(action, '2015-12-15', 'HTTPS', method, 'AK', pathname, 'json', new OpenApi.OpenApiRequest({ headers: {}, query }), runtime());

test('the 3.3.5 SDK signs with HMAC-SHA1 and gets the default kubeconfig', async () => {
  const c = client();
  // The old generation routes every call through doROARequest, which signs "acs AK:<HMAC-SHA1>";
  // count the calls to be sure this test exercises that path and not ACS3.
  assert.equal(c._signatureAlgorithm, 'v2');
  let roaCalls = 0;
  const orig = c.doROARequest.bind(c);
  c.doROARequest = (...args: any[]) => {
    roaCalls += 1;
    return orig(...args);
  };
  const r = await c.describeClusterUserKubeconfigWithOptions(prod.id, new LegacyCs.DescribeClusterUserKubeconfigRequest({}), {}, runtime());
  assert.equal(r.statusCode, 200);
  const k = YAML.parse(r.body.config);
  const cert = new crypto.X509Certificate(Buffer.from(k.users[0].user['client-certificate-data'], 'base64'));
  assert.match(cert.subject, new RegExp(`CN=${alice.id}`));
  assert.equal(new Date(cert.validTo).getTime(), Date.parse(r.body.expiration));
  const audit = await cliJson(srv, srv.rootToken, ['audit', 'list', '--action', 'IssueKubeconfig']);
  assert.equal(audit.length, 1);
  assert.equal(roaCalls, 1);
});

test('the 3.3.5 SDK: temporary minutes are honoured and out-of-range minutes refused', async () => {
  const r = await client().describeClusterUserKubeconfigWithOptions(prod.id, new LegacyCs.DescribeClusterUserKubeconfigRequest({ temporaryDurationMinutes: 20 }), {}, runtime());
  const k = YAML.parse(r.body.config);
  const cert = new crypto.X509Certificate(Buffer.from(k.users[0].user['client-certificate-data'], 'base64'));
  assert.ok(Math.abs(new Date(cert.validTo).getTime() - (Date.now() + 20 * 60_000)) < 120_000);
  const e = await rejectionOf(client().describeClusterUserKubeconfigWithOptions(prod.id, new LegacyCs.DescribeClusterUserKubeconfigRequest({ temporaryDurationMinutes: 14 }), {}, runtime()));
  assert.equal(e.code, 'InvalidParameter');
});

test('the 3.3.5 SDK: revoke, then the states list says Removed, and a new kubeconfig can be fetched', async () => {
  await roa('RevokeK8sClusterKubeConfig', 'DELETE', `/k8s/${prod.id}/certs`);
  const rootKey = { accessKeyId: srv.accessKeyId, accessKeySecret: srv.accessKeySecret };
  const states = await roa('ListUserKubeConfigStates', 'GET', `/users/${alice.id}/kubeconfig/states`, { pageNumber: '1', pageSize: '10' }, rootKey);
  assert.equal(states.statusCode, 200);
  const row = states.body.states.find((s: { cluster_id: string }) => s.cluster_id === prod.id);
  assert.equal(row?.cert_state, 'Removed', JSON.stringify(states.body));
  const native = await cliJson(srv, srv.rootToken, ['credential', 'list', '--cluster', 'legacy', '--principal', 'alice', '--state', 'revoked']);
  assert.ok(native.length >= 2, 'the default and the temporary kubeconfig are revoked');
  const again = await client().describeClusterUserKubeconfigWithOptions(prod.id, new LegacyCs.DescribeClusterUserKubeconfigRequest({}), {}, runtime());
  assert.equal(again.statusCode, 200);
  const active = await cliJson(srv, srv.rootToken, ['credential', 'list', '--cluster', 'legacy', '--principal', 'alice', '--state', 'active']);
  assert.equal(active.length, 1);
});

test('the 3.3.5 SDK: a wrong secret is refused with SignatureDoesNotMatch', async () => {
  const bad = new LegacyClient(new OpenApi.Config({ accessKeyId: key.accessKeyId, accessKeySecret: 'x'.repeat(30), endpoint: new URL(srv.url).host, protocol: 'https', ca } as any));
  const e = await rejectionOf(bad.describeClusterUserKubeconfigWithOptions(prod.id, new LegacyCs.DescribeClusterUserKubeconfigRequest({}), {}, runtime()));
  assert.equal(e.code, 'SignatureDoesNotMatch');
});
