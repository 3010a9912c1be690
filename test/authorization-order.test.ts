// Once a withdrawal of a permission (a policy detached or narrowed) has answered, no request relying on it commits:
// the decision is read in the transaction that writes. On the embedded SQLite and on a real PostgreSQL, with the
// requests' transactions held at chosen points (core services over a wrapped store; the HTTP tests are in
// authorization-http.test.ts).

import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { isCode, makeKit, type Kit } from '../src/core/test-kit.ts';
import type { Actor } from '../src/core/actor.ts';
import type { Repos, Store } from '../src/core/store-port.ts';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.ts';
import { openPostgresStore } from '../src/storage/postgres/postgres-store.ts';
import { startPostgres, type TestPostgres } from './support/postgres.ts';

/** Where a request is held: before its transaction starts, or inside it just before its credential row is written. */
type HoldPoint = 'before-transaction' | 'before-insert';

interface Hold { reached: Promise<void>; release(): void }

/**
 * The store with one hold armed at a time: the next transaction to pass the point waits there until released. The
 * credential insert comes after the decision in the transaction (a kubeconfig is minted once allowed).
 */
function holdable(store: Store) {
  let armed: { point: HoldPoint; arrive: () => void; gate: Promise<void> } | null = null;
  const pass = async (point: HoldPoint) => {
    if (armed?.point !== point) return;
    const { arrive, gate } = armed;
    armed = null;
    arrive();
    await gate;
  };
  const held: Store = {
    ...store,
    transaction: async <T>(fn: (tx: Repos) => Promise<T>): Promise<T> => {
      await pass('before-transaction');
      return store.transaction((tx) => fn({ ...tx, credentials: { ...tx.credentials, insert: async (c) => { await pass('before-insert'); return tx.credentials.insert(c); } } }));
    },
  };
  const releases: Array<() => void> = [];
  return {
    store: held,
    arm(point: HoldPoint): Hold {
      let arrive!: () => void;
      let release!: () => void;
      const reached = new Promise<void>((r) => (arrive = r));
      armed = { point, arrive, gate: new Promise<void>((r) => (release = r)) };
      releases.push(release);
      return { reached, release };
    },
    /** After a failed test: nothing stays held (the store could not close). */
    releaseAll() {
      armed = null;
      for (const r of releases.splice(0)) r();
    },
  };
}

/** Whether `p` is still pending after `ms`. */
const pendingAfter = (p: Promise<unknown>, ms: number) =>
  Promise.race([p.then(() => false, () => false), new Promise<boolean>((r) => setTimeout(() => r(true), ms))]);

let postgres: TestPostgres;
let n = 0;
before(async () => {
  postgres = await startPostgres();
});
after(async () => {
  await postgres?.destroy();
});

const stores: Array<[string, (dir: string) => Promise<Store>]> = [
  ['sqlite', (dir) => openSqliteStore({ file: path.join(dir, 'kubecred.db') })],
  ['postgres', async () => openPostgresStore({ url: await postgres.createDatabase(`authz_order_${n++}`), listen: false })],
];

for (const [dialect, open] of stores) {
  describe(`authorization decided in the writing transaction (${dialect})`, () => {
    let kit: Kit;
    let holds: ReturnType<typeof holdable>;
    const hold = (point: HoldPoint) => holds.arm(point);
    let clusterId: string;

    before(async () => {
      kit = await makeKit(async (dir) => {
        holds = holdable(await open(dir));
        return holds.store;
      });
      clusterId = (await kit.authority.clusters.create(kit.root, { name: 'prod', publicEndpoint: 'https://203.0.113.10:6443' })).id;
    });
    afterEach(() => holds?.releaseAll());
    after(() => kit?.close());

    const issue = (a: Actor) => kit.authority.credentials.getKubeconfig(a, { clusterId, endpoint: 'public', temporaryMinutes: 15 });
    const policyOf = async (a: Actor) => (await kit.authority.policies.forPrincipal(kit.root, a.principal.id)).items[0]!;
    const issuedTo = async (a: Actor) => (await kit.authority.credentials.list(kit.root, { clusterId, principalId: a.principal.id }, { limit: 100 })).items.length;

    test('a request authorized before a detach answered but not yet written is refused after it, and audited as denied', async () => {
      const u = await kit.user();
      const h = hold('before-transaction');
      const request = issue(u);
      request.catch(() => undefined);
      await h.reached;
      await kit.authority.policies.detach(kit.root, (await policyOf(u)).id, u.principal.id);
      h.release();
      await assert.rejects(request, isCode('ACCESS_DENIED'));
      assert.equal(await issuedTo(u), 0, 'nothing minted after the detach answered');
      const denied = await kit.authority.audit.list(kit.root, { outcome: 'denied', actorId: u.principal.id }, { limit: 5 });
      assert.deepEqual(denied.items.map((e) => e.action), ['kubecred:GetKubeconfig']);
    });

    test('a detach asked while an allowed request is writing answers only after that request committed', async () => {
      const u = await kit.user();
      const h = hold('before-insert');
      const request = issue(u);
      await h.reached;
      // What was committed when the detach answered (SQLite may commit both in one group: the request first in it).
      const detach = kit.authority.policies.detach(kit.root, (await policyOf(u)).id, u.principal.id).then(() => issuedTo(u));
      assert.equal(await pendingAfter(detach, 300), true, 'the detach waits for the transaction that decided on the policy');
      h.release();
      await request;
      assert.equal(await detach, 1, 'the request had committed when the detach answered');
      await assert.rejects(issue(u), isCode('ACCESS_DENIED'));
      assert.equal(await issuedTo(u), 1);
    });

    test('a policy update asked while an allowed request is writing answers after it; the next request meets the new document', async () => {
      const u = await kit.user();
      const policy = await policyOf(u);
      const h = hold('before-insert');
      const request = issue(u);
      await h.reached;
      const update = kit.authority.policies.update(kit.root, policy.id, {
        document: { Version: '1', Statement: [{ Effect: 'Deny', Action: 'kubecred:GetKubeconfig', Resource: '*' }] },
      }).then(() => issuedTo(u));
      assert.equal(await pendingAfter(update, 300), true, 'the update waits for the transaction that decided on the old document');
      h.release();
      await request;
      assert.equal(await update, 1, 'the request had committed when the update answered');
      await assert.rejects(issue(u), (e: unknown) => isCode('ACCESS_DENIED')(e) && /explicitly denied/.test((e as Error).message));
    });

    test('a clean authorized before its permission was detached does not run after the detach answered', async () => {
      const admin = await kit.user([], [{ Effect: 'Allow', Action: ['kubecred:CleanAllPrincipalAccess'], Resource: '*' }]);
      const victim = await kit.user();
      await issue(victim);
      const h = hold('before-transaction');
      const clean = kit.authority.access.clean(admin, { principalId: victim.principal.id });
      clean.catch(() => undefined);
      await h.reached;
      await kit.authority.policies.detach(kit.root, (await policyOf(admin)).id, admin.principal.id);
      h.release();
      await assert.rejects(clean, isCode('ACCESS_DENIED'));
      const held = (await kit.authority.credentials.list(kit.root, { clusterId, principalId: victim.principal.id }, { limit: 10 })).items;
      assert.deepEqual(held.map((c) => c.status), ['active'], 'nothing revoked');
    });
  });
}
