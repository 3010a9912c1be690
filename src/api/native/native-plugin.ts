// The native surface at /v1: bearer-token (or console session cookie) authentication, its routes, and its error shape.
// Everything here is translation; decisions belong to core.

import type { FastifyInstance } from 'fastify';
import type { Authority } from '../../core/authority.ts';
import type { Metrics } from '../metrics.ts';
import { consoleCaller, readSessionCookie } from '../console/session-cookie.ts';
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
  app.addHook('onRequest', async (req, reply) => {
    // Answers may hold kubeconfigs, tokens or access-key secrets: no cache anywhere may keep them, whoever asked
    // (errors included, so it is set before authentication).
    reply.header('cache-control', 'no-store');
    const h = req.headers.authorization;
    // The web console's session cookie counts only when no Authorization header is sent: bearer callers are unaffected.
    const cookie = h === undefined ? readSessionCookie(req) : undefined;
    const who = cookie !== undefined
      ? await consoleCaller(req, deps.authority.consoleSessions, cookie)
      : await deps.authority.authenticator.bearer(typeof h === 'string' && /^Bearer /i.test(h) ? h.slice(7).trim() : undefined);
    req.actor = { accountId: who.accountId, principal: who.principal, requestId: req.id, sourceIp: req.ip ?? null, surface: cookie !== undefined ? 'console' : 'native' };
  });
  await app.register(clusterRoutes(deps));
  await app.register(principalRoutes(deps));
  await app.register(credentialRoutes(deps));
  await app.register(policyAuditRoutes(deps));
  await app.register(projectRoutes(deps));
}
