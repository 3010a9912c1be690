// Per-request facts every surface needs: a request ID generated here (never trusted from the caller),
// echoed in X-Request-Id on every response, good or bad, and the caller's source address.

import crypto from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Actor } from '../core/actor.ts';

export const REQUEST_ID_HEADER = 'x-request-id';

export function newRequestId(): string {
  return `req_${crypto.randomBytes(12).toString('hex')}`;
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
  });
}

export function actorOf(req: FastifyRequest): Actor {
  if (!req.actor) throw new Error('route reached without authentication');
  return req.actor;
}
