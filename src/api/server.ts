// Builds the Fastify app: request IDs, logging, limits, OpenAPI, and one plugin per API surface.
// It listens on nothing itself; the caller (kubecred serve, a test) decides where and how.

import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import type { Authority } from '../core/authority.ts';
import { createMetrics, registerMetricsHooks, type Metrics } from './metrics.ts';
import { aliyunPlugin } from './aliyun/aliyun-plugin.ts';
import { huaweicloudCcePlugin } from './huaweicloud/cce-plugin.ts';
import { nativePlugin } from './native/native-plugin.ts';
import { nativeErrorHandler } from './native/native-errors.ts';
import { sharedSchemas } from './native/schemas.ts';
import { opsRoutes, type ReadinessCheck } from './ops-routes.ts';
import { kubePlugin } from './kube/kube-plugin.ts';
import { consolePlugin } from './console/console-plugin.ts';
import { newRequestId, registerRequestContext } from './request-context.ts';

export interface AppOptions {
  authority: Authority;
  /** A pino logger, or false for none. */
  logger: FastifyBaseLogger | false;
  bodyLimitBytes: number;
  https?: { cert: string; key: string } | null;
  trustProxy?: boolean;
  version: string;
  /** Conditions besides the store answering that /readyz reports (e.g. the replicas' change feed). */
  readiness?: ReadinessCheck[];
}

export async function buildApp(opts: AppOptions): Promise<{ app: FastifyInstance; metrics: Metrics }> {
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    https: opts.https ?? null,
    bodyLimit: opts.bodyLimitBytes,
    trustProxy: opts.trustProxy ?? false,
    genReqId: newRequestId,
    requestIdHeader: false,
    requestIdLogLabel: 'requestId',
    // One access-log line per request, written when it completes (below), instead of Fastify's two.
    disableRequestLogging: true,
    connectionTimeout: 30_000,
    keepAliveTimeout: 65_000,
    requestTimeout: 30_000,
    return503OnClosing: true,
    ajv: {
      // A string "60" where a number belongs is an error, not something to guess at; unknown fields too.
      customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false },
    },
  }) as unknown as FastifyInstance;

  if (opts.logger) {
    app.addHook('onResponse', (req, reply, done) => {
      req.log.info({ method: req.method, url: req.url, statusCode: reply.statusCode, responseTime: reply.elapsedTime, remoteAddress: req.ip }, 'request completed');
      done();
    });
  }

  const metrics = createMetrics();
  registerRequestContext(app);
  registerMetricsHooks(app, metrics);
  for (const s of sharedSchemas) app.addSchema(s);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'kubecred native API', version: opts.version, description: 'Per-person, expiring, revocable kubeconfigs for your own Kubernetes clusters.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A kubecred token: kc1.<id>.<secret>' } } },
      security: [{ bearer: [] }],
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (json.$id as string) || `def-${i}` },
  });

  app.setErrorHandler(nativeErrorHandler(metrics));
  app.setNotFoundHandler((req, reply) => {
    reply.status(404).send({ code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}; see /openapi.json`, requestId: req.id });
  });

  await app.register(opsRoutes, { store: opts.authority.store, metrics, checks: opts.readiness ?? [] });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(nativePlugin, { prefix: '/v1', authority: opts.authority, metrics });
  await app.register(huaweicloudCcePlugin, { prefix: '/api/v3', authority: opts.authority, metrics });
  await app.register(aliyunPlugin, { authority: opts.authority, metrics });
  await app.register(kubePlugin, { authority: opts.authority });
  await app.register(consolePlugin, { authority: opts.authority });
  return { app, metrics };
}
