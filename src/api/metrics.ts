// Prometheus metrics of one server instance: request latency by route, issuance and revocation counts.
// A registry per app (not prom-client's global one), so several servers can live in one test process.

import type { FastifyInstance } from 'fastify';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'kubecred_process_' });
  return {
    registry,
    requestDuration: new Histogram({
      name: 'kubecred_http_request_duration_seconds', help: 'HTTP request latency by route',
      labelNames: ['method', 'route', 'status_code'], registers: [registry],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    }),
    issued: new Counter({ name: 'kubecred_kubeconfigs_issued_total', help: 'Kubeconfig credentials minted, by kind', labelNames: ['kind'], registers: [registry] }),
    reused: new Counter({ name: 'kubecred_kubeconfigs_reused_total', help: 'Default kubeconfigs handed out again', registers: [registry] }),
    revoked: new Counter({ name: 'kubecred_credentials_revoked_total', help: 'Credentials revoked', registers: [registry] }),
    denied: new Counter({ name: 'kubecred_requests_denied_total', help: 'Requests refused by authentication or authorization', labelNames: ['code'], registers: [registry] }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

export function registerMetricsHooks(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', async (req, reply) => {
    metrics.requestDuration.observe(
      { method: req.method, route: req.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
}
