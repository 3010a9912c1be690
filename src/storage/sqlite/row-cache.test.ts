// The SQLite store's row cache: token, principal and cluster reads come from memory, and every write to
// those tables, whichever path made it (a transaction, a write outside one, one rolled back, SQL the cache
// knows nothing of), is seen by the next read.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ApiToken, Cluster, Principal } from '../../core/model.ts';
import { openSqliteStore, type SqliteStore } from './sqlite-store.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubecred-rowcache-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const id = (prefix: string) => `${prefix}_${crypto.randomBytes(13).toString('hex').slice(0, 26)}`;
const T0 = Date.parse('2026-03-01T10:00:00Z');
let n = 0;

async function fixture(file = path.join(dir, `c${n++}.db`)) {
  const store = await openSqliteStore({ file });
  const accountId = id('acc');
  await store.accounts.insert({ id: accountId, name: 'cache', createdAt: new Date(T0) });
  const principal: Principal = { id: id('usr'), accountId, kind: 'user', name: 'alice', groups: ['dev'], isRoot: false, createdAt: new Date(T0), deletedAt: null };
  await store.principals.insert(principal);
  const token: ApiToken = { id: id('tok'), accountId, principalId: principal.id, name: 't', secretHash: 'ab'.repeat(32), createdAt: new Date(T0), expiresAt: null, revokedAt: null, createdBy: null };
  await store.tokens.insert(token);
  const cluster: Cluster = {
    id: id('cls'), accountId, name: 'prod', kind: 'kubernetes', region: 'eu-1', publicEndpoint: 'https://203.0.113.1:6443',
    privateEndpoint: null, serverCaPem: null, clientCa: { certPem: 'CA PEM', keySealed: 'sealed', algorithm: 'ec-p256', source: 'generated' },
    allowSystemGroups: false, credentialType: 'x509', createdAt: new Date(T0), deletedAt: null,
  };
  await store.clusters.insert(cluster);
  return { store, file, accountId, principal, token, cluster };
}

const hits = (s: SqliteStore) => s.stats().rowCacheHits;

test('repeated reads of a token, principal and cluster are answered from memory, frozen', async () => {
  const { store, accountId, principal, token, cluster } = await fixture();
  try {
    const reads = () => Promise.all([
      store.tokens.get(token.id), store.principals.get(accountId, principal.id),
      store.clusters.get(accountId, cluster.id), store.clusters.getAnyAccount(cluster.id),
    ]);
    const first = await reads();
    const h0 = hits(store);
    const second = await reads();
    assert.equal(hits(store) - h0, 4);
    assert.deepEqual(second, first);
    assert.deepEqual(second[1], principal);
    // Shared between callers: nobody may change it under another.
    assert.throws(() => (second[1]!.groups as string[]).push('admin'), TypeError);
    assert.throws(() => { (second[2] as { name: string }).name = 'x'; }, TypeError);
    // An unknown ID stays unknown (its absence is remembered, apart from the rows: see the next test).
    assert.equal(await store.tokens.get('tok_unknown'), undefined);
    assert.equal(await store.tokens.get('tok_unknown'), undefined);
  } finally {
    await store.close();
  }
});

test('an unknown ID is answered from memory like a known one, until a write; guessing never pushes out a real row', async () => {
  const { store, token } = await fixture();
  try {
    const unknown = id('tok');
    await store.tokens.get(token.id);
    assert.equal(await store.tokens.get(unknown), undefined);
    const h0 = hits(store);
    // The same cost for a known ID and an unknown one: timing must not tell which token IDs exist.
    assert.equal(await store.tokens.get(unknown), undefined);
    assert.equal((await store.tokens.get(token.id))?.id, token.id);
    assert.equal(hits(store) - h0, 2);
    // Thousands of guesses, more than the absent keys kept: the real row is still in memory.
    for (let i = 0; i < 3000; i++) await store.tokens.get(id('tok'));
    const h1 = hits(store);
    await store.tokens.get(token.id);
    assert.equal(hits(store) - h1, 1);
    // A token created under a remembered-absent ID is found at once.
    await store.tokens.get(unknown);
    await store.tokens.insert({ ...token, id: unknown });
    assert.equal((await store.tokens.get(unknown))?.id, unknown);
  } finally {
    await store.close();
  }
});

test('a revoked access key is seen revoked by the very next read, though the key was in memory', async () => {
  const { store, accountId, principal } = await fixture();
  try {
    const akId = `KC${crypto.randomBytes(11).toString('hex').toUpperCase()}`;
    await store.accessKeys.insert({ id: akId, accountId, principalId: principal.id, secretSealed: 'v2:k:sealed', createdAt: new Date(T0), revokedAt: null, createdBy: null });
    await store.accessKeys.get(akId);
    const h0 = hits(store);
    assert.equal((await store.accessKeys.get(akId))?.revokedAt, null);
    assert.equal(hits(store) - h0, 1, 'kept in memory');
    assert.equal(await store.accessKeys.revoke(principal.id, akId, new Date(T0 + 1)), true);
    assert.equal((await store.accessKeys.get(akId))?.revokedAt?.getTime(), T0 + 1);
  } finally {
    await store.close();
  }
});

test('a write in a transaction, outside one, or rolled back is seen by the next read', async () => {
  const { store, accountId, principal, token, cluster } = await fixture();
  try {
    await store.principals.get(accountId, principal.id);
    await store.transaction((tx) => tx.principals.updateGroups(accountId, principal.id, ['dev', 'ops']));
    assert.deepEqual((await store.principals.get(accountId, principal.id))!.groups, ['dev', 'ops']);

    await store.tokens.get(token.id);
    assert.deepEqual(await store.tokens.revokeForPrincipal(principal.id, new Date(T0 + 1)), [token.id]); // outside any transaction
    assert.equal((await store.tokens.get(token.id))!.revokedAt?.getTime(), T0 + 1);

    await store.clusters.get(accountId, cluster.id);
    await assert.rejects(store.transaction(async (tx) => {
      await tx.clusters.markDeleted(accountId, cluster.id, new Date(T0 + 2));
      assert.equal(await tx.clusters.get(accountId, cluster.id), undefined, 'the transaction sees its own write');
      throw new Error('changed my mind');
    }), /changed my mind/);
    assert.equal((await store.clusters.get(accountId, cluster.id))!.id, cluster.id, 'the rolled-back delete left it');
    await store.clusters.markDeleted(accountId, cluster.id, new Date(T0 + 3));
    assert.equal(await store.clusters.get(accountId, cluster.id), undefined);
    // The webhooks' lookup still finds it, now marked deleted (its revocations stay enforced): the cache saw the change.
    assert.equal((await store.clusters.getAnyAccount(cluster.id))?.deletedAt?.getTime(), T0 + 3);
  } finally {
    await store.close();
  }
});

test('a read racing a transaction that changes the row never keeps the old row', async () => {
  const { store, accountId, principal } = await fixture();
  try {
    await store.principals.get(accountId, principal.id); // kept before the transaction starts
    let inside!: () => void;
    const entered = new Promise<void>((r) => { inside = r; });
    let finish!: () => void;
    const held = new Promise<void>((r) => { finish = r; });
    const tx = store.transaction(async (t) => {
      await t.principals.updateGroups(accountId, principal.id, ['ops']);
      inside();
      await held;
    });
    await entered;
    // While the write is uncommitted, readers see the committed row...
    assert.deepEqual((await store.principals.get(accountId, principal.id))!.groups, ['dev']);
    finish();
    await tx;
    // ...and once it commits, the new one, not a copy kept from before.
    assert.deepEqual((await store.principals.get(accountId, principal.id))!.groups, ['ops']);
  } finally {
    await store.close();
  }
});

test('any write to a cached table empties the cache, also an insert of another row', async () => {
  const { store, accountId, principal, token } = await fixture();
  try {
    await store.tokens.get(token.id);
    await store.principals.get(accountId, principal.id);
    // The TEMP triggers see every write on the writer, whichever repository method (or later one) made it.
    await store.transaction(async (tx) => {
      await tx.tokens.insert({ ...token, id: id('tok') });
    });
    const h0 = hits(store);
    await store.tokens.get(token.id);
    assert.equal(hits(store), h0, 'an insert into api_tokens emptied the cache');
    await store.tokens.get(token.id);
    assert.equal(hits(store), h0 + 1, 'and the next read fills it again');
  } finally {
    await store.close();
  }
});

test('one method\'s cached row is never another\'s: an account-and-ID key does not answer an ID that looks like one', async () => {
  const { store, accountId, cluster } = await fixture();
  try {
    await store.clusters.get(accountId, cluster.id);
    assert.equal(await store.clusters.getAnyAccount(`${accountId}:${cluster.id}`), undefined);
    assert.equal(await store.clusters.getAnyAccount(`${accountId}\u0000${cluster.id}`), undefined);
    assert.equal((await store.clusters.getAnyAccount(cluster.id))?.id, cluster.id);
  } finally {
    await store.close();
  }
});
