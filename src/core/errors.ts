// Domain errors: a stable code, a message meant for the user, and an internal cause kept apart.
// Core never speaks HTTP: each API surface maps these codes to its own wire shape, once.

export const ErrorCodes = {
  VALIDATION_FAILED: 'the request is malformed or a field is out of range',
  UNAUTHENTICATED: 'no valid credential was presented',
  ACCESS_DENIED: 'the caller is not allowed to do this',
  ROOT_ONLY: 'only the account root may do this',
  NOT_FOUND: 'the object does not exist in this account',
  METHOD_NOT_ALLOWED: 'the path exists, but not with the method asked',
  CONFLICT: 'the object already exists or is in a conflicting state',
  ENDPOINT_UNAVAILABLE: 'the cluster has no endpoint of the kind asked for',
  FORBIDDEN_GROUP: 'a Kubernetes group that kubecred refuses to put in a certificate',
  CSR_INVALID: 'the certificate signing request cannot be used',
  CA_INVALID: 'the imported certificate authority cannot be used',
  PAYLOAD_TOO_LARGE: 'the request body is larger than allowed',
  UNSUPPORTED_MEDIA_TYPE: 'the request body is not of a supported type',
  RATE_LIMITED: 'too many requests',
  UNAVAILABLE: 'a dependency (the store) is unavailable',
  INTERNAL: 'an unexpected error; the request ID identifies it in the logs',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class KubecredError extends Error {
  readonly code: ErrorCode;
  /** Extra, non-secret facts for the caller (a field name, an allowed range). */
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options?: { details?: Record<string, unknown>; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KubecredError';
    this.code = code;
    this.details = options?.details;
  }
}

export function isKubecredError(e: unknown): e is KubecredError {
  return e instanceof KubecredError;
}

/**
 * The value a caller sent, for "got ..." in a message. JSON reads a number beyond double range (1e400) as
 * Infinity, which JSON.stringify would show as null: say what it was instead.
 */
export const shownValue = (v: unknown): string =>
  typeof v === 'number' && !Number.isFinite(v) ? 'a number out of range' : JSON.stringify(v) ?? String(v);

export const invalid = (message: string, details?: Record<string, unknown>) =>
  new KubecredError('VALIDATION_FAILED', message, { details });

export const notFound = (kind: string, id: string) =>
  new KubecredError('NOT_FOUND', `${kind} ${JSON.stringify(id)} was not found in your account`, { details: { kind, id } });

/**
 * The details of a CONFLICT that is a lost race on the one-current-default rule (another replica committed a default
 * kubeconfig first): unlike other conflicts, the transaction may simply run again.
 */
export const CURRENT_DEFAULT_RACE: Record<string, unknown> = { conflict: 'current-default' };
export const isCurrentDefaultRace = (e: unknown): boolean => isKubecredError(e) && e.code === 'CONFLICT' && e.details?.conflict === 'current-default';
