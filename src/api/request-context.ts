// Per-request facts every surface needs: a request ID generated here (never trusted from the caller),
// echoed in X-Request-Id on every response, good or bad, and the caller's source address.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Actor } from '../core/actor.ts';
import { invalid, type ErrorCode } from '../core/errors.ts';
import { randomHexPooled } from '../core/random-pool.ts';

export const REQUEST_ID_HEADER = 'x-request-id';

// Request IDs come from the pool of CSPRNG bytes: crypto.randomBytes per request cost ~10 µs of CPU and, worse,
// a job object (a weak global handle) and a fresh ArrayBuffer each time, which every scavenge then had to
// process: ~0.8 of each ~2 ms scavenge pause on the webhook path.
export function newRequestId(): string {
  return `req_${randomHexPooled(12)}`;
}

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor | null;
  }
}

export function registerRequestContext(app: FastifyInstance): void {
  app.decorateRequest('actor', null);
  app.addHook('onRequest', async (req, reply) => {
    reply.header(REQUEST_ID_HEADER, req.id);
    // RFC 9112 3.2: an HTTP/1.1 request without Host is a 400. Node's own answer to it carried no body and no
    // request ID (found by npm run fuzz), so the server lets it through (server.ts) and refuses it here.
    if (req.raw.httpVersion === '1.1' && !req.headers.host) throw invalid('the request has no Host header, which HTTP/1.1 requires');
  });
}

export function actorOf(req: FastifyRequest): Actor {
  if (!req.actor) throw new Error('route reached without authentication');
  return req.actor;
}

/**
 * An unexpected error (a 5xx), logged as its name, code and message only: stacks and causes may carry SQL or key
 * material. Under `error`, not `err`: pino's err serializer re-types a plain object as "Object", losing the name.
 */
export function logFailure(req: FastifyRequest, err: unknown): void {
  const e = err as Error & { code?: string };
  req.log.error({ error: { type: e?.name, code: e?.code, message: String(e?.message ?? '').slice(0, 300) } }, 'request failed');
}

/**
 * A refused or failed request's codes, for its access-log line (server.ts): kubecred's own and the one its surface
 * answered (ACK's Forbidden.RAM, CCE's CCE.01403001; the same on /v1), so the request ID a client shows leads to
 * why. Never the message: it may echo what the caller sent. Set by each surface's error handler.
 */
export interface FailureCodes { errorCode: ErrorCode; wireCode: string }

const failures = new WeakMap<FastifyRequest, FailureCodes>();

export const noteFailure = (req: FastifyRequest, errorCode: ErrorCode, wireCode: string = errorCode): void => void failures.set(req, { errorCode, wireCode });

export const failureOf = (req: FastifyRequest): FailureCodes | undefined => failures.get(req);
