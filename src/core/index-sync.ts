// Keeps this server's revocation index in step with writes made by other servers on the same database:
// each committed change arrives through the store's change feed; after a gap in the feed, and every
// few minutes as a fallback, the index catches up from the table itself.

import type { Clock } from './ports.ts';
import type { CredentialChangeFeed, IndexedCredential, Store } from './store-port.ts';

export interface IndexSyncOptions {
  feed: CredentialChangeFeed;
  store: Pick<Store, 'credentials'>;
  index: { apply(changed: IndexedCredential[]): void };
  clock: Clock;
  /** How often to catch up from the table even when the feed seems healthy. */
  resyncEveryMs?: number;
  /** Other servers' clocks may be behind ours: look this far further back when catching up. */
  clockSkewMs?: number;
  onError?: (e: unknown) => void;
}

export interface IndexSync {
  /** True while the feed is connected; when false, other servers' revocations may be missed until it reconnects. */
  healthy(): boolean;
  /** Catches up from the table now; resolves with how many rows were read. */
  resync(): Promise<number>;
  stop(): Promise<void>;
}

/** Starts after the index has been loaded at `loadedAt`; catches up from there once the feed listens. */
export async function startIndexSync(opts: IndexSyncOptions, loadedAt: Date): Promise<IndexSync> {
  const skew = opts.clockSkewMs ?? 120_000;
  let syncedFrom = loadedAt.getTime();
  let running: Promise<number> | null = null;
  // Changes heard while a catch-up query runs may be newer than what it reads: they are applied again after it.
  let heardDuringCatchUp: IndexedCredential[] | null = null;
  const hear = (changed: IndexedCredential[]) => {
    opts.index.apply(changed);
    heardDuringCatchUp?.push(...changed);
  };

  const resync = (): Promise<number> => {
    // One catch-up at a time; a caller arriving meanwhile shares it.
    running ??= (async () => {
      const startedAt = opts.clock.now().getTime();
      heardDuringCatchUp = [];
      try {
        const changed = await opts.store.credentials.changedSince(new Date(syncedFrom - skew));
        opts.index.apply(changed);
        opts.index.apply(heardDuringCatchUp);
        syncedFrom = startedAt;
        return changed.length;
      } finally {
        heardDuringCatchUp = null;
        running = null;
      }
    })();
    return running;
  };
  const resyncQuietly = () => void resync().catch((e) => opts.onError?.(e));

  await opts.feed.start(hear, resyncQuietly);
  // Changes committed between the load and the LISTEN would otherwise be missed.
  await resync();
  const timer = setInterval(resyncQuietly, opts.resyncEveryMs ?? 60_000);
  timer.unref();

  return {
    healthy: () => opts.feed.connected(),
    resync,
    stop: async () => {
      clearInterval(timer);
      await opts.feed.stop();
    },
  };
}
