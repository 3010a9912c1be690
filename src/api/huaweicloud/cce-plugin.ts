// The Huawei Cloud CCE surface under /api/v3: raw-body capture (signatures cover the exact bytes),
// authentication, the routes and CCE's error shape. It must never answer before authenticating.

import type { FastifyInstance } from 'fastify';
import type { Authority } from '../../core/authority.ts';
import type { Metrics } from '../metrics.ts';
import { authenticateCce } from './cce-auth.ts';
import { cceErrorBody, cceErrorHandler, cceErrorOf } from './cce-errors.ts';
import { methodNotAllowed, methodsServing } from '../method-not-allowed.ts';
import { noteFailure } from '../request-context.ts';
import { signedBody } from './cce-read-body.ts';
import { cceRoutes } from './cce-routes.ts';

/** Fastify's own default, for an app built without one. */
const DEFAULT_BODY_LIMIT = 1024 * 1024;

export interface CceDeps { authority: Authority; metrics: Metrics }

export async function huaweicloudCcePlugin(app: FastifyInstance, deps: CceDeps): Promise<void> {
  app.setErrorHandler(cceErrorHandler(deps.metrics));
  app.setNotFoundHandler((req, reply) => {
    const allow = methodsServing(app, req.url);
    if (allow.length > 0) throw methodNotAllowed(req, allow);
    noteFailure(req, 'NOT_FOUND', cceErrorOf.NOT_FOUND.code);
    reply.status(404).send(cceErrorBody('NOT_FOUND', `no CCE operation ${req.method} ${req.url.split('?')[0]}; kubecred serves .../clustercert and .../clustercertrevoke`));
  });
  // Keep the bytes as received: the signature is over them, and JSON is parsed only after authentication.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  // Kubeconfigs with private keys travel in these answers: no cache may keep them (errors included).
  app.addHook('onRequest', async (_req, reply) => {
    reply.header('cache-control', 'no-store');
  });
  app.addHook('preValidation', async (req) => {
    req.actor = await authenticateCce(deps.authority, req, await signedBody(req, app.initialConfig.bodyLimit ?? DEFAULT_BODY_LIMIT));
  });
  cceRoutes(app, deps);
}
