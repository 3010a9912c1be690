// Counts failed attempts per key (console sign-in: a source address) in a fixed window, in this process's memory,
// so that guessing is slowed. Never stores what was tried; holds at most `maxKeys` keys whatever the traffic.

import type { Clock } from './ports.ts';

export interface AttemptLimit { failures: number; windowMs: number }

export function makeAttemptLimiter(clock: Clock, limit: AttemptLimit, maxKeys = 10_000) {
  // Insertion order is window-start order: a key is deleted and set again when its window restarts.
  const windows = new Map<string, { start: number; failures: number }>();

  const current = (key: string, now: number) => {
    const w = windows.get(key);
    return w && now - w.start < limit.windowMs ? w : undefined;
  };

  return {
    /** Seconds until `key` may try again, or 0 when it may now. */
    retryAfterSeconds(key: string): number {
      const now = clock.now().getTime();
      const w = current(key, now);
      return w && w.failures >= limit.failures ? Math.max(1, Math.ceil((w.start + limit.windowMs - now) / 1000)) : 0;
    },
    failed(key: string): void {
      const now = clock.now().getTime();
      const w = current(key, now);
      if (w) {
        w.failures += 1;
        return;
      }
      windows.delete(key);
      // Full: drop the windows that ended, then, if still full, the oldest (a flood of addresses forgets early ones).
      if (windows.size >= maxKeys) {
        for (const [k, v] of windows) if (now - v.start >= limit.windowMs) windows.delete(k);
        if (windows.size >= maxKeys) windows.delete(windows.keys().next().value!);
      }
      windows.set(key, { start: now, failures: 1 });
    },
  };
}

export type AttemptLimiter = ReturnType<typeof makeAttemptLimiter>;
