// Who holds kubeconfigs where: a per-cluster summary of holders, a per-principal summary across clusters,
// and cleaning a principal's access (revoke kubeconfigs, reset validity, and drop its policies when all goes).

import { allPages } from './all-pages.ts';
import type { Actor } from './actor.ts';
import { Actions, Resources } from './actions.ts';
import type { AuditWriter } from './audit.ts';
import { absentClusterTargets, clusterTarget, type Authorizer } from './authorizer.ts';
import { invalid } from './errors.ts';
import { byHolder, lastEndOf, standingOf } from './kubeconfig-summary.ts';
import { findCluster, findPrincipal } from './lookup.ts';
import type { Cluster, ClusterKind, Credential } from './model.ts';
import type { Clock } from './ports.ts';
import type { CredentialTally, Store } from './store-port.ts';
import { clusterView, principalView, type ClusterView, type PrincipalView } from './views.ts';

/** What a principal holds on one cluster, reduced to one word: the richer history stays in the inventory. */
export type HoldingStatus = 'none' | 'active' | 'expired' | 'revoked';

export interface Holding { status: HoldingStatus; notAfter: string | null }


/**
 * A holder's holding from its (kind, state) groups, as the store counts them, by the summary's rule (standingOf): a
 * still-valid credential wins; else an expired one; else a revoked one; else nothing was ever issued. A superseded
 * credential (its holder's validity was changed) counts as revoked: the webhook denies it, whatever its dates. Of valid
 * ones, the date shown is the default kubeconfig's (the latest, if a renewal left two: the newer ends later), as ACK's
 * kubeconfig is the default one; else the summary's date. Counted, not read: a cluster where a CI role holds 100,000
 * temporary kubeconfigs costs a walk of one index, not 100,000 rows.
 */
export function holdingOf(groups: CredentialTally[]): Holding {
  if (!groups.length) return { status: 'none', notAfter: null };
  const { state, from } = standingOf(groups);
  const defaults = state === 'active' ? from.filter((g) => g.kind === 'default') : [];
  return { status: state, notAfter: lastEndOf(defaults.length ? defaults : from).toISOString() };
}

type Deps = { store: Store; clock: Clock; authorizer: Authorizer; audit: AuditWriter };

export function makePrincipalAccess(deps: Deps) {
  const { store, clock, authorizer, audit } = deps;

  const target = (actor: Actor, c: Cluster) => clusterTarget(actor.accountId, c);

  const allClusters = (accountId: string): Promise<Cluster[]> => allPages((page) => store.clusters.list(accountId, page));

  return {
    /** Every principal that was ever issued a kubeconfig on the cluster, with what it holds now. */
    async holdersOf(actor: Actor, clusterId: string, kind?: ClusterKind): Promise<Array<{ principal: PrincipalView; holding: Holding }>> {
      const cluster = await findCluster(store, actor.accountId, clusterId, kind)
        .catch((e) => authorizer.absent(actor, Actions.ListCredentials, absentClusterTargets(actor.accountId, clusterId, kind), e));
      await authorizer.check(actor, Actions.ListCredentials, target(actor, cluster));
      const held = byHolder(await store.credentials.tally(cluster.id, clock.now()));
      // One read for every holder, in chunks, not one per holder (5,799 on the scale store's largest cluster).
      const principals = await store.principals.manyIncludingDeleted(actor.accountId, [...held.keys()]);
      const out = principals.map((p) => ({ principal: principalView(p), holding: holdingOf(held.get(p.id)!) }));
      return out.sort((a, b) => a.principal.id.localeCompare(b.principal.id));
    },

    /**
     * What the principal holds on each cluster the caller may inspect. For one's own: the clusters where it holds or
     * held something, and those it may get kubeconfigs of or list; never the rest of the account's clusters. A deleted
     * principal is found by its ID (never its name, which a new hire may have taken): what it held was revoked with it.
     */
    async holdingsOf(actor: Actor, principalId: string): Promise<Array<{ cluster: ClusterView; holding: Holding }>> {
      const principal = principalId === actor.principal.id ? actor.principal : await findPrincipal(store, actor.accountId, principalId, { includeDeleted: true })
        .catch((e) => authorizer.absent(actor, Actions.ListCredentials, absentClusterTargets(actor.accountId, '*'), e));
      const own = principal.id === actor.principal.id;
      const now = clock.now();
      const shown: Array<{ cluster: ClusterView; holding: Holding }> = [];
      for (const c of await allClusters(actor.accountId)) {
        // One range of credentials_by_holder per cluster: what the principal holds there, counted.
        const groups = await store.credentials.tally(c.id, now, principal.id);
        const visible = own && (groups.length > 0 || await authorizer.allows(actor, Actions.GetKubeconfig, target(actor, c)));
        if (visible || (await authorizer.allows(actor, Actions.ListCredentials, target(actor, c)))) shown.push({ cluster: clusterView(c), holding: holdingOf(groups) });
      }
      if (!own && shown.length === 0) {
        await authorizer.check(actor, Actions.ListCredentials, { resource: Resources.anyCluster(actor.accountId), type: 'cluster', id: null });
      }
      return shown;
    },

    /**
     * Revokes the principal's kubeconfigs on the named clusters (all when none are named) and resets their
     * custom validity; policies are account-wide, so they are detached only when access to every cluster goes.
     * The root and the caller itself cannot be cleaned: nobody should lock the account or themselves out.
     */
    async clean(actor: Actor, req: { principalId: string; clusterIds?: string[]; clusterKind?: ClusterKind }): Promise<{ revoked: number; detachedPolicies: number }> {
      const everything = req.clusterIds === undefined;
      // Nothing found is answered as the caller's permission on it would be (authorizer.absent): the clusters named
      // first, then the principal, on the principal for everything, else on the clusters named.
      const clusters = everything
        ? await allClusters(actor.accountId)
        : await Promise.all([...new Set(req.clusterIds)].map((id) => findCluster(store, actor.accountId, id, req.clusterKind)
          .catch((e) => authorizer.absent(actor, Actions.CleanPrincipalAccess, absentClusterTargets(actor.accountId, id, req.clusterKind), e))));
      if (clusters.length === 0 && !everything) throw invalid('name at least one cluster', { field: 'clusters' });
      const principal = await findPrincipal(store, actor.accountId, req.principalId).catch((e) => authorizer.absent(actor,
        everything ? Actions.CleanAllPrincipalAccess : Actions.CleanPrincipalAccess,
        everything ? { resource: Resources.principal(actor.accountId, /^(usr|rol)_/.test(req.principalId) ? req.principalId : '*'), type: 'principal', id: null } : clusters.map((c) => target(actor, c)), e));
      const whole = { resource: Resources.principal(actor.accountId, principal.id), type: 'principal', id: principal.id };
      // Audited refusals: attempts on the root's access belong in the trail.
      if (principal.isRoot) await authorizer.refuse(actor, Actions.CleanAllPrincipalAccess, whole, "the account's root cannot be cleaned", 'VALIDATION_FAILED', 'principal');
      if (principal.id === actor.principal.id) await authorizer.refuse(actor, Actions.CleanAllPrincipalAccess, whole, 'you cannot clean your own access; ask the account root', 'VALIDATION_FAILED', 'principal');
      return authorizer.transaction(async (tx, authz) => {
        // Everything (and the policies detached) is its own action, on the principal: allowing the clean of some
        // clusters' access must not allow taking all of someone's grants away.
        // Some clusters' are covered by either; an explicit Deny on one of them still refuses, also the whole clean.
        if (everything) await authz.check(actor, Actions.CleanAllPrincipalAccess, whole);
        const all = everything || (await authz.allows(actor, Actions.CleanAllPrincipalAccess, whole));
        for (const c of clusters) {
          await (all ? authz.checkNotDenied : authz.check)(actor, Actions.CleanPrincipalAccess, target(actor, c));
        }
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
