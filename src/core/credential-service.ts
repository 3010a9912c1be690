// The kubeconfig lifecycle as callers see it: get (default, temporary, CSR), list, revoke,
// revoke-and-reissue, custom validity. One transaction per request, which authorization decides in.

import type { Actor } from './actor.ts';
import { Actions, ConditionKeys, Resources, type ActionDef } from './actions.ts';
import type { AuditWriter } from './audit.ts';
import type { AuditedAction } from './audit-actions.ts';
import { absentClusterTargets, clusterTarget, isAuditedRefusal, type Authorizer, type Decisions } from './authorizer.ts';
import { endpointOf, type CredentialIssuer, type Minted } from './credential-issuer.ts';
import { invalid, isCurrentDefaultRace, KubecredError, notFound } from './errors.ts';
import { findCluster, findPrincipal } from './lookup.ts';
import type { Cluster, ClusterKind, Credential, CredentialKind, Endpoint, Page, Principal } from './model.ts';
import type { Clock } from './ports.ts';
import type { PageRequest, Repos, Store } from './store-port.ts';
import { checkCustomHours, checkExplicitNotAfter, checkTemporaryMinutes } from './validity-rules.ts';
import { credentialView, type CredentialView } from './views.ts';
import { renderKubeconfig } from '../pki/kubeconfig.ts';
import { MAX_PEM_BYTES } from '../pki/csr.ts';

export interface KubeconfigRequest {
  clusterId: string;
  /** Another principal of the account (needs GetUserKubeconfig); the caller when absent. */
  principalId?: string;
  endpoint: Endpoint;
  temporaryMinutes?: number;
  csrPem?: string;
  /** An explicit end of validity (15 minutes to 1827 days ahead): a fresh key each time, never the default. */
  notAfter?: Date;
  /** Set by a vendor surface that serves only one kind of cluster: the other kind is not found. */
  clusterKind?: ClusterKind;
}

export interface IssuedKubeconfig {
  kubeconfig: string;
  certificatePem: string;
  credential: CredentialView;
  reused: boolean;
}

export interface ListCredentialsQuery {
  clusterId?: string;
  principalId?: string;
  /** Issued by this principal (ID or name), for itself or for others: what someone who left obtained for a role. */
  issuedBy?: string;
  kind?: CredentialKind;
  status?: Credential['state'] | 'expired';
}

type Deps = { store: Store; clock: Clock; authorizer: Authorizer; issuer: CredentialIssuer; audit: AuditWriter };

/** Tries after a lost race on the one-current-default rule before the CONFLICT reaches the caller. */
const CONFLICT_RETRIES = 8;

export function makeCredentialService(deps: Deps) {
  const { store, clock, authorizer, issuer, audit } = deps;

  /** `kind`, when given, hides clusters of the other kind (a vendor surface serves only one). */
  async function loadPrincipal(repos: Pick<Repos, 'principals'>, actor: Actor, principalId: string | undefined, opts: { includeDeleted?: boolean } = {}): Promise<Principal> {
    if (principalId === undefined || principalId === actor.principal.id || principalId === actor.principal.name) return actor.principal;
    return findPrincipal(repos, actor.accountId, principalId, opts);
  }

  const targetOf = (actor: Actor, c: Cluster, context?: Record<string, number | undefined>) => clusterTarget(actor.accountId, c, context);

  /** Whether the request names a principal other than the caller (for which the `others` action is needed). */
  const namesOther = (actor: Actor, principalId: string | undefined) =>
    principalId !== undefined && principalId !== actor.principal.id && principalId !== actor.principal.name;

  /**
   * The cluster named; when there is none, NOT_FOUND only for a caller allowed `action` on whatever cluster it could be,
   * else the same ACCESS_DENIED as for one that exists (authorizer.absent).
   */
  const clusterFor = (actor: Actor, idOrName: string, kind: ClusterKind | undefined, action: ActionDef, context?: Record<string, number | undefined>, opts?: { includeDeleted?: boolean }) =>
    findCluster(store, actor.accountId, idOrName, kind, opts).catch((e) => authorizer.absent(actor, action, absentClusterTargets(actor.accountId, idOrName, kind, context), e));

  /** The principal named, as `clusterFor`: NOT_FOUND only for a caller allowed `others` on the cluster. */
  const principalFor = (actor: Actor, cluster: Cluster, principalId: string | undefined, others: ActionDef, opts: { includeDeleted?: boolean } = {}) =>
    loadPrincipal(store, actor, principalId, opts).catch((e) => authorizer.absent(actor, others, targetOf(actor, cluster), e));

  function render(cluster: Cluster, principal: Principal, endpoint: Endpoint, m: Minted): IssuedKubeconfig {
    const server = endpointOf(cluster, endpoint);
    const user = `${principal.name}@${cluster.name}`;
    const kubeconfig = renderKubeconfig({
      clusterName: cluster.name, server, certificateAuthorityPem: cluster.serverCaPem ?? undefined,
      userName: user, contextName: user,
      ...(m.token !== null ? { token: m.token } : { clientCertificatePem: m.credential.certPem, clientKeyPem: m.keyPem ?? undefined }),
    });
    return { kubeconfig, certificatePem: m.credential.certPem, credential: credentialView(m.credential, clock.now()), reused: m.reused };
  }

  function validateRequest(req: KubeconfigRequest): void {
    if (req.temporaryMinutes !== undefined) checkTemporaryMinutes(req.temporaryMinutes);
    if (req.notAfter !== undefined) {
      if (req.temporaryMinutes !== undefined || req.csrPem !== undefined) throw invalid('an explicit notAfter cannot be combined with temporaryMinutes or a CSR', { field: 'notAfter' });
      checkExplicitNotAfter(req.notAfter, clock.now());
    }
    if (req.csrPem !== undefined && Buffer.byteLength(req.csrPem) > MAX_PEM_BYTES) {
      throw new KubecredError('PAYLOAD_TOO_LARGE', `the CSR is larger than ${MAX_PEM_BYTES} bytes`, { details: { field: 'csr' } });
    }
  }

  async function mintFor(tx: Repos, actor: Actor, cluster: Cluster, principal: Principal, req: KubeconfigRequest): Promise<Minted> {
    if (req.notAfter !== undefined) return issuer.explicitKubeconfig(tx, actor, cluster, principal, req.notAfter);
    if (req.temporaryMinutes !== undefined) return issuer.temporaryKubeconfig(tx, actor, cluster, principal, req.temporaryMinutes, req.csrPem);
    if (req.csrPem !== undefined) return issuer.csrKubeconfig(tx, actor, cluster, principal, req.csrPem);
    return issuer.defaultKubeconfig(tx, actor, cluster, principal);
  }

  /**
   * `own` is the action on the caller's own kubeconfigs, `others` the one on another principal's. Nobody but the
   * root acts on the root's: its kubeconfigs are not revokable by others (the states lists say so), and handing
   * its key to a policy holder would make them the root on the cluster.
   */
  async function authorizeFor(authz: Decisions, actor: Actor, cluster: Cluster, principal: Principal, own: ActionDef, others: ActionDef, minutes?: number, implied = false) {
    const other = principal.id !== actor.principal.id;
    const action = other ? others : own;
    const target = targetOf(actor, cluster, { [ConditionKeys.KubeConfigDurationMinutes]: minutes });
    if (other && principal.isRoot && !actor.principal.isRoot) {
      await authz.refuse(actor, action, target, `only the account's root may act on the root's kubeconfigs (${action.name} on ${target.resource})`);
    }
    // `implied`: another allowed action covers this one; only an explicit Deny of it stops the caller.
    await (implied ? authz.checkNotDenied(actor, action, target) : authz.check(actor, action, target));
  }

  /**
   * Runs a transaction again when it lost a race on the one-current-default rule (another replica committed first).
   * Each loss means another caller committed, so a few tries cover a burst; a short random pause keeps the losers of
   * one round from meeting again in the next. Any other failure, or too many conflicts, is recorded and thrown.
   */
  async function retryingConflicts<T>(run: () => Promise<T>, recordFailed: (e: unknown) => Promise<void>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await run();
      } catch (e) {
        if (isCurrentDefaultRace(e) && attempt < CONFLICT_RETRIES) {
          if (attempt > 0) await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
          continue;
        }
        await recordFailed(e);
        throw e;
      }
    }
  }

  return {
    async getKubeconfig(actor: Actor, req: KubeconfigRequest): Promise<IssuedKubeconfig> {
      validateRequest(req);
      // An explicit validity is bounded by the same duration condition as a temporary one.
      const minutes = req.notAfter ? Math.ceil((req.notAfter.getTime() - clock.now().getTime()) / 60_000) : req.temporaryMinutes;
      const action = namesOther(actor, req.principalId) ? Actions.GetUserKubeconfig : Actions.GetKubeconfig;
      const cluster = await clusterFor(actor, req.clusterId, req.clusterKind, action, { [ConditionKeys.KubeConfigDurationMinutes]: minutes });
      const principal = await principalFor(actor, cluster, req.principalId, Actions.GetUserKubeconfig);
      // Another replica minted the default first: the unique index refused ours; the retry hands out theirs.
      const minted = await retryingConflicts(() => authorizer.transaction(async (tx, authz) => {
        await authorizeFor(authz, actor, cluster, principal, Actions.GetKubeconfig, Actions.GetUserKubeconfig, minutes);
        endpointOf(cluster, req.endpoint); // fail before minting anything
        return mintFor(tx, actor, cluster, principal, req);
      }), (e) => recordFailure(actor, 'IssueKubeconfig', cluster, principal, e));
      return render(cluster, principal, req.endpoint, minted);
    },

    async list(actor: Actor, q: ListCredentialsQuery, page: PageRequest): Promise<Page<CredentialView>> {
      // Names are accepted as well as IDs; the store filters by ID. A deleted cluster's by its ID too, as a deleted
      // principal's: the inventory keeps what was issued there (revoked when the cluster was deleted).
      const cluster = q.clusterId ? await clusterFor(actor, q.clusterId, undefined, Actions.ListCredentials, undefined, { includeDeleted: true }) : undefined;
      // A deleted principal's by its ID too: the inventory keeps what it held.
      const principal = q.principalId === undefined ? undefined : await loadPrincipal(store, actor, q.principalId, { includeDeleted: true })
        .catch((e) => authorizer.absent(actor, Actions.ListCredentials, cluster ? targetOf(actor, cluster) : absentClusterTargets(actor.accountId, '*'), e));
      const issuer = q.issuedBy === undefined ? undefined : await loadPrincipal(store, actor, q.issuedBy, { includeDeleted: true })
        .catch((e) => authorizer.absent(actor, Actions.ListCredentials, cluster ? targetOf(actor, cluster) : absentClusterTargets(actor.accountId, '*'), e));
      const ownOnly = principal?.id === actor.principal.id;
      if (!actor.principal.isRoot && !ownOnly) {
        if (!cluster) {
          return authorizer.refuse(actor, Actions.ListCredentials, { resource: Resources.anyCluster(actor.accountId), type: 'cluster', id: null },
            'only the account root may list credentials across clusters; name a cluster, or list your own (principal = yourself)', 'ACCESS_DENIED');
        }
        await authorizer.check(actor, Actions.ListCredentials, targetOf(actor, cluster));
      }
      const now = clock.now();
      const res = await store.credentials.list({ accountId: actor.accountId, clusterId: cluster?.id, principalId: principal?.id, issuedBy: issuer?.id, kind: q.kind, status: q.status, now }, page);
      return { items: res.items.map((c) => credentialView(c, now)), next: res.next };
    },

    async get(actor: Actor, id: string): Promise<CredentialView & { certificatePem: string }> {
      // Unknown: answered as to one the caller may not list. On a deleted cluster, as on a live one: the inventory
      // lists a deleted cluster's credentials to whoever may list them there, and one of them is shown alike.
      const absent = () => authorizer.absent(actor, Actions.ListCredentials, absentClusterTargets(actor.accountId, '*'), notFound('credential', id));
      const c = await store.credentials.get(actor.accountId, id);
      if (!c) return absent();
      if (c.principalId !== actor.principal.id) {
        const cluster = await findCluster(store, actor.accountId, c.clusterId, undefined, { includeDeleted: true });
        await authorizer.check(actor, Actions.ListCredentials, targetOf(actor, cluster));
      }
      return { ...credentialView(c, clock.now()), certificatePem: c.certPem };
    },

    /** Revokes every active (and superseded) credential of (cluster, principal) and resets its custom validity. */
    async revoke(actor: Actor, req: { clusterId: string; principalId?: string; reason?: string; clusterKind?: ClusterKind }): Promise<CredentialView[]> {
      const action = namesOther(actor, req.principalId) ? Actions.RevokeUserKubeconfig : Actions.RevokeKubeconfig;
      const cluster = await clusterFor(actor, req.clusterId, req.clusterKind, action);
      // A deleted principal by its ID too: deleting it revoked what it held, and a revocation asked again is answered
      // (nothing left to revoke, audited), not refused; one minted while the deletion committed is revoked now.
      const principal = await principalFor(actor, cluster, req.principalId, Actions.RevokeUserKubeconfig, { includeDeleted: true });
      const revoked = await authorizer.transaction(async (tx, authz) => {
        await authorizeFor(authz, actor, cluster, principal, Actions.RevokeKubeconfig, Actions.RevokeUserKubeconfig);
        return revokeIn(tx, actor, cluster, principal, req.reason);
      });
      const now = clock.now();
      return revoked.map((c) => credentialView(c, now));
    },

    /**
     * Revokes one credential (a temporary kubeconfig pasted where it should not be, say), leaving the holder's others as
     * they are; the custom validity too, unless the one revoked is a default kubeconfig, whose validity it is. Already
     * revoked: answered as it is, `revoked: false`, nothing written.
     */
    async revokeOne(actor: Actor, req: { credentialId: string; reason?: string }): Promise<{ revoked: boolean; credential: CredentialView }> {
      checkReason(req.reason);
      // Unknown: answered as to one the caller may not revoke (another's, on any cluster).
      const absent = () => authorizer.absent(actor, Actions.RevokeUserKubeconfig, absentClusterTargets(actor.accountId, '*'), notFound('credential', req.credentialId));
      const c = await store.credentials.get(actor.accountId, req.credentialId);
      if (!c) return absent();
      // Deleting a cluster revoked everything it held: those credentials are the root's to look at, as for `get`.
      // A deleted principal's are revocable as any other's (RevokeUserKubeconfig on the cluster).
      const cluster = await findCluster(store, actor.accountId, c.clusterId).catch(() => null);
      const principal = await loadPrincipal(store, actor, c.principalId, { includeDeleted: true });
      if (!cluster) {
        if (!actor.principal.isRoot) return absent();
        return { revoked: false, credential: credentialView(c, clock.now()) };
      }
      const changed = await authorizer.transaction(async (tx, authz) => {
        await authorizeFor(authz, actor, cluster, principal, Actions.RevokeKubeconfig, Actions.RevokeUserKubeconfig);
        const now = clock.now();
        const [r] = await tx.credentials.revoke({ clusterId: cluster.id, principalId: principal.id, credentialId: c.id, states: ['active', 'superseded'] }, actor.principal.id, req.reason ?? 'revoked', now);
        if (r) {
          // The custom validity is the default kubeconfig's: revoking the one in use resets it, as every revocation of it
          // does (004). A default already superseded by that validity is not the one in use.
          const customValidityReset = c.kind === 'default' && c.state === 'active' ? await tx.validity.delete(cluster.id, principal.id) : false;
          await audit.record(tx, actor, actor.accountId, {
            action: 'RevokeKubeconfig', resourceType: 'credential', resourceId: c.id,
            detail: { cluster: cluster.id, principal: principal.id, reason: req.reason ?? null, revoked: [r.serialHex], customValidityReset },
          });
        }
        return r;
      });
      return { revoked: changed !== undefined, credential: credentialView(changed ?? c, clock.now()) };
    },

    /**
     * Revokes and answers with a new default kubeconfig, in one transaction (the service-mesh API needs it). Needs the
     * revoke and the get permissions; on a service mesh, for one's own, the revoke is enough, as for ASM's
     * RevokeKubeconfig (an explicit Deny of getting kubeconfigs still refuses).
     */
    async revokeAndReissue(actor: Actor, req: { clusterId: string; principalId?: string; endpoint: Endpoint; reason?: string; clusterKind?: ClusterKind }): Promise<IssuedKubeconfig & { revoked: CredentialView[] }> {
      const action = namesOther(actor, req.principalId) ? Actions.RevokeUserKubeconfig : Actions.RevokeKubeconfig;
      const cluster = await clusterFor(actor, req.clusterId, req.clusterKind, action);
      const principal = await principalFor(actor, cluster, req.principalId, Actions.RevokeUserKubeconfig);
      // ASM's RevokeKubeconfig is one permission that revokes the caller's own mesh kubeconfig and hands out the new
      // one: there the revoke covers the reissue, unless a policy explicitly denies getting kubeconfigs. Nowhere
      // else: ACK's and CCE's revocations issue nothing, and another principal's new key is GetUserKubeconfig's.
      const implied = cluster.kind === 'service-mesh' && principal.id === actor.principal.id;
      // Two at once on replicas: the second's revocation cannot see the default the first just made (nor, with none
      // before, can its insert pass the unique index). Either way it starts again and revokes that one too, as if
      // it had come after: every caller gets a key of its own, and only the last stays active.
      const { revoked, minted } = await retryingConflicts(() => authorizer.transaction(async (tx, authz) => {
        await authorizeFor(authz, actor, cluster, principal, Actions.RevokeKubeconfig, Actions.RevokeUserKubeconfig);
        await authorizeFor(authz, actor, cluster, principal, Actions.GetKubeconfig, Actions.GetUserKubeconfig, undefined, implied);
        endpointOf(cluster, req.endpoint);
        const revoked = await revokeIn(tx, actor, cluster, principal, req.reason);
        return { revoked, minted: await issuer.defaultKubeconfig(tx, actor, cluster, principal, true) };
      }), (e) => recordFailure(actor, 'RevokeKubeconfig', cluster, principal, e));
      const now = clock.now();
      return { ...render(cluster, principal, req.endpoint, minted), revoked: revoked.map((c) => credentialView(c, now)) };
    },

    /** Root only. Supersedes the active default so the next request gets one with the new validity. */
    async setValidity(actor: Actor, req: { clusterId: string; principalId: string; hours: number; clusterKind?: ClusterKind }): Promise<{ superseded: CredentialView[] }> {
      checkCustomHours(req.hours);
      // Root only: no policy to read, and nobody else learns whether the cluster or the principal exists.
      const cluster = await clusterFor(actor, req.clusterId, req.clusterKind, Actions.SetValidity);
      await authorizer.check(actor, Actions.SetValidity, targetOf(actor, cluster));
      const principal = await principalFor(actor, cluster, req.principalId, Actions.SetValidity);
      const superseded = await store.transaction(async (tx) => {
        const now = clock.now();
        await tx.validity.put({ clusterId: cluster.id, principalId: principal.id, hours: req.hours, setBy: actor.principal.id, setAt: now });
        const changed = await tx.credentials.supersedeDefaults(cluster.id, principal.id, now);
        await audit.record(tx, actor, actor.accountId, {
          action: 'SetKubeconfigValidity', resourceType: 'cluster', resourceId: cluster.id,
          detail: { principal: principal.id, hours: req.hours, superseded: changed.map((c) => c.serialHex) },
        });
        return changed;
      });
      const now = clock.now();
      return { superseded: superseded.map((c) => credentialView(c, now)) };
    },

    async getValidity(actor: Actor, req: { clusterId: string; principalId?: string }): Promise<{ hours: number | null; setBy: string | null; setAt: string | null }> {
      const cluster = await clusterFor(actor, req.clusterId, undefined, namesOther(actor, req.principalId) ? Actions.ListCredentials : Actions.GetKubeconfig);
      const principal = await principalFor(actor, cluster, req.principalId, Actions.ListCredentials);
      // One's own validity is part of getting one's kubeconfigs there: without that permission an existing cluster is
      // refused as an unknown one is (it answered 200 for one and 403 for the other).
      await authorizer.check(actor, principal.id !== actor.principal.id ? Actions.ListCredentials : Actions.GetKubeconfig, targetOf(actor, cluster));
      const v = await store.validity.get(cluster.id, principal.id);
      return { hours: v?.hours ?? null, setBy: v?.setBy ?? null, setAt: v?.setAt.toISOString() ?? null };
    },
  };

  /**
   * An authorized request that kubecred refused on its own rules (a CSR it cannot sign, a group it will not put in a
   * certificate) is an attempt the audit trail shows, in a transaction of its own, since the request's rolled back.
   * Faults that are not refusals (the database gone) are the logs' business, not the trail's.
   */
  async function recordFailure(actor: Actor, action: AuditedAction, cluster: Cluster, principal: Principal, e: unknown): Promise<void> {
    // A refusal by the authorizer is audited already (as denied); an endpoint the cluster lacks was asked for wrongly.
    if (!(e instanceof KubecredError) || e.code === 'UNAVAILABLE' || e.code === 'INTERNAL' || e.code === 'ENDPOINT_UNAVAILABLE' || isAuditedRefusal(e)) return;
    // The request fails either way; if the trail cannot take the record, the caller still learns why it was refused.
    await audit.record(store, actor, actor.accountId, {
      action, resourceType: 'cluster', resourceId: cluster.id, outcome: 'failure',
      detail: { principal: principal.id, code: e.code, reason: e.message.slice(0, 300) },
    }).catch(() => undefined);
  }

  async function revokeIn(tx: Repos, actor: Actor, cluster: Cluster, principal: Principal, reason?: string): Promise<Credential[]> {
    checkReason(reason);
    const now = clock.now();
    const revoked = await tx.credentials.revoke({ clusterId: cluster.id, principalId: principal.id, states: ['active', 'superseded'] }, actor.principal.id, reason ?? 'revoked', now);
    const hadCustom = await tx.validity.delete(cluster.id, principal.id);
    await audit.record(tx, actor, actor.accountId, {
      action: 'RevokeKubeconfig', resourceType: 'cluster', resourceId: cluster.id,
      detail: { principal: principal.id, reason: reason ?? null, revoked: revoked.map((c) => c.serialHex), customValidityReset: hadCustom },
    });
    return revoked;
  }
}

function checkReason(reason: unknown): void {
  if (reason !== undefined && (typeof reason !== 'string' || reason.length > 500)) throw invalid('reason must be a string of at most 500 characters', { field: 'reason' });
}

export type CredentialService = ReturnType<typeof makeCredentialService>;
