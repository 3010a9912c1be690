// What kube-apiserver's webhooks ask kubecred: who may call (per-cluster webhook tokens) and whether a
// request made with a kubecred credential must be denied. Knows nothing of the review JSON formats.

import type { Actor } from './actor.ts';
import { Actions } from './actions.ts';
import { hashSecret, secretsEqual } from './api-credentials.ts';
import type { AuditWriter } from './audit.ts';
import { absentClusterTargets, clusterTarget, type Authorizer } from './authorizer.ts';
import { KubecredError } from './errors.ts';
import { TOKEN_KUBECONFIG_PREFIX } from './credential-issuer.ts';
import { sha256Hex } from '../pki/fingerprint.ts';
import { findCluster } from './lookup.ts';
import type { Cluster, Page } from './model.ts';
import type { Clock, Ids } from './ports.ts';
import type { RevocationIndex, Verdict } from './revocation-index.ts';
import type { PageRequest, Store } from './store-port.ts';
import { webhookTokenView, type WebhookTokenView } from './views.ts';

export const WEBHOOK_TOKEN_PREFIX = 'kcw1';
export const CREDENTIAL_ID_KEY = 'authentication.kubernetes.io/credential-id';
const X509_PREFIX = 'X509SHA256=';
const NO_OPINION: Verdict = Object.freeze({ deny: false });

export interface TokenUser { username: string; uid: string; groups: string[]; credentialId: string }

export interface AccessQuestion {
  user: string;
  groups: string[];
  extra: Record<string, string[]>;
}

type Deps = { store: Store; clock: Clock; ids: Ids; index: RevocationIndex; authorizer: Authorizer; audit: AuditWriter };

/**
 * kube-apiserver presents the same webhook token on every call: a verified (token, cluster) pair is
 * remembered this long, so a review costs no database read. A token revoked on another replica keeps working
 * here at most this long (on this one, revokeToken forgets it at once); the webhook never allows anything.
 */
const CALLER_CACHE_MS = 1_000;
const CALLER_CACHE_MAX = 1_024;
/**
 * How long a review waits for the database to re-verify a caller it has verified before. A database that does
 * not answer at all (a failover's half-open connections: no error for up to 17 s, and a pool wait of 3 s) would
 * otherwise hold every review past kube-apiserver's own timeout (3 s by default), which then applies its
 * failurePolicy to every user; past this, the caller verified before is answered as during an outage.
 */
const REVERIFY_BUDGET_MS = 250;
// While the store is unreachable nothing can be revoked (revocation needs the store), so the index is
// current and a caller verified before the outage may go on being answered from it: enforcement keeps
// working through a database outage instead of kube-apiserver falling back to its failurePolicy. For that
// kube-apiserver must still reach this server: /readyz stays ready (degraded) through an outage for the
// outage grace (api/ops-routes.ts, docs/ha.md "Readiness during an outage").

export function makeWebhookService(deps: Deps) {
  const { store, clock, ids, index, authorizer, audit } = deps;
  const refused = () => new KubecredError('UNAUTHENTICATED', 'the webhook caller did not present a valid token for this cluster; use the webhook kubeconfig written by `kubecred cluster kube-config`');
  // Cluster ID -> token -> the verified cluster (two lookups instead of a key string built per review).
  const callers = new Map<string, Map<string, { cluster: Cluster; until: number }>>();
  let cachedCallers = 0;
  const verifying = new Map<string, Promise<Cluster>>();

  /** Checks a caller's token against the database and remembers the verified caller for CALLER_CACHE_MS. */
  async function verifyCaller(clusterId: string, token: string, tokenId: string, secret: string, now: number): Promise<Cluster> {
    const stored = await store.webhookTokens.get(tokenId);
    const ok = secretsEqual(hashSecret(secret), stored?.secretHash ?? '0'.repeat(64));
    if (!stored || !ok || stored.revokedAt || stored.clusterId !== clusterId) throw refused();
    const cluster = await store.clusters.getAnyAccount(clusterId);
    if (!cluster) throw refused();
    if (cachedCallers >= CALLER_CACHE_MAX) {
      callers.clear();
      cachedCallers = 0;
    }
    let ofCluster = callers.get(clusterId);
    if (!ofCluster) callers.set(clusterId, (ofCluster = new Map()));
    if (!ofCluster.has(token)) cachedCallers++;
    ofCluster.set(token, { cluster, until: now + CALLER_CACHE_MS });
    return cluster;
  }

  const configure = (actor: Actor, cluster: Cluster) => authorizer.check(actor, Actions.ConfigureWebhooks, clusterTarget(actor.accountId, cluster));

  /** Not found only for a caller allowed to configure whatever cluster it could be (authorizer.absent). */
  const absent = (actor: Actor, idOrName: string, e: unknown) => authorizer.absent(actor, Actions.ConfigureWebhooks, absentClusterTargets(actor.accountId, idOrName), e);

  /** A deleted cluster is found by its ID too: its webhook tokens stay in use (it keeps enforcing), so they stay revocable. */
  async function clusterWithTokens(actor: Actor, idOrName: string): Promise<Cluster> {
    try {
      return await findCluster(store, actor.accountId, idOrName);
    } catch (e) {
      if (!(e instanceof KubecredError && e.code === 'NOT_FOUND') || !idOrName.startsWith('cls_')) return absent(actor, idOrName, e);
      const deleted = await store.clusters.getAnyAccount(idOrName);
      if (!deleted || deleted.accountId !== actor.accountId) return absent(actor, idOrName, e);
      return deleted;
    }
  }

  return {
    /** A new token for kube-apiserver to present (shown once). Earlier tokens keep working until revoked (revokeToken). */
    async createToken(actor: Actor, clusterIdOrName: string): Promise<{ clusterId: string; id: string; token: string }> {
      const cluster = await findCluster(store, actor.accountId, clusterIdOrName).catch((e) => absent(actor, clusterIdOrName, e));
      await configure(actor, cluster);
      const id = ids.id('wht');
      const secret = ids.secret(32);
      await store.transaction(async (tx) => {
        await tx.webhookTokens.insert({ id, clusterId: cluster.id, secretHash: hashSecret(secret), createdAt: clock.now(), revokedAt: null });
        await audit.record(tx, actor, actor.accountId, { action: 'CreateWebhookToken', resourceType: 'cluster', resourceId: cluster.id, detail: { tokenId: id } });
      });
      return { clusterId: cluster.id, id, token: `${WEBHOOK_TOKEN_PREFIX}.${id}.${secret}` };
    },

    /** A cluster's webhook tokens, without their secrets. */
    async listTokens(actor: Actor, clusterIdOrName: string, page: PageRequest): Promise<Page<WebhookTokenView>> {
      const cluster = await clusterWithTokens(actor, clusterIdOrName);
      await configure(actor, cluster);
      const res = await store.webhookTokens.listForCluster(cluster.id, page);
      return { items: res.items.map(webhookTokenView), next: res.next };
    },

    /**
     * Revokes one webhook token: this server refuses it at once, other replicas within CALLER_CACHE_MS. Its
     * kube-apiserver then meets its failurePolicy, so write the new kubeconfig there first.
     */
    async revokeToken(actor: Actor, clusterIdOrName: string, tokenId: string): Promise<{ revoked: boolean }> {
      const cluster = await clusterWithTokens(actor, clusterIdOrName);
      await configure(actor, cluster);
      const revoked = await store.transaction(async (tx) => {
        const token = await tx.webhookTokens.get(tokenId);
        if (!token || token.clusterId !== cluster.id) throw new KubecredError('NOT_FOUND', `webhook token ${JSON.stringify(tokenId)} of cluster ${cluster.id} not found; list them with \`kubecred cluster webhook-tokens ${cluster.name}\``);
        const changed = await tx.webhookTokens.revoke(cluster.id, token.id, clock.now());
        if (changed) await audit.record(tx, actor, actor.accountId, { action: 'RevokeWebhookToken', resourceType: 'cluster', resourceId: cluster.id, detail: { tokenId: token.id } });
        return changed;
      });
      const cached = callers.get(cluster.id);
      if (cached) {
        for (const [presented] of cached) if (presented.split('.')[1] === tokenId) cached.delete(presented);
      }
      return { revoked };
    },

    /**
     * The cluster of a caller verified less than CALLER_CACHE_MS ago, or undefined: the hot path of every
     * review, synchronous (no promise, no string built) so a cached caller costs a review nothing but two
     * map lookups.
     */
    knownCaller(clusterId: string, token: string | undefined): Cluster | undefined {
      if (!token) return undefined;
      const known = callers.get(clusterId)?.get(token);
      return known && known.until > clock.now().getTime() ? known.cluster : undefined;
    },

    /** The cluster whose kube-apiserver presented `token`; throws UNAUTHENTICATED otherwise. */
    async authenticateCaller(clusterId: string, token: string | undefined): Promise<Cluster> {
      const now = clock.now().getTime();
      const known = token ? callers.get(clusterId)?.get(token) : undefined;
      if (known && known.until > now) return known.cluster;
      const parts = (token ?? '').split('.');
      if (parts.length !== 3 || parts[0] !== WEBHOOK_TOKEN_PREFIX || !/^wht_[a-z0-9]{26}$/.test(parts[1]) || parts[2].length > 64) throw refused();
      // One database check per (cluster, token) at a time: the reviews that arrive meanwhile share it.
      const key = `${clusterId}\u0000${token}`;
      let check = verifying.get(key);
      if (!check) {
        check = verifyCaller(clusterId, token!, parts[1], parts[2], now).finally(() => verifying.delete(key));
        verifying.set(key, check);
      }
      if (!known) return check;
      // Verified before: the database gets REVERIFY_BUDGET_MS, then the review goes on as in an outage.
      let timer: NodeJS.Timeout | undefined;
      const budget = new Promise<undefined>((resolve) => {
        timer = setTimeout(resolve, REVERIFY_BUDGET_MS, undefined);
      });
      try {
        return (await Promise.race([check, budget])) ?? known.cluster;
      } catch (e) {
        if (e instanceof KubecredError && e.code === 'UNAVAILABLE') return known.cluster;
        throw e;
      } finally {
        clearTimeout(timer);
      }
    },

    /** TokenReview: the user behind a token kubeconfig of this cluster, or null (revoked, expired, unknown). */
    async reviewToken(cluster: Cluster, token: string): Promise<TokenUser | null> {
      const parts = token.split('.');
      if (parts.length !== 3 || parts[0] !== TOKEN_KUBECONFIG_PREFIX || !/^crd_[a-z0-9]{26}$/.test(parts[1]) || token.length > 200) return null;
      const cred = await store.credentials.getAnyAccount(parts[1]);
      // Compare even for an unknown ID, so timing does not tell which IDs exist.
      const ok = secretsEqual(sha256Hex(Buffer.from(token)), cred?.fingerprintSha256 ?? '0'.repeat(64));
      if (!cred || !ok || cred.type !== 'token' || cred.clusterId !== cluster.id) return null;
      if (cred.state !== 'active' || cred.notAfter.getTime() <= clock.now().getTime()) return null;
      return { username: cred.commonName, uid: cred.principalId, groups: cred.groups, credentialId: `KUBECRED=${cred.id}` };
    },

    /** Deny or no opinion; never allow, so RBAC keeps deciding what a valid credential may do. */
    decide(cluster: Cluster, q: AccessQuestion): Verdict {
      const ids = q.extra[CREDENTIAL_ID_KEY];
      if (ids && ids.length > 0) {
        // Any X509SHA256 ID kubecred denies denies; other IDs (a token, a credential kubecred did not issue): no opinion.
        for (const v of ids) {
          if (!v.startsWith(X509_PREFIX)) continue;
          const verdict = index.byFingerprint(cluster.id, v.slice(X509_PREFIX.length).toLowerCase());
          if (verdict.deny) return verdict;
        }
        return NO_OPINION;
      }
      return index.byPrincipal(cluster.id, q.user);
    },
  };
}

export type WebhookService = ReturnType<typeof makeWebhookService>;
