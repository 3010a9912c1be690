// Following other servers' writes: a change heard during a catch-up query is not undone by the
// (older) rows that query returns, and a gap in the feed is caught up from the table.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startIndexSync } from './index-sync.ts';
import { makeRevocationIndex } from './revocation-index.ts';
import { ManualClock } from './test-kit.ts';
import type { CredentialChangeFeed, IndexedCredential } from './store-port.ts';

const clock = new ManualClock();
const row = (state: IndexedCredential['state']): IndexedCredential => ({
  id: 'crd_1', clusterId: 'cls_1', principalId: 'usr_1', fingerprintSha256: 'ab'.repeat(32), state, notAfter: new Date(clock.now().getTime() + 3600_000),
});

/** A feed the test drives by hand: the port's contract, with delivery and gaps under the test's control. */
function scriptedFeed() {
  let handlers: { onChange: (c: IndexedCredential[]) => void; onReconnect: () => void } | null = null;
  let up = true;
  const feed: CredentialChangeFeed = {
    start: async (onChange, onReconnect) => {
      handlers = { onChange, onReconnect };
    },
    connected: () => up,
    stop: async () => {},
  };
  return {
    feed,
    deliver: (c: IndexedCredential) => handlers!.onChange([c]),
    drop: () => (up = false),
    reconnect: () => {
      up = true;
      handlers!.onReconnect();
    },
  };
}

test('a revocation heard while a catch-up query runs survives the older rows that query returns', async () => {
  const index = makeRevocationIndex(clock);
  index.apply([row('active')]);
  const s = scriptedFeed();
  let queries = 0;
  const store = {
    credentials: {
      changedSince: async () => {
        queries++;
        // The query's snapshot saw the credential active; the revocation commits and is heard before it returns.
        if (queries === 2) s.deliver(row('revoked'));
        return [row('active')];
      },
    },
  };
  const sync = await startIndexSync({ feed: s.feed, store: store as never, index, clock, resyncEveryMs: 3_600_000 }, clock.now());
  assert.equal(index.byFingerprint('cls_1', 'ab'.repeat(32)).deny, false);
  await sync.resync();
  assert.equal(index.byFingerprint('cls_1', 'ab'.repeat(32)).deny, true, 'the revocation was not undone by the stale row');
  await sync.stop();
});

test('after a gap in the feed the index catches up from the table and the sync reports itself unhealthy meanwhile', async () => {
  const index = makeRevocationIndex(clock);
  index.apply([row('active')]);
  const s = scriptedFeed();
  let table: IndexedCredential[] = [];
  let resynced = 0;
  const store = { credentials: { changedSince: async () => { resynced++; return table; } } };
  const sync = await startIndexSync({ feed: s.feed, store: store as never, index, clock, resyncEveryMs: 3_600_000 }, clock.now());
  assert.equal(resynced, 1, 'one catch-up right after listening starts');
  s.drop();
  assert.equal(sync.healthy(), false);
  table = [row('revoked')]; // revoked by another server while this one was not listening
  s.reconnect();
  await new Promise((r) => setImmediate(r));
  assert.equal(resynced, 2);
  assert.equal(sync.healthy(), true);
  assert.equal(index.byFingerprint('cls_1', 'ab'.repeat(32)).deny, true);
  await sync.stop();
});
