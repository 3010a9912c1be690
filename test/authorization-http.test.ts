// Authorization as a caller of the native API meets it, over real HTTPS: a withdrawn permission refuses the next
// request, and a caller without the permission is refused alike whether or not the thing exists (audited both ways).
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

test('without the permission, an existing cluster and an unknown one are refused alike (403, both audited); with it, the unknown one is 404', async () => {
  // Allowed on another cluster only: a permission that does not cover either.
  const nobody = await principal('outsider', [{ Effect: 'Allow', Action: ['kubecred:*'], Resource: 'krn:kubecred:*:*:cluster/cls_elsewhere' }]);
  const unknown = 'cls_00000000000000000000000000';
  const requests: Array<[string, (id: string) => string, unknown]> = [
    ['GET', (id) => `/v1/clusters/${id}`, undefined],
    ['POST', (id) => `/v1/clusters/${id}/kubeconfig`, {}],
    ['POST', (id) => `/v1/clusters/${id}/revocations`, {}],
    ['GET', (id) => `/v1/clusters/${id}/kubeconfig-summary`, undefined],
    ['DELETE', (id) => `/v1/clusters/${id}`, undefined],
  ];
  for (const [method, path, body] of requests) {
    const existing = await call(nobody.token, method, path(clusterId), body);
    const missing = await call(nobody.token, method, path(unknown), body);
    assertCodedError(existing, 403, 'ACCESS_DENIED');
    assertCodedError(missing, 403, 'ACCESS_DENIED');
    // The same sentence but for the ID: the region of the existing cluster is not in it either.
    assert.equal(missing.json.message, existing.json.message.replace(clusterId, unknown), `${method} ${path('…')}`);
  }
  const audited = await denials(nobody.id);
  for (const id of [clusterId, unknown]) {
    assert.deepEqual(audited.filter(([, r]: string[]) => r === id).map(([a]: string[]) => a).sort(),
      ['kubecred:DeleteCluster', 'kubecred:GetCluster', 'kubecred:GetKubeconfig', 'kubecred:ListCredentials', 'kubecred:RevokeKubeconfig'], id);
  }
  // One's own custom validity too (it answered 200 on an existing cluster, 403 on an unknown one).
  const ownValidity = (id: string) => call(nobody.token, 'GET', `/v1/clusters/${id}/validity/${nobody.id}`);
  const [seen, unseen] = [await ownValidity(clusterId), await ownValidity(unknown)];
  assertCodedError(seen, 403, 'ACCESS_DENIED');
  assertCodedError(unseen, 403, 'ACCESS_DENIED');
  assert.equal(unseen.json.message, seen.json.message.replace(clusterId, unknown));
  // Principals, policies and credentials likewise.
  const someone = (await root('POST', '/v1/principals', { name: 'someone' })).json.id;
  const policy = (await root('GET', '/v1/policies?limit=1')).json.items[0].id;
  const credential = (await root('POST', `/v1/clusters/${clusterId}/kubeconfig`, { temporaryMinutes: 15 })).json.credential.id;
  for (const [existing, missing] of [
    [`/v1/principals/${someone}`, '/v1/principals/usr_00000000000000000000000000'],
    [`/v1/policies/${policy}`, '/v1/policies/pol_00000000000000000000000000'],
    [`/v1/credentials/${credential}`, '/v1/credentials/crd_00000000000000000000000000'],
  ]) {
    assertCodedError(await call(nobody.token, 'GET', existing), 403, 'ACCESS_DENIED');
    assertCodedError(await call(nobody.token, 'GET', missing), 403, 'ACCESS_DENIED');
  }
  // Whoever holds the permission on every cluster learns that an unknown one is not there.
  const reader = await principal('reader', [{ Effect: 'Allow', Action: ['kubecred:GetCluster', 'kubecred:GetKubeconfig', 'kubecred:ListCredentials'], Resource: '*' }]);
  assertCodedError(await call(reader.token, 'GET', `/v1/clusters/${unknown}`), 404, 'NOT_FOUND');
  assertCodedError(await call(reader.token, 'POST', `/v1/clusters/${unknown}/kubeconfig`, {}), 404, 'NOT_FOUND');
  assertCodedError(await call(reader.token, 'GET', '/v1/credentials/crd_00000000000000000000000000'), 404, 'NOT_FOUND');
  assert.deepEqual(await denials(reader.id), []);
});

test('a caller allowed some clusters pages through those only: full pages, and no cursor names a cluster it may not see', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 7; i++) ids.push((await root('POST', '/v1/clusters', { name: `page-${i}`, publicEndpoint: 'https://192.0.2.11:6443' })).json.id);
  const shown = [ids[2], ids[5], ids[6]];
  const viewer = await principal('page-viewer', [{ Effect: 'Allow', Action: ['kubecred:ListClusters'], Resource: shown.map((id) => `krn:kubecred:*:*:cluster/${id}`) }]);
  for (const limit of [1, 2, 50]) {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let n = 0; n < 10; n++) {
      const r = await call(viewer.token, 'GET', `/v1/clusters?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(r.status, 200, r.body);
      seen.push(...r.json.items.map((c: any) => c.id));
      cursor = r.json.next;
      if (!cursor) break;
      assert.equal(r.json.items.length, limit, 'a page with a next is full');
      const named = Buffer.from(cursor, 'base64url').toString();
      assert.ok(shown.some((id) => named.includes(id)), `the cursor names a cluster the viewer sees: ${named}`);
    }
    assert.deepEqual(seen, shown, `limit=${limit}`);
  }
});
