// The revocation index's verdicts, with a clock moved by hand, and its loading from a real store.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { ManualClock, makeKit, type Kit } from './test-kit.ts';
import type { IndexedCredential } from './store-port.ts';
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

test('the index learns of revocations at commit; on another cluster an active credential gets no opinion, a revoked one a deny', async () => {
  const d = await issue();
  assert.equal(kit.authority.index.byFingerprint('cls_other', d.credential.fingerprintSha256).deny, false);
  await kit.authority.credentials.revoke(kit.root, { clusterId, principalId: alice.principal.id });
  assert.equal(kit.authority.index.byFingerprint(clusterId, d.credential.fingerprintSha256).deny, true);
  assert.equal(kit.authority.index.byFingerprint('cls_other', d.credential.fingerprintSha256).deny, true, 'a CA shared with, or imported again by, another cluster');
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

// The index on its own, fed by hand: its compact tables must answer exactly what a plain map would.
function fake(i: number, over: Partial<IndexedCredential> = {}): IndexedCredential {
  return {
    id: `crd_${String(i).padStart(26, '0')}`, clusterId: `cls_${i % 3}`, principalId: `usr_${i % 50}`,
    fingerprintSha256: crypto.createHash('sha256').update(String(i)).digest('hex'), state: 'active',
    notAfter: new Date(Date.parse('2026-01-01T00:00:00Z') + 3600_000), ...over,
  };
}

test('many credentials: lookups, growth, states and holders agree with a plain reference model', () => {
  const clock = new ManualClock();
  const index = makeRevocationIndex(clock);
  const all = Array.from({ length: 5000 }, (_, i) => fake(i, { state: i % 17 === 0 ? 'revoked' : i % 23 === 0 ? 'superseded' : 'active' }));
  index.apply(all);
  assert.equal(index.size, all.length);
  for (const c of all) {
    const v = index.byFingerprint(c.clusterId, c.fingerprintSha256);
    assert.equal(v.deny, c.state !== 'active', c.id);
    if (v.deny) assert.match(v.reason, new RegExp(`${c.id} was ${c.state}`));
    // Presented to another cluster (one sharing the client CA): a dead credential is dead there too.
    const elsewhere = index.byFingerprint('cls_other', c.fingerprintSha256);
    assert.equal(elsewhere.deny, c.state !== 'active', c.id);
    if (elsewhere.deny) assert.equal(elsewhere.reason.includes(c.id), false, 'another cluster\'s credential is not named');
    if (elsewhere.deny) assert.match(elsewhere.reason, new RegExp(`issued for another cluster was ${c.state}`));
  }
  assert.equal(index.byFingerprint('cls_0', 'F'.repeat(64)).deny, false, 'not lowercase hex: unknown');
  assert.equal(index.byFingerprint('cls_0', 'ab').deny, false);
  // Every holder here has active credentials; revoking all of one holder's flips only that holder.
  assert.equal(index.byPrincipal('cls_0', 'usr_0').deny, false);
  index.apply(all.filter((c) => c.clusterId === 'cls_0' && c.principalId === 'usr_0').map((c) => ({ ...c, state: 'revoked' as const })));
  assert.equal(index.byPrincipal('cls_0', 'usr_0').deny, true);
  assert.equal(index.byPrincipal('cls_1', 'usr_1').deny, false);
  assert.equal(index.byPrincipal('cls_0', 'usr_never').deny, false, 'a holder kubecred never issued for: no opinion');
  // On a cluster it was never issued for: active on another, it may be that cluster's credential (RBAC decides);
  // once nothing it holds anywhere is active, whatever it presents is dead.
  assert.equal(index.byPrincipal('cls_other', 'usr_0').deny, false, 'usr_0 is still active on cls_1 and cls_2');
  index.apply(all.filter((c) => c.principalId === 'usr_0').map((c) => ({ ...c, state: 'revoked' as const })));
  assert.match((index.byPrincipal('cls_other', 'usr_0') as { reason: string }).reason, /no active kubecred credential for this cluster/);
  assert.equal(index.byPrincipal('cls_other', 'usr_1').deny, false);
  assert.equal(index.size, all.length, 'a change updates, never duplicates');
  clock.advance(2 * 3600_000);
  assert.equal(index.byPrincipal('cls_1', 'usr_1').deny, true, 'everything expired: the holder has no active credential');
  assert.match((index.byFingerprint(all[1]!.clusterId, all[1]!.fingerprintSha256) as { reason: string }).reason, /expired/);
});

test('load leaves out credentials already expired, and a change applied meanwhile wins over the row it reads', async () => {
  const clock = new ManualClock();
  const index = makeRevocationIndex(clock);
  const rows = [fake(1), fake(2, { notAfter: new Date(clock.now().getTime() - 1) }), fake(3)];
  const revoked = { ...rows[0]!, state: 'revoked' as const };
  const store = {
    credentials: {
      // The page was read before the revocation committed; the revocation reaches apply() first.
      scanUnexpired: async () => {
        index.apply([revoked]);
        return rows.map((c) => [c.id, c.clusterId, c.principalId, c.fingerprintSha256, c.state, c.notAfter.getTime()]);
      },
    },
  } as unknown as Parameters<typeof index.load>[0];
  assert.equal(await index.load(store), 2);
  assert.equal(index.byFingerprint(rows[0]!.clusterId, rows[0]!.fingerprintSha256).deny, true, 'the newer revocation stands');
  assert.equal(index.byFingerprint(rows[1]!.clusterId, rows[1]!.fingerprintSha256).deny, false, 'expired before start: kube-apiserver rejects it first');
  assert.equal(index.byFingerprint(rows[2]!.clusterId, rows[2]!.fingerprintSha256).deny, false);
});

test('memory: the index holds 200,000 credentials in well under 120 bytes each (measured, not timed)', () => {
  const index = makeRevocationIndex(new ManualClock());
  const batch: IndexedCredential[] = [];
  for (let i = 0; i < 200_000; i++) {
    batch.push(fake(i, { principalId: `usr_${i % 20_000}` }));
    if (batch.length === 10_000) index.apply(batch.splice(0));
  }
  assert.equal(index.size, 200_000);
  const perEntry = index.bytes / index.size;
  console.log(`revocation index: ${perEntry.toFixed(0)} bytes of arrays per credential at 200,000 (ids and holder keys on top)`);
  assert.ok(perEntry < 120, `${perEntry} bytes per credential`);
});

test('compact drops credentials expired before the cut once they are half the index, and every verdict on the rest stays', () => {
  const clock = new ManualClock();
  const index = makeRevocationIndex(clock);
  const t0 = clock.now().getTime();
  // 30,000 credentials: two thirds ending within the hour, a third a day later; every 7th revoked.
  const all = Array.from({ length: 30_000 }, (_, i) => fake(i, {
    notAfter: new Date(t0 + (i % 3 === 0 ? 86_400_000 : 3_600_000)), state: i % 7 === 0 ? 'revoked' : 'active',
  }));
  index.apply(all);
  assert.equal(index.compact(new Date(t0)), 0, 'nothing expired yet');
  const bytesBefore = index.bytes;
  clock.advance(2 * 3_600_000);
  assert.equal(index.compact(new Date(t0 + 2 * 3_600_000), 1_000_000), 0, 'fewer than the minimum: left alone');
  assert.equal(index.compact(new Date(t0 + 2 * 3_600_000)), 20_000);
  assert.equal(index.size, 10_000);
  assert.ok(index.bytes < bytesBefore);
  for (const c of all) {
    const v = index.byFingerprint(c.clusterId, c.fingerprintSha256);
    const live = c.notAfter.getTime() > clock.now().getTime();
    assert.equal(v.deny, live && c.state === 'revoked', c.id);
  }
  // Holders rebuilt: usr_0 (i = 0, 150, ...) still holds active day-long credentials on cls_0.
  assert.equal(index.byPrincipal('cls_0', 'usr_0').deny, false);
  index.apply([{ ...all[3]!, state: 'revoked' }]);
  assert.equal(index.byFingerprint(all[3]!.clusterId, all[3]!.fingerprintSha256).deny, true, 'changes still land after a rebuild');
});
