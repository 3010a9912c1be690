// Bodies that cost the server more to read than they are worth, on every surface: JSON nested thousands of levels deep
// (JSON.parse of 1 MiB of "[[[[…" takes 0.3-0.6 s of the event loop every request and webhook shares) is refused
// before it is parsed, with the surface's own error shape; a request no route serves is not parsed at all; sign-in
// reads 4 KiB at most before anyone is authenticated.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertCodedError, rawRequest } from './support/http.ts';
import { PROJECT_ID, setupCce } from './support/huaweicloud-sdk.ts';
import { startServerProcess, type ServerProcess } from './support/server-process.ts';

let srv: ServerProcess;
let env: Awaited<ReturnType<typeof setupCce>>;
let webhookToken: string;

const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
const deepObject = (n: number) => `{"a":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}`;

before(async () => {
  srv = await startServerProcess();
  env = await setupCce(srv, { publicEndpoint: 'https://203.0.113.10:6443' });
  webhookToken = (await rawRequest(srv, 'POST', `/v1/clusters/${env.cluster.id}/webhook-tokens`, { token: srv.rootToken, body: '{}' })).json.token;
});

after(async () => {
  await srv?.stop();
});

test('the native API and the webhooks refuse JSON nested deeper than 64 levels before parsing it, naming the limit', async () => {
  const native = await rawRequest(srv, 'POST', '/v1/clusters', { token: srv.rootToken, body: deepObject(200) });
  assertCodedError(native, 400, 'VALIDATION_FAILED');
  assert.match(native.json.message, /nests more than 64 arrays or objects/);
  // 64 levels are still JSON like any other: the schema answers.
  const fine = await rawRequest(srv, 'POST', '/v1/clusters', { token: srv.rootToken, body: deepObject(62) });
  assertCodedError(fine, 400, 'VALIDATION_FAILED');
  assert.doesNotMatch(fine.json.message, /nests more than/);

  const review = await rawRequest(srv, 'POST', `/kube/clusters/${env.cluster.id}/authorize`, { token: webhookToken, body: `{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"extra":${deep(100_000)}}}` });
  assert.equal(review.status, 400, review.body);
  assert.match(review.body, /nests more than 64/);
});

test('sign-in takes 4 KiB at most, and refuses deep JSON; a request no route serves is answered without parsing its body', async () => {
  const big = await rawRequest(srv, 'POST', '/v1/sessions', { body: JSON.stringify({ token: 'x'.repeat(8000) }) });
  assertCodedError(big, 413, 'PAYLOAD_TOO_LARGE');
  const nested = await rawRequest(srv, 'POST', '/v1/sessions', { body: deep(1000) });
  assertCodedError(nested, 400, 'VALIDATION_FAILED');
  // Not parsed: neither deep nor broken JSON changes the 404 of a path nothing serves.
  for (const body of [deep(100_000), '{"broken":']) {
    assertCodedError(await rawRequest(srv, 'POST', '/v1/nothing-here', { body }), 404, 'NOT_FOUND');
  }
});

test('CCE refuses deep JSON in its own error shape, before anything is issued', async () => {
  const r = await rawRequest(srv, 'POST', `/api/v3/projects/${PROJECT_ID}/clusters/${env.cluster.id}/clustercert`, { body: `{"duration":1,"x":${deep(5000)}}`, headers: { 'x-auth-token': env.alice.token } });
  assert.equal(r.status, 400, r.body);
  assert.match(r.json.error_code ?? r.json.errorCode ?? '', /^CCE\./);
  assert.match(r.body, /nests more than 64/);
  const issued = (await rawRequest(srv, 'GET', `/v1/credentials?cluster=${env.cluster.id}`, { token: srv.rootToken })).json.items;
  assert.equal(issued.length, 0);
});

test("Alibaba's RPC endpoint refuses a query or form of more than 256 parameters before building it or checking a signature", async () => {
  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  // 250,000 pairs overflowed the stack of a spread (a 500); a 1 MiB form of 120,000 distinct ones took ~0.7 s to refuse.
  for (const body of ['a=1&'.repeat(250_000), Array.from({ length: 90_000 }, (_, i) => `k${i}=1`).join('&')]) {
    const r = await rawRequest(srv, 'POST', '/', { body, headers: form });
    assert.equal(r.status, 400, r.body);
    assert.equal(r.json.Code, 'InvalidParameter');
    assert.match(r.json.Message, /more than 256 parameters in its body/);
    assert.ok(r.json.RequestId);
  }
  const q = await rawRequest(srv, 'GET', `/?${Array.from({ length: 300 }, (_, i) => `q${i}=1`).join('&')}`);
  assert.equal(q.status, 400, q.body);
  assert.match(q.json.Message, /more than 256 parameters in its query/);
  // A form of ordinary size still reaches the signature check.
  const small = await rawRequest(srv, 'POST', '/', { body: 'Action=DescribeServiceMeshKubeconfig&ServiceMeshId=x', headers: form });
  assert.equal(small.json.Code, 'MissingParameter');
  assert.match(small.json.Message, /Authorization/);
});
