// The Alibaba Cloud surface (ACK ROA paths and the ASM RPC endpoint "/"): raw bodies for signature checks,
// signed-request authentication, the vendor error shapes. Never let a request reach core unauthenticated.

import type { FastifyInstance } from 'fastify';
import type { Authority } from '../../core/authority.ts';
import type { Metrics } from '../metrics.ts';
import { ackRoutes } from './ack-routes.ts';
import { ackStatesRoutes } from './ack-states-routes.ts';
import { AliyunError, aliyunErrorHandler } from './aliyun-errors.ts';
import { asmRoutes } from './asm-routes.ts';
import { authenticate } from './request-auth.ts';

export interface AliyunDeps {
  authority: Authority;
  metrics: Metrics;
}

export async function aliyunPlugin(app: FastifyInstance, deps: AliyunDeps): Promise<void> {
  app.setErrorHandler(aliyunErrorHandler(deps.metrics));
  // Vendor wire shapes are not kubecred's API: keep them out of /openapi.json.
  app.addHook('onRoute', (r) => { r.schema = { ...(r.schema ?? {}), hide: true }; });
  // Signatures cover the exact bytes sent, so bodies stay raw here; routes parse JSON or forms themselves.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('x-acs-request-id', req.id);
    // Kubeconfigs with private keys travel in these answers: no cache may keep them.
    reply.header('cache-control', 'no-store');
    return payload;
  });
  // preHandler: after the body is read (ACS3 hashes it, RPC v1 signs form fields), before any route.
  app.addHook('preHandler', async (req) => {
    try {
      req.actor = await authenticate(req, deps.authority);
    } catch (e) {
      // Alibaba answers a bad key or signature with 400 or 404 codes: still a refusal of the caller, unlike a MissingParameter later.
      if (e instanceof AliyunError) e.refusesCaller = true;
      throw e;
    }
  });
  await app.register(ackRoutes(deps));
  await app.register(ackStatesRoutes(deps));
  await app.register(asmRoutes(deps));
}
