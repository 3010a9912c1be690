// Authorization rules on a real SQLite store: policy conditions and Deny, the refusals core makes itself (audited),
// and account isolation. The kubeconfig lifecycle itself is in credential-service.test.ts.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { isCode as code, makeKit, type Kit } from './test-kit.ts';
import type { Actor } from './actor.ts';
import { KubecredError } from './errors.ts';
import { Actions } from './actions.ts';
import { clusterTarget, makeAuthorizer } from './authorizer.ts';

let kit: Kit;
let clusterId: string;
let alice: Actor;

before(async () => {
  kit = await makeKit();
  clusterId = (await kit.authority.clusters.create(kit.root, { name: 'prod', publicEndpoint: 'https://203.0.113.10:6443' })).id;
  alice = await kit.user(['dev']);
});
after(() => kit.close());

const get = (a: Actor, extra: Record<string, unknown> = {}) => kit.authority.credentials.getKubeconfig(a, { clusterId, endpoint: 'public', ...extra });
const user = (groups: string[] = [], statements?: unknown[]) => kit.user(groups, statements);

test('authorization: explicit deny wins, and cs:KubeConfigDurationMinutes bounds temporary kubeconfig minutes', async () => {
  const u = await user([], [
    { Effect: 'Allow', Action: 'cs:DescribeClusterUserKubeconfig', Resource: 'acs:cs:*:*:cluster/*', Condition: { NumericLessThanEquals: { 'cs:KubeConfigDurationMinutes': 60 } } },
  ]);
  await get(u, { temporaryMinutes: 60 });
  await assert.rejects(get(u, { temporaryMinutes: 61 }), code('ACCESS_DENIED'));
  await assert.rejects(get(u), code('ACCESS_DENIED'), 'a default kubeconfig has no duration, so the condition does not hold');
  const d = await user([], [
    { Effect: 'Allow', Action: 'kubecred:*', Resource: '*' },
    { Effect: 'Deny', Action: 'kubecred:GetKubeconfig', Resource: `krn:kubecred:*:*:cluster/${clusterId}` },
  ]);
  await assert.rejects(get(d), code('ACCESS_DENIED'));
  const denied = await kit.authority.audit.list(kit.root, { outcome: 'denied', actorId: d.principal.id }, { limit: 5 });
  assert.equal(denied.items.length, 1);
  assert.equal(denied.items[0].action, 'kubecred:GetKubeconfig');
});

test('a Deny on a condition key kubecred never supplies is refused when created (it would fail open); acs:CurrentTime is supplied', async () => {
  const deny = (key: string, op = 'Bool', value: unknown = 'false') => kit.authority.policies.create(kit.root, {
    name: kit.nextName('deny'), document: { Version: '1', Statement: [{ Effect: 'Deny', Action: '*', Resource: '*', Condition: { [op]: { [key]: value } } }] },
  });
  await assert.rejects(deny('acs:MFAPresent'), (e: unknown) => e instanceof KubecredError && e.code === 'VALIDATION_FAILED' && /never supplies/.test(e.message));
  await assert.rejects(deny('acs:SecureTransport'), code('VALIDATION_FAILED'));
  // An Allow on one only ever fails closed, and loads (policies copied from a cloud).
  await kit.authority.policies.create(kit.root, { name: kit.nextName('allow'), document: { Version: '1', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*', Condition: { Bool: { 'acs:MFAPresent': 'true' } } }] } });
  // After a date: the clock kubecred decides by.
  const u = await user();
  await get(u);
  const cutoff = await deny('acs:CurrentTime', 'DateGreaterThan', new Date(kit.clock.now().getTime() - 1000).toISOString());
  await kit.authority.policies.attach(kit.root, cutoff.id, u.principal.id);
  await assert.rejects(get(u), (e: unknown) => e instanceof KubecredError && /explicitly denied/.test(e.message));
});

test("refusals of rules core enforces itself are audited; a whole clean still meets a cluster's explicit Deny", async () => {
  const admin = await user([], [
    { Effect: 'Allow', Action: ['kubecred:DeletePrincipal', 'kubecred:CleanAllPrincipalAccess', 'kubecred:CleanPrincipalAccess'], Resource: '*' },
    { Effect: 'Deny', Action: ['kubecred:CleanPrincipalAccess'], Resource: `krn:kubecred:*:*:cluster/${clusterId}` },
  ]);
  const denials = async (action: string) => (await kit.authority.audit.list(kit.root, { action, outcome: 'denied', actorId: admin.principal.id }, { limit: 10 })).items.length;
  await assert.rejects(kit.authority.principals.delete(admin, kit.root.principal.id), code('CONFLICT'));
  assert.equal(await denials('kubecred:DeletePrincipal'), 1, 'deleting the root is on the record');
  await assert.rejects(kit.authority.credentials.list(admin, {}, { limit: 10 }), code('ACCESS_DENIED'));
  assert.equal(await denials('kubecred:ListCredentials'), 1);
  await assert.rejects(kit.authority.access.clean(admin, { principalId: kit.root.principal.id }), code('VALIDATION_FAILED'));
  assert.equal(await denials('kubecred:CleanAllPrincipalAccess'), 1);
  const target = await user();
  await get(target);
  await assert.rejects(kit.authority.access.clean(admin, { principalId: target.principal.id }), (e: unknown) => e instanceof KubecredError && /explicitly denied/.test(e.message));
  assert.equal((await kit.authority.credentials.list(kit.root, { principalId: target.principal.id, status: 'active' }, { limit: 10 })).items.length, 1, 'nothing was cleaned');
});

test('accounts: no principal sees another account\'s anything', async () => {
  const other = await kit.newAccount('tenant-b');
  await assert.rejects(kit.authority.clusters.get(other, clusterId), code('NOT_FOUND'));
  await assert.rejects(kit.authority.credentials.getKubeconfig(other, { clusterId, endpoint: 'public' }), code('NOT_FOUND'));
  await assert.rejects(kit.authority.principals.get(other, alice.principal.id), code('NOT_FOUND'));
  await assert.rejects(kit.authority.credentials.revoke(other, { clusterId, principalId: alice.principal.id }), code('NOT_FOUND'));
  assert.equal((await kit.authority.clusters.list(other, { limit: 50 })).items.length, 0);
  assert.equal((await kit.authority.credentials.list(other, {}, { limit: 50 })).items.length, 0);
  assert.ok((await kit.authority.audit.list(other, {}, { limit: 50 })).items.every((e) => e.accountId === other.accountId));
});

test('policies: a replaced document applies on the next request; an attached one is not deleted; deletion and change are audited', async () => {
  const u = await user();
  await get(u);
  const [own] = (await kit.authority.policies.forPrincipal(kit.root, u.principal.id)).items;
  // Replaced by a document that no longer allows GetKubeconfig: the next request is refused.
  const replaced = await kit.authority.policies.update(kit.root, own.name, { document: { Version: '1', Statement: [{ Effect: 'Allow', Action: 'kubecred:ListClusters', Resource: '*' }] } });
  assert.equal(replaced.id, own.id);
  assert.equal(replaced.description, own.description, 'kept when not given');
  await assert.rejects(get(u), code('ACCESS_DENIED'));
  await assert.rejects(kit.authority.policies.update(kit.root, own.id, { document: { Version: '1', Statement: [{ Effect: 'Allow', Action: 'kubecred:NoSuch', Resource: '*' }] } }), code('VALIDATION_FAILED'), 'checked as on create');
  assert.deepEqual((await kit.authority.policies.get(kit.root, own.id)).document, replaced.document, 'a refused update changed nothing');
  // Attached: refused, naming the holder; the root needs no policy, a user needs kubecred:DeletePolicy.
  await assert.rejects(kit.authority.policies.delete(kit.root, own.id), (e: unknown) => e instanceof KubecredError && e.code === 'CONFLICT' && e.message.includes(u.principal.id));
  assert.deepEqual((await kit.authority.policies.get(kit.root, own.id)).attachedTo, [u.principal.id]);
  await assert.rejects(kit.authority.policies.delete(alice, own.id), code('ACCESS_DENIED'));
  await assert.rejects(kit.authority.policies.update(alice, own.id, { document: replaced.document }), code('ACCESS_DENIED'));
  // A deleted principal's attachment does not hold the policy, and goes with it.
  await kit.authority.principals.delete(kit.root, u.principal.id);
  assert.deepEqual((await kit.authority.policies.get(kit.root, own.id)).attachedTo, []);
  assert.deepEqual(await kit.authority.policies.delete(kit.root, own.name), { deleted: true });
  await assert.rejects(kit.authority.policies.get(kit.root, own.id), code('NOT_FOUND'));
  await assert.rejects(kit.authority.policies.delete(kit.root, own.id), code('NOT_FOUND'));
  const trail = (await kit.authority.audit.list(kit.root, { resourceId: own.id }, { limit: 10 })).items.map((e) => [e.action, e.outcome]);
  assert.deepEqual(trail.filter(([a]) => a === 'DeletePolicy' || a === 'UpdatePolicy'), [['DeletePolicy', 'success'], ['UpdatePolicy', 'success']]);
  // Another account's policy is not found, by ID or name.
  const other = await kit.newAccount(kit.nextName('tenant'));
  const theirs = await kit.authority.policies.create(other, { name: 'theirs', document: { Version: '1', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] } });
  await assert.rejects(kit.authority.policies.update(kit.root, theirs.id, { document: replaced.document }), code('NOT_FOUND'));
  await assert.rejects(kit.authority.policies.delete(kit.root, 'theirs'), code('NOT_FOUND'));
});

test("a request reads and parses its caller's policies once, however many items it filters; the next request reads them again", async () => {
  let reads = 0;
  const store = { ...kit.store, policies: { ...kit.store.policies, forPrincipal: (id: string) => { reads++; return kit.store.policies.forPrincipal(id); } } };
  const authz = makeAuthorizer({ store, audit: kit.authority.auditWriter, clock: kit.clock });
  const u = await user([], [{ Effect: 'Allow', Action: 'kubecred:ListCredentials', Resource: 'krn:kubecred:*:*:cluster/cls_even*' }]);
  const target = (i: number) => clusterTarget(u.accountId, { id: `cls_${i % 2 ? 'odd' : 'even'}${i}`, region: 'r', kind: 'kubernetes' });
  const allowed = [];
  for (let i = 0; i < 50; i++) allowed.push(await authz.allows(u, Actions.ListCredentials, target(i)));
  assert.equal(allowed.filter(Boolean).length, 25);
  assert.equal(reads, 1);
  // Another request (another Actor) sees a change made in between.
  await kit.store.transaction(async (tx) => {
    for (const p of await tx.policies.forPrincipal(u.principal.id)) await tx.policies.detach(p.id, u.principal.id);
  });
  reads = 0;
  assert.equal(await authz.allows({ ...u, requestId: 'req_next' }, Actions.ListCredentials, target(0)), false);
  assert.equal(reads, 1);
});
