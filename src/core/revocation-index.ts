// The in-memory view enforcement decides from: every kubecred credential by fingerprint, and per
// (cluster, principal) its credentials. Kept current on every committed change; never a table scan per request.

import type { Credential, CredentialState } from './model.ts';
import type { Clock } from './ports.ts';
import type { IndexedCredential, Store } from './store-port.ts';

interface Entry { id: string; clusterId: string; principalId: string; state: CredentialState; notAfterMs: number }

export type Verdict = { deny: false } | { deny: true; reason: string };

const NO_OPINION: Verdict = { deny: false };

export function makeRevocationIndex(clock: Clock) {
  const byFingerprint = new Map<string, Entry>();
  const byHolder = new Map<string, Entry[]>();
  const holderKey = (clusterId: string, principalId: string) => `${clusterId}\u0000${principalId}`;

  function put(c: IndexedCredential | Credential): void {
    const existing = byFingerprint.get(c.fingerprintSha256);
    if (existing) {
      existing.state = c.state;
      existing.notAfterMs = c.notAfter.getTime();
      return;
    }
    const e: Entry = { id: c.id, clusterId: c.clusterId, principalId: c.principalId, state: c.state, notAfterMs: c.notAfter.getTime() };
    byFingerprint.set(c.fingerprintSha256, e);
    const k = holderKey(c.clusterId, c.principalId);
    const list = byHolder.get(k);
    if (list) list.push(e);
    else byHolder.set(k, [e]);
  }

  return {
    /** Loads every credential from the store, a page at a time. */
    async load(store: Pick<Store, 'credentials'>, pageSize = 10_000): Promise<number> {
      let after: string | null = null;
      for (;;) {
        const page = await store.credentials.scan(after, pageSize);
        for (const c of page) put(c);
        if (page.length < pageSize) break;
        after = page[page.length - 1].id;
      }
      return byFingerprint.size;
    },

    apply(changed: Array<IndexedCredential | Credential>): void {
      for (const c of changed) put(c);
    },

    get size() {
      return byFingerprint.size;
    },

    /**
     * Kubernetes 1.32+: the request carries the certificate's SHA-256. Deny a kubecred certificate of
     * this cluster that is revoked, superseded or expired; no opinion on anything else, so RBAC decides.
     */
    byFingerprint(clusterId: string, fingerprint: string): Verdict {
      const e = byFingerprint.get(fingerprint);
      if (!e || e.clusterId !== clusterId) return NO_OPINION;
      if (e.state === 'revoked') return { deny: true, reason: `kubecred credential ${e.id} was revoked` };
      if (e.state === 'superseded') return { deny: true, reason: `kubecred credential ${e.id} was superseded; fetch a new kubeconfig` };
      if (e.notAfterMs <= clock.now().getTime()) return { deny: true, reason: `kubecred credential ${e.id} has expired` };
      return NO_OPINION;
    },

    /** Before 1.32 there is no credential ID: deny a kubecred principal with no active credential on this cluster. */
    byPrincipal(clusterId: string, principalId: string): Verdict {
      const list = byHolder.get(holderKey(clusterId, principalId));
      if (!list) return NO_OPINION; // not a user kubecred issued for: not ours to judge
      const now = clock.now().getTime();
      if (list.some((e) => e.state === 'active' && e.notAfterMs > now)) return NO_OPINION;
      return { deny: true, reason: `principal ${principalId} holds no active kubecred credential for this cluster` };
    },
  };
}

export type RevocationIndex = ReturnType<typeof makeRevocationIndex>;
