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

const until = async (what: string, cond: () => boolean) => {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > 5_000) assert.fail(`${what}: not within 5 s`);
    await new Promise((r) => setTimeout(r, 2));
  }
};

test('a catch-up that fails after a gap is retried with backoff, and the sync stays unhealthy until one succeeds', async () => {
  const index = makeRevocationIndex(clock);
  index.apply([row('active')]);
  const s = scriptedFeed();
  let failing = false;
  let calls = 0;
  const errors: Array<{ retryInMs: number; afterGap: boolean }> = [];
  const store = { credentials: { changedSince: async () => { calls++; if (failing) throw new Error('canceling statement due to statement timeout'); return [row('revoked')]; } } };
  const sync = await startIndexSync({ feed: s.feed, store: store as never, index, clock, resyncEveryMs: 3_600_000, retryBackoffMs: { min: 5, max: 20 }, onError: (_e, next) => errors.push(next) }, clock.now());
  index.apply([row('active')]);
  s.drop();
  failing = true;
  s.reconnect();
  await until('three failed catch-ups', () => errors.length >= 3);
  assert.equal(sync.healthy(), false, 'connected again, but not caught up: not healthy');
  assert.equal(index.byFingerprint('cls_1', 'ab'.repeat(32)).deny, false);
  assert.deepEqual(errors.slice(0, 3).map((e) => [e.afterGap, e.retryInMs]), [[true, 5], [true, 10], [true, 20]]);
  failing = false;
  await until('caught up', () => sync.healthy());
  assert.equal(index.byFingerprint('cls_1', 'ab'.repeat(32)).deny, true, 'the revocation missed in the gap is enforced');
  const settled = calls;
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(calls, settled, 'no more retries once caught up');
  await sync.stop();
});

test('a catch-up that began before the gap does not count as catching up after it', async () => {
  const index = makeRevocationIndex(clock);
  const s = scriptedFeed();
  let release: (() => void) | null = null;
  let calls = 0;
  const store = {
    credentials: {
      changedSince: async () => {
        calls++;
        if (calls === 2) await new Promise<void>((r) => (release = r)); // the periodic one, slow
        return [];
      },
    },
  };
  const sync = await startIndexSync({ feed: s.feed, store: store as never, index, clock, resyncEveryMs: 3_600_000 }, clock.now());
  const periodic = sync.resync();
  s.drop();
  s.reconnect();
  await new Promise((r) => setImmediate(r));
  assert.equal(sync.healthy(), false);
  release!();
  await periodic;
  await until('a fresh catch-up after the gap', () => sync.healthy());
  assert.equal(calls, 3, 'one more catch-up was made after the one that began before the gap');
  await sync.stop();
});

test('the sync says when it stops and starts again being current, with how long it was not', async () => {
  const index = makeRevocationIndex(clock);
  const s = scriptedFeed();
  const store = { credentials: { changedSince: async () => [] } };
  const changes: Array<[boolean, number]> = [];
  const sync = await startIndexSync({ feed: s.feed, store: store as never, index, clock, resyncEveryMs: 3_600_000, onHealthChange: (h, ms) => changes.push([h, ms]) }, clock.now());
  assert.equal(sync.healthy(), true);
  assert.deepEqual(changes, [], 'nothing to say while current');
  s.drop();
  assert.equal(sync.healthy(), false);
  clock.advance(7_000);
  assert.equal(sync.healthy(), false);
  assert.deepEqual(changes, [[false, 0]], 'said once, when it stopped');
  s.reconnect();
  await sync.resync();
  assert.equal(sync.healthy(), true);
  assert.deepEqual(changes, [[false, 0], [true, 7_000]]);
  await sync.stop();
});

test("a server whose clock is far off the database's is not healthy: catching up by time could skip other servers' changes", async () => {
  const index = makeRevocationIndex(clock);
  const s = scriptedFeed();
  let skew: number | null = 5_000;
  const feed: CredentialChangeFeed = { ...s.feed, clockSkewMs: () => skew };
  const whys: Array<string | undefined> = [];
  const store = { credentials: { changedSince: async () => [] } };
  const sync = await startIndexSync({ feed, store: store as never, index, clock, resyncEveryMs: 3_600_000, onHealthChange: (_ok, _ms, why) => whys.push(why) }, clock.now());
  assert.equal(sync.healthy(), true, 'within a quarter of the 120 s margin');
  skew = 180_000; // the database 3 minutes ahead: this server's clock is behind
  assert.equal(sync.healthy(), false);
  assert.match(whys.at(-1)!, /clock is 180 s behind the database's[\s\S]*NTP/);
  skew = -20_000;
  assert.equal(sync.healthy(), true);
  await sync.stop();
});
