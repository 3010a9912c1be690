// The CRL of a cluster's client CA: every kubecred certificate it revoked or superseded, signed by
// that CA. Public by design (a CRL names serials only); never lists another cluster's certificates.

import { KubecredError } from './errors.ts';
import type { CredentialIssuer } from './credential-issuer.ts';
import type { Clock } from './ports.ts';
import type { Store } from './store-port.ts';
import { buildCrl, CrlReason } from '../pki/crl.ts';
import { hasKeyUsage, KU, parseCertificate } from '../pki/x509.ts';

/** Proxies fetch again after this; a revocation reaches them within it. */
export const CRL_VALIDITY_MS = 60 * 60 * 1000;

/**
 * An entry leaves the CRL once its certificate expired longer ago than one CRL's validity: every CRL a relying
 * party could still hold was built after that expiry with the entry on it (RFC 5280 §3.3 allows the removal),
 * and an expired certificate is refused on its own dates. Without it a cluster's CRL only ever grew.
 */
export const KEEP_EXPIRED_MS = CRL_VALIDITY_MS;

/**
 * How long a built CRL is served again (unless a revocation of its cluster comes first): the endpoint is public, and
 * building one reads every revoked row of the cluster and signs (~40 ms at 2,600 entries, ~0.6 s at 40,000), so
 * anyone could keep a core busy with GETs. Its thisUpdate is then at most this old; its nextUpdate an hour ahead.
 */
export const CRL_REBUILT_AFTER_MS = 60_000;

export function makeCrlService(deps: { store: Store; clock: Clock; issuer: CredentialIssuer }) {
  /** The last CRL built per cluster, and one being built (concurrent GETs share it). */
  const built = new Map<string, { der: Buffer; at: number; until: number }>();
  const building = new Map<string, Promise<{ der: Buffer; at: number; until: number }>>();

  /** The CRL, and until when it may be served again: 60 s, or sooner when one of its entries is due to leave it. */
  async function buildFor(clusterId: string, ca: ReturnType<CredentialIssuer['caFor']>, now: Date): Promise<{ der: Buffer; at: number; until: number }> {
    const rows = await deps.store.credentials.listRevoked(clusterId, new Date(now.getTime() - KEEP_EXPIRED_MS));
    const until = rows.reduce((t, c) => Math.min(t, c.notAfter.getTime() + KEEP_EXPIRED_MS), now.getTime() + CRL_REBUILT_AFTER_MS);
    const der = buildCrl({
      ca,
      // A token kubeconfig has a serial but no certificate: a CRL names certificates only.
      entries: rows.filter((c) => c.type === 'x509').map((c) => ({
        serialHex: c.serialHex,
        revokedAt: c.revokedAt ?? c.supersededAt ?? now,
        reason: c.state === 'superseded' ? CrlReason.superseded : CrlReason.unspecified,
      })),
      // Milliseconds since the epoch, by the database's clock where replicas share one (theirs may be up to 30 s
      // apart, and a later CRL from one behind would carry a lower number): increases with no stored counter.
      crlNumber: BigInt(deps.store.sharedClockMs ? await deps.store.sharedClockMs() : now.getTime()),
      thisUpdate: now,
      nextUpdate: new Date(now.getTime() + CRL_VALIDITY_MS),
    });
    return { der, at: now.getTime(), until };
  }

  return {
    /** A revoked or superseded credential changes its cluster's CRL: the next GET builds it again. Told of every change, replicas' too. */
    forget(changed: Array<{ clusterId: string; state: string }>): void {
      for (const c of changed) if (c.state !== 'active') {
        built.delete(c.clusterId);
        building.delete(c.clusterId);
      }
    },

    async crlDer(clusterId: string): Promise<Buffer> {
      const cluster = await deps.store.clusters.getAnyAccount(clusterId);
      // Public: no account is asking, so none is named.
      if (!cluster) throw new KubecredError('NOT_FOUND', `there is no cluster ${JSON.stringify(clusterId)}; a CRL's address is /clusters/<cluster ID>/crl (kubecred cluster list shows the IDs)`, { details: { kind: 'cluster', id: clusterId } });
      const now = deps.clock.now();
      const ca = deps.issuer.caFor(cluster);
      // An imported CA may lack cRLSign (kubeadm's has digitalSignature, keyEncipherment, keyCertSign): every reader
      // would refuse a CRL it signed, so say so rather than serve one.
      if (hasKeyUsage(parseCertificate(ca.certDer), KU.cRLSign) === false) {
        throw new KubecredError('CONFLICT', `cluster ${cluster.name}'s client CA has no cRLSign in its keyUsage, so readers refuse CRLs it signs; revocation takes effect through the authorization webhook (kubecred cluster kube-config), or import a CA that may sign CRLs`, { details: { field: 'clientCa' } });
      }
      const last = built.get(cluster.id);
      // A clock set back (tests, or a corrected host clock) also builds anew.
      if (last && now.getTime() >= last.at && now.getTime() < last.until) return last.der;
      const pending = building.get(cluster.id);
      if (pending) return (await pending).der;
      const build = buildFor(cluster.id, ca, now);
      building.set(cluster.id, build);
      try {
        const made = await build;
        // Not if a revocation came while it was built: that one may be missing from it.
        if (building.get(cluster.id) === build) built.set(cluster.id, made);
        return made.der;
      } finally {
        if (building.get(cluster.id) === build) building.delete(cluster.id);
      }
    },
  };
}
