// Keeps a principal's flood of refused requests from writing one audit event each (a token with no permissions
// could grow the trail by hundreds of rows a second): per principal and window, the first denials are recorded whole,
// later ones only counted, and one summary event says how many, when, and which request IDs were first and last.
// In this process's memory (each replica counts its own), never more than `maxKeys` principals whatever the traffic.

import type { Actor } from './actor.ts';
import type { Clock } from './ports.ts';

export interface DenialLimit { whole: number; windowMs: number }

/** The denials of one principal's window that were counted but not recorded. */
export interface DenialSummary {
  accountId: string;
  /** As the last suppressed request saw it: its principal, source address, surface and request ID. */
  lastActor: Actor;
  /** Denials recorded whole in the window before these. */
  recorded: number;
  suppressed: number;
  windowStart: Date;
  windowEnd: Date;
  firstRequestId: string;
  firstAt: Date;
  lastAt: Date;
  /** How many of them were refusals of each permission. */
  actions: Record<string, number>;
}

interface Window {
  accountId: string;
  start: number;
  denials: number;
  suppressed?: { count: number; firstRequestId: string; firstAt: number; lastAt: number; lastActor: Actor; actions: Map<string, number> };
}

export const DENIAL_LIMIT: DenialLimit = { whole: 20, windowMs: 60_000 };

export function makeDenialCoalescer(clock: Clock, limit: DenialLimit = DENIAL_LIMIT, maxKeys = 10_000) {
  // Insertion order is window-start order: a key is deleted and set again when its window restarts.
  const windows = new Map<string, Window>();

  const summaryOf = (w: Window): DenialSummary[] => (w.suppressed ? [{
    accountId: w.accountId, lastActor: w.suppressed.lastActor, recorded: limit.whole, suppressed: w.suppressed.count,
    windowStart: new Date(w.start), windowEnd: new Date(w.start + limit.windowMs),
    firstRequestId: w.suppressed.firstRequestId, firstAt: new Date(w.suppressed.firstAt), lastAt: new Date(w.suppressed.lastAt),
    actions: Object.fromEntries(w.suppressed.actions),
  }] : []);

  /** Removes the windows that ended (all of them with `all`), returning the summaries they owe. */
  const takeEnded = (now: number, all: boolean): DenialSummary[] => {
    const out: DenialSummary[] = [];
    for (const [k, w] of windows) {
      if (!all && now - w.start < limit.windowMs) break; // later windows started later still
      windows.delete(k);
      out.push(...summaryOf(w));
    }
    return out;
  };

  return {
    /**
     * One more denial of `actor`'s: `record` says whether to write its event whole. `summaries` are owed by windows
     * that ended (this principal's previous one, or ones dropped to stay within maxKeys): write them now.
     */
    admit(actor: Actor, action: string): { record: boolean; summaries: DenialSummary[] } {
      const now = clock.now().getTime();
      const key = `${actor.accountId}\u0000${actor.principal.id}`;
      const w = windows.get(key);
      if (w && now - w.start < limit.windowMs) {
        w.denials += 1;
        if (w.denials <= limit.whole) return { record: true, summaries: [] };
        const s = w.suppressed ??= { count: 0, firstRequestId: actor.requestId, firstAt: now, lastAt: now, lastActor: actor, actions: new Map() };
        s.count += 1;
        s.lastAt = now;
        s.lastActor = actor;
        s.actions.set(action, (s.actions.get(action) ?? 0) + 1);
        return { record: false, summaries: [] };
      }
      const summaries = w ? summaryOf(w) : [];
      windows.delete(key);
      // Full: the windows that ended go first, then, if still full, the oldest (its summary is written early, not lost).
      if (windows.size >= maxKeys) {
        summaries.push(...takeEnded(now, false));
        if (windows.size >= maxKeys) {
          const [oldestKey, oldest] = windows.entries().next().value!;
          windows.delete(oldestKey);
          summaries.push(...summaryOf(oldest));
        }
      }
      windows.set(key, { accountId: actor.accountId, start: now, denials: 1 });
      return { record: true, summaries };
    },
    /** The summaries of windows that have ended (every window's with `all`, when the server stops). */
    takeEnded: (all = false): DenialSummary[] => takeEnded(clock.now().getTime(), all),
  };
}

export type DenialCoalescer = ReturnType<typeof makeDenialCoalescer>;
