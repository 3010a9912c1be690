// Building audit events and listing them. Events are appended in the same transaction as the change
// they describe, so a change without its audit record can never be committed. Never put secrets in `detail`.

import type { Actor } from './actor.ts';
import { AUDITED_ACTIONS, PERMISSION_NAMES, type AuditedAction, type PermissionName } from './audit-actions.ts';
import { Actions, Resources } from './actions.ts';
import type { Authorizer } from './authorizer.ts';
import type { AuditEvent, AuditOutcome, Page } from './model.ts';
import type { Clock, Ids } from './ports.ts';
import type { AuditFilter, PageRequest, Repos, Store } from './store-port.ts';
import { invalid } from './errors.ts';
import { findPrincipal } from './lookup.ts';

/**
 * How many of an account's events one page of a filtered listing examines at most (no index holds the filtered
 * columns: one would cost every audit write). ~10-20 ms of SQLite's event loop; a filter that matches little answers
 * a short page, even an empty one, with a `next` that goes on from where it stopped.
 */
export const AUDIT_SCAN_LIMIT = 20_000;

/** Every name an event can carry: what is recorded, and the permissions refusals are recorded under. */
const RECORDED_NAMES = new Set<string>([...AUDITED_ACTIONS, ...PERMISSION_NAMES]);

export type AuditInput = {
  /** One of AUDITED_ACTIONS; a refusal by the authorizer names the permission it lacked. */
  action: AuditedAction | PermissionName;
  resourceType: string;
  resourceId: string | null;
  outcome?: AuditOutcome;
  detail?: Record<string, unknown>;
};

export function makeAuditWriter(deps: { ids: Ids; clock: Clock }) {
  return {
    /**
     * Appends one event for `actor` through `repos` (pass the transaction's repos). Without an actor (nobody was
     * authenticated), `request` gives the request's ID and source address.
     */
    async record(repos: Pick<Repos, 'audit'>, actor: Actor | null, accountId: string, e: AuditInput, request?: { requestId: string; sourceIp: string | null }): Promise<void> {
      await repos.audit.append({
        id: deps.ids.id('evt'),
        accountId,
        at: deps.clock.now(),
        actorId: actor?.principal.id ?? null,
        action: e.action,
        resourceType: e.resourceType,
        resourceId: e.resourceId,
        outcome: e.outcome ?? 'success',
        sourceIp: actor?.sourceIp ?? request?.sourceIp ?? null,
        requestId: actor?.requestId ?? request?.requestId ?? null,
        detail: { surface: actor?.surface, ...e.detail },
      });
    },
  };
}

export type AuditWriter = ReturnType<typeof makeAuditWriter>;

export function makeAuditService(deps: { store: Pick<Store, 'audit' | 'principals'>; authorizer: Authorizer }) {
  return {
    /**
     * `actorId` may be a principal's name: it is looked up (an ID is taken as it is, so a deleted principal's events
     * stay findable). `action` without a prefix also finds the refusals of the permission of that name: a refused
     * revocation is recorded as kubecred:RevokeKubeconfig beside the successful RevokeKubeconfig events.
     */
    async list(actor: Actor, filter: Omit<AuditFilter, 'accountId' | 'actions'> & { action?: string }, page: PageRequest): Promise<Page<AuditEvent>> {
      await deps.authorizer.check(actor, Actions.ListAuditEvents, { resource: Resources.audit(actor.accountId), type: 'audit', id: null });
      const { action, ...rest } = filter;
      const actorId = rest.actorId === undefined || /^(usr|rol)_/.test(rest.actorId)
        ? rest.actorId
        : (await findPrincipal(deps.store, actor.accountId, rest.actorId)).id;
      // A name no event can carry (a typo, another case) would list nothing, looking like "it never happened".
      if (action !== undefined && !RECORDED_NAMES.has(action) && !RECORDED_NAMES.has(`kubecred:${action}`)) {
        throw invalid(`action ${JSON.stringify(action.slice(0, 64))} is not a name kubecred records (names are case-sensitive); it records ${AUDITED_ACTIONS.join(', ')}, and refusals under the permission they lacked (kubecred:GetKubeconfig, ...)`, { field: 'action' });
      }
      const actions = action === undefined ? undefined : action.includes(':') ? [action] : [action, `kubecred:${action}`];
      return deps.store.audit.list({ ...rest, actions, actorId, accountId: actor.accountId }, page, AUDIT_SCAN_LIMIT);
    },
  };
}
