// Decides whether an actor may perform an action on a resource: the root may do everything in its
// account, everyone else needs an Allow from an attached policy and no Deny. Denials are audited.

import type { Actor } from './actor.ts';
import { actionNames, conditionKeyAliases, ConditionKeys, Resources, type ActionDef } from './actions.ts';
import type { AuditWriter } from './audit.ts';
import { KubecredError } from './errors.ts';
import type { Cluster, ClusterKind } from './model.ts';
import { evaluate, parsePolicyDocument, type ConditionValue, type PolicyDocument } from './policy-engine.ts';
import type { Clock } from './ports.ts';
import type { Store } from './store-port.ts';

export interface AuthzTarget {
  resource: string;
  resourceAliases?: string[];
  /** For the audit record of a denial. */
  type: string;
  id: string | null;
  context?: Record<string, ConditionValue>;
  /** A cluster's kind: a vendor's action names allow only on the kind of cluster that vendor's service has. */
  clusterKind?: ClusterKind;
}

/** A cluster as policies name it: kubecred's resource name and, for a Kubernetes cluster, ACK's. */
export function clusterTarget(accountId: string, c: Pick<Cluster, 'id' | 'region' | 'kind'>, context?: Record<string, ConditionValue>): AuthzTarget {
  return {
    resource: Resources.cluster(accountId, c.region, c.id),
    resourceAliases: c.kind === 'kubernetes' ? [Resources.clusterAcs(accountId, c.region, c.id)] : [],
    type: 'cluster', id: c.id === '*' ? null : c.id, context, clusterKind: c.kind,
  };
}

/** What a refusal answers with: a denial by policy, a rule only the root passes, or a rule nobody passes. */
export type RefusalCode = 'ACCESS_DENIED' | 'ROOT_ONLY' | 'CONFLICT' | 'VALIDATION_FAILED';

export function makeAuthorizer(deps: { store: Pick<Store, 'policies' | 'audit'>; audit: AuditWriter; clock: Clock }) {
  async function policiesOf(principalId: string): Promise<PolicyDocument[]> {
    const stored = await deps.store.policies.forPrincipal(principalId);
    return stored.map((p) => parsePolicyDocument(p.document));
  }

  async function deny(actor: Actor, action: ActionDef, target: AuthzTarget, code: RefusalCode, why: string, field?: string): Promise<never> {
    await deps.audit.record(deps.store, actor, actor.accountId, {
      action: action.name, resourceType: target.type, resourceId: target.id, outcome: 'denied', detail: { reason: why },
    });
    throw new KubecredError(code, why, { details: { action: action.name, resource: target.resource, ...(field ? { field } : {}) } });
  }

  /** Null when allowed; otherwise the error code and a sentence saying why and what to do. */
  async function decide(actor: Actor, action: ActionDef, target: AuthzTarget): Promise<{ code: 'ACCESS_DENIED' | 'ROOT_ONLY'; why: string; explicit?: boolean } | null> {
    if (actor.principal.isRoot) return null;
    if (action.rootOnly) return { code: 'ROOT_ONLY', why: `only the account's root may perform ${action.name}; ask the account owner to do it` };
    const decision = evaluate(await policiesOf(actor.principal.id), {
      actions: actionNames(action, target.clusterKind),
      resource: target.resource,
      resourceAliases: target.resourceAliases,
      context: { [ConditionKeys.SourceIp]: actor.sourceIp ?? undefined, [ConditionKeys.CurrentTime]: deps.clock.now(), ...target.context },
      contextAliases: conditionKeyAliases,
    });
    if (decision.decision === 'allow') return null;
    return {
      code: 'ACCESS_DENIED',
      explicit: decision.decision === 'explicit-deny',
      why: decision.decision === 'explicit-deny'
        ? `${action.name} on ${target.resource} is explicitly denied by a policy attached to ${actor.principal.name}`
        : `${actor.principal.name} has no policy that allows ${action.name} on ${target.resource}; ask the account's root to attach one`,
    };
  }

  return {
    /** Resolves when allowed; otherwise records the denial and throws ACCESS_DENIED or ROOT_ONLY. */
    async check(actor: Actor, action: ActionDef, target: AuthzTarget): Promise<void> {
      const refusal = await decide(actor, action, target);
      if (refusal) await deny(actor, action, target, refusal.code, refusal.why);
    },
    /**
     * Refuses whatever the policies say, audited like any denial: the rules core enforces itself. Most are "only the
     * root may" (the root's own credentials and kubeconfigs), so ROOT_ONLY by default, whose advice is to ask the
     * owner, not to attach a policy; others keep the code that says what is wrong (deleting the root: CONFLICT).
     */
    refuse(actor: Actor, action: ActionDef, target: AuthzTarget, why: string, code: RefusalCode = 'ROOT_ONLY', field?: string): Promise<never> {
      return deny(actor, action, target, code, why, field);
    },
    /**
     * Refuses (audited, ACCESS_DENIED) only when a policy explicitly denies the action: for work another allowed action
     * implies, as a revoke-and-reissue implies getting the new kubeconfig.
     */
    async checkNotDenied(actor: Actor, action: ActionDef, target: AuthzTarget): Promise<void> {
      const refusal = await decide(actor, action, target);
      if (refusal?.explicit) await deny(actor, action, target, refusal.code, refusal.why);
    },
    /** For filtering lists: no audit record, no error. */
    async allows(actor: Actor, action: ActionDef, target: AuthzTarget): Promise<boolean> {
      return (await decide(actor, action, target)) === null;
    },
  };
}

export type Authorizer = ReturnType<typeof makeAuthorizer>;
