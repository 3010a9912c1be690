// The native surface at /v1: bearer-token authentication, its routes, and its error shape.
// Everything here is translation; decisions belong to core.

import type { FastifyInstance } from 'fastify';
import type { Authority } from '../../core/authority.ts';
import type { Metrics } from '../metrics.ts';
import { nativeErrorHandler } from './native-errors.ts';
import { clusterRoutes } from './routes-clusters.ts';
import { credentialRoutes } from './routes-credentials.ts';
import { policyAuditRoutes } from './routes-policies-audit.ts';
import { principalRoutes } from './routes-principals.ts';
import { projectRoutes } from './routes-projects.ts';

export interface NativeDeps {
  authority: Authority;
  metrics: Metrics;
}

export async function nativePlugin(app: FastifyInstance, deps: NativeDeps): Promise<void> {
  app.setErrorHandler(nativeErrorHandler(deps.metrics));
  app.addHook('onRequest', async (req) => {
    const h = req.headers.authorization;
    const token = typeof h === 'string' && /^Bearer /i.test(h) ? h.slice(7).trim() : undefined;
    const who = await deps.authority.authenticator.bearer(token);
    req.actor = { accountId: who.accountId, principal: who.principal, requestId: req.id, sourceIp: req.ip ?? null, surface: 'native' };
  });
  await app.register(clusterRoutes(deps));
  await app.register(principalRoutes(deps));
  await app.register(credentialRoutes(deps));
  await app.register(policyAuditRoutes(deps));
  await app.register(projectRoutes(deps));
}
