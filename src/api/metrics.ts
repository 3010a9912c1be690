// Prometheus metrics of one server instance: request latency by route, issuance and revocation counts, webhook
// decisions, the revocation index's size, the embedded store's commits, disk syncs, checkpoints and row cache, and
// a database server's failures, transactions run again and change feed. A registry per app (not prom-client's global
// one), so several servers can live in one test process.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Store, StoreStats } from '../core/store-port.ts';
import type { IndexFreshness } from './ops-routes.ts';

/** The store's own counters, read when Prometheus scrapes (a store without them, PostgreSQL, adds none). */
function registerStoreStats(registry: Registry, store: Pick<Store, 'stats'>): void {
  if (!store.stats) return;
  const stats = () => store.stats!();
  const counter = (name: string, help: string, pick: (s: StoreStats) => number) => new Counter({
    name, help, registers: [registry],
    collect() {
      this.reset();
      this.inc(pick(stats()));
    },
  });
  counter('kubecred_store_commits_total', 'Database COMMITs made by this server', (s) => s.commits);
  counter('kubecred_store_transactions_total', 'Transactions committed (a group commit carries several in one COMMIT)', (s) => s.transactions);
  counter('kubecred_store_wal_syncs_total', 'Syncs of the write-ahead log to disk (every answer that wrote waits for one)', (s) => s.syncs);
  counter('kubecred_store_wal_sync_seconds_total', 'Time from the start of each sync to its completion reaching the event loop: the disk\'s latency, plus the wait for a busy event loop', (s) => s.syncSeconds);
  counter('kubecred_store_checkpoints_total', 'Background checkpoints of the write-ahead log into the database file', (s) => s.checkpoints);
  counter('kubecred_store_wal_restarts_total', 'Restarts of the write-ahead log made in the background', (s) => s.walRestarts);
  counter('kubecred_store_row_cache_hits_total', 'Token, principal and cluster reads answered from memory', (s) => s.rowCacheHits);
  new Counter({
    name: 'kubecred_store_write_failures_total',
    help: 'Store operations refused because the disk could not take them (disk_full, io_error, read_only, wal_sync), answered 503 UNAVAILABLE',
    labelNames: ['reason'], registers: [registry],
    collect() {
      this.reset();
      // Each reason from the start, at 0, so an alert on the rate has a series to watch before the first failure.
      const seen = { disk_full: 0, io_error: 0, read_only: 0, wal_sync: 0, ...stats().writeFailures };
      for (const [reason, n] of Object.entries(seen)) this.inc({ reason }, n);
    },
  });
  counter('kubecred_store_row_cache_misses_total', 'Token, principal and cluster reads that went to the database (first read, or after a write to those tables)', (s) => s.rowCacheMisses);
}

/**
 * A database server's failures answered 503 UNAVAILABLE, by reason; each reason from the start, at 0, so an alert
 * on the rate has a series before the first failure. (The embedded store counts its own in its stats, above.)
 */
function registerStoreFailures(registry: Registry, store: Pick<Store, 'failures'>): void {
  if (!store.failures) return;
  const failures = store.failures.bind(store);
  new Counter({
    name: 'kubecred_store_failures_total',
    help: 'Database operations answered 503 UNAVAILABLE: unreachable (no answer, connection lost, the server shutting down) or gave_up (a serialization failure, deadlock or statement timeout; nothing was changed)',
    labelNames: ['reason'], registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(failures())) this.inc({ reason }, n);
    },
  });
}

/**
 * Transactions a database server aborted to break a deadlock (or a serialization failure) and the store ran again, by
 * reason: answered as if they had come after the other, not with 503. Each reason from the start, at 0.
 */
function registerTransactionRetries(registry: Registry, store: Pick<Store, 'transactionRetries'>): void {
  if (!store.transactionRetries) return;
  const retries = store.transactionRetries.bind(store);
  new Counter({
    name: 'kubecred_store_transaction_retries_total',
    help: 'Write transactions the database rolled back to let another through (deadlock, serialization_failure) and this server ran again; past 3 for one request it answers 503 (kubecred_store_failures_total{reason="gave_up"})',
    labelNames: ['reason'], registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(retries())) this.inc({ reason }, n);
    },
  });
}

/** What /readyz weighs for replicas: whether other servers' changes reach this one's revocation index. */
function registerChangeFeed(registry: Registry, freshness: IndexFreshness): void {
  new Gauge({
    name: 'kubecred_change_feed_healthy', registers: [registry],
    help: "1 while the change feed listens and the revocation index has caught up after its last gap; 0 while other replicas' revocations may go unheard here",
    collect() {
      this.set(freshness.healthy() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'kubecred_change_feed_stale_seconds', registers: [registry],
    help: "0 while the change feed is healthy; else seconds since it last was: how long other replicas' revocations may have gone unheard here",
    collect() {
      this.set(freshness.staleForMs() / 1000);
    },
  });
}

/**
 * The webhooks' answers, counted as plain numbers: kube-apiserver asks once per API request, and prom-client's
 * labels().inc() hashes and validates the labels on every call. Read into the counter when Prometheus scrapes.
 */
export interface WebhookDecisions {
  authorize: { deny: number; no_opinion: number };
  authenticate: { authenticated: number; unauthenticated: number };
}

function registerWebhookDecisions(registry: Registry): WebhookDecisions {
  const decisions: WebhookDecisions = { authorize: { deny: 0, no_opinion: 0 }, authenticate: { authenticated: 0, unauthenticated: 0 } };
  new Counter({
    name: 'kubecred_webhook_decisions_total', registers: [registry], labelNames: ['review', 'decision'],
    help: 'Webhook answers to kube-apiserver: authorize (SubjectAccessReview) deny or no_opinion (kubecred never allows), authenticate (TokenReview) authenticated or unauthenticated. Refused reviews (a bad webhook token, a malformed body) are not decisions: see kubecred_http_request_duration_seconds by status',
    collect() {
      this.reset();
      for (const [review, counts] of Object.entries(decisions)) {
        for (const [decision, n] of Object.entries(counts as Record<string, number>)) this.inc({ review, decision }, n);
      }
    },
  });
  return decisions;
}

/** What the webhook decides from, held in memory: it grows with the credentials that have not expired yet. */
export interface IndexSize { readonly size: number; readonly bytes: number }

function registerIndexSize(registry: Registry, index: IndexSize): void {
  const gauge = (name: string, help: string, pick: (i: IndexSize) => number) => new Gauge({
    name, help, registers: [registry],
    collect() {
      this.set(pick(index));
    },
  });
  gauge('kubecred_revocation_index_credentials', 'Credentials in the in-memory revocation index the webhook decides from (every one not yet expired when loaded or issued since)', (i) => i.size);
  gauge('kubecred_revocation_index_bytes', 'Bytes of the revocation index\'s arrays', (i) => i.bytes);
}

export function createMetrics(store?: Pick<Store, 'stats' | 'failures' | 'transactionRetries'>, index?: IndexSize, freshness?: IndexFreshness) {
  const registry = new Registry();
  // Their names start process_ or nodejs_ already: kubecred_process_cpu_seconds_total, kubecred_nodejs_eventloop_lag_seconds.
  collectDefaultMetrics({ register: registry, prefix: 'kubecred_' });
  if (store) registerStoreStats(registry, store);
  if (store) registerStoreFailures(registry, store);
  if (store) registerTransactionRetries(registry, store);
  if (index) registerIndexSize(registry, index);
  if (freshness) registerChangeFeed(registry, freshness);
  return {
    registry,
    webhookDecisions: registerWebhookDecisions(registry),
    requestDuration: new Histogram({
      name: 'kubecred_http_request_duration_seconds', help: 'HTTP request latency by route',
      labelNames: ['method', 'route', 'status_code'], registers: [registry],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    }),
    issued: new Counter({ name: 'kubecred_kubeconfigs_issued_total', help: 'Kubeconfig credentials minted, by kind', labelNames: ['kind'], registers: [registry] }),
    reused: new Counter({ name: 'kubecred_kubeconfigs_reused_total', help: 'Default kubeconfigs handed out again', registers: [registry] }),
    revoked: new Counter({ name: 'kubecred_credentials_revoked_total', help: 'Credentials revoked', registers: [registry] }),
    denied: new Counter({ name: 'kubecred_requests_denied_total', help: 'Requests refused by authentication or authorization', labelNames: ['code'], registers: [registry] }),
    connectionsRefused: new Counter({
      name: 'kubecred_connections_refused_total', labelNames: ['reason'], registers: [registry],
      help: 'Connections closed at once because the server held --max-connections (reason total) or one address held --max-connections-per-address (per-address)',
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Also called for the router's own refusals, which run no hooks (server.ts frameworkErrors). */
export function observeRequest(metrics: Metrics, req: FastifyRequest, reply: FastifyReply): void {
  metrics.requestDuration.observe(
    { method: req.method, route: req.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
    reply.elapsedTime / 1000,
  );
}

export function registerMetricsHooks(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', async (req, reply) => observeRequest(metrics, req, reply));
}
