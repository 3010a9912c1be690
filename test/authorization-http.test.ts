// Authorization as a caller of the native API meets it, over real HTTPS: a withdrawn permission refuses the next
// request.
// The ordering under concurrency, on SQLite and PostgreSQL, is in authorization-order.test.ts.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertCodedError, rawRequest } from './support/http.ts';
import { startServerProcess, type ServerProcess } from './support/server-process.ts';

let srv: ServerProcess;
let clusterId: string;

before(async () => {
  srv = await startServerProcess();
  clusterId = (await root('POST', '/v1/clusters', { name: 'prod', publicEndpoint: 'https://192.0.2.10:6443' })).json.id;
});
after(() => srv?.stop());

const call = (token: string, method: string, path: string, body?: unknown) =>
  rawRequest(srv, method, path, { token, body: body === undefined ? undefined : JSON.stringify(body) });
const root = (method: string, path: string, body?: unknown) => call(srv.rootToken, method, path, body);

/** A principal with one policy of the statements given, and a token of it. */
async function principal(name: string, statements: unknown[]): Promise<{ id: string; policyId: string; token: string }> {
  const p = (await root('POST', '/v1/principals', { name })).json;
  const pol = (await root('POST', '/v1/policies', { name: `${name}-policy`, document: { Version: '1', Statement: statements } })).json;
  assert.equal((await root('POST', `/v1/principals/${p.id}/policies`, { policy: pol.id })).status, 200);
  const token = (await root('POST', `/v1/principals/${p.id}/tokens`, {})).json.token;
  return { id: p.id, policyId: pol.id, token };
}

const denials = async (actorId: string) =>
  (await root('GET', `/v1/audit?actor=${actorId}&outcome=denied&limit=100`)).json.items.map((e: any) => [e.action, e.resourceId]);

test('a detached or narrowed policy refuses the next request (403, audited): nothing is decided on what was withdrawn', async () => {
  const u = await principal('leaver', [{ Effect: 'Allow', Action: ['kubecred:GetKubeconfig'], Resource: '*' }]);
  const kc = `/v1/clusters/${clusterId}/kubeconfig`;
  assert.equal((await call(u.token, 'POST', kc, { temporaryMinutes: 15 })).status, 200);
  assert.equal((await root('DELETE', `/v1/principals/${u.id}/policies/${u.policyId}`)).status, 200);
  assertCodedError(await call(u.token, 'POST', kc, { temporaryMinutes: 15 }), 403, 'ACCESS_DENIED');

  const v = await principal('narrowed', [{ Effect: 'Allow', Action: ['kubecred:GetKubeconfig'], Resource: '*' }]);
  assert.equal((await call(v.token, 'POST', kc, { temporaryMinutes: 15 })).status, 200);
  const narrowed = await root('PUT', `/v1/policies/${v.policyId}`, { document: { Version: '1', Statement: [{ Effect: 'Allow', Action: ['kubecred:GetKubeconfig'], Resource: 'krn:kubecred:*:*:cluster/cls_other' }] } });
  assert.equal(narrowed.status, 200, narrowed.body);
  assertCodedError(await call(v.token, 'POST', kc, { temporaryMinutes: 15 }), 403, 'ACCESS_DENIED');
  assert.deepEqual(await denials(u.id), [['kubecred:GetKubeconfig', clusterId]]);
  assert.deepEqual(await denials(v.id), [['kubecred:GetKubeconfig', clusterId]]);
});
