// The revocation index's verdicts, with a clock moved by hand, and its loading from a real store.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeKit, type Kit } from './test-kit.ts';
import { makeRevocationIndex } from './revocation-index.ts';
import type { Actor } from './actor.ts';

let kit: Kit;
let clusterId: string;
let alice: Actor;

before(async () => {
  kit = await makeKit();
  clusterId = (await kit.authority.clusters.create(kit.root, { name: 'idx', publicEndpoint: 'https://192.0.2.1:6443' })).id;
  alice = await kit.actor((await kit.authority.principals.create(kit.root, { name: 'alice' })).id);
});
after(() => kit.close());

const issue = (extra: Record<string, unknown> = {}) => kit.authority.credentials.getKubeconfig(kit.root, { clusterId, principalId: alice.principal.id, endpoint: 'public', ...extra });

test('an expired temporary kubeconfig is denied by the index; an active one gets no opinion', async () => {
  const t = await issue({ temporaryMinutes: 15 });
  assert.deepEqual(kit.authority.index.byFingerprint(clusterId, t.credential.fingerprintSha256), { deny: false });
  kit.clock.advance(16 * 60_000);
  const v = kit.authority.index.byFingerprint(clusterId, t.credential.fingerprintSha256);
  assert.equal(v.deny, true);
  assert.match((v as { reason: string }).reason, /expired/);
  kit.clock.set(new Date('2026-01-01T00:00:00Z'));
});

test('the index learns of revocations at commit, and a fingerprint of another cluster gets no opinion', async () => {
  const d = await issue();
  await kit.authority.credentials.revoke(kit.root, { clusterId, principalId: alice.principal.id });
  assert.equal(kit.authority.index.byFingerprint(clusterId, d.credential.fingerprintSha256).deny, true);
  assert.equal(kit.authority.index.byFingerprint('cls_other', d.credential.fingerprintSha256).deny, false);
  assert.equal(kit.authority.index.byFingerprint(clusterId, 'ff'.repeat(32)).deny, false, 'unknown certificates are RBAC\'s business');
});

test('a rolled-back transaction never reaches the index', async () => {
  const before = kit.authority.index.size;
  await assert.rejects(kit.authority.store.transaction(async (tx) => {
    await tx.credentials.revoke({ clusterId, states: ['active'] }, 'x', 'test', kit.clock.now());
    throw new Error('abort');
  }));
  assert.equal(kit.authority.index.size, before);
  const d = await issue();
  assert.equal(kit.authority.index.byFingerprint(clusterId, d.credential.fingerprintSha256).deny, false, 'still active after the rollback');
});

test('a fresh index loaded from the store knows every revocation (restart)', async () => {
  const fresh = makeRevocationIndex(kit.clock);
  const n = await fresh.load(kit.store, 2);
  assert.equal(n, kit.authority.index.size);
  const revoked = await kit.store.credentials.list({ accountId: kit.root.accountId, status: 'revoked', now: kit.clock.now() }, { limit: 10 });
  assert.ok(revoked.items.length > 0);
  for (const c of revoked.items) assert.equal(fresh.byFingerprint(c.clusterId, c.fingerprintSha256).deny, true);
});
