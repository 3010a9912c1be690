// Registering clusters with their endpoints, server CA bundle and client CA (generated or imported),
// listing and deleting them. The client CA key is sealed before it reaches the store, and never returned.

import crypto from 'node:crypto';
import type { Actor } from './actor.ts';
import { Actions, type ActionDef } from './actions.ts';
import type { AuditWriter } from './audit.ts';
import { absentClusterTargets, clusterTarget, type Authorizer } from './authorizer.ts';
import { clusterCaKeyAad, type CredentialIssuer } from './credential-issuer.ts';
import { invalid, KubecredError, notFound } from './errors.ts';
import { findCluster } from './lookup.ts';
import { checkCertificateBundle, checkEndpoint, checkRegion, checkResourceName } from './input-rules.ts';
import type { Cluster, ClusterKind, KeyAlgorithm, Page } from './model.ts';
import type { Clock, Ids, Sealer } from './ports.ts';
import type { PageRequest, Store } from './store-port.ts';
import { clusterView, type ClusterView } from './views.ts';
import { createClientCa, importClientCa } from '../pki/ca.ts';

export interface CreateClusterInput {
  name: string;
  kind?: ClusterKind;
  region?: string;
  publicEndpoint?: string | null;
  privateEndpoint?: string | null;
  serverCaPem?: string | null;
  clientCa?: { generate: KeyAlgorithm } | { import: { certPem: string; keyPem: string } };
  allowSystemGroups?: boolean;
  /** 'token' for clusters whose CA key cannot be handed to kubecred: kubeconfigs carry tokens checked by TokenReview. */
  credentialType?: 'x509' | 'token';
}

/** Generated client CAs live a century so that the longest custom validity (876000 h) fits under them. */
const GENERATED_CA_YEARS = 100;

type Deps = { store: Store; clock: Clock; ids: Ids; sealer: Sealer; authorizer: Authorizer; audit: AuditWriter; issuer: CredentialIssuer };

export function makeClusterService(deps: Deps) {
  const { store, clock, ids, sealer, authorizer, audit } = deps;

  const target = (actor: Actor, c: Cluster) => clusterTarget(actor.accountId, c);

  /** The cluster named; when there is none, NOT_FOUND only for a caller allowed `action` on whatever cluster it could be. */
  async function load(actor: Actor, id: string, action: ActionDef): Promise<Cluster> {
    return findCluster(store, actor.accountId, id).catch((e) => authorizer.absent(actor, action, absentClusterTargets(actor.accountId, id), e));
  }

  return {
    async create(actor: Actor, input: CreateClusterInput): Promise<ClusterView> {
      const name = checkResourceName(input.name, 'name');
      const kind = input.kind ?? 'kubernetes';
      if (kind !== 'kubernetes' && kind !== 'service-mesh') throw invalid('kind must be "kubernetes" or "service-mesh"', { field: 'kind' });
      if (input.credentialType !== undefined && input.credentialType !== 'x509' && input.credentialType !== 'token') throw invalid('credentialType must be "x509" or "token"', { field: 'credentialType' });
      const region = checkRegion(input.region ?? 'default');
      const publicEndpoint = input.publicEndpoint ? checkEndpoint(input.publicEndpoint, 'publicEndpoint') : null;
      const privateEndpoint = input.privateEndpoint ? checkEndpoint(input.privateEndpoint, 'privateEndpoint') : null;
      if (!publicEndpoint && !privateEndpoint) throw invalid('a cluster needs a publicEndpoint, a privateEndpoint or both', { field: 'publicEndpoint' });
      const serverCaPem = input.serverCaPem ? checkCertificateBundle(input.serverCaPem, 'serverCaPem', (p) => new crypto.X509Certificate(p)) : null;
      const id = ids.id('cls');
      // Asked here to spare making a CA for a caller refused; asked again in the transaction that inserts.
      await authorizer.check(actor, Actions.CreateCluster, clusterTarget(actor.accountId, { id: '*', region, kind }));
      const now = clock.now();

      const caInput = input.clientCa ?? { generate: 'ec-p256' as const };
      let ca;
      if ('import' in caInput) {
        ca = importClientCa(caInput.import.certPem, caInput.import.keyPem, now);
      } else {
        if (caInput.generate !== 'ec-p256' && caInput.generate !== 'rsa-2048') throw invalid('clientCa.generate must be "ec-p256" or "rsa-2048"', { field: 'clientCa.generate' });
        const notAfter = new Date(now.getTime());
        notAfter.setUTCFullYear(notAfter.getUTCFullYear() + GENERATED_CA_YEARS);
        // Cut to X.509's 64 characters: a cluster name may be 63.
        ca = await createClientCa({ commonName: `kubecred client CA for ${name}`.slice(0, 64), algorithm: caInput.generate, notBefore: new Date(now.getTime() - 3600_000), notAfter });
      }

      const cluster: Cluster = {
        id, accountId: actor.accountId, name, kind, region, publicEndpoint, privateEndpoint, serverCaPem,
        clientCa: { certPem: ca.certPem, keySealed: sealer.seal(ca.keyPem, clusterCaKeyAad(id)), algorithm: ca.algorithm, source: 'import' in caInput ? 'imported' : 'generated' },
        allowSystemGroups: input.allowSystemGroups === true, credentialType: input.credentialType ?? 'x509', createdAt: now, deletedAt: null,
      };
      await authorizer.transaction(async (tx, authz) => {
        await authz.check(actor, Actions.CreateCluster, clusterTarget(actor.accountId, { id: '*', region, kind }));
        await tx.clusters.insert(cluster);
        await audit.record(tx, actor, actor.accountId, {
          action: 'CreateCluster', resourceType: 'cluster', resourceId: id,
          detail: { name, kind, region, clientCa: cluster.clientCa.source, algorithm: cluster.clientCa.algorithm, credentialType: cluster.credentialType },
        });
      });
      return clusterView(cluster);
    },

    /**
     * GetCluster, or GetKubeconfig on it: whoever may fetch a kubeconfig for a cluster reads its endpoints and CAs
     * in every kubeconfig anyway, and the exec plugin's kubeconfig (`kubeconfig get --exec`) is built from them.
     */
    async get(actor: Actor, id: string): Promise<ClusterView> {
      // Not found for a caller that may get kubeconfigs of (or read) whatever cluster it could be.
      const c = await findCluster(store, actor.accountId, id).catch(async (e) => {
        const forms = absentClusterTargets(actor.accountId, id);
        if (e instanceof KubecredError && (await Promise.all(forms.map((t) => authorizer.allows(actor, Actions.GetKubeconfig, t)))).every(Boolean)) throw e;
        return authorizer.absent(actor, Actions.GetCluster, forms, e);
      });
      if (!(await authorizer.allows(actor, Actions.GetKubeconfig, target(actor, c)))) await authorizer.check(actor, Actions.GetCluster, target(actor, c));
      return clusterView(c);
    },

    /** Lists the clusters the caller may see: all for the root, those its policies allow for others. */
    async list(actor: Actor, page: PageRequest): Promise<Page<ClusterView>> {
      // Filtered by the store as it reads, so that pages are full and no cursor names a cluster the caller may not see.
      const res = await store.clusters.list(actor.accountId, page, (c) => authorizer.allows(actor, Actions.ListClusters, target(actor, c)));
      return { items: res.items.map(clusterView), next: res.next };
    },

    /** Deleting a cluster revokes every credential on it; the rows and the audit trail stay. */
    async delete(actor: Actor, id: string): Promise<{ revoked: number }> {
      const c = await load(actor, id, Actions.DeleteCluster);
      const revoked = await authorizer.transaction(async (tx, authz) => {
        await authz.check(actor, Actions.DeleteCluster, target(actor, c));
        // First: an issuance on this cluster committing meanwhile is then either revoked below or refused.
        const now = clock.now();
        if (!(await tx.clusters.markDeleted(actor.accountId, c.id, now))) throw notFound('cluster', c.id);
        const rs = await tx.credentials.revoke({ clusterId: c.id, states: ['active', 'superseded'] }, actor.principal.id, 'cluster deleted', now);
        await audit.record(tx, actor, actor.accountId, { action: 'DeleteCluster', resourceType: 'cluster', resourceId: c.id, detail: { name: c.name, revoked: rs.length } });
        return rs.length;
      });
      deps.issuer.forgetCluster(c.id);
      return { revoked };
    },
  };
}

export type ClusterService = ReturnType<typeof makeClusterService>;
