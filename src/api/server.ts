// Builds the Fastify app: request IDs, logging, limits, OpenAPI, and one plugin per API surface.
// It listens on nothing itself; the caller (kubecred serve, a test) decides where and how.

import http from 'node:http';
import type net from 'node:net';
import type { Socket } from 'node:net';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import { shapeOpenApi } from './openapi-shape.ts';
import { nestsDeeperThan, tooDeepMessage } from './json-depth.ts';
import { limitConnections, type ConnectionLimits } from './connection-limits.ts';
import { lazySchemas } from './lazy-schemas.ts';
import type { Authority } from '../core/authority.ts';
import { withoutPastedSecrets } from '../core/api-credentials.ts';
import { invalid } from '../core/errors.ts';
import { createMetrics, observeRequest, registerMetricsHooks, type Metrics } from './metrics.ts';
import { aliyunNotFound, isAliyunRequest } from './aliyun/aliyun-errors.ts';
import { aliyunPlugin } from './aliyun/aliyun-plugin.ts';
import { huaweicloudCcePlugin } from './huaweicloud/cce-plugin.ts';
import { nativePlugin } from './native/native-plugin.ts';
import { nativeErrorHandler } from './native/native-errors.ts';
import { ID_MAX_LENGTH, sharedSchemas } from './native/schemas.ts';
import { opsRoutes, type ReadinessOptions } from './ops-routes.ts';
import { kubePlugin } from './kube/kube-plugin.ts';
import { methodNotAllowed, methodsServing } from './method-not-allowed.ts';
import { consolePlugin } from './console/console-plugin.ts';
import { failureOf, newRequestId, noteFailure, registerRequestContext, REQUEST_ID_HEADER } from './request-context.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The access log line's level for this route (default info): debug for the webhooks' one call per API request. */
    accessLogLevel?: 'info' | 'debug';
  }
}

export interface AppOptions {
  authority: Authority;
  /** A pino logger, or false for none. */
  logger: FastifyBaseLogger | false;
  bodyLimitBytes: number;
  https?: { cert: string; key: string } | null;
  /** Proxy hops (0: none) or proxy addresses/CIDRs whose X-Forwarded-* headers are believed. */
  trustProxy?: number | readonly string[];
  version: string;
  /** What /readyz weighs besides the store (the replicas' change feed, the outage grace). */
  readiness?: ReadinessOptions;
  /** Who may read /metrics (ServerConfig.metricsFrom); loopback only when absent. */
  metricsFrom?: 'any' | readonly string[];
  /** Caps on connections held (connection-limits.ts); none when absent (tests that build an app in process). */
  connectionLimits?: ConnectionLimits;
}

const REQUEST_TIMEOUT_MS = 30_000;
/**
 * Node checks its request and header timeouts only this often (30 s by default, so a request trickled byte by byte
 * was cut after ~60 s, not the 30 s the 408 says); and its header timeout defaults to 60 s, fixed when the server is
 * made, before Fastify sets the request timeout.
 */
const NODE_TIMEOUTS = { requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: 1_000 };
/**
 * Node answers an HTTP/1.1 request without Host itself, with a bare 400 (no body, no request ID); the same refusal
 * is made in a hook instead (request-context.ts), in the shape of the surface asked.
 */
const NODE_SERVER_OPTIONS = { ...NODE_TIMEOUTS, requireHostHeader: false };
/**
 * A connection that has not finished its TLS handshake in this time is dropped. Node's default is 120 s, and the idle
 * and header timeouts start only once the handshake is done: a flood of silent TCP connections held a socket each
 * for two minutes. kube-apiserver, kubectl and the SDKs finish a handshake in milliseconds.
 */
const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;
/**
 * TLS 1.2 and 1.3 only, and on 1.2 only forward-secret AEAD suites (ECDHE with AES-GCM or ChaCha20-Poly1305), for an
 * ECDSA or an RSA certificate: Node's defaults also accept CBC suites with SHA-1 MACs on 1.2. Every client kubecred
 * has (kubectl and kube-apiserver in Go, the vendors' SDKs and the CLI in Node, browsers) offers one of these.
 */
const TLS_OPTIONS = {
  minVersion: 'TLSv1.2',
  ciphers: [
    'TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256',
    'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384',
    'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
  ].join(':'),
  honorCipherOrder: true,
} as const;
/** See ServerConfig.outageGraceMs. */
export const DEFAULT_OUTAGE_GRACE_MS = 300_000;

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

type ErrorHandler = (err: unknown, req: FastifyRequest, reply: FastifyReply) => unknown;

/**
 * Which surface a URL belongs to, for errors the router raises before any route matched (a path segment that
 * is not valid percent-encoding, or too long): each route's pattern is kept with the plugin it was added in,
 * whose error handler (read when needed) answers in that surface's shape. Derived from the routes themselves
 * so that a new route or surface needs nothing here.
 */
function surfaceOfUrl(app: FastifyInstance) {
  const routes: { pattern: RegExp; prefix: string; owner: FastifyInstance }[] = [];
  const segment = (s: string) => (s === '*' ? '.*' : s.startsWith(':') ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  app.addHook('onRoute', function (this: FastifyInstance, r) {
    routes.push({ pattern: new RegExp(`^${r.url.split('/').map(segment).join('/')}$`), prefix: r.prefix, owner: this });
  });
  return (url: string): ErrorHandler => {
    const path = url.split('?')[0]!;
    // No route matches: a plugin's prefix (/api/v3) still says whose URL it is; otherwise the native shape.
    const route = routes.find((r) => r.pattern.test(path)) ?? routes.find((r) => r.prefix !== '' && path.startsWith(`${r.prefix}/`));
    return (route?.owner ?? app).errorHandler as ErrorHandler;
  };
}

const parsesAsJson = (text: string) => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

/** Short, actionable answers for what Node's HTTP parser refuses, by the parser's error code. */
const FRAMING = 'frame the body with one Content-Length or with Transfer-Encoding: chunked, never both';
const PARSER_ERRORS: Record<string, string> = {
  HPE_INVALID_HEADER_TOKEN: 'a header name or value holds a character HTTP does not allow (e.g. a control character); remove it',
  HPE_INVALID_TRANSFER_ENCODING: FRAMING,
  HPE_INVALID_CONTENT_LENGTH: FRAMING,
  HPE_UNEXPECTED_CONTENT_LENGTH: FRAMING,
  HPE_INVALID_URL: 'the request path holds a character a URL does not allow; percent-encode it',
};

/**
 * Node's HTTP parser refused the bytes before a request existed, so no route, hook or surface applies: the
 * answer is the native shape, written straight to the socket, which is then closed (the stream cannot be
 * trusted past the error). No request ID exists yet; one is generated here so the answer and the log line
 * share it. Never logs err.rawPacket: it holds the headers, Authorization included.
 */
function answerClientError(this: FastifyInstance, err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const requestId = newRequestId();
  // The HTTP status stays the one clients and proxies know for these two (retry / shrink); the code is the nearest stable one.
  const [status, code, message] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'VALIDATION_FAILED', `the request was not received completely within ${REQUEST_TIMEOUT_MS / 1000} s; send it again`]
    : err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'PAYLOAD_TOO_LARGE', `the request line and headers are larger than ${http.maxHeaderSize / 1024} KiB; send fewer or smaller headers`]
    : [400, 'VALIDATION_FAILED', `the request is not well-formed HTTP: ${PARSER_ERRORS[err.code ?? ''] ?? 'check the request line and headers'}`];
  this.log.info({ requestId, statusCode: status, code: err.code, remoteAddress: socket.remoteAddress }, 'request refused by the HTTP parser');
  // As Node itself does: write if the socket still can, then destroy it.
  const body = JSON.stringify({ code, message, requestId });
  if (socket.writable) socket.write(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\n`
    + `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${REQUEST_ID_HEADER}: ${requestId}\r\nConnection: close\r\n\r\n${body}`);
  socket.destroy();
}

/**
 * Never `true`, which believes the leftmost X-Forwarded-For entry, the one the client chose. A hop count trusts the
 * socket peer and the n-1 entries nearest it (proxy-addr's hop 0 is the socket address), so the client address is the
 * one the outermost trusted proxy saw; Fastify's own numeric trustProxy trusts nothing, hence the function.
 */
function fastifyTrustProxy(tp: number | readonly string[] | undefined): false | string[] | ((address: string, hop: number) => boolean) {
  if (typeof tp === 'number') return tp > 0 ? (_address: string, hop: number) => hop < tp : false;
  return tp?.length ? [...tp] : false;
}

/** Percent-decoded where the encoding is valid (a run that is not valid UTF-8 stays as sent). */
const percentDecoded = (url: string): string => url.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
  try {
    return decodeURIComponent(run);
  } catch {
    return run;
  }
});

/**
 * The URL as logged: a signature in the query (Alibaba's RPC v1 style sends `Signature=`) is cut out, and so is any
 * kubecred secret pasted into it. Its nonce is never accepted twice, but a log is no place for what proves a caller
 * holds a key. Read after percent-decoding: %53ignature= and kc1%2Etok_... are the same thing to the server.
 */
const loggedUrl = (url: string): string => {
  const plain = url.includes('%') ? percentDecoded(url) : url;
  return withoutPastedSecrets(plain.replace(/([?&]signature=)[^&]*/gi, '$1[redacted]'));
};

/** Caps connections, counting refusals in /metrics and saying so in the log at most once a minute per reason. */
function limitConnectionsLogged(app: FastifyInstance, limits: ConnectionLimits, metrics: Metrics): void {
  const quietUntil = { total: 0, 'per-address': 0 };
  const since = { total: 0, 'per-address': 0 };
  limitConnections(app.server as unknown as net.Server, limits, (reason, address) => {
    metrics.connectionsRefused.inc({ reason });
    since[reason]++;
    const now = Date.now();
    if (now < quietUntil[reason]) return;
    quietUntil[reason] = now + 60_000;
    app.log.warn({ reason, remoteAddress: address, refusedSinceLastLine: since[reason] }, reason === 'total'
      ? `refusing connections: ${limits.max} are open (--max-connections); raise it (and the open-file limit) if this load is expected`
      : `refusing connections from ${address}: it holds ${limits.perAddress} (--max-connections-per-address); raise it if one client (or a proxy, with --trust-proxy) needs more`);
    since[reason] = 0;
  });
}

export async function buildApp(opts: AppOptions): Promise<{ app: FastifyInstance; metrics: Metrics; compileSchemas: () => number }> {
  const schemas = lazySchemas();
  const app = Fastify({
    schemaController: { compilersFactory: schemas.compilersFactory as never },
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    https: opts.https ? { ...opts.https, ...TLS_OPTIONS, ...NODE_SERVER_OPTIONS, handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS } : null,
    // Plain HTTP (--no-tls) takes them here; Fastify's typings know this option only for an http server.
    ...({ http: NODE_SERVER_OPTIONS } as object),
    bodyLimit: opts.bodyLimitBytes,
    trustProxy: fastifyTrustProxy(opts.trustProxy),
    genReqId: newRequestId,
    requestIdHeader: false,
    // Path IDs and names may be as long as the schemas allow (IdParam: 128); the router refuses longer ones itself.
    routerOptions: { maxParamLength: ID_MAX_LENGTH },
    // The router's own refusals (bad percent-encoding, an over-long segment) come before any route or hook:
    // give them what the hooks would have (X-Request-Id, an access-log line, metrics) and the shape of the
    // surface the URL belongs to.
    frameworkErrors: (err, req, reply) => {
      reply.header(REQUEST_ID_HEADER, req.id);
      reply.raw.once('finish', () => {
        logAccess(req, reply);
        observeRequest(metrics, req, reply);
      });
      return handlerFor(req.url)(err, req, reply);
    },
    clientErrorHandler: answerClientError,
    // One access-log line per request, written when it completes (below), instead of Fastify's two.
    logController: new LogController({ requestIdLogLabel: 'requestId', disableRequestLogging: true }),
    childLoggerFactory: (logger, bindings, opts) =>
      new LazyChildLogger(logger, bindings as Record<string, unknown>, opts as Record<string, unknown>) as unknown as FastifyBaseLogger,
    connectionTimeout: 30_000,
    keepAliveTimeout: 65_000,
    requestTimeout: REQUEST_TIMEOUT_MS,
    return503OnClosing: true,
    ajv: {
      // A string "60" where a number belongs is an error, not something to guess at; unknown fields too.
      customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false },
    },
  }) as unknown as FastifyInstance;

  // Node answers an Expect other than 100-continue itself, with a bare 417 (no body, no request ID: found by npm run
  // fuzz), unless someone listens. RFC 9110 10.1.1 lets a server ignore an expectation it does not know, which is
  // what this does: the request is served as if it had none, with every answer in its surface's shape.
  app.server.on('checkExpectation', (req: http.IncomingMessage, res: http.ServerResponse) => app.server.emit('request', req, res));

  // Every kubecred route takes JSON: without Fastify's default text/plain parser, a text/plain body gets the
  // same 415 "send the body as application/json" as any other type, instead of a schema error ("body must be
  // object"). Here rather than in the native plugin so /v1/sessions (the console's) and the webhooks get it
  // too; the vendor surfaces, which take other types, install their own parsers.
  app.removeContentTypeParser('text/plain');

  // Fastify's JSON parser refuses a "__proto__" key (or constructor.prototype), rightly, but reports it as
  // "not valid JSON" and drops the cause. Its own parser, wrapped: only when it refuses is the body parsed
  // again, plainly; if that succeeds the JSON was fine and the forbidden key is what to name.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body: string, done) => {
    // Many clients send Content-Type: application/json on every request, body or not: an empty one is no body.
    // A request no route serves is answered 404 (or 405) whatever its body says: it is not parsed.
    if (body.length === 0 || req.is404) return done(null, undefined);
    if (nestsDeeperThan(body)) return done(invalid(tooDeepMessage), undefined);
    parseJson(req, body, (err, value) => {
      if (err && (err as { code?: string }).code === 'FST_ERR_CTP_INVALID_JSON_BODY' && parsesAsJson(body)) {
        return done(invalid('the body has a "__proto__" key (or a "constructor" holding "prototype"), which kubecred refuses anywhere in a body; remove it'), undefined);
      }
      done(err, value);
    });
  });

  // Fastify requires a route's body even when its schema makes it optional: a route that takes one gets {} for
  // none, so its own fields' rules (required ones included) are what answers.
  app.addHook('preValidation', (req, _reply, done) => {
    if (req.body === undefined && req.routeOptions.schema?.body) req.body = {};
    done();
  });

  const logAccess = (req: FastifyRequest, reply: FastifyReply) => {
    if (!opts.logger) return;
    // A route may lower its own access-log level (the webhooks: kube-apiserver calls them for every API request).
    const level = req.routeOptions.config?.accessLogLevel ?? 'info';
    const at = reply.statusCode >= 400 ? 'info' : level;
    if ((LOG_LEVELS[req.log.level] ?? 0) <= LOG_LEVELS[at]!) {
      // Who and why, so that the request ID a client shows leads somewhere; never the error's message (it may echo input).
      const failure = failureOf(req);
      req.log[at]({
        method: req.method, url: loggedUrl(req.url), statusCode: reply.statusCode, responseTime: reply.elapsedTime, remoteAddress: req.ip,
        ...(req.actor ? { principalId: req.actor.principal.id } : {}), ...failure,
      }, 'request completed');
    }
  };
  if (opts.logger) {
    app.addHook('onResponse', (req, reply, done) => {
      logAccess(req, reply);
      done();
    });
  }

  const handlerFor = surfaceOfUrl(app);
  const metrics = createMetrics(opts.authority.store, opts.authority.index, opts.readiness?.freshness);
  if (opts.connectionLimits) limitConnectionsLogged(app, opts.connectionLimits, metrics);
  registerRequestContext(app);
  registerMetricsHooks(app, metrics);
  for (const s of sharedSchemas) app.addSchema(s);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'kubecred native API', version: opts.version, description: 'Per-person, expiring, revocable kubeconfigs for your own Kubernetes clusters.' },
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (json.$id as string) || `def-${i}` },
    transformObject: (d) => shapeOpenApi(('openapiObject' in d ? d.openapiObject : d.swaggerObject) as never) as never,
  });

  app.setErrorHandler(nativeErrorHandler(metrics));
  app.setNotFoundHandler((req, reply) => {
    if (isAliyunRequest(req)) return aliyunNotFound(req, reply);
    const allow = methodsServing(app, req.url);
    if (allow.length > 0) throw methodNotAllowed(req, allow);
    noteFailure(req, 'NOT_FOUND');
    reply.status(404).send({ code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}; see /openapi.json`, requestId: req.id });
  });

  await app.register(opsRoutes, { store: opts.authority.store, metrics, readiness: opts.readiness ?? { outageGraceMs: DEFAULT_OUTAGE_GRACE_MS }, metricsFrom: opts.metricsFrom ?? ['loopback'] });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(nativePlugin, { prefix: '/v1', authority: opts.authority, metrics });
  await app.register(huaweicloudCcePlugin, { prefix: '/api/v3', authority: opts.authority, metrics });
  await app.register(aliyunPlugin, { authority: opts.authority, metrics });
  await app.register(kubePlugin, { authority: opts.authority, metrics });
  await app.register(consolePlugin, { authority: opts.authority });
  return { app, metrics, compileSchemas: schemas.compileAll };
}
