// Deletes what the operator chose not to keep (serve --audit-retention-days, --credential-retention-days): audit
// events older than their retention, and credentials that ended longer ago than theirs. Never anything unexpired,
// never a current default kubeconfig, never an expired certificate a cluster's CRL may still list.

import type { AuditWriter } from './audit.ts';
import { KEEP_EXPIRED_MS } from './crl-service.ts';
import type { Clock } from './ports.ts';
import type { PrunedCount, Store } from './store-port.ts';

export interface RetentionDays {
  /** Audit events older than this many days are deleted; null keeps them forever (the default). */
  auditDays: number | null;
  /** Credentials that ended longer ago than this many days are deleted; null keeps them forever (the default). */
  credentialDays: number | null;
}

const DAY_MS = 86_400_000;
/**
 * Rows per DELETE: each is its own short statement, and the event loop (SQLite runs on it) serves requests between
 * two. An audit event is one row in two B-trees (10-15 ms per 500 on the million-credential store); a credential is
 * in ten indexes (~30 ms per 100 there, up to ~5x that with a cold cache). A run stops after MAX_BATCHES of each;
 * the next run (10 minutes later) goes on, so a large backlog drains over hours.
 */
const AUDIT_BATCH = 500;
const CREDENTIAL_BATCH = 100;
const MAX_BATCHES = 200;

export function makeRetention(deps: { store: Pick<Store, 'audit' | 'credentials'>; clock: Clock; audit: AuditWriter }, days: RetentionDays) {
  let stopping = false;
  /** Batches until one deletes nothing (or the run's budget is spent, or the server stops); the total deleted per account. */
  async function drain(batch: () => Promise<PrunedCount[]>): Promise<Map<string, number>> {
    const total = new Map<string, number>();
    for (let i = 0; i < MAX_BATCHES && !stopping; i++) {
      const counts = await batch();
      if (counts.length === 0) break;
      for (const c of counts) total.set(c.accountId, (total.get(c.accountId) ?? 0) + c.count);
      await new Promise((resolve) => setImmediate(resolve));
    }
    return total;
  }

  const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

  return {
    configured: days.auditDays !== null || days.credentialDays !== null,
    /** A run under way stops after its current batch (and still records what it deleted): the server is stopping. */
    stop: () => { stopping = true; },
    /**
     * One run: deletes in small batches, and records one event per account that lost anything, with the count and
     * the cutoff. Several replicas may run it at once: each batch deletes rows still there, so the work is not done
     * twice, and each replica records only what it deleted.
     */
    async run(): Promise<{ auditEvents: number; credentials: number }> {
      const now = deps.clock.now();
      /** Deletes batch by batch, then records in each account that lost rows how many, with `detail`; how many in all. */
      const prune = async (action: 'PruneAuditEvents' | 'PruneCredentials', resourceType: string, batch: () => Promise<PrunedCount[]>, detail: Record<string, unknown>) => {
        const deleted = await drain(batch);
        for (const [accountId, count] of deleted) {
          await deps.audit.record(deps.store, null, accountId, { action, resourceType, resourceId: null, detail: { deleted: count, ...detail } });
        }
        return sum(deleted);
      };
      let auditEvents = 0;
      let credentials = 0;
      if (days.auditDays !== null) {
        const before = new Date(now.getTime() - days.auditDays * DAY_MS);
        auditEvents = await prune('PruneAuditEvents', 'audit', () => deps.store.audit.prune(before, AUDIT_BATCH), { before: before.toISOString(), retentionDays: days.auditDays });
      }
      if (days.credentialDays !== null) {
        // Never one a CRL may still list: it keeps revoked certificates for KEEP_EXPIRED_MS past their end.
        const endedBefore = new Date(now.getTime() - Math.max(days.credentialDays * DAY_MS, KEEP_EXPIRED_MS));
        credentials = await prune('PruneCredentials', 'credential', () => deps.store.credentials.prune(endedBefore, CREDENTIAL_BATCH), { endedBefore: endedBefore.toISOString(), retentionDays: days.credentialDays });
      }
      return { auditEvents, credentials };
    },
  };
}

export type Retention = ReturnType<typeof makeRetention>;
