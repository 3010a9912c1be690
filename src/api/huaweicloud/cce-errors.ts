// CCE's error shape: Kubernetes Status fields plus error_code/error_msg (what the Huawei SDK reads), with
// the request ID only in X-Request-Id. Each core code is mapped here, once; never a stack, SQL or secret.

import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode } from '../../core/errors.ts';
import type { Metrics } from '../metrics.ts';
import { toWireError } from '../native/native-errors.ts';
import { allowHeaderOf } from '../method-not-allowed.ts';
import { logFailure, noteFailure } from '../request-context.ts';

interface CceError { status: number; code: string; reason: string }

// APIGW.0301 is what Huawei's gateway answers for bad IAM credentials, so scripts that match on it keep working.
export const cceErrorOf: Record<ErrorCode, CceError> = {
  VALIDATION_FAILED: { status: 400, code: 'CCE.01400001', reason: 'BadRequest' },
  CSR_INVALID: { status: 400, code: 'CCE.01400001', reason: 'BadRequest' },
  CA_INVALID: { status: 400, code: 'CCE.01400001', reason: 'BadRequest' },
  ENDPOINT_UNAVAILABLE: { status: 400, code: 'CCE.01400001', reason: 'BadRequest' },
  FORBIDDEN_GROUP: { status: 400, code: 'CCE.01400001', reason: 'BadRequest' },
  UNAUTHENTICATED: { status: 401, code: 'APIGW.0301', reason: 'Unauthorized' },
  ACCESS_DENIED: { status: 403, code: 'CCE.01403001', reason: 'Forbidden' },
  ROOT_ONLY: { status: 403, code: 'CCE.01403001', reason: 'Forbidden' },
  NOT_FOUND: { status: 404, code: 'CCE.01404001', reason: 'NotFound' },
  METHOD_NOT_ALLOWED: { status: 405, code: 'CCE.01405001', reason: 'MethodNotAllowed' },
  CONFLICT: { status: 409, code: 'CCE.01409001', reason: 'Conflict' },
  PAYLOAD_TOO_LARGE: { status: 413, code: 'CCE.01413001', reason: 'RequestEntityTooLarge' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, code: 'CCE.01415001', reason: 'UnsupportedMediaType' },
  RATE_LIMITED: { status: 429, code: 'CCE.01429001', reason: 'TooManyRequests' },
  INTERNAL: { status: 500, code: 'CCE.01500001', reason: 'InternalError' },
  UNAVAILABLE: { status: 503, code: 'CCE.01503001', reason: 'ServiceUnavailable' },
};

export function cceErrorBody(code: ErrorCode, message: string) {
  const e = cceErrorOf[code];
  return {
    kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: e.status, reason: e.reason, message,
    errorCode: e.code, errorMessage: message, error_code: e.code, error_msg: message,
  };
}

export function cceErrorHandler(metrics: Metrics) {
  return (err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const wire = toWireError(err, req);
    const { status, code } = cceErrorOf[wire.code];
    noteFailure(req, wire.code, code);
    if (status >= 500) {
      logFailure(req, err);
    } else if (status === 401 || status === 403) {
      metrics.denied.inc({ code: wire.code });
    }
    const allow = allowHeaderOf(wire);
    if (allow !== undefined) reply.header('allow', allow);
    return reply.status(status).type('application/json').send(cceErrorBody(wire.code, wire.message));
  };
}
