// Runs a PostgreSQL transaction again when the database rolled it back to break a deadlock or a serialization
// failure, so that the loser of two requests locking rows in opposite orders is answered, not refused with 503.
// It must never run again a transaction that failed any other way, nor one of which anything may have committed.

import { abortedToLetAnotherThrough, type AbortReason } from './pg-errors.ts';

/**
 * Runs after the first, at most. Each abort means another transaction went through, so a few cover a burst; past
 * them the request gets the 503 it got before (retryable: nothing was changed).
 */
export const TRANSACTION_RETRIES = 3;
/** The pause before the n-th run again is random, up to this times 2^(n-1) ms: the two losers of a round do not meet again at once. */
const BACKOFF_MS = 20;

export interface TransactionRetry {
  /** The SQLSTATE PostgreSQL aborted the transaction with. */
  code: string;
  reason: AbortReason;
  /** 1 for the first run again. */
  attempt: number;
  delayMs: number;
}

/**
 * `run` starts, runs and commits one transaction. An abort (40P01, 40001) is raised by a statement or by the COMMIT,
 * and either way PostgreSQL has rolled the transaction back: nothing of it was committed, so it is run again. The
 * transaction's function must therefore do nothing outside the database before it returns (the Store port says so).
 */
export async function rerunningAborted<T>(run: () => Promise<T>, onRetry: (r: TransactionRetry) => void): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (e) {
      const aborted = abortedToLetAnotherThrough(e);
      if (!aborted || attempt > TRANSACTION_RETRIES) throw e;
      const delayMs = Math.round(Math.random() * BACKOFF_MS * 2 ** (attempt - 1));
      onRetry({ code: aborted.code, reason: aborted.reason, attempt, delayMs });
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}
