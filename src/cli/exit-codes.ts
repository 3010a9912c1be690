// What `kubecred` exit codes mean, one place. Scripts can branch on them.

import { ApiError, ConnectionError } from '../client/native-client.ts';
import { ConfigError } from '../config/server-config.ts';
import { KubecredError } from '../core/errors.ts';
import { MasterKeyMismatch } from '../core/master-key-check.ts';

export const Exit = {
  OK: 0,
  ERROR: 1, // unexpected
  USAGE: 2, // bad flags or arguments
  DENIED: 3, // 401 or 403: not authenticated or not allowed
  NOT_FOUND: 4,
  CONFLICT: 5,
  INVALID: 6, // the server refused the input (400, 413, 415, 422)
  UNREACHABLE: 7, // no answer from the server
  SERVER: 8, // the server failed (5xx)
} as const;

export function exitCodeFor(e: unknown): number {
  if (e instanceof ConnectionError) return Exit.UNREACHABLE;
  if (e instanceof ApiError) {
    if (e.status === 401 || e.status === 403) return Exit.DENIED;
    if (e.status === 404) return Exit.NOT_FOUND;
    if (e.status === 409) return Exit.CONFLICT;
    if (e.status >= 500) return Exit.SERVER;
    if (e.status >= 400) return Exit.INVALID;
  }
  if (e instanceof DeniedError) return Exit.DENIED;
  if (e instanceof UsageError || e instanceof ConfigError) return Exit.USAGE;
  if (e instanceof KubecredError && e.code === 'UNAVAILABLE') return Exit.UNREACHABLE;
  if (e instanceof KubecredError && e.code === 'CONFLICT') return Exit.CONFLICT;
  // The keys given do not open the database's secrets: what the master-key commands' 5 means.
  if (e instanceof MasterKeyMismatch) return Exit.CONFLICT;
  if (e instanceof KubecredError && e.code === 'NOT_FOUND') return Exit.NOT_FOUND;
  return Exit.ERROR;
}

export class UsageError extends Error {}

/** Refused for a reason the CLI itself knows (not an API answer), e.g. a revoked credential. */
export class DeniedError extends Error {}
