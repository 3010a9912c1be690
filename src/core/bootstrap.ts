// First start: create the first account, its root principal, a bearer token and an access key,
// and hand the secrets back exactly once. Does nothing when an account already exists.

import { accessKeySecretAad, formatToken, hashSecret, newAccessKeyId, TOKEN_SECRET_BYTES } from './api-credentials.ts';
import type { AuditWriter } from './audit.ts';
import { KubecredError } from './errors.ts';
import { checkName } from './input-rules.ts';
import type { Principal } from './model.ts';
import type { Clock, Ids, Sealer } from './ports.ts';
import type { Repos, Store } from './store-port.ts';

export interface BootstrapResult {
  accountId: string;
  rootPrincipalId: string;
  rootToken: string;
  accessKeyId: string;
  accessKeySecret: string;
}

type Deps = { store: Store; ids: Ids; clock: Clock; sealer: Sealer; audit: AuditWriter };

/** On first start only: the first account. */
export async function bootstrapIfEmpty(deps: Deps, accountName = 'default'): Promise<BootstrapResult | null> {
  return deps.store.transaction(async (tx) => {
    if ((await tx.accounts.count()) > 0) return null;
    // Replicas starting together on an empty database: the first claim wins, the others wait for its
    // commit and then find the claim taken, so exactly one first account (and one root token) exists.
    if (!(await tx.settings.claim('bootstrap', 'first account', deps.clock.now()))) return null;
    return createAccountIn(tx, deps, accountName);
  });
}

/**
 * Another tenant: a new account with its own root, sharing nothing with the others. Its name is checked like a
 * principal's or cluster's and must be unused: two accounts of one name could not be told apart by whoever
 * holds their root tokens.
 */
export async function createAccount(deps: Deps, accountName: string): Promise<BootstrapResult> {
  checkName(accountName, 'account name');
  return deps.store.transaction(async (tx) => {
    if (await tx.accounts.findByName(accountName)) {
      throw new KubecredError('CONFLICT', `an account named ${JSON.stringify(accountName)} already exists; choose another name`, { details: { name: accountName } });
    }
    return createAccountIn(tx, deps, accountName);
  });
}

export interface RecoveredRootToken { accountId: string; rootPrincipalId: string; tokenId: string; rootToken: string }

/**
 * A new bearer token for an account's root, for whoever holds the server's data directory (or its database and
 * master key), which is all of kubecred anyway: the way back in after the root's tokens were lost. Audited, with
 * no actor, like the first start; the root's other tokens keep working until it revokes them.
 */
export async function recoverRootToken(deps: Omit<Deps, 'sealer'>, accountName: string): Promise<RecoveredRootToken> {
  return deps.store.transaction(async (tx) => {
    const account = await tx.accounts.findByName(accountName);
    if (!account) throw new KubecredError('NOT_FOUND', `no account named ${JSON.stringify(accountName)} in this database; the first account is "default"`);
    const root = await tx.principals.findByName(account.id, 'root');
    if (!root?.isRoot) throw new KubecredError('INTERNAL', `account ${account.id} has no root principal`);
    const now = deps.clock.now();
    const tokenId = deps.ids.id('tok');
    const secret = deps.ids.secret(TOKEN_SECRET_BYTES);
    await tx.tokens.insert({ id: tokenId, accountId: account.id, principalId: root.id, name: 'recovered', secretHash: hashSecret(secret), createdAt: now, expiresAt: null, revokedAt: null, createdBy: null });
    await deps.audit.record(tx, null, account.id, { action: 'CreateToken', resourceType: 'principal', resourceId: root.id, detail: { tokenId, name: 'recovered', via: 'kubecred account root-token, on the server' } });
    return { accountId: account.id, rootPrincipalId: root.id, tokenId, rootToken: formatToken(tokenId, secret) };
  });
}

async function createAccountIn(tx: Repos, deps: Deps, accountName: string): Promise<BootstrapResult> {
  const { ids, clock, sealer, audit } = deps;
  const now = clock.now();
  const accountId = ids.id('acc');
  const root: Principal = { id: ids.id('usr'), accountId, kind: 'user', name: 'root', groups: [], isRoot: true, createdAt: now, deletedAt: null };
  const tokenId = ids.id('tok');
  const secret = ids.secret(TOKEN_SECRET_BYTES);
  const accessKeyId = newAccessKeyId();
  const accessKeySecret = ids.secret(22);
  await tx.accounts.insert({ id: accountId, name: accountName, createdAt: now });
  await tx.principals.insert(root);
  await tx.tokens.insert({ id: tokenId, accountId, principalId: root.id, name: 'root', secretHash: hashSecret(secret), createdAt: now, expiresAt: null, revokedAt: null, createdBy: null });
  await tx.accessKeys.insert({ id: accessKeyId, accountId, principalId: root.id, secretSealed: sealer.seal(accessKeySecret, accessKeySecretAad(accessKeyId)), createdAt: now, revokedAt: null, createdBy: null });
  await audit.record(tx, null, accountId, { action: 'InitializeAccount', resourceType: 'account', resourceId: accountId, detail: { root: root.id, tokenId, accessKeyId } });
  return { accountId, rootPrincipalId: root.id, rootToken: formatToken(tokenId, secret), accessKeyId, accessKeySecret };
}
