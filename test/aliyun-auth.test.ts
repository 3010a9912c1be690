// Request authentication on the Alibaba Cloud surface: each way a signed request can be wrong gets the
// vendor's code, message and request ID, through the official SDK where it can send it, raw HTTP otherwise.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import CsModule, * as Cs from '@alicloud/cs20151215';
import { $OpenApiUtil, OpenApiUtil } from '@alicloud/openapi-core';
import * as $dara from '@darabonba/typescript';
import { cliJson } from './support/cli.ts';
import { rawRequest } from './support/http.ts';
import { startServerProcess, type ServerProcess } from './support/server-process.ts';
import { rejectionOf } from './support/rejection.ts';

const CsClient = ((CsModule as any).default ?? CsModule) as unknown as typeof CsModule.default;

let srv: ServerProcess;
let ca: string;
let prod: { id: string };

const client = (key = { id: srv.accessKeyId, secret: srv.accessKeySecret }) => new CsClient(new $OpenApiUtil.Config({
  accessKeyId: key.id, accessKeySecret: key.secret, endpoint: new URL(srv.url).host, protocol: 'https', ca,
}));

/** Calls DescribeClusterUserKubeconfig through the SDK, with some of the signed headers chosen by the test. */
const describe = (headers: Record<string, string> = {}, c = client()) =>
  c.describeClusterUserKubeconfigWithOptions(prod.id, new Cs.DescribeClusterUserKubeconfigRequest({ temporaryDurationMinutes: 15 }), headers, new $dara.RuntimeOptions({}));

const sdkError = (p: Promise<unknown>) => rejectionOf(p);

function assertVendorError(e: any, code: string, status: number, message: RegExp) {
  assert.equal(e.code, code);
  assert.equal(e.statusCode, status);
  assert.match(e.message, message);
  assert.match(e.requestId, /^req_[0-9a-f]{24}$/);
}

const isoNow = (offsetMs = 0) => new Date(Date.now() + offsetMs).toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * A DescribeClusterUserKubeconfig GET signed by hand (ACS3), to be sent as raw bytes (altered or again).
 * `unsigned`: headers left out of the signature and added after signing.
 */
function signedKubeconfigGet(minutes: string, unsigned: Record<string, string> = {}) {
  const req = new $dara.Request();
  req.method = 'GET';
  req.pathname = `/k8s/${prod.id}/user_config`;
  req.query = { TemporaryDurationMinutes: minutes };
  req.headers = {
    host: new URL(srv.url).host, 'x-acs-version': '2015-12-15', 'x-acs-action': 'DescribeClusterUserKubeconfig', 'x-acs-date': isoNow(),
    'x-acs-signature-nonce': crypto.randomUUID(), 'x-acs-content-sha256': crypto.createHash('sha256').update('').digest('hex'),
  };
  for (const name of Object.keys(unsigned)) delete req.headers[name];
  req.headers.authorization = OpenApiUtil.getAuthorization(req, 'ACS3-HMAC-SHA256', req.headers['x-acs-content-sha256'], srv.accessKeyId, srv.accessKeySecret);
  Object.assign(req.headers, unsigned);
  return req;
}

before(async () => {
  srv = await startServerProcess();
  ca = fs.readFileSync(srv.caFile, 'utf8');
  prod = await cliJson(srv, srv.rootToken, ['cluster', 'create', 'prod', '--public-endpoint', 'https://203.0.113.10:6443']);
});

after(async () => {
  await srv?.stop();
});

test('a missing Authorization header is MissingParameter, in the ROA shape with the request ID in body and header', async () => {
  const r = await rawRequest(srv, 'GET', `/k8s/${prod.id}/user_config`);
  assert.equal(r.status, 400);
  assert.equal(r.json.code, 'MissingParameter');
  assert.match(r.json.message, /Authorization/);
  assert.equal(r.json.requestId, r.headers['x-acs-request-id']);
  assert.equal(r.json.requestId, r.headers['x-request-id']);
});

test('a malformed Authorization header is IncompleteSignature; an RPC call without one answers in the RPC shape', async () => {
  for (const auth of ['Bearer abc', 'ACS3-HMAC-SHA256 Credential=AK', 'acs AK:not-base64', 'ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=host,Signature=' + 'a'.repeat(64)]) {
    const r = await rawRequest(srv, 'GET', `/k8s/${prod.id}/user_config`, { headers: { authorization: auth } });
    assert.equal(r.status, 400, auth);
    assert.equal(r.json.code, 'IncompleteSignature', auth);
  }
  const rpc = await rawRequest(srv, 'POST', '/?Action=DescribeServiceMeshKubeconfig&ServiceMeshId=x');
  assert.equal(rpc.json.Code, 'MissingParameter');
  assert.match(rpc.json.RequestId, /^req_/);
  assert.ok(rpc.json.HostId);
});

test('what the router refuses before any route answers in the vendor shape: an over-long ClusterId, a path that is not valid percent-encoding', async () => {
  const e = await sdkError(client().describeClusterUserKubeconfigWithOptions('c'.repeat(129), new Cs.DescribeClusterUserKubeconfigRequest({}), {}, new $dara.RuntimeOptions({})));
  assertVendorError(e, 'InvalidParameter', 400, /longer than 128 characters/);
  const r = await rawRequest(srv, 'GET', '/k8s/%ff/user_config');
  assert.equal(r.status, 400);
  assert.equal(r.json.code, 'InvalidParameter');
  assert.match(r.json.message, /percent-encod/);
  assert.match(r.json.requestId, /^req_[0-9a-f]{24}$/);
  assert.equal(r.headers['x-acs-request-id'], r.json.requestId);
  assert.equal(r.headers['x-request-id'], r.json.requestId);
});

test("no route for a request meant for the Alibaba surface answers in the vendor's shape, with x-acs-request-id", async () => {
  const rpc = await rawRequest(srv, 'PUT', '/', { headers: { 'x-acs-action': 'DescribeServiceMeshKubeconfig', 'x-acs-version': '2020-01-11' } });
  assert.equal(rpc.status, 404);
  assert.equal(rpc.json.Code, 'InvalidAction.NotFound');
  assert.equal(rpc.json.RequestId, rpc.headers['x-acs-request-id']);
  const roa = await rawRequest(srv, 'GET', `/k8s/${prod.id}/nothing`);
  assert.equal(roa.status, 404);
  assert.equal(roa.json.code, 'InvalidAction.NotFound');
  assert.doesNotMatch(roa.json.message, /openapi/);
  assert.equal(roa.json.requestId, roa.headers['x-acs-request-id']);
  const native = await rawRequest(srv, 'GET', '/v2/nothing');
  assert.equal(native.json.code, 'NOT_FOUND', 'others keep the native shape');
});

test('an unknown access key is InvalidAccessKeyId.NotFound (404, as Alibaba answers it), a wrong secret for a known one SignatureDoesNotMatch; an unknown key is audited nowhere', async () => {
  const unknown = await sdkError(describe({}, client({ id: 'KCUNKNOWNKEY000000000000', secret: 'x' })));
  assertVendorError(unknown, 'InvalidAccessKeyId.NotFound', 404, /Specified access key is not found/);
  const wrong = await sdkError(describe({}, client({ id: srv.accessKeyId, secret: 'not-the-secret' })));
  assertVendorError(wrong, 'SignatureDoesNotMatch', 400, /signature/i);
  // An unknown key ID names nobody: nothing is written in any account (this server has one). The issuance beside it is
  // audited with its request ID, so the search below would find such an event.
  const issued = await describe();
  const trail = await rawRequest(srv, 'GET', '/v1/audit?limit=500', { token: srv.rootToken });
  const audited = new Set(trail.json.items.map((ev: any) => ev.requestId));
  assert.ok(audited.has(issued.headers!['x-acs-request-id']), 'the issuance is audited under its request ID');
  assert.ok(!audited.has(unknown.requestId), 'the unknown key was audited');
});

test("a revoked access key is refused like an unknown one, at once; the principal's other key keeps working", async () => {
  const principal = await cliJson(srv, srv.rootToken, ['principal', 'create', 'ak-holder']);
  await cliJson(srv, srv.rootToken, ['policy', 'create', 'ak-holder-kubeconfig', '--document', JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: ['cs:DescribeClusterUserKubeconfig'], Resource: '*' }] })]);
  await cliJson(srv, srv.rootToken, ['policy', 'attach', 'ak-holder-kubeconfig', '--principal', principal.id]);
  const one = await cliJson(srv, srv.rootToken, ['accesskey', 'create', '--principal', principal.id]);
  const two = await cliJson(srv, srv.rootToken, ['accesskey', 'create', '--principal', principal.id]);
  const keyOne = { id: one.accessKeyId, secret: one.accessKeySecret };
  assert.match((await describe({}, client(keyOne))).body!.config!, /client-certificate-data/);
  const listed = await cliJson(srv, srv.rootToken, ['accesskey', 'list', '--principal', principal.id]);
  assert.deepEqual(listed.map((k: any) => [k.accessKeyId, k.status]).sort(), [[one.accessKeyId, 'active'], [two.accessKeyId, 'active']].sort());
  assert.ok(!JSON.stringify(listed).includes(one.accessKeySecret), 'no secret in the listing');
  assert.deepEqual(await cliJson(srv, srv.rootToken, ['accesskey', 'revoke', one.accessKeyId, '--principal', principal.id]), { revoked: true });
  assertVendorError(await sdkError(describe({}, client(keyOne))), 'InvalidAccessKeyId.NotFound', 404, /access key/);
  assert.match((await describe({}, client({ id: two.accessKeyId, secret: two.accessKeySecret }))).body!.config!, /client-certificate-data/);
  assert.equal((await cliJson(srv, srv.rootToken, ['accesskey', 'list', '--principal', principal.id])).find((k: any) => k.accessKeyId === one.accessKeyId).status, 'revoked');
  const events = await cliJson(srv, srv.rootToken, ['audit', 'list', '--action', 'RevokeAccessKey']);
  assert.deepEqual(events.map((e: any) => e.detail.accessKeyId), [one.accessKeyId]);
});

test('a bad signature is SignatureDoesNotMatch, and changes nothing', async () => {
  const before = (await cliJson(srv, srv.rootToken, ['credential', 'list', '--cluster', 'prod'])).length;
  const e = await sdkError(describe({}, client({ id: srv.accessKeyId, secret: 'not-the-secret' })));
  assertVendorError(e, 'SignatureDoesNotMatch', 400, /signature/i);
  assert.equal((await cliJson(srv, srv.rootToken, ['credential', 'list', '--cluster', 'prod'])).length, before);
});

test('a body that does not match x-acs-content-sha256 is refused as a bad signature', async () => {
  const body = JSON.stringify({ expire_hour: 24, user: srv.rootPrincipalId });
  const req = new $dara.Request();
  req.method = 'POST';
  req.pathname = `/k8s/${prod.id}/user_config/expire`;
  req.headers = {
    host: new URL(srv.url).host, 'x-acs-version': '2015-12-15', 'x-acs-action': 'UpdateK8sClusterUserConfigExpire', 'x-acs-date': isoNow(),
    'x-acs-signature-nonce': crypto.randomUUID(), 'content-type': 'application/json; charset=utf-8',
    'x-acs-content-sha256': crypto.createHash('sha256').update(body).digest('hex'),
  };
  req.query = {};
  req.headers.authorization = OpenApiUtil.getAuthorization(req, 'ACS3-HMAC-SHA256', req.headers['x-acs-content-sha256'], srv.accessKeyId, srv.accessKeySecret);
  const tampered = body.replace('24', '25');
  const r = await rawRequest(srv, 'POST', req.pathname, { body: tampered, headers: req.headers });
  assert.equal(r.json.code, 'SignatureDoesNotMatch');
  const ok = await rawRequest(srv, 'POST', req.pathname, { body, headers: { ...req.headers } });
  assert.equal(ok.status, 200, ok.body);
  assert.deepEqual(ok.json, {});
});

test('a date more than 15 minutes off is InvalidTimeStamp.Expired, either way', async () => {
  for (const offset of [-16 * 60_000, 16 * 60_000]) {
    const e = await sdkError(describe({ 'x-acs-date': isoNow(offset) }));
    assertVendorError(e, 'InvalidTimeStamp.Expired', 400, /15 minutes/);
  }
  const ok = await describe({ 'x-acs-date': isoNow(-10 * 60_000) });
  assert.equal(ok.statusCode, 200);
});

test('a reused x-acs-signature-nonce is SignatureNonceUsed, also after the server restarts', async () => {
  const nonce = crypto.randomBytes(32).toString('hex');
  const date = isoNow();
  const first = await describe({ 'x-acs-signature-nonce': nonce, 'x-acs-date': date });
  assert.equal(first.statusCode, 200);
  const again = await sdkError(describe({ 'x-acs-signature-nonce': nonce, 'x-acs-date': date }));
  assertVendorError(again, 'SignatureNonceUsed', 400, /nonce/);

  await srv.stop();
  srv = await startServerProcess({ dataDir: srv.dataDir, previous: srv });
  ca = fs.readFileSync(srv.caFile, 'utf8');
  const afterRestart = await sdkError(describe({ 'x-acs-signature-nonce': nonce, 'x-acs-date': date }));
  assertVendorError(afterRestart, 'SignatureNonceUsed', 400, /nonce/);
  const fresh = await describe();
  assert.equal(fresh.statusCode, 200);
});

test('every x-acs-* header must be signed: one left out of the signature (the RPC operation, say) is IncompleteSignature', async () => {
  const req = signedKubeconfigGet('15', { 'x-acs-action': 'DescribeClusterUserKubeconfig' });
  const r = await rawRequest(srv, 'GET', `${req.pathname}?TemporaryDurationMinutes=15`, { headers: req.headers });
  assert.equal(r.status, 400, r.body);
  assert.equal(r.json.code, 'IncompleteSignature');
  assert.match(r.json.message, /x-acs-action must be signed/);
});

test('an exact replay of the same signed bytes is refused: the nonce, not the signature, is what is remembered', async () => {
  const req = signedKubeconfigGet('15');
  const first = await rawRequest(srv, 'GET', `${req.pathname}?TemporaryDurationMinutes=15`, { headers: req.headers });
  assert.equal(first.status, 200, first.body);
  const replay = await rawRequest(srv, 'GET', `${req.pathname}?TemporaryDurationMinutes=15`, { headers: req.headers });
  assert.equal(replay.status, 400);
  assert.equal(replay.json.code, 'SignatureNonceUsed');
});

test('thirty copies of one signed request sent at once: exactly one is answered, one kubeconfig issued', async () => {
  const before = (await cliJson(srv, srv.rootToken, ['credential', 'list', '--cluster', 'prod'])).length;
  const req = signedKubeconfigGet('15');
  const answers = await Promise.all(Array.from({ length: 30 }, () => rawRequest(srv, 'GET', `${req.pathname}?TemporaryDurationMinutes=15`, { headers: req.headers })));
  assert.deepEqual(answers.map((r) => r.status).sort(), [200, ...Array(29).fill(400)], answers.map((r) => r.body.slice(0, 80)).join('\n'));
  assert.ok(answers.filter((r) => r.status === 400).every((r) => r.json.code === 'SignatureNonceUsed'));
  assert.equal((await cliJson(srv, srv.rootToken, ['credential', 'list', '--cluster', 'prod'])).length, before + 1);
});

test('a query parameter given twice is InvalidParameter: a signed value cannot be overridden by a copy the signature does not cover', async () => {
  const countBefore = (await cliJson(srv, srv.rootToken, ['credential', 'list', '--cluster', 'prod'])).length;
  const req = signedKubeconfigGet('60');
  // Signed for 60 minutes; a copy asking for three days is put in front of the signed one.
  for (const query of ['TemporaryDurationMinutes=4320&TemporaryDurationMinutes=60', 'TemporaryDurationMinutes=60&TemporaryDurationMinutes=60']) {
    const r = await rawRequest(srv, 'GET', `${req.pathname}?${query}`, { headers: req.headers });
    assert.equal(r.status, 400, r.body);
    assert.equal(r.json.code, 'InvalidParameter');
    assert.match(r.json.message, /TemporaryDurationMinutes.*more than once/);
  }
  // RPC style: the same name in the query and in the form body counts twice as well.
  const rpc = await rawRequest(srv, 'POST', '/?Action=DescribeClusters&AccessKeyId=x', { body: 'AccessKeyId=y', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(rpc.status, 400, rpc.body);
  assert.equal(rpc.json.Code, 'InvalidParameter');
  assert.equal((await cliJson(srv, srv.rootToken, ['credential', 'list', '--cluster', 'prod'])).length, countBefore, 'nothing was issued');
  // Sent as signed, the request works.
  const ok = await rawRequest(srv, 'GET', `${req.pathname}?TemporaryDurationMinutes=60`, { headers: req.headers });
  assert.equal(ok.status, 200, ok.body);
  assert.equal(ok.headers['cache-control'], 'no-store', 'the kubeconfig holds a private key: no cache may keep it');
});

test('the denied counter counts refusals of the caller (a bad signature), not a signed request whose parameters are wrong', async () => {
  const counts = async () => {
    const body = (await rawRequest(srv, 'GET', '/metrics')).body;
    const n = (code: string) => Number(new RegExp(`^kubecred_requests_denied_total\\{code="${code.replace('.', '\\.')}"\\} (\\d+)$`, 'm').exec(body)?.[1] ?? 0);
    return { mismatch: n('SignatureDoesNotMatch'), all: [...body.matchAll(/^kubecred_requests_denied_total\{[^}]*\} (\d+)$/gm)].reduce((t, m) => t + Number(m[1]), 0) };
  };
  const before = await counts();
  assertVendorError(await sdkError(describe({}, client({ id: srv.accessKeyId, secret: 'not-the-secret' }))), 'SignatureDoesNotMatch', 400, /signature/i);
  const afterMismatch = await counts();
  assert.equal(afterMismatch.mismatch, before.mismatch + 1);
  assert.equal(afterMismatch.all, before.all + 1);
  // Signed correctly, refused for its value (5 minutes is below the 15 allowed): the caller was not refused.
  const req = signedKubeconfigGet('5');
  const r = await rawRequest(srv, 'GET', `${req.pathname}?TemporaryDurationMinutes=5`, { headers: req.headers });
  assert.equal(r.status, 400, r.body);
  assert.equal((await counts()).all, afterMismatch.all, `${r.json.code} is not a denial`);
});
