// Operations endpoints: liveness, readiness (the webhooks' revocation index is current: see /readyz),
// Prometheus metrics. No authentication and no secrets: they say only whether the server works. /metrics also
// tells how busy the server is (issued, denied and revoked counts, latencies), so it answers loopback only unless
// --metrics-from opens it.

import net from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { KubecredError } from '../core/errors.ts';
import type { Store } from '../core/store-port.ts';
import type { Metrics } from './metrics.ts';

/**
 * Whether this server's revocation index knows every change other servers made (replicas: the change feed
 * is connected and caught up after its last gap). Absent with SQLite: the only writer is this server.
 */
export interface IndexFreshness { healthy(): boolean; staleForMs(): number }

export interface ReadinessOptions {
  freshness?: IndexFreshness;
  /**
   * While the database cannot be reached at all (neither the pool nor the change feed), how long the
   * webhooks go on being served from the index before this server reports not ready (docs/ha.md).
   */
  outageGraceMs: number;
}

/** Whether a client address is in --metrics-from's list; IPv4-mapped IPv6 addresses are their IPv4 ones. */
export function addressAllowed(allowed: 'any' | readonly string[]): (ip: string) => boolean {
  if (allowed === 'any') return () => true;
  const list = new net.BlockList();
  for (const entry of allowed) {
    if (entry === 'loopback') {
      list.addSubnet('127.0.0.0', 8, 'ipv4');
      list.addAddress('::1', 'ipv6');
      continue;
    }
    const [addr, prefix] = entry.split('/') as [string, string | undefined];
    const family = net.isIPv4(addr) ? 'ipv4' : 'ipv6';
    if (prefix === undefined) list.addAddress(addr, family);
    else list.addSubnet(addr, Number(prefix), family);
  }
  return (ip) => {
    const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
    if (v4 ?? net.isIPv4(ip)) return list.check(v4 ?? ip, 'ipv4');
    return net.isIPv6(ip) && list.check(ip, 'ipv6');
  };
}

const tags = ['operations'];
const Dialect = Type.Union([Type.Literal('sqlite'), Type.Literal('postgres')], { description: 'Which store this server uses' });
/** What /readyz weighs: the store answers; with replicas, the change feed is connected and caught up. */
const Part = Type.Union([Type.Literal('store'), Type.Literal('changeFeed')]);

const healthResponses = {
  200: Type.Object({ status: Type.Literal('ok') }),
  503: Type.Object({
    status: Type.Literal('failed'), failing: Type.Array(Type.Literal('store')),
    message: Type.String({ description: 'What failed and what to do: restart once the disk is healthy' }), requestId: Type.String(),
  }, { description: 'The store failed for good (SQLite after a failed sync of its write-ahead log): restart the server' }),
};

const readyResponses = {
  200: Type.Object({
    status: Type.Literal('ready'), store: Dialect,
    degraded: Type.Optional(Type.Array(Part, { description: 'What does not work while the webhooks still decide correctly (a database outage, within --outage-grace)' })),
  }),
  503: Type.Object({
    status: Type.Literal('not-ready'), store: Dialect,
    failing: Type.Array(Part, { description: 'Why the webhooks could decide from a stale revocation index' }), requestId: Type.String(),
  }, { description: 'Not ready: take this server out of the Service until it is' }),
};

const metricsResponses = {
  200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } },
  // ACCESS_DENIED: the client's address is not in --metrics-from.
  403: Type.Ref('Error'),
};

export async function opsRoutes(app: FastifyInstance, deps: { store: Store; metrics: Metrics; readiness: ReadinessOptions; metricsFrom: 'any' | readonly string[] }): Promise<void> {
  const metricsReader = addressAllowed(deps.metricsFrom);
  // Liveness fails only when a restart is the cure: the store failed for good (SQLite after a failed WAL sync).
  // A database that does not answer is readiness's business (/readyz), since it heals without a restart.
  app.get('/healthz', { schema: { tags, summary: 'Liveness: the process answers (it does not depend on the database); 503 only when the server must be restarted', response: healthResponses } }, async (req, reply) => {
    if (!deps.store.fatal?.()) return { status: 'ok' };
    return reply.status(503).send({ status: 'failed', failing: ['store'], message: 'the store failed and cannot recover in this process (see the log); restart kubecred once the disk is healthy', requestId: req.id });
  });

  // Ready = this server's webhook decisions are as correct as the database allows, not "the database answers":
  // behind a readiness-gated Service, a database outage would otherwise take every endpoint away and
  // kube-apiserver would apply its failurePolicy (Deny) to every review. docs/ha.md explains the trade-off.
  app.get('/readyz', { schema: { tags, summary: 'Readiness: the webhooks decide from an index that knows every revocation (degraded: what does not work)', response: readyResponses } }, async (req, reply) => {
    let storeOk = true;
    try {
      await deps.store.ping();
    } catch {
      storeOk = false;
    }
    const fresh = deps.readiness.freshness;
    const feedOk = fresh ? fresh.healthy() : true;
    const degraded = [...(storeOk ? [] : ['store']), ...(feedOk ? [] : ['changeFeed'])];
    if (degraded.length === 0) return { status: 'ready', store: deps.store.dialect };
    // SQLite (no feed): a store that fails is this server's own disk (a failed fsync refuses every later
    // write until a restart, docs/performance.md): not ready, as before.
    // The database answers but this server may not have heard a change: others can serve correctly.
    const failing = storeOk || !fresh ? degraded
      // Nothing answers. If the database is down nothing can be revoked, so the index is current; if only
      // this server is cut off, others may revoke unheard: tolerated for the grace period only.
      : !feedOk && fresh!.staleForMs() > deps.readiness.outageGraceMs ? degraded : [];
    if (failing.length === 0) return { status: 'ready', store: deps.store.dialect, degraded };
    return reply.status(503).send({ status: 'not-ready', store: deps.store.dialect, failing, requestId: req.id });
  });

  app.get('/metrics', { schema: { tags, summary: 'Prometheus metrics; loopback clients only unless the server was started with --metrics-from', response: metricsResponses } }, async (req, reply) => {
    // req.ip: the socket's peer, or what a trusted proxy (--trust-proxy) says the client was.
    if (!metricsReader(req.ip)) {
      // The allowed ranges are the operator's network layout: not for whoever asks. The log line has them.
      req.log.info({ metricsFrom: deps.metricsFrom }, 'a /metrics request from an address --metrics-from does not allow');
      throw new KubecredError('ACCESS_DENIED', `/metrics does not answer your address ${req.ip}; the operator lets Prometheus in with kubecred serve --metrics-from (addresses and CIDRs, or any)`);
    }
    return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
}
