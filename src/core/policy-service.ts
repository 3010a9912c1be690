// Storing policy documents and attaching them to principals. Documents are validated by the
// policy engine before they are stored, so evaluation never meets a malformed one.

import type { Actor } from './actor.ts';
import { Actions, Resources, SUPPLIED_CONDITION_KEYS } from './actions.ts';
import type { AuditWriter } from './audit.ts';
import type { Authorizer } from './authorizer.ts';
import type { ActionDef } from './actions.ts';
import { invalid, KubecredError, notFound } from './errors.ts';
import { checkResourceName } from './input-rules.ts';
import { findPrincipal } from './lookup.ts';
import type { Page, StoredPolicy } from './model.ts';
import type { Clock, Ids } from './ports.ts';
import { actionPatternMatches, parsePolicyDocument, type PolicyDocument } from './policy-engine.ts';
import type { PageRequest, Store } from './store-port.ts';

export interface PolicyView { id: string; name: string; description: string; document: PolicyDocument; createdAt: string }

const view = (p: StoredPolicy): PolicyView => ({ id: p.id, name: p.name, description: p.description, document: JSON.parse(p.document), createdAt: p.createdAt.toISOString() });

type Deps = { store: Store; clock: Clock; ids: Ids; authorizer: Authorizer; audit: AuditWriter };

const KUBECRED_ACTIONS = Object.values(Actions).map((a) => a.name);

/**
 * A kubecred: action that names nothing is a typo that would silently grant (or deny) nothing: refused. Vendor
 * names (cs:, ram:, cce:...) are not checked, so policies copied from a cloud keep working with the parts kubecred
 * does not implement.
 */
function checkKubecredActions(doc: PolicyDocument): void {
  doc.Statement.forEach((st, i) => {
    for (const pattern of st.Action) {
      if (!/^kubecred:/i.test(pattern) || KUBECRED_ACTIONS.some((name) => actionPatternMatches(pattern, name))) continue;
      throw invalid(`Statement[${i}].Action names ${JSON.stringify(pattern)}, which is no kubecred action; kubecred's are ${KUBECRED_ACTIONS.join(', ')}`, { field: `Statement[${i}].Action` });
    }
  });
}

/**
 * A Deny conditioned on a key kubecred never fills in would never apply (an absent key makes the condition false):
 * refused, so a Deny copied from a cloud (acs:MFAPresent, acs:SecureTransport, ...) does not silently fail open.
 * An Allow on such a key only ever fails closed, and loads.
 */
function checkDenyConditionKeys(doc: PolicyDocument): void {
  doc.Statement.forEach((st, i) => {
    if (st.Effect !== 'Deny' || !st.Condition) return;
    for (const keys of Object.values(st.Condition)) {
      for (const key of Object.keys(keys)) {
        if (SUPPLIED_CONDITION_KEYS.has(key.toLowerCase())) continue;
        throw invalid(`Statement[${i}] is a Deny conditioned on ${JSON.stringify(key)}, a key kubecred never supplies, so it would never apply; kubecred supplies ${[...SUPPLIED_CONDITION_KEYS].join(', ')} (names without case)`, { field: `Statement[${i}].Condition` });
      }
    }
  });
}

function checkDescription(description: unknown): string | undefined {
  if (description !== undefined && (typeof description !== 'string' || description.length > 1024)) throw invalid('description must be a string of at most 1024 characters', { field: 'description' });
  return description;
}

function checkDocument(input: unknown): PolicyDocument {
  const document = parsePolicyDocument(input);
  checkKubecredActions(document);
  checkDenyConditionKeys(document);
  return document;
}

/** How many holders a refused deletion names. */
const HOLDERS_SHOWN = 20;

export function makePolicyService(deps: Deps) {
  const { store, clock, ids, authorizer, audit } = deps;
  const target = (actor: Actor, id: string | null) => ({ resource: Resources.policy(actor.accountId, id ?? '*'), type: 'policy', id });

  /**
   * The policy named, for `action` on it. When there is none: NOT_FOUND only for a caller allowed the action on it
   * (by ID; on any policy when a name was given), else the same ACCESS_DENIED as for one that exists.
   */
  async function load(actor: Actor, idOrName: string, action: ActionDef): Promise<StoredPolicy> {
    const p = (await store.policies.get(actor.accountId, idOrName)) ?? (await store.policies.findByName(actor.accountId, idOrName));
    if (!p) return authorizer.absent(actor, action, target(actor, idOrName.startsWith('pol_') ? idOrName : null), notFound('policy', idOrName));
    return p;
  }

  /** The principal to attach the policy to or detach it from: not found only for a caller allowed `action` on the policy. */
  async function loadPrincipal(actor: Actor, principalId: string, action: ActionDef, policy: StoredPolicy) {
    return findPrincipal(store, actor.accountId, principalId).catch((e) => authorizer.absent(actor, action, target(actor, policy.id), e));
  }

  return {
    async create(actor: Actor, input: { name: string; description?: string; document: unknown }): Promise<PolicyView> {
      const name = checkResourceName(input.name, 'name');
      const description = checkDescription(input.description) ?? '';
      const document = checkDocument(input.document);
      const p: StoredPolicy = { id: ids.id('pol'), accountId: actor.accountId, name, description, document: JSON.stringify(document), createdAt: clock.now() };
      await authorizer.transaction(async (tx, authz) => {
        await authz.check(actor, Actions.CreatePolicy, target(actor, null));
        await tx.policies.insert(p);
        await audit.record(tx, actor, actor.accountId, { action: 'CreatePolicy', resourceType: 'policy', resourceId: p.id, detail: { name, document } });
      });
      return view(p);
    },

    async get(actor: Actor, idOrName: string): Promise<PolicyView & { attachedTo: string[] }> {
      const policy = await load(actor, idOrName, Actions.GetPolicy);
      await authorizer.check(actor, Actions.GetPolicy, target(actor, policy.id));
      return { ...view(policy), attachedTo: await store.policies.holders(policy.id, 1000) };
    },

    /**
     * Replaces a policy's document (and its description when given). It takes effect on the next request of every
     * principal it is attached to: decisions read the policies each time, in the transaction that acts on them, so none
     * that commits after this update answered was decided on the old document.
     */
    async update(actor: Actor, idOrName: string, input: { description?: string; document: unknown }): Promise<PolicyView> {
      const description = checkDescription(input.description);
      const document = checkDocument(input.document);
      const policy = await load(actor, idOrName, Actions.UpdatePolicy);
      const updated: StoredPolicy = { ...policy, description: description ?? policy.description, document: JSON.stringify(document) };
      await authorizer.transaction(async (tx, authz) => {
        // Held before deciding: two callers whose permission is this very policy would otherwise each hold it shared
        // for their decisions, and then wait for each other to let go (a deadlock on PostgreSQL).
        if (!(await tx.policies.hold(actor.accountId, policy.id, 'exclusive'))) throw notFound('policy', idOrName);
        await authz.check(actor, Actions.UpdatePolicy, target(actor, policy.id));
        const before = await tx.policies.get(actor.accountId, policy.id);
        await tx.policies.update(actor.accountId, policy.id, { description: updated.description, document: updated.document });
        await audit.record(tx, actor, actor.accountId, {
          action: 'UpdatePolicy', resourceType: 'policy', resourceId: policy.id,
          detail: { name: policy.name, before: JSON.parse(before!.document), document },
        });
      });
      return view(updated);
    },

    /** Deletes a policy attached to no living principal (RAM refuses the deletion of an attached policy too). */
    async delete(actor: Actor, idOrName: string): Promise<{ deleted: true }> {
      const policy = await load(actor, idOrName, Actions.DeletePolicy);
      await authorizer.transaction(async (tx, authz) => {
        if (!(await tx.policies.hold(actor.accountId, policy.id, 'exclusive'))) throw notFound('policy', idOrName); // before deciding, as in update
        await authz.check(actor, Actions.DeletePolicy, target(actor, policy.id));
        const holders = await tx.policies.holders(policy.id, HOLDERS_SHOWN + 1);
        if (holders.length > 0) {
          const shown = holders.slice(0, HOLDERS_SHOWN).join(', ') + (holders.length > HOLDERS_SHOWN ? ', ...' : '');
          throw new KubecredError('CONFLICT', `policy ${JSON.stringify(policy.name)} is attached to ${shown}; detach it from each first (kubecred policy detach ${policy.name} --principal <id>)`, { details: { attachedTo: holders.slice(0, HOLDERS_SHOWN) } });
        }
        await tx.policies.delete(actor.accountId, policy.id);
        await audit.record(tx, actor, actor.accountId, { action: 'DeletePolicy', resourceType: 'policy', resourceId: policy.id, detail: { name: policy.name, document: JSON.parse(policy.document) } });
      });
      return { deleted: true };
    },

    async list(actor: Actor, page: PageRequest): Promise<Page<PolicyView>> {
      await authorizer.check(actor, Actions.ListPolicies, target(actor, null));
      const res = await store.policies.list(actor.accountId, page);
      return { items: res.items.map(view), next: res.next };
    },

    /**
     * The policies attached to a principal. A deleted principal's (by its ID only) are those it held when it was
     * deleted: they grant it nothing, and say so with `principalDeletedAt`.
     */
    async forPrincipal(actor: Actor, principalId: string): Promise<{ items: PolicyView[]; principalDeletedAt?: string }> {
      const principal = principalId === actor.principal.id || principalId === actor.principal.name ? actor.principal
        : await findPrincipal(store, actor.accountId, principalId, { includeDeleted: true }).catch((e) => authorizer.absent(actor, Actions.ListPolicies, target(actor, null), e));
      if (principal.id !== actor.principal.id) await authorizer.check(actor, Actions.ListPolicies, target(actor, null));
      const items = (await store.policies.forPrincipal(principal.id)).map(view);
      return principal.deletedAt ? { items, principalDeletedAt: principal.deletedAt.toISOString() } : { items };
    },

    async attach(actor: Actor, policyIdOrName: string, principalId: string): Promise<{ attached: boolean }> {
      const policy = await load(actor, policyIdOrName, Actions.AttachPolicy);
      const principal = await loadPrincipal(actor, principalId, Actions.AttachPolicy, policy);
      return authorizer.transaction(async (tx, authz) => {
        if (!(await tx.policies.hold(actor.accountId, policy.id, 'share'))) throw notFound('policy', policyIdOrName);
        await authz.check(actor, Actions.AttachPolicy, target(actor, policy.id));
        const attached = await tx.policies.attach(policy.id, principal.id, clock.now());
        await audit.record(tx, actor, actor.accountId, { action: 'AttachPolicy', resourceType: 'policy', resourceId: policy.id, detail: { principal: principal.id, changed: attached } });
        return { attached };
      });
    },

    async detach(actor: Actor, policyIdOrName: string, principalId: string): Promise<{ detached: boolean }> {
      const policy = await load(actor, policyIdOrName, Actions.DetachPolicy);
      const principal = await loadPrincipal(actor, principalId, Actions.DetachPolicy, policy);
      return authorizer.transaction(async (tx, authz) => {
        await authz.check(actor, Actions.DetachPolicy, target(actor, policy.id));
        const detached = await tx.policies.detach(policy.id, principal.id);
        await audit.record(tx, actor, actor.accountId, { action: 'DetachPolicy', resourceType: 'policy', resourceId: policy.id, detail: { principal: principal.id, changed: detached } });
        return { detached };
      });
    },
  };
}

export type PolicyService = ReturnType<typeof makePolicyService>;
