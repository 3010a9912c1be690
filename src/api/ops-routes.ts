// Operations endpoints: liveness, readiness (the store answers, and the replicas' change feed is
// connected), Prometheus metrics. No authentication and no secrets: they say only whether the server works.

import type { FastifyInstance } from 'fastify';
import type { Store } from '../core/store-port.ts';
import type { Metrics } from './metrics.ts';

export interface ReadinessCheck { name: string; ready: () => boolean }

export async function opsRoutes(app: FastifyInstance, deps: { store: Store; metrics: Metrics; checks: ReadinessCheck[] }): Promise<void> {
  app.get('/healthz', { schema: { tags: ['operations'], summary: 'Liveness' } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { tags: ['operations'], summary: 'Readiness: the store answers and, with replicas, the change feed is connected' } }, async (req, reply) => {
    const failing: string[] = [];
    try {
      await deps.store.ping();
    } catch {
      failing.push('store');
    }
    for (const c of deps.checks) if (!c.ready()) failing.push(c.name);
    if (failing.length === 0) return { status: 'ready', store: deps.store.dialect };
    return reply.status(503).send({ status: 'not-ready', store: deps.store.dialect, failing, requestId: req.id });
  });

  app.get('/metrics', { schema: { tags: ['operations'], summary: 'Prometheus metrics' } }, async (_req, reply) => {
    return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
}
