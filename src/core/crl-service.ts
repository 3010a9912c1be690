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
const KEEP_EXPIRED_MS = CRL_VALIDITY_MS;

export function makeCrlService(deps: { store: Store; clock: Clock; issuer: CredentialIssuer }) {
  return {
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
      const rows = await deps.store.credentials.listRevoked(cluster.id, new Date(now.getTime() - KEEP_EXPIRED_MS));
      return buildCrl({
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
    },
  };
}
