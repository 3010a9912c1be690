// Principals (users and roles with their Kubernetes groups) and their API credentials: bearer tokens
// and access keys. Secrets are shown once, at creation; the store keeps only hashes or sealed copies.

import type { Actor } from './actor.ts';
import { Actions, Resources, type ActionDef } from './actions.ts';
import { allPages } from './all-pages.ts';
import { accessKeySecretAad, formatToken, hashSecret, newAccessKeyId, TOKEN_SECRET_BYTES } from './api-credentials.ts';
import type { AuditWriter } from './audit.ts';
import type { Authorizer, Decisions } from './authorizer.ts';
import { invalid, KubecredError, notFound } from './errors.ts';
import { findPrincipal } from './lookup.ts';
import { checkGroups } from './group-rules.ts';
import { checkName, checkResourceName } from './input-rules.ts';
import type { Page, Principal, PrincipalKind } from './model.ts';
import type { Clock, Ids, Sealer } from './ports.ts';
import type { PageRequest, Store } from './store-port.ts';
import { accessKeyView, principalView, tokenView, type AccessKeyView, type PrincipalView, type TokenView } from './views.ts';

type Deps = { store: Store; clock: Clock; ids: Ids; sealer: Sealer; authorizer: Authorizer; audit: AuditWriter };

export interface NewToken { id: string; principalId: string; name: string; token: string; expiresAt: string | null }
export interface NewAccessKey { accessKeyId: string; accessKeySecret: string; principalId: string }

const MAX_TOKEN_DAYS = 3650;

/** How many IDs of each kind a deletion's audit event names; the count is always whole. An event stays small. */
export const DELETION_AUDIT_IDS = 100;

const idsForAudit = (ids: string[]) => ({ count: ids.length, ids: ids.slice(0, DELETION_AUDIT_IDS) });

/** A listing of what a principal holds; `principalDeletedAt` only when the principal was deleted (listed by its ID). */
export type HeldPage<T> = Page<T> & { principalDeletedAt?: string };

const markDeleted = <T>(p: Principal, page: Page<T>): HeldPage<T> => (p.deletedAt ? { ...page, principalDeletedAt: p.deletedAt.toISOString() } : page);

export function makePrincipalService(deps: Deps) {
  const { store, clock, ids, sealer, authorizer, audit } = deps;
  const target = (actor: Actor, id: string | null) => ({ resource: Resources.principal(actor.accountId, id ?? '*'), type: 'principal', id });

  /**
   * The principal named, for `action` on it. When there is none: NOT_FOUND only for a caller allowed the action on it
   * (by ID; on any principal when a name was given), else the same ACCESS_DENIED as for one that exists.
   * `includeDeleted`, for reading only: a deleted principal is found too, by its ID (never by its name, which a new
   * principal may have taken), so an operator can still check what someone who left held.
   */
  async function load(actor: Actor, id: string, action: ActionDef, opts: { includeDeleted?: boolean } = {}): Promise<Principal> {
    if (id === actor.principal.id) return actor.principal;
    return findPrincipal(store, actor.accountId, id, opts).catch((e) => authorizer.absent(actor, action, target(actor, /^(usr|rol)_/.test(id) ? id : null), e));
  }

  const loadToRead = (actor: Actor, id: string, action: ActionDef) => load(actor, id, action, { includeDeleted: true });

  /**
   * `action` on principal `p`, which the caller is not: policies decide, except that nobody but the root changes
   * the root or its credentials (a token or access key made for the root is the root; groups it never carries).
   */
  async function authorizeOn(authz: Decisions, actor: Actor, p: Principal, action: ActionDef): Promise<void> {
    if (p.isRoot && !actor.principal.isRoot) {
      await authz.refuse(actor, action, target(actor, p.id), `only the account's root may ${action.name.replace('kubecred:', '')} for the root; ask the account owner`);
    }
    await authz.check(actor, action, target(actor, p.id));
  }

  return {
    async create(actor: Actor, input: { name: string; kind?: PrincipalKind; groups?: string[] }): Promise<PrincipalView> {
      const name = checkResourceName(input.name, 'name');
      const kind = input.kind ?? 'user';
      if (kind !== 'user' && kind !== 'role') throw invalid('kind must be "user" or "role"', { field: 'kind' });
      const groups = checkGroups(input.groups ?? []);
      const p: Principal = { id: ids.id(kind === 'user' ? 'usr' : 'rol'), accountId: actor.accountId, kind, name, groups, isRoot: false, createdAt: clock.now(), deletedAt: null };
      await authorizer.transaction(async (tx, authz) => {
        await authz.check(actor, Actions.CreatePrincipal, target(actor, null));
        await tx.principals.insert(p);
        await audit.record(tx, actor, actor.accountId, { action: 'CreatePrincipal', resourceType: 'principal', resourceId: p.id, detail: { name, kind, groups } });
      });
      return principalView(p);
    },

    async get(actor: Actor, id: string): Promise<PrincipalView> {
      const p = await loadToRead(actor, id, Actions.GetPrincipal);
      if (p.id !== actor.principal.id) await authorizer.check(actor, Actions.GetPrincipal, target(actor, p.id));
      return principalView(p);
    },

    /**
     * Whether the caller's policies would let it delete the principal now: the console offers Delete only then (the
     * deletion decides again in its own transaction). Never the root, nor one already deleted. No audit record.
     */
    async mayDelete(actor: Actor, p: PrincipalView): Promise<boolean> {
      if (p.isRoot || p.deletedAt !== null) return false;
      return authorizer.allows(actor, Actions.DeletePrincipal, target(actor, p.id));
    },

    async list(actor: Actor, page: PageRequest): Promise<Page<PrincipalView>> {
      await authorizer.check(actor, Actions.ListPrincipals, target(actor, null));
      const res = await store.principals.list(actor.accountId, page);
      return { items: res.items.map(principalView), next: res.next };
    },

    async update(actor: Actor, id: string, input: { groups: string[] }): Promise<PrincipalView> {
      const p = await load(actor, id, Actions.UpdatePrincipal);
      const groups = checkGroups(input.groups);
      // Groups live in certificates: kubeconfigs issued before keep their old groups until reissued.
      await authorizer.transaction(async (tx, authz) => {
        await authorizeOn(authz, actor, p, Actions.UpdatePrincipal);
        await tx.principals.updateGroups(actor.accountId, p.id, groups);
        await audit.record(tx, actor, actor.accountId, { action: 'UpdatePrincipal', resourceType: 'principal', resourceId: p.id, detail: { groups, previous: p.groups } });
      });
      return principalView({ ...p, groups });
    },

    /**
     * Revokes every kubeconfig, token and access key the principal holds, then removes it; history stays, and so do
     * its listings by ID. The audit event names the tokens and access keys it ended (the kubeconfigs are in the
     * inventory, revoked by this deletion).
     */
    async delete(actor: Actor, id: string): Promise<{ revoked: number; tokensRevoked: number; accessKeysRevoked: number }> {
      const p = await load(actor, id, Actions.DeletePrincipal);
      return authorizer.transaction(async (tx, authz) => {
        await authz.check(actor, Actions.DeletePrincipal, target(actor, p.id));
        if (p.isRoot) await authz.refuse(actor, Actions.DeletePrincipal, target(actor, p.id), "the account's root cannot be deleted", 'CONFLICT');
        // First: an issuance for this principal committing meanwhile is then either revoked below or refused.
        const now = clock.now();
        if (!(await tx.principals.markDeleted(actor.accountId, p.id, now))) throw notFound('principal', p.id);
        const revoked = await tx.credentials.revoke({ principalId: p.id, states: ['active', 'superseded'] }, actor.principal.id, 'principal deleted', now);
        const tokens = await tx.tokens.revokeForPrincipal(p.id, now);
        const accessKeys = await tx.accessKeys.revokeForPrincipal(p.id, now);
        // As a revocation resets the holder's custom validity (ACK's rule), the deletion resets all of them.
        const customValidities = await tx.validity.deleteForPrincipal(p.id);
        await audit.record(tx, actor, actor.accountId, {
          action: 'DeletePrincipal', resourceType: 'principal', resourceId: p.id,
          detail: { name: p.name, revoked: revoked.length, tokens: idsForAudit(tokens), accessKeys: idsForAudit(accessKeys), customValiditiesReset: customValidities },
        });
        return { revoked: revoked.length, tokensRevoked: tokens.length, accessKeysRevoked: accessKeys.length };
      });
    },

    async createToken(actor: Actor, principalId: string, input: { name?: string; expiresInDays?: number }): Promise<NewToken> {
      const p = await load(actor, principalId, Actions.CreateToken);
      const name = input.name === undefined ? 'token' : checkName(input.name, 'name');
      if (input.expiresInDays !== undefined && (!Number.isInteger(input.expiresInDays) || input.expiresInDays < 1 || input.expiresInDays > MAX_TOKEN_DAYS)) {
        throw invalid(`expiresInDays must be a whole number from 1 to ${MAX_TOKEN_DAYS}`, { field: 'expiresInDays' });
      }
      const now = clock.now();
      const id = ids.id('tok');
      const secret = ids.secret(TOKEN_SECRET_BYTES);
      const expiresAt = input.expiresInDays ? new Date(now.getTime() + input.expiresInDays * 86400_000) : null;
      await authorizer.transaction(async (tx, authz) => {
        await authorizeOn(authz, actor, p, Actions.CreateToken);
        await tx.tokens.insert({ id, accountId: actor.accountId, principalId: p.id, name, secretHash: hashSecret(secret), createdAt: now, expiresAt, revokedAt: null, createdBy: actor.principal.id });
        await audit.record(tx, actor, actor.accountId, { action: 'CreateToken', resourceType: 'principal', resourceId: p.id, detail: { tokenId: id, name } });
      });
      return { id, principalId: p.id, name, token: formatToken(id, secret), expiresAt: expiresAt?.toISOString() ?? null };
    },

    /** A principal's tokens, without their secrets. Everyone may list their own. */
    async listTokens(actor: Actor, principalId: string, page: PageRequest): Promise<HeldPage<TokenView>> {
      const p = await loadToRead(actor, principalId, Actions.ListTokens);
      if (p.id !== actor.principal.id) await authorizer.check(actor, Actions.ListTokens, target(actor, p.id));
      const res = await store.tokens.listForPrincipal(p.id, page);
      const now = clock.now();
      return markDeleted(p, { items: res.items.map((t) => tokenView(t, now)), next: res.next });
    },

    /**
     * Revokes one token at once: requests and console sessions made with it are refused from then on. Everyone
     * may revoke their own. The root's last usable token is kept: nothing else could sign in as the root again.
     */
    async revokeToken(actor: Actor, principalId: string, tokenId: string): Promise<{ revoked: boolean }> {
      const p = await load(actor, principalId, Actions.RevokeToken);
      return authorizer.transaction(async (tx, authz) => {
        if (p.id !== actor.principal.id) await authorizeOn(authz, actor, p, Actions.RevokeToken);
        const token = await tx.tokens.get(tokenId);
        if (!token || token.principalId !== p.id) throw new KubecredError('NOT_FOUND', `token ${JSON.stringify(tokenId)} of principal ${p.id} not found; list them with \`kubecred token list --principal ${p.id}\``);
        const now = clock.now();
        if (p.isRoot && !token.revokedAt) {
          // Two revocations of the root's last two tokens at once would each see the other's token still usable.
          await tx.principals.lock(p.accountId, p.id);
          const usable = (await allPages((page) => tx.tokens.listForPrincipal(p.id, page)))
            .filter((t) => t.id !== token.id && !t.revokedAt && !(t.expiresAt && t.expiresAt.getTime() <= now.getTime()));
          if (usable.length === 0) throw new KubecredError('CONFLICT', "this is the account root's last usable token; create another with `kubecred token create` first, then revoke this one");
        }
        const revoked = await tx.tokens.revoke(p.id, token.id, now);
        if (revoked) await audit.record(tx, actor, actor.accountId, { action: 'RevokeToken', resourceType: 'principal', resourceId: p.id, detail: { tokenId: token.id, name: token.name } });
        return { revoked };
      });
    },

    async createAccessKey(actor: Actor, principalId: string): Promise<NewAccessKey> {
      const p = await load(actor, principalId, Actions.CreateAccessKey);
      const accessKeyId = newAccessKeyId();
      const accessKeySecret = ids.secret(22);
      await authorizer.transaction(async (tx, authz) => {
        await authorizeOn(authz, actor, p, Actions.CreateAccessKey);
        await tx.accessKeys.insert({ id: accessKeyId, accountId: actor.accountId, principalId: p.id, secretSealed: sealer.seal(accessKeySecret, accessKeySecretAad(accessKeyId)), createdAt: clock.now(), revokedAt: null, createdBy: actor.principal.id });
        await audit.record(tx, actor, actor.accountId, { action: 'CreateAccessKey', resourceType: 'principal', resourceId: p.id, detail: { accessKeyId } });
      });
      return { accessKeyId, accessKeySecret, principalId: p.id };
    },

    /** A principal's access keys, without their secrets. Everyone may list their own. */
    async listAccessKeys(actor: Actor, principalId: string, page: PageRequest): Promise<HeldPage<AccessKeyView>> {
      const p = await loadToRead(actor, principalId, Actions.ListAccessKeys);
      if (p.id !== actor.principal.id) await authorizer.check(actor, Actions.ListAccessKeys, target(actor, p.id));
      const res = await store.accessKeys.listForPrincipal(p.id, page);
      return markDeleted(p, { items: res.items.map(accessKeyView), next: res.next });
    },

    /** Revokes one access key at once: the vendor surfaces refuse its signatures from then on. Everyone may revoke their own. */
    async revokeAccessKey(actor: Actor, principalId: string, accessKeyId: string): Promise<{ revoked: boolean }> {
      const p = await load(actor, principalId, Actions.RevokeAccessKey);
      return authorizer.transaction(async (tx, authz) => {
        if (p.id !== actor.principal.id) await authorizeOn(authz, actor, p, Actions.RevokeAccessKey);
        const key = await tx.accessKeys.get(accessKeyId);
        if (!key || key.principalId !== p.id) throw new KubecredError('NOT_FOUND', `access key ${JSON.stringify(accessKeyId)} of principal ${p.id} not found; list them with \`kubecred accesskey list --principal ${p.id}\``);
        const revoked = await tx.accessKeys.revoke(p.id, key.id, clock.now());
        if (revoked) await audit.record(tx, actor, actor.accountId, { action: 'RevokeAccessKey', resourceType: 'principal', resourceId: p.id, detail: { accessKeyId: key.id } });
        return { revoked };
      });
    },
  };
}

export type PrincipalService = ReturnType<typeof makePrincipalService>;
