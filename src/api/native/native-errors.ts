// The native surface's error shape {code, message, requestId, details}: each domain code mapped to an
// HTTP status once, here. Unexpected errors become INTERNAL with no stack, SQL or cause in the answer.

import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCodes, isKubecredError, type ErrorCode } from '../../core/errors.ts';
import type { Metrics } from '../metrics.ts';
import { ID_MAX_LENGTH, PATTERN_RULES } from './schemas.ts';
import { allowHeaderOf } from '../method-not-allowed.ts';
import { logFailure, noteFailure } from '../request-context.ts';

export const statusOf: Record<ErrorCode, number> = {
  VALIDATION_FAILED: 400,
  CSR_INVALID: 400,
  CA_INVALID: 400,
  ENDPOINT_UNAVAILABLE: 400,
  UNAUTHENTICATED: 401,
  ACCESS_DENIED: 403,
  ROOT_ONLY: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  FORBIDDEN_GROUP: 422,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
};

export interface WireError { code: ErrorCode; message: string; details?: Record<string, unknown> }

/** 262144 → "256 KiB": limits are set in whole KiB or MiB, and read better that way. */
const sizeText = (bytes: number) =>
  bytes % 1048576 === 0 ? `${bytes / 1048576} MiB` : bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} bytes`;

type AjvError = { keyword?: string; instancePath?: string; params?: { additionalProperty?: string; allowedValue?: unknown; allowedValues?: unknown[]; pattern?: string } };

/**
 * Ajv's messages, said for people: "must NOT have additional properties" names the object but not the field; "must
 * match pattern" shows a regular expression, so say the rule it stands for, as core would; and a choice of literals
 * comes out as one "must be equal to constant" per literal without the literals.
 */
function validationMessage(fe: FastifyError & { validation?: unknown; validationContext?: string }): string {
  const errors = (Array.isArray(fe.validation) ? fe.validation : []) as AjvError[];
  const first = errors[0];
  const context = fe.validationContext ?? 'body';
  const where = `${context}${first?.instancePath ?? ''}`;
  const rule = first?.keyword === 'pattern' ? PATTERN_RULES.get(first.params?.pattern ?? '') : undefined;
  if (rule !== undefined) return `${where} must be ${rule}`;
  const extra = first?.keyword === 'additionalProperties' ? first.params?.additionalProperty : undefined;
  if (extra !== undefined) return `${where} has an unknown ${context === 'querystring' ? 'parameter' : 'field'} ${JSON.stringify(extra.slice(0, 64))}`;
  if (first?.keyword === 'const' || first?.keyword === 'enum') {
    const path = first.instancePath ?? '';
    const allowed = errors.filter((e) => e.instancePath === path).flatMap((e) => (e.keyword === 'const' ? [e.params?.allowedValue] : e.keyword === 'enum' ? e.params?.allowedValues ?? [] : []));
    return `${where} must be one of ${allowed.map((v) => String(v)).join(', ')}`;
  }
  return fe.message;
}

/**
 * Classifies anything thrown into a stable code and a message safe to show. `req` lets a message name what
 * applied to this request: the body limit is per route (the webhooks take 16 MiB, the rest the server's).
 */
export function toWireError(err: unknown, req?: FastifyRequest): WireError {
  if (isKubecredError(err)) return { code: err.code, message: err.message, details: err.details };
  const fe = err as FastifyError & { validation?: unknown; validationContext?: string };
  if (fe?.validation) return { code: 'VALIDATION_FAILED', message: `${validationMessage(fe)}; see /openapi.json for the expected shape` };
  switch (fe?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': {
      // The error carries no limit; Fastify records the one it applied (the route's, else the server's) here.
      const limit = req?.routeOptions.bodyLimit;
      return { code: 'PAYLOAD_TOO_LARGE', message: limit ? `the request body is larger than this endpoint's ${sizeText(limit)} limit` : 'the request body is larger than allowed' };
    }
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'send the body as application/json' };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { code: 'VALIDATION_FAILED', message: 'Content-Length does not match the body' };
    // The router's own refusals (server.ts frameworkErrors), before any route matched.
    case 'FST_ERR_BAD_URL':
      return { code: 'VALIDATION_FAILED', message: 'the URL path is not valid percent-encoded UTF-8 (e.g. %ff); encode each path segment with encodeURIComponent' };
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return { code: 'VALIDATION_FAILED', message: `a path segment is longer than ${ID_MAX_LENGTH} characters, the longest ID or name kubecred takes; check the URL` };
  }
  if (fe instanceof SyntaxError || fe?.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return { code: 'VALIDATION_FAILED', message: 'the body is not valid JSON' };
  }
  if (fe?.statusCode === 413) return { code: 'PAYLOAD_TOO_LARGE', message: 'the request body is too large' };
  if (fe?.statusCode === 400) return { code: 'VALIDATION_FAILED', message: 'the request is malformed' };
  return { code: 'INTERNAL', message: ErrorCodes.INTERNAL };
}

export function nativeErrorHandler(metrics: Metrics) {
  return (err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const wire = toWireError(err, req);
    const status = statusOf[wire.code];
    noteFailure(req, wire.code);
    if (status >= 500) {
      logFailure(req, err);
    } else if (status === 401 || status === 403) {
      metrics.denied.inc({ code: wire.code });
    }
    // RFC 9110: a 401 names the scheme it wants.
    if (status === 401) reply.header('www-authenticate', 'Bearer realm="kubecred"');
    // RFC 9110 §10.2.3: when to come back, in seconds, beside the same number in the body's details.
    const retryAfter = wire.details?.retryAfterSeconds;
    if (wire.code === 'RATE_LIMITED' && typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
    // RFC 9110 §15.5.6: a 405 lists the methods the path takes, as its details do.
    const allow = allowHeaderOf(wire);
    if (allow !== undefined) reply.header('allow', allow);
    return reply.status(status).send({ code: wire.code, message: wire.message, requestId: req.id, ...(wire.details ? { details: wire.details } : {}) });
  };
}
