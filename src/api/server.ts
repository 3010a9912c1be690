// Builds the Fastify app: request IDs, logging, limits, OpenAPI, and one plugin per API surface.
// It listens on nothing itself; the caller (kubecred serve, a test) decides where and how.

import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
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

const LOG_LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

type LogFn = (...args: unknown[]) => void;

/**
 * A request's logger, made real only when something is logged: pino's child() (bindings serialized and
 * redacted) costs more than a whole webhook decision, and most webhook calls log nothing.
 */
class LazyChildLogger {
  #parent: FastifyBaseLogger;
  #bindings: Record<string, unknown>;
  #opts: Record<string, unknown>;
  #child: FastifyBaseLogger | null = null;

  constructor(parent: FastifyBaseLogger, bindings: Record<string, unknown>, opts: Record<string, unknown>) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#opts = opts;
  }

  #real(): FastifyBaseLogger {
    this.#child ??= this.#parent.child(this.#bindings, this.#opts);
    return this.#child;
  }

  get level(): string {
    return this.#child?.level ?? (this.#opts.level as string | undefined) ?? this.#parent.level;
  }

  set level(v: string) {
    this.#real().level = v;
  }

  fatal(...a: unknown[]) { (this.#real().fatal as LogFn)(...a); }
  error(...a: unknown[]) { (this.#real().error as LogFn)(...a); }
  warn(...a: unknown[]) { (this.#real().warn as LogFn)(...a); }
  info(...a: unknown[]) { (this.#real().info as LogFn)(...a); }
  debug(...a: unknown[]) { (this.#real().debug as LogFn)(...a); }
  trace(...a: unknown[]) { (this.#real().trace as LogFn)(...a); }
  silent(...a: unknown[]) { (this.#real().silent as LogFn)(...a); }
  child(bindings: Record<string, unknown>, opts?: Record<string, unknown>) { return this.#real().child(bindings, opts); }
}

export async function buildApp(opts: AppOptions): Promise<{ app: FastifyInstance; metrics: Metrics }> {
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    https: opts.https ?? null,
    bodyLimit: opts.bodyLimitBytes,
    trustProxy: opts.trustProxy ?? false,
    genReqId: newRequestId,
    requestIdHeader: false,
    // One access-log line per request, written when it completes (below), instead of Fastify's two.
    logController: new LogController({ requestIdLogLabel: 'requestId', disableRequestLogging: true }),
    childLoggerFactory: (logger, bindings, opts) =>
      new LazyChildLogger(logger, bindings as Record<string, unknown>, opts as Record<string, unknown>) as unknown as FastifyBaseLogger,
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
      // A route may lower its own access-log level (the webhooks: kube-apiserver calls them for every API request).
      const level = (req.routeOptions.config as { accessLogLevel?: 'info' | 'debug' } | undefined)?.accessLogLevel ?? 'info';
      const at = reply.statusCode >= 400 ? 'info' : level;
      if ((LOG_LEVELS[req.log.level] ?? 0) <= LOG_LEVELS[at]!) {
        req.log[at]({ method: req.method, url: req.url, statusCode: reply.statusCode, responseTime: reply.elapsedTime, remoteAddress: req.ip }, 'request completed');
      }
      done();
    });
  }

  const metrics = createMetrics(opts.authority.store);
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
