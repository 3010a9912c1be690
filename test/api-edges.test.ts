// The native API at its edges, over real HTTPS: bad input of every kind gets a coded error with a
// request ID and changes nothing; operations endpoints; a valid OpenAPI document; no secret in logs.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { Validator } from '@seriousme/openapi-schema-validator';
import { GROUP_RE } from '../src/core/group-rules.ts';
import { NAME_RE, REGION_RE } from '../src/core/input-rules.ts';
import { cliJson, cli } from './support/cli.ts';
import { documentedResponses } from './support/openapi.ts';
import { assertCodedError, rawExchange, rawRequest, type RawResponse } from './support/http.ts';
import { startServerProcess, type ServerProcess } from './support/server-process.ts';

let srv: ServerProcess;
let clusterId: string;
let otherRootToken: string;
let otherClusterId: string;
const secrets: string[] = [];

before(async () => {
  srv = await startServerProcess();
  secrets.push(srv.rootToken, srv.accessKeySecret);
  clusterId = (await cliJson(srv, srv.rootToken, ['cluster', 'create', 'edge', '--public-endpoint', 'https://192.0.2.10:6443'])).id;
  // A second tenant on the same server, to prove IDs do not cross accounts.
  const acct = await cli(null, null, ['account', 'create', 'tenant-b', '--data-dir', srv.dataDir, '--output', 'json']);
  assert.equal(acct.code, 0, acct.stderr);
  otherRootToken = JSON.parse(acct.stdout).rootToken;
  secrets.push(otherRootToken);
  otherClusterId = (await cliJson(srv, otherRootToken, ['cluster', 'create', 'theirs', '--public-endpoint', 'https://192.0.2.20:6443'])).id;
});
after(() => srv?.stop());

const call = (method: string, path: string, opts: { token?: string | null; body?: string | Buffer; headers?: Record<string, string> } = {}) =>
  rawRequest(srv, method, path, { ...opts, token: opts.token === null ? undefined : (opts.token ?? srv.rootToken) });

function assertError(r: RawResponse, status: number, code: string, message?: RegExp) {
  assertCodedError(r, status, code, message);
  assert.doesNotMatch(r.body, /at .*\.ts:\d+|SELECT|INSERT|sqlite/i, 'no stack trace or SQL in the answer');
}

async function snapshot() {
  const creds = await call('GET', '/v1/credentials?limit=500');
  const audit = await call('GET', '/v1/audit?limit=500&outcome=success');
  return { creds: creds.json.items.length, audit: audit.json.items.length };
}

test('bad input gets a clear coded error with a request ID and changes nothing', async () => {
  const webhook = `/kube/clusters/${clusterId}/authorize`;
  const webhookToken = (await call('POST', `/v1/clusters/${clusterId}/webhook-tokens`)).json.token as string;
  const before = await snapshot();
  const kc = `/v1/clusters/${clusterId}/kubeconfig`;
  assertError(await call('POST', kc, { body: '{"temporaryMinutes": 60' }), 400, 'VALIDATION_FAILED', /not valid JSON/);
  assertError(await call('POST', kc, { body: '{"temporaryMinutes": "60"}' }), 400, 'VALIDATION_FAILED', /temporaryMinutes/);
  assertError(await call('POST', kc, { body: '{"temporaryMinutes": 14}' }), 400, 'VALIDATION_FAILED', /temporaryMinutes/);
  assertError(await call('POST', kc, { body: '{"temporaryMinutes": 4321}' }), 400, 'VALIDATION_FAILED');
  assertError(await call('POST', kc, { body: '{"temporaryMinutes": 1e400}' }), 400, 'VALIDATION_FAILED');
  // Valid JSON that the parser refuses for safety: say which key, not "not valid JSON".
  assertError(await call('POST', '/v1/principals', { body: '{"name": "proto", "__proto__": {"isRoot": true}}' }), 400, 'VALIDATION_FAILED', /"__proto__" key/);
  assertError(await call('POST', '/v1/principals', { body: '{"name": "ctor", "constructor": {"prototype": {}}}' }), 400, 'VALIDATION_FAILED', /"__proto__" key \(or a "constructor" holding "prototype"\)/);
  assertError(await call('POST', kc, { body: '{"endpoint": "intranet"}' }), 400, 'VALIDATION_FAILED', /endpoint/);
  assertError(await call('POST', kc, { body: '{"surprise": true}' }), 400, 'VALIDATION_FAILED', /body has an unknown field "surprise"/);
  // A misspelt filter would list everything: refused, named.
  assertError(await call('GET', '/v1/credentials?clusterId=x'), 400, 'VALIDATION_FAILED', /querystring has an unknown parameter "clusterId"/);
  assertError(await call('GET', '/v1/audit?actions=x'), 400, 'VALIDATION_FAILED', /unknown parameter "actions"/);
  assertError(await call('POST', kc, { body: '[]' }), 400, 'VALIDATION_FAILED');
  assertError(await call('POST', kc, { body: '{"csr": "-----BEGIN CERTIFICATE REQUEST-----\\nAAAA\\n-----END CERTIFICATE REQUEST-----"}' }), 400, 'CSR_INVALID');
  assertError(await call('POST', kc, { body: 'x=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'UNSUPPORTED_MEDIA_TYPE');
  // text/plain too (Fastify parses it by default), on the native routes, the console's sign-in and the webhooks.
  for (const [path, body, token] of [['/v1/principals', '{"name": "plain"}', undefined], ['/v1/sessions', '{"token": "kc1.x.y"}', undefined], [webhook, '{}', webhookToken]] as const) {
    assertError(await call('POST', path, { body, token, headers: { 'content-type': 'text/plain; charset=utf-8' } }), 415, 'UNSUPPORTED_MEDIA_TYPE', /application\/json/);
  }
  assertError(await call('POST', kc, { body: JSON.stringify({ csr: 'A'.repeat(2 * 1024 * 1024) }) }), 413, 'PAYLOAD_TOO_LARGE', /1 MiB limit/);
  // The webhooks check their caller on the headers, before reading a body; then take one larger than any
  // kube-apiserver can send (a refusal would meet its failurePolicy), and the message names the limit that applied.
  assertError(await call('POST', webhook, { token: null, body: JSON.stringify({ pad: 'A'.repeat(2 * 1024 * 1024) }) }), 401, 'UNAUTHENTICATED');
  assertError(await call('POST', webhook, { token: webhookToken, body: JSON.stringify({ pad: 'A'.repeat(2 * 1024 * 1024) }) }), 400, 'VALIDATION_FAILED', /SubjectAccessReview/);
  assertError(await call('POST', webhook, { token: webhookToken, body: JSON.stringify({ pad: 'A'.repeat(17 * 1024 * 1024) }) }), 413, 'PAYLOAD_TOO_LARGE', /16 MiB limit/);
  assertError(await call('PUT', `/v1/clusters/${clusterId}/validity/root`, { body: '{"hours": 0}' }), 400, 'VALIDATION_FAILED', /hours/);
  assertError(await call('PUT', `/v1/clusters/${clusterId}/validity/root`, { body: '{"hours": 876001}' }), 400, 'VALIDATION_FAILED');
  assertError(await call('PUT', `/v1/clusters/${clusterId}/validity/root`, { body: '{"hours": 1.5}' }), 400, 'VALIDATION_FAILED');
  assertError(await call('POST', '/v1/clusters', { body: '{"name": "Bad Name!", "publicEndpoint": "https://x:6443"}' }), 400, 'VALIDATION_FAILED', /name/);
  assertError(await call('POST', '/v1/clusters', { body: '{"name": "plain", "publicEndpoint": "http://10.0.0.1:6443"}' }), 400, 'VALIDATION_FAILED', /https/);
  assertError(await call('POST', '/v1/clusters', { body: '{"name": "noend"}' }), 400, 'VALIDATION_FAILED', /endpoint/i);
  assertError(await call('POST', '/v1/clusters', { body: '{"name": "badca", "publicEndpoint": "https://10.0.0.1:6443", "clientCaCertPem": "nope", "clientCaKeyPem": "nope"}' }), 400, 'CA_INVALID');
  assertError(await call('POST', '/v1/principals', { body: '{"name": "ops", "groups": ["system:masters"]}' }), 422, 'FORBIDDEN_GROUP', /system:masters/);
  assertError(await call('POST', '/v1/policies', { body: '{"name": "p", "document": {"Version": "1", "Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}}' }), 400, 'VALIDATION_FAILED', /Statement\[0\]/);
  assertError(await call('GET', '/v1/credentials?limit=0'), 400, 'VALIDATION_FAILED', /limit/);
  assertError(await call('GET', '/v1/credentials?limit=abc'), 400, 'VALIDATION_FAILED');
  assertError(await call('GET', '/v1/credentials?cursor=%%%'), 400, 'VALIDATION_FAILED', /cursor/);
  assertError(await call('GET', '/v1/audit?since=yesterday'), 400, 'VALIDATION_FAILED', /since/);
  assert.deepEqual(await snapshot(), before);
});

test('audit since and until take only real RFC 3339 date-times, with Z or any offset', async () => {
  for (const [param, value] of [['since', '0'], ['since', '2026-02-31T00:00:00Z'], ['since', '2026-01-01'], ['until', '2026-01-01T00:00:00'], ['until', '2026-01-01T24:00:00Z'], ['since', '2026-01-01T00:00:00+24:00']]) {
    assertError(await call('GET', `/v1/audit?${param}=${encodeURIComponent(value!)}`), 400, 'VALIDATION_FAILED', new RegExp(`^${param} must be an RFC 3339 date-time with Z or an offset`));
  }
  const newest = (await call('GET', '/v1/audit?limit=1')).json.items[0];
  const at = Date.parse(newest.at);
  // The same instant written with other offsets: since is inclusive, so it finds the event, and a millisecond later does not.
  const withOffset = (ms: number, minutes: number, sign: string) => `${new Date(ms + Number(`${sign}1`) * minutes * 60_000).toISOString().slice(0, 23)}${sign}${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
  const found = await call('GET', `/v1/audit?since=${encodeURIComponent(withOffset(at, 330, '+'))}`);
  assert.equal(found.status, 200, found.body);
  assert.ok(found.json.items.some((e: any) => e.id === newest.id), found.body);
  const later = await call('GET', `/v1/audit?since=${encodeURIComponent(withOffset(at + 1, 180, '-'))}`);
  assert.equal(later.status, 200, later.body);
  assert.ok(!later.json.items.some((e: any) => e.id === newest.id), later.body);
  assert.equal((await call('GET', '/v1/audit?since=2024-02-29t00:00:00.5z&until=2099-12-31T23:59:59.999999999Z')).status, 200);
  assertError(await call('GET', '/v1/audit?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z'), 400, 'VALIDATION_FAILED', /since .* must be earlier than until/);
});

/** The server's log lines (JSON), once one with this request ID has been written: stdout is read asynchronously. */
async function logLinesOf(requestId: string) {
  for (let i = 0; i < 50 && !srv.logs().includes(requestId); i++) await new Promise((r) => setTimeout(r, 40));
  return srv.logs().trim().split('\n').map((line) => JSON.parse(line)).filter((l) => l.requestId === requestId);
}

test('what the router refuses before any route (bad percent-encoding, an over-long segment) is coded, with a request ID and an access-log line', async () => {
  const bad = await call('GET', '/v1/clusters/%ff');
  assertError(bad, 400, 'VALIDATION_FAILED', /percent-encod/);
  assertError(await call('POST', '/kube/clusters/%ff/authorize', { token: null, body: '{}' }), 400, 'VALIDATION_FAILED', /percent-encod/);
  assertError(await call('GET', '/nowhere/%ff', { token: null }), 400, 'VALIDATION_FAILED', /percent-encod/);
  const [line] = await logLinesOf(bad.json.requestId);
  assert.deepEqual({ msg: line?.msg, statusCode: line?.statusCode, url: line?.url }, { msg: 'request completed', statusCode: 400, url: '/v1/clusters/%ff' });
  // An ID or name as long as the schemas allow (128) reaches the route; a longer one is refused by the router.
  assertError(await call('GET', `/v1/clusters/${'a'.repeat(128)}`), 404, 'NOT_FOUND');
  assertError(await call('GET', `/v1/clusters/${'a'.repeat(129)}`), 400, 'VALIDATION_FAILED', /longer than 128 characters/);
  const m = await call('GET', '/metrics', { token: null });
  assert.match(m.body, /kubecred_http_request_duration_seconds_count\{method="GET",route="unmatched",status_code="400"\} [1-9]/);
});

test('a known path asked with a method it does not take is 405 METHOD_NOT_ALLOWED with Allow; HEAD, unknown paths and the Alibaba paths keep their answers', async () => {
  const cases: [string, string, string][] = [
    ['PUT', '/v1/clusters', 'GET, HEAD, POST'],
    ['DELETE', '/v1/audit', 'GET, HEAD'],
    ['PATCH', `/v1/clusters/${clusterId}`, 'DELETE, GET, HEAD'],
    ['GET', `/v1/clusters/${clusterId}/kubeconfig?temporaryMinutes=15`, 'POST'],
    ['POST', '/healthz', 'GET, HEAD'],
    ['PUT', '/openapi.json', 'GET, HEAD'],
    ['DELETE', '/metrics', 'GET, HEAD'],
    ['GET', `/kube/clusters/${clusterId}/authorize`, 'POST'],
    ['POST', '/console/index.html', 'GET, HEAD'],
    ['OPTIONS', '/v1/clusters', 'GET, HEAD, POST'],
  ];
  for (const [method, path, allow] of cases) {
    const r = await call(method, path);
    assertError(r, 405, 'METHOD_NOT_ALLOWED', new RegExp(`takes ${allow}, not ${method}`));
    assert.equal(r.headers.allow, allow, `${method} ${path}`);
    assert.deepEqual(r.json.details, { allow: allow.split(', ') });
  }
  const [line] = (await logLinesOf((await call('PUT', '/v1/clusters')).headers['x-request-id'] as string)).filter((l) => l.msg === 'request completed');
  assert.deepEqual(pick(line), { statusCode: 405, errorCode: 'METHOD_NOT_ALLOWED', wireCode: 'METHOD_NOT_ALLOWED', principalId: undefined });
  // HEAD stays served where GET is; a path no method serves is still 404.
  assert.equal((await call('HEAD', '/healthz', { token: null })).status, 200);
  assert.equal((await call('HEAD', '/openapi.json', { token: null })).status, 200);
  assert.equal((await call('GET', '/openapi.json', { token: null })).status, 200);
  assertError(await call('PUT', '/v1/nowhere'), 404, 'NOT_FOUND');
  assertError(await call('PUT', '/v1/audit-events'), 404, 'NOT_FOUND');
  // Alibaba answers a wrong method with "api not found, check your url and method", and so does its surface here.
  const ack = await call('POST', `/k8s/${clusterId}/user_config`, { token: null });
  assert.equal(ack.status, 404);
  assert.equal(ack.json.code, 'InvalidAction.NotFound');
  assert.equal(ack.headers.allow, undefined);
  const rpc = await call('PUT', '/', { token: null });
  assert.equal(rpc.status, 404);
  assert.equal(rpc.json.Code, 'InvalidAction.NotFound');
});

test("a refused request's access-log line names kubecred's error code, the surface's, and the caller's principal; never the message", async () => {
  const bob = await cliJson(srv, srv.rootToken, ['principal', 'create', 'log-bob']);
  const bobToken = (await cliJson(srv, srv.rootToken, ['token', 'create', '--principal', 'log-bob'])).token;
  secrets.push(bobToken);
  const lineOf = async (r: RawResponse) => {
    const id = (r.json?.requestId ?? r.json?.RequestId ?? r.headers['x-request-id']) as string;
    const lines = (await logLinesOf(id)).filter((l) => l.msg === 'request completed');
    assert.equal(lines.length, 1, `one access-log line for ${id}`);
    // Never the message: it may echo what the caller sent.
    assert.ok(!JSON.stringify(lines[0]).includes('"message"'), JSON.stringify(lines[0]));
    return lines[0];
  };
  const denied = await call('POST', '/v1/clusters', { token: bobToken, body: JSON.stringify({ name: 'not-bobs', publicEndpoint: 'https://192.0.2.30:6443' }) });
  assertError(denied, 403, 'ACCESS_DENIED');
  assert.deepEqual(pick(await lineOf(denied)), { statusCode: 403, errorCode: 'ACCESS_DENIED', wireCode: 'ACCESS_DENIED', principalId: bob.id });
  const malformed = await call('POST', '/v1/principals', { body: '{"name": "half' });
  assertError(malformed, 400, 'VALIDATION_FAILED');
  assert.deepEqual(pick(await lineOf(malformed)), { statusCode: 400, errorCode: 'VALIDATION_FAILED', wireCode: 'VALIDATION_FAILED', principalId: srv.rootPrincipalId });
  const unauthenticated = await call('GET', '/v1/clusters', { token: 'kc1.tok_nope.secret' });
  assert.deepEqual(pick(await lineOf(unauthenticated)), { statusCode: 401, errorCode: 'UNAUTHENTICATED', wireCode: 'UNAUTHENTICATED', principalId: undefined });
  // No route: nothing authenticated the caller.
  assert.deepEqual(pick(await lineOf(await call('GET', '/v1/nowhere'))), { statusCode: 404, errorCode: 'NOT_FOUND', wireCode: 'NOT_FOUND', principalId: undefined });
  // The vendor surfaces log their own wire code beside kubecred's.
  const cce = await call('GET', '/api/v3/projects/p1/clusters/c1/clustercert', { token: null });
  assert.equal(cce.status, 401);
  assert.deepEqual(pick(await lineOf(cce)), { statusCode: 401, errorCode: 'UNAUTHENTICATED', wireCode: 'APIGW.0301', principalId: undefined });
  const ack = await call('GET', '/k8s/c1/user_config', { token: null });
  assert.equal(ack.json.code, 'MissingParameter');
  assert.deepEqual(pick(await lineOf(ack)), { statusCode: 400, errorCode: 'UNAUTHENTICATED', wireCode: 'MissingParameter', principalId: undefined }, 'a request without its signature refuses the caller');
  // A success names its caller too.
  assert.equal((await lineOf(await call('GET', '/v1/whoami', { token: bobToken }))).principalId, bob.id);
});

const pick = (l: any) => ({ statusCode: l.statusCode, errorCode: l.errorCode, wireCode: l.wireCode, principalId: l.principalId });

test('what Node\'s HTTP parser refuses is a coded 400 JSON answer with a request ID, and the headers stay out of the log', async () => {
  const auth = `Authorization: Bearer ${srv.rootToken}\r\n`;
  const cases: [string, RegExp][] = [
    [`GET /v1/clusters HTTP/1.1\r\nHost: x\r\n${auth}X-Note: a\x01b\r\n\r\n`, /character HTTP does not allow/],
    [`POST /v1/principals HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, /Content-Length or with Transfer-Encoding: chunked, never both/],
  ];
  for (const [bytes, message] of cases) {
    const r = await rawExchange(srv, bytes);
    assert.equal(r.status, 400, r.body);
    assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(r.json?.code, 'VALIDATION_FAILED', r.body);
    assert.match(r.json.message, message);
    assert.match(r.json.requestId, /^req_[0-9a-f]{24}$/);
    assert.equal(r.headers['x-request-id'], r.json.requestId);
    const [line] = await logLinesOf(r.json.requestId);
    assert.equal(line?.statusCode, 400);
    assert.match(String(line?.code), /^HPE_/);
  }
  assert.ok(!srv.logs().includes(srv.rootToken), 'the refused request\'s Authorization reached the log');
});

test('unknown IDs and another account\'s IDs are NOT_FOUND, and change nothing', async () => {
  const before = await snapshot();
  assertError(await call('GET', '/v1/clusters/cls_doesnotexist'), 404, 'NOT_FOUND');
  assertError(await call('POST', '/v1/clusters/cls_doesnotexist/kubeconfig', { body: '{}' }), 404, 'NOT_FOUND');
  assertError(await call('GET', `/v1/clusters/${otherClusterId}`), 404, 'NOT_FOUND');
  assertError(await call('POST', `/v1/clusters/${otherClusterId}/kubeconfig`, { body: '{}' }), 404, 'NOT_FOUND');
  assertError(await call('POST', `/v1/clusters/${otherClusterId}/revocations`, { body: '{}' }), 404, 'NOT_FOUND');
  assertError(await call('DELETE', `/v1/clusters/${otherClusterId}`), 404, 'NOT_FOUND');
  assertError(await call('GET', `/v1/clusters/${clusterId}`, { token: otherRootToken }), 404, 'NOT_FOUND');
  assertError(await call('GET', '/v1/credentials/crd_nope'), 404, 'NOT_FOUND');
  assertError(await call('GET', '/v1/nowhere'), 404, 'NOT_FOUND', /no route/);
  assert.deepEqual(await snapshot(), before);
  const theirs = await call('GET', '/v1/clusters', { token: otherRootToken });
  assert.deepEqual(theirs.json.items.map((c: { id: string }) => c.id), [otherClusterId]);
});

test('missing, malformed and wrong tokens are UNAUTHENTICATED', async () => {
  const none = await call('GET', '/v1/clusters', { token: null });
  assertError(none, 401, 'UNAUTHENTICATED');
  assert.equal(none.headers['www-authenticate'], 'Bearer realm="kubecred"');
  assertError(await call('GET', '/v1/clusters', { token: 'garbage' }), 401, 'UNAUTHENTICATED');
  const [p, id] = srv.rootToken.split('.');
  assertError(await call('GET', '/v1/clusters', { token: `${p}.${id}.${'A'.repeat(43)}` }), 401, 'UNAUTHENTICATED');
  assertError(await call('GET', '/v1/clusters', { token: null, headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } }), 401, 'UNAUTHENTICATED');
});

test('healthz, readyz and metrics answer; every response carries X-Request-Id', async () => {
  const h = await call('GET', '/healthz', { token: null });
  assert.equal(h.status, 200);
  assert.match(String(h.headers['x-request-id']), /^req_/);
  const r = await call('GET', '/readyz', { token: null });
  assert.deepEqual(r.json, { status: 'ready', store: 'sqlite' });
  const issued = await call('POST', `/v1/clusters/${clusterId}/kubeconfig`, { body: '{"temporaryMinutes": 15}' });
  // A bearer caller's kubeconfig (private key inside) is no more cacheable than the console's; nor is a refusal.
  assert.equal(issued.headers['cache-control'], 'no-store');
  assert.equal((await call('GET', '/v1/clusters', { token: null })).headers['cache-control'], 'no-store');
  const m = await call('GET', '/metrics', { token: null });
  assert.match(m.body, /kubecred_kubeconfigs_issued_total\{kind="temporary"\} [1-9]/);
  // Node's own metrics under their usual names, kubecred_ in front once.
  assert.match(m.body, /^kubecred_process_cpu_seconds_total /m);
  assert.match(m.body, /^kubecred_nodejs_eventloop_lag_seconds /m);
  assert.doesNotMatch(m.body, /kubecred_process_(process|nodejs)_/);
  assert.match(m.body, /kubecred_http_request_duration_seconds_bucket\{.*route="\/v1\/clusters\/:id\/kubeconfig"/);
  // The issuance committed and waited for a sync of the WAL: the embedded store's counters say so.
  assert.match(m.body, /^kubecred_store_commits_total [1-9]/m);
  assert.match(m.body, /^kubecred_store_wal_syncs_total [1-9]/m);
  assert.match(m.body, /^kubecred_store_wal_sync_seconds_total (?!0\n)[0-9.e-]+$/m);
  // The revocation index holds at least the kubeconfig just issued.
  assert.ok(Number(/^kubecred_revocation_index_credentials (\d+)$/m.exec(m.body)?.[1]) >= 1, m.body);
  assert.ok(Number(/^kubecred_revocation_index_bytes (\d+)$/m.exec(m.body)?.[1]) > 0);
});

test('the OpenAPI document is valid and describes every /v1 route', async () => {
  const r = await call('GET', '/openapi.json', { token: null });
  assert.equal(r.status, 200);
  const v = new Validator();
  const res = await v.validate(r.json);
  assert.equal(res.valid, true, JSON.stringify(res.errors)?.slice(0, 2000));
  for (const p of ['/v1/clusters', '/v1/clusters/{id}/kubeconfig', '/v1/clusters/{id}/revocations', '/v1/clusters/{id}/validity/{principal}', '/v1/credentials', '/v1/principals', '/v1/policies', '/v1/audit', '/v1/principals/{id}/tokens/{tokenId}']) {
    assert.ok(r.json.paths[p], `${p} is documented`);
  }
  const ops = Object.entries(r.json.paths as Record<string, Record<string, any>>).flatMap(([path, o]) => Object.entries(o).map(([method, op]) => ({ path, method, op })));
  const ids = ops.map((o) => o.op.operationId);
  assert.ok(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z0-9]+$/.test(id)), 'every operation has an operationId');
  assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
  const op = (method: string, path: string) => ops.find((o) => o.method === method && o.path === path)!.op;
  assert.equal(op('post', '/v1/clusters/{id}/kubeconfig').operationId, 'postV1ClustersByIdKubeconfig');
  // Security as each path really takes it: none for probes, metrics and the CRL, the webhook token for the webhooks.
  for (const path of ['/healthz', '/readyz', '/metrics', '/clusters/{id}/crl']) assert.deepEqual(op('get', path).security, [], path);
  assert.deepEqual(op('post', '/kube/clusters/{id}/authorize').security, [{ webhookToken: [] }]);
  assert.equal(op('get', '/v1/clusters').security, undefined, 'the document-wide security');
  // /v1 takes a bearer token or the console's session cookie, named as the server names it over TLS.
  assert.deepEqual(r.json.security, [{ bearer: [] }, { consoleSession: [] }]);
  assert.deepEqual({ ...r.json.components.securitySchemes.consoleSession, description: undefined }, { type: 'apiKey', in: 'cookie', name: '__Host-kubecred_session', description: undefined });
  assert.deepEqual(op('post', '/v1/sessions').security, [], 'signing in takes a token in the body');
  for (const m of ['get', 'delete']) assert.deepEqual(op(m, '/v1/sessions/current').security, [{ consoleSession: [] }]);
  // A change made with the cookie needs the CSRF header: documented on every /v1 change, and only there.
  const csrf = (o: any) => (o.parameters ?? []).find((p: any) => p.in === 'header' && p.name.toLowerCase() === 'x-csrf-token');
  for (const o of ops.filter((x) => x.path.startsWith('/v1/') && x.path !== '/v1/sessions')) {
    assert.equal(Boolean(csrf(o.op)), !['get', 'head', 'options'].includes(o.method), `${o.method} ${o.path}`);
  }
  assert.equal(csrf(op('post', '/v1/sessions')), undefined);
  assert.equal(csrf(op('delete', '/v1/sessions/current')).required, false, 'a bearer caller sends none');
  // The probes document their 503 and its shape, /metrics its 403.
  for (const [path, status, failing] of [['/healthz', 'failed', ['store']], ['/readyz', 'not-ready', ['store', 'changeFeed']]] as const) {
    const schema = op('get', path).responses['503']?.content?.['application/json']?.schema;
    assert.ok(schema, `${path} documents 503`);
    assert.deepEqual(schema.properties.status.enum, [status]);
    assert.ok(schema.required.includes('failing') && schema.required.includes('requestId'), path);
    assert.deepEqual(schema.properties.failing.items.enum ?? schema.properties.failing.items.anyOf.map((a: any) => a.enum[0]), failing);
  }
  assert.equal(op('get', '/metrics').responses['403'].content['application/json'].schema.$ref, '#/components/schemas/Error');
  assert.ok(op('get', '/metrics').responses['200'].content['text/plain']);
  // Core's name, region and group rules, as patterns: the same expressions core checks.
  const body = (method: string, path: string) => op(method, path).requestBody.content['application/json'].schema.properties;
  for (const [m, p] of [['post', '/v1/clusters'], ['post', '/v1/principals'], ['post', '/v1/policies'], ['post', '/v1/principals/{id}/tokens']]) {
    assert.equal(body(m!, p!).name.pattern, NAME_RE.source, `${m} ${p}`);
  }
  assert.equal(body('post', '/v1/clusters').region.pattern, REGION_RE.source);
  assert.equal(body('post', '/v1/projects').region.pattern, REGION_RE.source);
  assert.equal(body('post', '/v1/principals').groups.items.pattern, GROUP_RE.source);
  assert.equal(body('patch', '/v1/principals/{id}').groups.items.pattern, GROUP_RE.source);
  // A body is required only where it has required fields.
  assert.equal(op('post', '/v1/clusters/{id}/kubeconfig').requestBody.required, false);
  assert.equal(op('post', '/v1/clusters').requestBody.required, true);
  // 503 (the database unreachable, its disk full) is documented wherever the store answers.
  assert.ok(op('post', '/v1/clusters/{id}/kubeconfig').responses['503'], 'issuance documents 503');
  assert.ok(op('get', '/v1/credentials').responses['503'], 'the inventory documents 503');
});

test('every documented response schema compiles, and what the server answers validates against what it documents', async () => {
  const docs = documentedResponses((await call('GET', '/openapi.json', { token: null })).json);
  assert.ok(docs.compileAll() > 100);
  const forged = (json: unknown) => ({ status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(json), raw: Buffer.alloc(0), json });
  assert.throws(() => docs.check('GET', '/readyz', forged({ status: 'fine' })), /GET \/readyz 200: .*must be equal to one of the allowed values/, 'the check bites');
  docs.check('GET', '/healthz', await call('GET', '/healthz', { token: null }));
  docs.check('GET', '/readyz', await call('GET', '/readyz', { token: null }));
  docs.check('GET', '/metrics', await call('GET', '/metrics', { token: null }));
  docs.check('GET', '/v1/clusters', await call('GET', '/v1/clusters'));
  docs.check('GET', '/v1/clusters/{id}', await call('GET', `/v1/clusters/${clusterId}`));
  docs.check('GET', '/v1/clusters/{id}', await call('GET', '/v1/clusters/cls_nope'));
  docs.check('GET', '/v1/clusters', await call('GET', '/v1/clusters', { token: 'kc1.tok_nope.secret' }));
  const issued = await call('POST', `/v1/clusters/${clusterId}/kubeconfig`, { body: JSON.stringify({ temporaryMinutes: 15 }) });
  docs.check('POST', '/v1/clusters/{id}/kubeconfig', issued);
  docs.check('GET', '/v1/credentials/{id}', await call('GET', `/v1/credentials/${issued.json.credential.id}`));
  docs.check('GET', '/v1/credentials', await call('GET', '/v1/credentials'));
  const refused = await call('POST', '/v1/principals', { body: JSON.stringify({ name: 'Not A Name', groups: ['a group'] }) });
  assertError(refused, 400, 'VALIDATION_FAILED', /^body\/name must be 1-63 lowercase letters, digits, '\.', '_' or '-', starting and ending with a letter or digit; see/);
  docs.check('POST', '/v1/principals', refused);
  assertError(await call('PATCH', `/v1/principals/${srv.rootPrincipalId}`, { body: JSON.stringify({ groups: ['ok', 'not ok'] }) }), 400, 'VALIDATION_FAILED', /^body\/groups\/1 must be a group name of 1-64 characters/);
  assertError(await call('POST', '/v1/clusters', { body: JSON.stringify({ name: 'regional', region: 'EU West' }) }), 400, 'VALIDATION_FAILED', /^body\/region must be 1-63 lowercase letters, digits or '-'/);
  const principal = await call('POST', '/v1/principals', { body: JSON.stringify({ name: 'documented', groups: ['dev', 'oidc:team@example.com'] }) });
  docs.check('POST', '/v1/principals', principal);
  docs.check('GET', '/v1/audit', await call('GET', '/v1/audit?limit=5'));
});

test('a route whose body is optional takes none, or an empty one under a JSON Content-Type; body-less routes ignore an empty JSON body', async () => {
  const alice = await cliJson(srv, srv.rootToken, ['principal', 'create', 'bodyless']);
  const noBody = await call('POST', `/v1/principals/${alice.id}/tokens`);
  assert.equal(noBody.status, 201, noBody.body);
  const emptyJson = await call('POST', `/v1/clusters/${clusterId}/kubeconfig`, { headers: { 'content-type': 'application/json' } });
  assert.equal(emptyJson.status, 200, emptyJson.body);
  assert.equal((await call('POST', `/v1/principals/${alice.id}/access-keys`, { headers: { 'content-type': 'application/json' } })).status, 201);
  assert.equal((await call('DELETE', `/v1/principals/${alice.id}`, { headers: { 'content-type': 'application/json' } })).status, 200);
  // A required body still is: its fields say what is missing.
  assertError(await call('POST', '/v1/clusters'), 400, 'VALIDATION_FAILED', /name/);
  // A body that means something else is refused, not answered with a new secret.
  for (const body of ['[]', 'null', '{"policy":"admin"}']) {
    assertError(await call('POST', `/v1/principals/${alice.id}/access-keys`, { body }), 400, 'VALIDATION_FAILED', /body/);
  }
});

test('an audit filter by a name no event carries (a typo, another case) is refused, naming what is recorded', async () => {
  assertError(await call('GET', '/v1/audit?action=RevokeKubeConfig'), 400, 'VALIDATION_FAILED', /action "RevokeKubeConfig" is not a name kubecred records .*RevokeKubeconfig/);
  assertError(await call('GET', '/v1/audit?action=kubecred:Nothing'), 400, 'VALIDATION_FAILED', /not a name kubecred records/);
  for (const action of ['RevokeKubeconfig', 'kubecred:RevokeKubeconfig', 'ListClusters', 'kubecred:ListClusters']) {
    assert.equal((await call('GET', `/v1/audit?action=${action}`)).status, 200, action);
  }
});

test('a choice of values that is not met names the values it takes', async () => {
  assertError(await call('GET', '/v1/credentials?status=bogus'), 400, 'VALIDATION_FAILED', /querystring\/status must be one of active, revoked, superseded, expired/);
  assertError(await call('GET', '/v1/audit?outcome=DENIED'), 400, 'VALIDATION_FAILED', /querystring\/outcome must be one of success, denied, failure/);
});

test('names that look like IDs, and endpoints with spaces or control characters, are refused', async () => {
  for (const name of ['usr_alice', 'rol_x', 'pol_x', 'cls_x']) {
    assertError(await call('POST', '/v1/principals', { body: JSON.stringify({ name }) }), 400, 'VALIDATION_FAILED', /usr_, rol_, cls_ or pol_/);
  }
  assertError(await call('POST', '/v1/clusters', { body: JSON.stringify({ name: 'cls_x', publicEndpoint: 'https://192.0.2.1:6443' }) }), 400, 'VALIDATION_FAILED', /may not start/);
  assertError(await call('POST', '/v1/policies', { body: JSON.stringify({ name: 'pol_x', document: { Version: '1', Statement: [] } }) }), 400, 'VALIDATION_FAILED', /may not start/);
  for (const ep of ['https://1.2.3.4:6443/a\n"b\ty', ' https://1.2.3.4:6443', 'https://1.2.3.4:6443\u0000']) {
    assertError(await call('POST', '/v1/clusters', { body: JSON.stringify({ name: 'inj', publicEndpoint: ep }) }), 400, 'VALIDATION_FAILED', /spaces or control characters/);
  }
  assert.equal((await call('GET', '/v1/clusters/inj')).status, 404, 'nothing created');
});

test("a paging cursor is good for the listing that returned it only", async () => {
  for (const name of ['page-a', 'page-b', 'page-c']) await cliJson(srv, srv.rootToken, ['principal', 'create', name]);
  const first = (await call('GET', '/v1/principals?limit=1')).json;
  assert.ok(first.next);
  assert.equal((await call('GET', `/v1/principals?limit=1&cursor=${first.next}`)).status, 200);
  for (const other of ['/v1/clusters', '/v1/credentials', '/v1/policies', '/v1/audit']) {
    assertError(await call('GET', `${other}?cursor=${first.next}`), 400, 'VALIDATION_FAILED', /another listing \(principals/);
  }
});

test('a cursor goes on only with the filters (and owner) of the page that returned it; one from before cursors had them is taken', async () => {
  const alice = await cliJson(srv, srv.rootToken, ['principal', 'create', 'cursor-alice']);
  const bob = await cliJson(srv, srv.rootToken, ['principal', 'create', 'cursor-bob']);
  for (let i = 0; i < 3; i++) {
    for (const p of [alice, bob]) {
      assert.equal((await call('POST', `/v1/clusters/${clusterId}/kubeconfig`, { body: JSON.stringify({ principalId: p.id, temporaryMinutes: 30 }) })).status, 200);
      assert.equal((await call('POST', `/v1/principals/${p.id}/tokens`, { body: JSON.stringify({ name: `t${i}` }) })).status, 201);
    }
  }
  const base = `/v1/credentials?cluster=${clusterId}&principal=${alice.id}&limit=1`;
  const first = (await call('GET', base)).json;
  assert.ok(first.next);
  assert.equal((await call('GET', `${base}&cursor=${first.next}`)).status, 200, 'the same filters');
  for (const other of [`/v1/credentials?cluster=${clusterId}&principal=${bob.id}&limit=1`, `/v1/credentials?cluster=${clusterId}&principal=${alice.id}&status=expired&limit=1`, '/v1/credentials?limit=1']) {
    assertError(await call('GET', `${other}&cursor=${first.next}`), 400, 'VALIDATION_FAILED', /other filters .*start again without the cursor/);
  }
  const tokens = (await call('GET', `/v1/principals/${alice.id}/tokens?limit=1`)).json;
  assert.ok(tokens.next);
  assert.equal((await call('GET', `/v1/principals/${alice.id}/tokens?limit=1&cursor=${tokens.next}`)).status, 200);
  assertError(await call('GET', `/v1/principals/${bob.id}/tokens?limit=1&cursor=${tokens.next}`), 400, 'VALIDATION_FAILED', /for another owner/);
  const audit = (await call('GET', '/v1/audit?limit=1&action=IssueKubeconfig')).json;
  assertError(await call('GET', `/v1/audit?limit=1&action=CreateToken&cursor=${audit.next}`), 400, 'VALIDATION_FAILED', /other filters/);
  assert.equal((await call('GET', `/v1/audit?limit=1&action=IssueKubeconfig&cursor=${audit.next}`)).status, 200);
  // A client mid-walk across an upgrade: the cursor it holds names no filters, and goes on.
  const unscoped = Buffer.from(Buffer.from(first.next, 'base64url').toString().replace(/^credentials~[0-9a-f]{8}:/, 'credentials:')).toString('base64url');
  const resumed = await call('GET', `${base}&cursor=${unscoped}`);
  assert.equal(resumed.status, 200, resumed.body);
  assert.deepEqual(resumed.json.items.map((c: any) => c.id), (await call('GET', `${base}&cursor=${first.next}`)).json.items.map((c: any) => c.id));
});

test("the audit trail shows nothing of other accounts' volume: no shared sequence number, cursors name an event of this account", async () => {
  // The other account is busy between two of this account's events.
  await cliJson(srv, srv.rootToken, ['principal', 'create', 'seq-a1']);
  for (const n of [1, 2, 3]) assert.equal((await call('POST', '/v1/principals', { token: otherRootToken, body: JSON.stringify({ name: `theirs-${n}` }) })).status, 201);
  await cliJson(srv, srv.rootToken, ['principal', 'create', 'seq-a2']);
  const first = (await call('GET', '/v1/audit?limit=1')).json;
  assert.deepEqual(Object.keys(first.items[0]).sort(), ['action', 'actorId', 'at', 'detail', 'id', 'outcome', 'requestId', 'resourceId', 'resourceType', 'sourceIp']);
  assert.match(Buffer.from(first.next, 'base64url').toString(), new RegExp(`^audit~[0-9a-f]{8}:${first.items[0].id}\\.${Date.parse(first.items[0].at)}$`), 'its ID and time, which the caller reads on the page (and its filters, hashed)');
  const second = (await call('GET', `/v1/audit?limit=1&cursor=${first.next}`)).json;
  assert.equal(second.items[0].detail.name, 'seq-a1', "the next page is this account's previous event");
  // Their cursor is no use here, and says nothing either way.
  const theirs = (await call('GET', '/v1/audit?limit=1', { token: otherRootToken })).json;
  assertError(await call('GET', `/v1/audit?limit=1&cursor=${theirs.next}`), 400, 'VALIDATION_FAILED', /not one this server returned/);
});

test('filtering the audit log by an action finds its refusals too', async () => {
  const bob = await cliJson(srv, srv.rootToken, ['principal', 'create', 'audit-bob']);
  const token = (await cliJson(srv, srv.rootToken, ['token', 'create', '--principal', 'audit-bob'])).token;
  assertError(await call('POST', `/v1/clusters/${clusterId}/revocations`, { token, body: '{}' }), 403, 'ACCESS_DENIED');
  const events = (await call('GET', `/v1/audit?action=RevokeKubeconfig&actor=${bob.id}`)).json.items;
  assert.deepEqual(events.map((e: any) => [e.action, e.outcome]), [['kubecred:RevokeKubeconfig', 'denied']]);
  const exact = (await call('GET', `/v1/audit?action=kubecred:RevokeKubeconfig&actor=${bob.id}`)).json.items;
  assert.equal(exact.length, 1);
});

test("whoever may fetch a cluster's kubeconfig may read the cluster (the exec plugin's kubeconfig is built from it)", async () => {
  await cliJson(srv, srv.rootToken, ['principal', 'create', 'kc-only']);
  await cliJson(srv, srv.rootToken, ['policy', 'create', 'kc-only', '--document', JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: ['kubecred:GetKubeconfig'], Resource: '*' }] })]);
  await cliJson(srv, srv.rootToken, ['policy', 'attach', 'kc-only', '--principal', 'kc-only']);
  const token = (await cliJson(srv, srv.rootToken, ['token', 'create', '--principal', 'kc-only'])).token;
  const r = await call('GET', `/v1/clusters/${clusterId}`, { token });
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json.publicEndpoint, 'https://192.0.2.10:6443');
  const exec = await cli(srv, token, ['kubeconfig', 'get', '--cluster', 'edge', '--exec']);
  assert.equal(exec.code, 0, exec.stderr);
  assert.match(exec.stdout, /command:/);
  await cliJson(srv, srv.rootToken, ['principal', 'create', 'nothing-at-all']);
  const none = (await cliJson(srv, srv.rootToken, ['token', 'create', '--principal', 'nothing-at-all'])).token;
  assertError(await call('GET', `/v1/clusters/${clusterId}`, { token: none }), 403, 'ACCESS_DENIED', /GetCluster/);
});

test('no secret appears in the server logs', async () => {
  const k = await call('POST', `/v1/clusters/${clusterId}/kubeconfig`, { body: '{}' });
  const key = Buffer.from(/client-key-data: "?([A-Za-z0-9+/=]+)/.exec(k.json.kubeconfig)![1], 'base64').toString();
  const tok = await call('POST', '/v1/principals/root/tokens', { body: '{}' });
  const ak = await call('POST', '/v1/principals/root/access-keys', { body: '{}' });
  await call('GET', '/v1/clusters', { token: tok.json.token });
  await call('GET', '/v1/clusters', { token: `${tok.json.token}x` });
  // A signature in a query string (Alibaba's RPC v1 style) is cut out of the logged URL.
  // Percent-encoded, they are the same thing: %53ignature=, and a token whose dots are %2E.
  await call('GET', '/v1/clusters?%53ignature=ZW5jb2RlZC1zaWduYXR1cmU&x=1');
  await call('GET', `/v1/clusters?token=${tok.json.token.replaceAll('.', '%2E')}`);
  // (Sent last: the wait below for its access line covers the lines before it.)
  await call('GET', '/v1/clusters?Action=X&Signature=c2lnbmF0dXJlLXNlY3JldA%3D%3D&SignatureNonce=1');
  // The access line is written once the answer has gone: wait for it.
  for (let i = 0; i < 100 && !srv.logs().includes('SignatureNonce=1'); i++) await new Promise((r) => setTimeout(r, 20));
  const logs = srv.logs();
  assert.match(logs, /"url":"\/v1\/clusters\?Action=X&Signature=\[redacted\]&SignatureNonce=1"/);
  assert.ok(!logs.includes('c2lnbmF0dXJlLXNlY3JldA'), 'the signature reached the logs');
  assert.ok(!logs.includes('ZW5jb2RlZC1zaWduYXR1cmU'), 'the percent-encoded signature name let it through');
  assert.ok(!logs.includes(tok.json.token.split('.')[2]), "the percent-encoded token's secret reached the logs");
  assert.ok(logs.includes(`token=kc1.${tok.json.token.split('.')[1]}.[redacted]`), 'the line is there, redacted');
  assert.ok(logs.length > 0, 'the server logs requests');
  const lines = logs.trim().split('\n').map((line) => JSON.parse(line));
  // One access line per request, labelled with its request ID (Fastify's own two request lines are off).
  const access = lines.filter((l) => typeof l.requestId === 'string' && l.requestId.startsWith('req_'));
  assert.ok(access.length >= 5, 'access lines carry the request ID');
  assert.equal(new Set(access.map((l) => l.requestId)).size, access.length, 'one line per request');
  const fastifyLines = lines.filter((l) => l.reqId !== undefined || l.msg === 'incoming request');
  assert.deepEqual(fastifyLines, [], 'no Fastify request lines');
  assert.doesNotMatch(srv.stderr(), /Deprecation|Warning/, 'serve prints no deprecation warnings');
  for (const s of [...secrets, tok.json.token, ak.json.accessKeySecret, key.trim().split('\n')[1]]) {
    assert.ok(!logs.includes(s), 'a secret reached the logs');
  }
  assert.doesNotMatch(logs, /PRIVATE KEY|authorization/i);
});

test('an authorized issuance that kubecred refuses on its own rules is in the audit trail as a failure', async () => {
  const r = await call('POST', `/v1/clusters/${clusterId}/kubeconfig`, { body: JSON.stringify({ csr: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n' }) });
  assert.equal(r.status >= 400 && r.status < 500, true, r.body);
  const events = (await call('GET', '/v1/audit?outcome=failure&action=IssueKubeconfig')).json.items;
  const mine = events.find((e: any) => e.requestId === r.json.requestId);
  assert.ok(mine, 'the refusal is audited under its request ID');
  assert.equal(mine.resourceId, clusterId);
  assert.equal(mine.detail.code, r.json.code);
});

test('a policy naming a kubecred: action that does not exist is refused; vendor names and wildcards that match pass', async () => {
  const doc = (Action: string[]) => JSON.stringify({ name: `p-${Math.random().toString(36).slice(2, 8)}`, document: { Version: '1', Statement: [{ Effect: 'Allow', Action, Resource: '*' }] } });
  assertError(await call('POST', '/v1/policies', { body: doc(['kubecred:GetKubeconfg']) }), 400, 'VALIDATION_FAILED', /Statement\[0\]\.Action names "kubecred:GetKubeconfg", which is no kubecred action/);
  assertError(await call('POST', '/v1/policies', { body: doc(['kubecred:Nope*']) }), 400, 'VALIDATION_FAILED', /no kubecred action/);
  for (const ok of [['kubecred:*'], ['kubecred:Get*'], ['KUBECRED:getkubeconfig'], ['cs:DescribeClusterNodes', 'cs:DescribeClusterUserKubeconfig']]) {
    const r = await call('POST', '/v1/policies', { body: doc(ok) });
    assert.equal(r.status, 201, `${ok.join(',')}: ${r.body}`);
  }
});

test("nobody but the root makes, revokes or changes the root's credentials, whatever the policies say", async () => {
  await cliJson(srv, srv.rootToken, ['principal', 'create', 'almost-root']);
  await cliJson(srv, srv.rootToken, ['policy', 'create', 'everything', '--document', JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: ['kubecred:*'], Resource: '*' }] })]);
  await cliJson(srv, srv.rootToken, ['policy', 'attach', 'everything', '--principal', 'almost-root']);
  const token = (await cliJson(srv, srv.rootToken, ['token', 'create', '--principal', 'almost-root'])).token;
  const root = srv.rootPrincipalId;
  const rootTokenId = srv.rootToken.split('.')[1];
  const rootKey = srv.accessKeyId;
  for (const [method, path, body] of [
    ['POST', `/v1/principals/${root}/tokens`, '{}'],
    ['POST', `/v1/principals/${root}/access-keys`, undefined],
    ['DELETE', `/v1/principals/${root}/tokens/${rootTokenId}`, undefined],
    ['DELETE', `/v1/principals/${root}/access-keys/${rootKey}`, undefined],
    ['PATCH', `/v1/principals/${root}`, JSON.stringify({ groups: ['dev'] })],
  ] as const) {
    assertError(await call(method, path, { token, body }), 403, 'ROOT_ONLY', /only the account's root/);
  }
  // Its own, and other principals', as its policy allows.
  assert.equal((await call('POST', '/v1/principals/almost-root/tokens', { token, body: '{}' })).status, 201);
  const other = await cliJson(srv, srv.rootToken, ['principal', 'create', 'someone-else']);
  assert.equal((await call('POST', `/v1/principals/${other.id}/tokens`, { token, body: '{}' })).status, 201);
  assert.equal((await call('GET', '/v1/whoami')).status, 200, "the root's token still works");
  assert.equal((await call('GET', `/v1/principals/${root}/access-keys`)).json.items.find((k: any) => k.accessKeyId === rootKey).status, 'active');
});

test('a request trickled in byte by byte is cut at the 30 s its 408 names (Node checked only every 30 s: ~60 s)', async () => {
  const tls = await import('node:tls');
  const fs = await import('node:fs');
  const { port } = new URL(srv.url);
  const started = performance.now();
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port: Number(port), ca: fs.readFileSync(srv.caFile), servername: 'localhost' }, () => {
      socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
      const drip = setInterval(() => socket.writable && socket.write('a'), 1000);
      let got = '';
      socket.on('data', (d) => (got += d));
      socket.on('close', () => {
        clearInterval(drip);
        resolve(got);
      });
    });
    socket.on('error', reject);
    socket.setTimeout(70_000, () => reject(new Error('not cut within 70 s')));
  });
  const seconds = (performance.now() - started) / 1000;
  assert.match(answer, /^HTTP\/1\.1 408 /);
  assert.match(answer, /"code":"VALIDATION_FAILED","message":"the request was not received completely within 30 s; send it again","requestId":"req_[0-9a-f]{24}"/);
  assert.ok(seconds >= 29 && seconds < 40, `cut after ${seconds.toFixed(1)} s`);
});

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

/** What `openssl s_client` negotiates with the server given these flags: the protocol and cipher, or null when refused. */
function negotiate(url: string, flags: string[]): Promise<string | null> {
  return new Promise((resolve) => {
    const child = spawn('openssl', ['s_client', '-connect', new URL(url).host, ...flags], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.once('exit', (code) => {
      const m = /New, (TLSv[\d.]+), Cipher is (\S+)/.exec(out);
      resolve(code === 0 && m ? `${m[1]} ${m[2]}` : null);
    });
  });
}

test('TLS: 1.2 only with ECDHE and an AEAD cipher (CBC and SHA-1 suites refused), 1.3 as usual, nothing older', { skip: !hasOpenssl && 'openssl is missing' }, async () => {
  for (const cipher of ['ECDHE-ECDSA-AES256-SHA', 'ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-AES128-SHA256', 'ECDHE-ECDSA-AES256-SHA384']) {
    assert.equal(await negotiate(srv.url, ['-tls1_2', '-cipher', cipher]), null, cipher);
  }
  assert.equal(await negotiate(srv.url, ['-tls1_1', '-cipher', 'ALL:@SECLEVEL=0']), null, 'TLS 1.1');
  assert.equal(await negotiate(srv.url, ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES256-GCM-SHA384']), 'TLSv1.2 ECDHE-ECDSA-AES256-GCM-SHA384');
  assert.equal(await negotiate(srv.url, ['-tls1_2', '-cipher', 'ECDHE-ECDSA-CHACHA20-POLY1305']), 'TLSv1.2 ECDHE-ECDSA-CHACHA20-POLY1305');
  assert.match(await negotiate(srv.url, ['-tls1_3']) ?? 'refused', /^TLSv1\.3 TLS_/);
});
