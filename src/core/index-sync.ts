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
  /** A failed catch-up: `retryInMs` when it is retried soon (after a gap), else at the next periodic catch-up. */
  onError?: (e: unknown, next: { retryInMs: number; afterGap: boolean }) => void;
  /** Backoff between retries of a failed catch-up after a gap: from `min`, doubling to `max`. */
  retryBackoffMs?: { min: number; max: number };
  /** The index stopped (false) or started again (true) being known current, noticed within a second; `forMs`: how long it was not. */
  onHealthChange?: (healthy: boolean, forMs: number, why?: string) => void;
}

export interface IndexSync {
  /**
   * True while the feed is connected and, after its last gap, a catch-up from the table has succeeded;
   * when false, other servers' revocations may be unknown here.
   */
  healthy(): boolean;
  /** 0 while healthy; else how long since it last was (to within a second): how stale the index may be. */
  staleForMs(): number;
  /** Catches up from the table now; resolves with how many rows were read. */
  resync(): Promise<number>;
  stop(): Promise<void>;
}

/** Starts after the index has been loaded at `loadedAt`; catches up from there once the feed listens. */
export async function startIndexSync(opts: IndexSyncOptions, loadedAt: Date): Promise<IndexSync> {
  const skew = opts.clockSkewMs ?? 120_000;
  const periodMs = opts.resyncEveryMs ?? 60_000;
  const backoff = opts.retryBackoffMs ?? { min: 250, max: 5_000 };
  let syncedFrom = loadedAt.getTime();
  let running: Promise<number> | null = null;
  let stopped = false;
  // Each gap in the feed (a reconnect) is numbered; the index is current only once a catch-up that began
  // after the latest gap has succeeded. One that began before it may have read before the missed changes.
  let gaps = 0;
  let caughtUpAfter = 0;
  let retryTimer: NodeJS.Timeout | null = null;
  let wakeRetry: (() => void) | null = null;
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
      const gap = gaps;
      heardDuringCatchUp = [];
      try {
        const changed = await opts.store.credentials.changedSince(new Date(syncedFrom - skew));
        opts.index.apply(changed);
        opts.index.apply(heardDuringCatchUp);
        syncedFrom = startedAt;
        caughtUpAfter = Math.max(caughtUpAfter, gap);
        return changed.length;
      } finally {
        heardDuringCatchUp = null;
        running = null;
      }
    })();
    return running;
  };

  const sleep = (ms: number) => new Promise<void>((resolve) => {
    wakeRetry = resolve;
    retryTimer = setTimeout(resolve, ms);
    retryTimer.unref();
  });

  // After a gap: catch up, and on failure try again with backoff until it succeeds (or a newer gap takes over).
  const catchUpAfterGap = async () => {
    const gap = ++gaps;
    let delay = backoff.min;
    while (!stopped && gap === gaps && caughtUpAfter < gap) {
      try {
        // A catch-up already running began before this gap: it is awaited, then one more is made.
        await resync();
      } catch (e) {
        if (stopped || gap !== gaps) return;
        opts.onError?.(e, { retryInMs: delay, afterGap: true });
        await sleep(delay);
        delay = Math.min(delay * 2, backoff.max);
      }
    }
  };
  const resyncPeriodically = () => void resync().catch((e) => opts.onError?.(e, { retryInMs: periodMs, afterGap: false }));

  await opts.feed.start(hear, () => void catchUpAfterGap());
  // Changes committed between the load and the LISTEN would otherwise be missed.
  await resync();
  const timer = setInterval(resyncPeriodically, periodMs);
  timer.unref();

  // Each server within a quarter of the margin of the database's clock keeps any two within half of it.
  const maxSkewMs = skew / 4;
  const skewTooLarge = () => Math.abs(opts.feed.clockSkewMs?.() ?? 0) > maxSkewMs;
  const healthy = () => opts.feed.connected() && caughtUpAfter >= gaps && !skewTooLarge();
  let lastHealthyAt = opts.clock.now().getTime();
  let wasHealthy = true;
  const sample = () => {
    const ok = healthy();
    const now = opts.clock.now().getTime();
    if (ok !== wasHealthy) {
      wasHealthy = ok;
      const d = opts.feed.clockSkewMs?.() ?? 0;
      const why = !ok && skewTooLarge() ? `this server's clock is ${Math.round(Math.abs(d) / 1000)} s ${d > 0 ? 'behind' : 'ahead of'} the database's (more than ${maxSkewMs / 1000} s): run NTP on every server` : undefined;
      opts.onHealthChange?.(ok, ok ? now - lastHealthyAt : 0, why);
    }
    if (ok) lastHealthyAt = now;
    return ok;
  };
  const sampler = setInterval(sample, 1_000);
  sampler.unref();

  return {
    healthy: sample,
    staleForMs: () => (sample() ? 0 : Math.max(0, opts.clock.now().getTime() - lastHealthyAt)),
    resync,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      clearInterval(sampler);
      if (retryTimer) clearTimeout(retryTimer);
      wakeRetry?.();
      await opts.feed.stop();
    },
  };
}
