// Which PostgreSQL driver errors mean "the database is not reachable right now" (503, retry), as
// opposed to a bug or a constraint. The SQL, host and cause stay in the error's cause, never in its message.

import { KubecredError } from '../../core/errors.ts';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
// 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now, 53300 too many connections, 53400 configuration limit.
const SERVER_CODES = new Set(['57P01', '57P02', '57P03', '53300', '53400']);
// Retryable by the caller: 40001 serialization failure, 40P01 deadlock (the transaction was rolled back whole; the store
// has run it again a few times already: pg-transaction-retry.ts), 57014 statement timeout (a lock held too long: the
// statement was cancelled, nothing of it kept).
const RETRY_CODES = new Set(['40001', '40P01', '57014']);
// "Query read timeout": no answer at all within the client's query_timeout (a dead connection; postgres-store.ts).
const MESSAGES = [/connection terminated/i, /timeout exceeded when trying to connect/i, /not queryable/i, /connection error/i, /Connection ended/i, /^Query read timeout$/];

export function isUnavailable(e: unknown, depth = 0): boolean {
  const err = e as { code?: string; message?: string; cause?: unknown; errors?: unknown[] } | undefined;
  if (!err || depth > 3) return false;
  // A failed migration wraps the driver's error; a refused connection to several addresses is an AggregateError.
  if (err.cause && isUnavailable(err.cause, depth + 1)) return true;
  if (Array.isArray(err.errors) && err.errors.some((x) => isUnavailable(x, depth + 1))) return true;
  if (err.code && (NETWORK_CODES.has(err.code) || SERVER_CODES.has(err.code) || err.code.startsWith('08'))) return true;
  return MESSAGES.some((m) => m.test(String(err.message ?? '')));
}

/**
 * PostgreSQL rolled the whole transaction back to let another one through (40P01 deadlock_detected, 40001
 * serialization_failure): nothing of it was committed, and running it again is what the database asks for.
 * Searched down the cause chain: whatever the transaction's code wrapped it in, the transaction is aborted.
 */
const ABORTS = { '40P01': 'deadlock', '40001': 'serialization_failure' } as const;
export type AbortReason = (typeof ABORTS)[keyof typeof ABORTS];
export const ABORT_REASONS: readonly AbortReason[] = Object.values(ABORTS);

export function abortedToLetAnotherThrough(e: unknown, depth = 0): { code: keyof typeof ABORTS; reason: AbortReason } | null {
  const err = e as { code?: unknown; cause?: unknown } | undefined;
  if (!err || depth > 3) return null;
  if (typeof err.code === 'string' && Object.hasOwn(ABORTS, err.code)) return { code: err.code as keyof typeof ABORTS, reason: ABORTS[err.code as keyof typeof ABORTS] };
  return abortedToLetAnotherThrough(err.cause, depth + 1);
}

function isRetryable(e: unknown, depth = 0): boolean {
  const err = e as { code?: string; cause?: unknown } | undefined;
  if (!err || depth > 3) return false;
  return (typeof err.code === 'string' && RETRY_CODES.has(err.code)) || isRetryable(err.cause, depth + 1);
}

/** Why a database error became UNAVAILABLE, for the failure counter (metrics.ts). */
export type PgFailure = 'unreachable' | 'gave_up';

export function toDomainError(e: unknown, count?: (reason: PgFailure) => void): unknown {
  if (e instanceof KubecredError) return e;
  if (isRetryable(e)) {
    count?.('gave_up');
    return new KubecredError('UNAVAILABLE', 'the database gave up on this request (a conflict with another one, or a lock held too long); nothing was changed, retry in a few seconds', { cause: e });
  }
  if (!isUnavailable(e)) return e;
  count?.('unreachable');
  return new KubecredError('UNAVAILABLE', 'the database is not reachable; nothing was changed, retry in a few seconds', { cause: e });
}
