// Operations endpoints: liveness, readiness (the store answers), Prometheus metrics.
// No authentication and no secrets: they say only whether the server works.

import type { FastifyInstance } from 'fastify';
import type { Store } from '../core/store-port.ts';
import type { Metrics } from './metrics.ts';

export async function opsRoutes(app: FastifyInstance, deps: { store: Store; metrics: Metrics }): Promise<void> {
  app.get('/healthz', { schema: { tags: ['operations'], summary: 'Liveness' } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { tags: ['operations'], summary: 'Readiness: the store answers' } }, async (req, reply) => {
    try {
      await deps.store.ping();
      return { status: 'ready', store: deps.store.dialect };
    } catch {
      return reply.status(503).send({ status: 'not-ready', store: deps.store.dialect, requestId: req.id });
    }
  });

  app.get('/metrics', { schema: { tags: ['operations'], summary: 'Prometheus metrics' } }, async (_req, reply) => {
    return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
}
