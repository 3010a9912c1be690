// Who holds kubeconfigs where: a per-cluster summary of holders, a per-principal summary across clusters,
// and cleaning a principal's access (revoke kubeconfigs, reset validity, and drop its policies when all goes).

import { allPages } from './all-pages.ts';
import type { Actor } from './actor.ts';
import { Actions, Resources } from './actions.ts';
import type { AuditWriter } from './audit.ts';
import { clusterTarget, type Authorizer } from './authorizer.ts';
import { invalid } from './errors.ts';
import { findCluster, findPrincipal } from './lookup.ts';
import type { Cluster, ClusterKind, Credential } from './model.ts';
import type { Clock } from './ports.ts';
import type { Store } from './store-port.ts';
import { clusterView, principalView, type ClusterView, type PrincipalView } from './views.ts';

/** What a principal holds on one cluster, reduced to one word: the richer history stays in the inventory. */
export type HoldingStatus = 'none' | 'active' | 'expired' | 'revoked';

export interface Holding { status: HoldingStatus; notAfter: string | null }


/**
 * A still-valid credential wins; else an expired one; else a revoked one; else nothing was ever issued. A superseded
 * credential (its holder's validity was changed) counts as revoked: the webhook denies it, whatever its dates.
 */
export function summarize(creds: Credential[], now: Date): Holding {
  const latest = (cs: Credential[]) => cs.reduce((a, b) => (b.notAfter.getTime() > a.notAfter.getTime() ? b : a));
  const usable = creds.filter((c) => c.state === 'active');
  const live = usable.filter((c) => c.notAfter.getTime() > now.getTime());
  if (live.length) {
    const current = live.find((c) => c.current);
    return { status: 'active', notAfter: (current ?? latest(live)).notAfter.toISOString() };
  }
  const expired = usable;
  if (expired.length) return { status: 'expired', notAfter: latest(expired).notAfter.toISOString() };
  if (creds.length) return { status: 'revoked', notAfter: latest(creds).notAfter.toISOString() };
  return { status: 'none', notAfter: null };
}

type Deps = { store: Store; clock: Clock; authorizer: Authorizer; audit: AuditWriter };

export function makePrincipalAccess(deps: Deps) {
  const { store, clock, authorizer, audit } = deps;

  const target = (actor: Actor, c: Cluster) => clusterTarget(actor.accountId, c);

  const credentialsWhere = (filter: { accountId: string; clusterId?: string; principalId?: string }): Promise<Credential[]> =>
    allPages((page) => store.credentials.list({ ...filter, now: clock.now() }, page));

  const allClusters = (accountId: string): Promise<Cluster[]> => allPages((page) => store.clusters.list(accountId, page));

  return {
    /** Every principal that was ever issued a kubeconfig on the cluster, with what it holds now. */
    async holdersOf(actor: Actor, clusterId: string, kind?: ClusterKind): Promise<Array<{ principal: PrincipalView & { deleted: boolean }; holding: Holding }>> {
      const cluster = await findCluster(store, actor.accountId, clusterId, kind);
      await authorizer.check(actor, Actions.ListCredentials, target(actor, cluster));
      const byPrincipal = new Map<string, Credential[]>();
      for (const c of await credentialsWhere({ accountId: actor.accountId, clusterId: cluster.id })) {
        byPrincipal.set(c.principalId, [...(byPrincipal.get(c.principalId) ?? []), c]);
      }
      const now = clock.now();
      const out = [];
      for (const [principalId, creds] of byPrincipal) {
        const p = await store.principals.getIncludingDeleted(actor.accountId, principalId);
        if (!p) continue;
        out.push({ principal: { ...principalView(p), deleted: p.deletedAt !== null }, holding: summarize(creds, now) });
      }
      return out.sort((a, b) => a.principal.id.localeCompare(b.principal.id));
    },

    /**
     * What the principal holds on each cluster the caller may inspect. For one's own: the clusters where it holds or
     * held something, and those it may get kubeconfigs of or list; never the rest of the account's clusters.
     */
    async holdingsOf(actor: Actor, principalId: string): Promise<Array<{ cluster: ClusterView; holding: Holding }>> {
      const principal = principalId === actor.principal.id ? actor.principal : await findPrincipal(store, actor.accountId, principalId);
      const own = principal.id === actor.principal.id;
      const byCluster = new Map<string, Credential[]>();
      for (const c of await credentialsWhere({ accountId: actor.accountId, principalId: principal.id })) {
        byCluster.set(c.clusterId, [...(byCluster.get(c.clusterId) ?? []), c]);
      }
      const clusters: Cluster[] = [];
      for (const c of await allClusters(actor.accountId)) {
        const visible = own && (byCluster.has(c.id) || await authorizer.allows(actor, Actions.GetKubeconfig, target(actor, c)));
        if (visible || (await authorizer.allows(actor, Actions.ListCredentials, target(actor, c)))) clusters.push(c);
      }
      if (!own && clusters.length === 0) {
        await authorizer.check(actor, Actions.ListCredentials, { resource: Resources.anyCluster(actor.accountId), type: 'cluster', id: null });
      }
      const now = clock.now();
      return clusters.map((c) => ({ cluster: clusterView(c), holding: summarize(byCluster.get(c.id) ?? [], now) }));
    },

    /**
     * Revokes the principal's kubeconfigs on the named clusters (all when none are named) and resets their
     * custom validity; policies are account-wide, so they are detached only when access to every cluster goes.
     * The root and the caller itself cannot be cleaned: nobody should lock the account or themselves out.
     */
    async clean(actor: Actor, req: { principalId: string; clusterIds?: string[]; clusterKind?: ClusterKind }): Promise<{ revoked: number; detachedPolicies: number }> {
      const principal = await findPrincipal(store, actor.accountId, req.principalId);
      const whole = { resource: Resources.principal(actor.accountId, principal.id), type: 'principal', id: principal.id };
      // Audited refusals: attempts on the root's access belong in the trail.
      if (principal.isRoot) await authorizer.refuse(actor, Actions.CleanAllPrincipalAccess, whole, "the account's root cannot be cleaned", 'VALIDATION_FAILED', 'principal');
      if (principal.id === actor.principal.id) await authorizer.refuse(actor, Actions.CleanAllPrincipalAccess, whole, 'you cannot clean your own access; ask the account root', 'VALIDATION_FAILED', 'principal');
      const everything = req.clusterIds === undefined;
      const clusters = everything
        ? await allClusters(actor.accountId)
        : await Promise.all([...new Set(req.clusterIds)].map((id) => findCluster(store, actor.accountId, id, req.clusterKind)));
      if (clusters.length === 0 && !everything) throw invalid('name at least one cluster', { field: 'clusters' });
      // Everything (and the policies detached) is its own action, on the principal: allowing the clean of some
      // clusters' access must not allow taking all of someone's grants away.
      // Some clusters' are covered by either; an explicit Deny on one of them still refuses, also the whole clean.
      if (everything) await authorizer.check(actor, Actions.CleanAllPrincipalAccess, whole);
      const all = everything || (await authorizer.allows(actor, Actions.CleanAllPrincipalAccess, whole));
      for (const c of clusters) {
        await (all ? authorizer.checkNotDenied : authorizer.check)(actor, Actions.CleanPrincipalAccess, target(actor, c));
      }
      return store.transaction(async (tx) => {
        const now = clock.now();
        let revoked: Credential[] = [];
        if (everything) revoked = await tx.credentials.revoke({ principalId: principal.id, states: ['active', 'superseded'] }, actor.principal.id, 'access cleaned', now);
        for (const c of clusters) {
          if (!everything) revoked.push(...(await tx.credentials.revoke({ clusterId: c.id, principalId: principal.id, states: ['active', 'superseded'] }, actor.principal.id, 'access cleaned', now)));
          await tx.validity.delete(c.id, principal.id);
        }
        let detached = 0;
        if (everything) {
          for (const p of await tx.policies.forPrincipal(principal.id)) if (await tx.policies.detach(p.id, principal.id)) detached++;
        }
        await audit.record(tx, actor, actor.accountId, {
          action: 'CleanPrincipalAccess', resourceType: 'principal', resourceId: principal.id,
          detail: { clusters: everything ? '*' : clusters.map((c) => c.id), revoked: revoked.map((c) => c.serialHex), detachedPolicies: detached },
        });
        return { revoked: revoked.length, detachedPolicies: detached };
      });
    },
  };
}

export type PrincipalAccess = ReturnType<typeof makePrincipalAccess>;
