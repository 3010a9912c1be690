// Decides whether an actor may perform an action on a resource: the root may do everything in its
// account, everyone else needs an Allow from an attached policy and no Deny. Denials are audited (a burst of one
// principal's is coalesced: denial-coalescer.ts).

import type { Actor } from './actor.ts';
import { actionNames, conditionKeyAliases, ConditionKeys, Resources, type ActionDef } from './actions.ts';
import type { AuditWriter } from './audit.ts';
import { makeDenialCoalescer, type DenialSummary } from './denial-coalescer.ts';
import { KubecredError } from './errors.ts';
import type { Cluster, ClusterKind, StoredPolicy } from './model.ts';
import { evaluate, parsePolicyDocument, type ConditionValue, type PolicyDocument } from './policy-engine.ts';
import type { Clock } from './ports.ts';
import type { Repos, Store } from './store-port.ts';

export interface AuthzTarget {
  resource: string;
  resourceAliases?: string[];
  /** For the audit record of a denial. */
  type: string;
  id: string | null;
  context?: Record<string, ConditionValue>;
  /** A cluster's kind: a vendor's action names allow only on the kind of cluster that vendor's service has. */
  clusterKind?: ClusterKind;
  /**
   * How a refusal names the resource, when not as `resource`: a cluster without its region, so that a refused caller
   * learns neither the region nor, from the message, whether the cluster exists.
   */
  shown?: string;
}

/** A cluster as policies name it: kubecred's resource name and, for a Kubernetes cluster, ACK's. */
export function clusterTarget(accountId: string, c: Pick<Cluster, 'id' | 'region' | 'kind'>, context?: Record<string, ConditionValue>): AuthzTarget {
  return {
    resource: Resources.cluster(accountId, c.region, c.id),
    resourceAliases: c.kind === 'kubernetes' ? [Resources.clusterAcs(accountId, c.region, c.id)] : [],
    type: 'cluster', id: c.id === '*' ? null : c.id, context, clusterKind: c.kind,
    shown: Resources.cluster(accountId, '*', c.id),
  };
}

/**
 * A cluster that was not found, as it could be named had it existed: in any region (`*`, which only a pattern
 * allowing every region matches) and of either kind unless the surface serves one. By ID, or any ID when a name was given.
 */
export function absentClusterTargets(accountId: string, idOrName: string, kind?: ClusterKind, context?: Record<string, ConditionValue>): AuthzTarget[] {
  const id = idOrName.startsWith('cls_') ? idOrName : '*';
  return (kind ? [kind] : (['kubernetes', 'service-mesh'] as const)).map((k) => clusterTarget(accountId, { id, region: '*', kind: k }, context));
}

/** What a refusal answers with: a denial by policy, a rule only the root passes, or a rule nobody passes. */
export type RefusalCode = 'ACCESS_DENIED' | 'ROOT_ONLY' | 'CONFLICT' | 'VALIDATION_FAILED';

/** One refusal: audited, then thrown. */
interface Denial { actor: Actor; action: ActionDef; target: AuthzTarget; code: RefusalCode; why: string; field?: string }

/** The decisions a service asks for, outside a transaction (reads) or inside the one that writes (`transaction`). */
export interface Decisions {
  /** Resolves when allowed; otherwise records the denial and throws ACCESS_DENIED or ROOT_ONLY. */
  check(actor: Actor, action: ActionDef, target: AuthzTarget): Promise<void>;
  /**
   * Refuses whatever the policies say, audited like any denial: the rules core enforces itself. Most are "only the
   * root may" (the root's own credentials and kubeconfigs), so ROOT_ONLY by default, whose advice is to ask the
   * owner, not to attach a policy; others keep the code that says what is wrong (deleting the root: CONFLICT).
   */
  refuse(actor: Actor, action: ActionDef, target: AuthzTarget, why: string, code?: RefusalCode, field?: string): Promise<never>;
  /**
   * Refuses (audited, ACCESS_DENIED) only when a policy explicitly denies the action: for work another allowed action
   * implies, as a revoke-and-reissue implies getting the new kubeconfig.
   */
  checkNotDenied(actor: Actor, action: ActionDef, target: AuthzTarget): Promise<void>;
  /** For filtering lists: no audit record, no error. */
  allows(actor: Actor, action: ActionDef, target: AuthzTarget): Promise<boolean>;
}

/** Errors the authorizer threw after auditing them: a service must not record them again as failures. */
const audited = new WeakSet<object>();
export const isAuditedRefusal = (e: unknown): boolean => typeof e === 'object' && e !== null && audited.has(e);

export function makeAuthorizer(deps: { store: Pick<Store, 'policies' | 'audit' | 'transaction'>; audit: AuditWriter; clock: Clock }) {
  const parsed = (stored: StoredPolicy[]) => stored.map((p) => parsePolicyDocument(p.document));
  const coalescer = makeDenialCoalescer(deps.clock);

  /** One event for a window's counted denials, by the principal, under the last suppressed request's ID. */
  async function recordSummary(s: DenialSummary): Promise<void> {
    await deps.audit.record(deps.store, s.lastActor, s.accountId, {
      action: 'SuppressDenials', resourceType: 'principal', resourceId: s.lastActor.principal.id, outcome: 'denied',
      detail: {
        reason: `after ${s.recorded} denials of this principal's requests within ${Math.round((s.windowEnd.getTime() - s.windowStart.getTime()) / 1000)} s, each recorded, ${s.suppressed} more were refused and counted here instead of recorded one by one`,
        suppressed: s.suppressed, windowStart: s.windowStart.toISOString(), windowEnd: s.windowEnd.toISOString(),
        firstSuppressedAt: s.firstAt.toISOString(), lastSuppressedAt: s.lastAt.toISOString(),
        firstSuppressedRequestId: s.firstRequestId, lastSuppressedRequestId: s.lastActor.requestId, actions: s.actions,
      },
    });
  }

  function refusal(d: Denial): KubecredError {
    const e = new KubecredError(d.code, d.why, { details: { action: d.action.name, resource: d.target.shown ?? d.target.resource, ...(d.field ? { field: d.field } : {}) } });
    audited.add(e);
    return e;
  }

  /**
   * In a transaction of its own: a refusal inside a write's transaction rolled that one back. Past a burst of one
   * principal's denials, counted instead (denial-coalescer.ts) and summed up in one event when its window ends.
   */
  const record = async (d: Denial) => {
    const { record: write, summaries } = coalescer.admit(d.actor, d.action.name);
    for (const s of summaries) await recordSummary(s);
    if (!write) return;
    await deps.audit.record(deps.store, d.actor, d.actor.accountId, {
      action: d.action.name, resourceType: d.target.type, resourceId: d.target.id, outcome: 'denied', detail: { reason: d.why },
    });
  };

  /** `policiesOf` reads a principal's policies; `deny` audits a refusal now or once the transaction has ended. */
  function decisions(policiesOf: (actor: Actor) => Promise<PolicyDocument[]>, deny: (d: Denial) => Promise<never>): Decisions {
    /** Null when allowed; otherwise the error code and a sentence saying why and what to do. */
    async function decide(actor: Actor, action: ActionDef, target: AuthzTarget): Promise<{ code: 'ACCESS_DENIED' | 'ROOT_ONLY'; why: string; explicit?: boolean } | null> {
      if (actor.principal.isRoot) return null;
      if (action.rootOnly) return { code: 'ROOT_ONLY', why: `only the account's root may perform ${action.name}; ask the account owner to do it` };
      const decision = evaluate(await policiesOf(actor), {
        actions: actionNames(action, target.clusterKind),
        resource: target.resource,
        resourceAliases: target.resourceAliases,
        context: { [ConditionKeys.SourceIp]: actor.sourceIp ?? undefined, [ConditionKeys.CurrentTime]: deps.clock.now(), ...target.context },
        contextAliases: conditionKeyAliases,
      });
      if (decision.decision === 'allow') return null;
      const resource = target.shown ?? target.resource;
      return {
        code: 'ACCESS_DENIED',
        explicit: decision.decision === 'explicit-deny',
        why: decision.decision === 'explicit-deny'
          ? `${action.name} on ${resource} is explicitly denied by a policy attached to ${actor.principal.name}`
          : `${actor.principal.name} has no policy that allows ${action.name} on ${resource}; ask the account's root to attach one`,
      };
    }
    return {
      async check(actor, action, target) {
        const r = await decide(actor, action, target);
        if (r) await deny({ actor, action, target, code: r.code, why: r.why });
      },
      refuse: (actor, action, target, why, code = 'ROOT_ONLY', field) => deny({ actor, action, target, code, why, field }),
      async checkNotDenied(actor, action, target) {
        const r = await decide(actor, action, target);
        if (r?.explicit) await deny({ actor, action, target, code: r.code, why: r.why });
      },
      allows: async (actor, action, target) => (await decide(actor, action, target)) === null,
    };
  }

  /**
   * Outside a transaction, once per request (an Actor is one request's): a list filtered item by item asks for every
   * cluster on its page, and read and parsed each time, ten 30 KB policies made a 500-cluster page take 1.5 s.
   */
  const perRequest = new WeakMap<Actor, Promise<PolicyDocument[]>>();
  const outside = decisions((actor) => {
    let p = perRequest.get(actor);
    if (!p) {
      perRequest.set(actor, (p = deps.store.policies.forPrincipal(actor.principal.id).then(parsed)));
      // A failed read is not kept: the next decision reads again.
      p.catch(() => perRequest.delete(actor));
    }
    return p;
  }, async (d) => {
    await record(d);
    throw refusal(d);
  });

  return {
    ...outside,

    /**
     * Runs `fn` as one store transaction whose decisions read the caller's policies in that transaction, held until it
     * ends: a detach, an update or a deletion of one of them, or the caller's deletion, that has answered is seen by
     * the decision, and one that has not waits for this transaction to end. So nothing is done on a permission after
     * its withdrawal answered. A refusal rolls the transaction back and is audited after it, in a transaction of its own.
     */
    async transaction<T>(fn: (tx: Repos, authz: Decisions) => Promise<T>): Promise<T> {
      let denied: Denial | null = null;
      try {
        return await deps.store.transaction((tx) => {
          denied = null;
          // Read once per transaction: a clean decides on each cluster it names.
          const held = new Map<string, Promise<PolicyDocument[]>>();
          const policiesOf = (actor: Actor) => {
            let p = held.get(actor.principal.id);
            if (!p) held.set(actor.principal.id, (p = tx.policies.holdForPrincipal(actor.principal.id).then(parsed)));
            return p;
          };
          return fn(tx, decisions(policiesOf, async (d) => {
            denied = d;
            throw refusal(d);
          }));
        });
      } catch (e) {
        const d = denied as Denial | null;
        if (d && isAuditedRefusal(e)) await record(d);
        throw e;
      }
    },

    /**
     * Answers a lookup that found nothing (`e`, NOT_FOUND) as the caller's permission on it would: NOT_FOUND when the
     * action is allowed on whatever it could have been (every target given), else the audited denial that a caller
     * without the permission gets for one that exists. So a refusal never says whether the thing exists.
     */
    async absent(actor: Actor, action: ActionDef, targets: AuthzTarget | AuthzTarget[], e: unknown): Promise<never> {
      if (!(e instanceof KubecredError) || e.code !== 'NOT_FOUND') throw e;
      for (const t of Array.isArray(targets) ? targets : [targets]) await outside.check(actor, action, t);
      throw e;
    },

    /**
     * Writes the summary events of coalesced denials whose window has ended (every window's with `all`: when the server
     * stops, so that no count is lost); how many it wrote. Run now and then: a window's summary waits for it otherwise.
     */
    async flushDenialSummaries(all = false): Promise<number> {
      const summaries = coalescer.takeEnded(all);
      for (const s of summaries) await recordSummary(s);
      return summaries.length;
    },
  };
}

export type Authorizer = ReturnType<typeof makeAuthorizer>;
