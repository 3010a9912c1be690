// The composition root of core: wires the services together from their ports.
// API surfaces and the CLI receive an Authority; nothing else constructs services.

import { makeAuditService, makeAuditWriter } from './audit.ts';
import { makeAuthenticator } from './authenticator.ts';
import { makeAuthorizer } from './authorizer.ts';
import { makeClusterService } from './cluster-service.ts';
import { makeCredentialIssuer } from './credential-issuer.ts';
import { makeCredentialService } from './credential-service.ts';
import { makeKubeconfigSummary } from './kubeconfig-summary.ts';
import { makePolicyService } from './policy-service.ts';
import { makePrincipalService } from './principal-service.ts';
import { makePrincipalAccess } from './principal-access.ts';
import { makeProjectService } from './project-service.ts';
import type { Clock, Ids, Sealer } from './ports.ts';
import type { IndexedCredential, Store } from './store-port.ts';
import { publishCredentialChanges } from './credential-events.ts';
import { makeRevocationIndex } from './revocation-index.ts';
import { makeWebhookService } from './webhook-service.ts';
import { makeCrlService } from './crl-service.ts';
import { makeConsoleSessions } from './console-sessions.ts';
import { startIndexSync, type IndexSync, type IndexSyncOptions } from './index-sync.ts';
import { makeRetention, type RetentionDays } from './retention.ts';

export interface AuthorityDeps {
  store: Store;
  clock: Clock;
  ids: Ids;
  sealer: Sealer;
  /** How long an unused console session lasts (serve's --console-idle-minutes); 30 minutes when absent. */
  consoleIdleMs?: number;
  /** What serve's --audit-retention-days and --credential-retention-days keep; absent: everything, forever. */
  retention?: RetentionDays;
}

/**
 * How long past its notAfter a credential stays in the revocation index: kube-apiserver refuses an expired certificate
 * itself, and this covers a clock of its that lags kubecred's.
 */
const INDEX_EXPIRY_MARGIN_MS = 3_600_000;

/**
 * How long past the end of its request's acceptable window a used nonce (or CCE signature) is kept. Replicas decide
 * the window by their own clocks, up to 30 s apart before one stops being ready: a replica whose clock is ahead must
 * not forget a nonce that one behind it still accepts the request for.
 */
const NONCE_KEPT_PAST_WINDOW_MS = 120_000;

export function makeAuthority(baseDeps: AuthorityDeps) {
  const index = makeRevocationIndex(baseDeps.clock);
  // Every committed credential change, whichever service (or, through the change feed, replica) made it, reaches the
  // revocation index and the CRLs built from the same rows.
  const changed = (cs: IndexedCredential[]) => {
    index.apply(cs);
    crl.forget(cs);
  };
  const deps = { ...baseDeps, store: publishCredentialChanges(baseDeps.store, changed) };
  const audit = makeAuditWriter(deps);
  const authorizer = makeAuthorizer({ store: deps.store, audit, clock: deps.clock });
  const issuer = makeCredentialIssuer({ ...deps, audit });
  const crl = makeCrlService({ ...deps, issuer });
  return {
    store: deps.store,
    clock: deps.clock,
    authenticator: makeAuthenticator(deps),
    authorizer,
    credentials: makeCredentialService({ ...deps, authorizer, issuer, audit }),
    kubeconfigSummary: makeKubeconfigSummary({ ...deps, authorizer }),
    clusters: makeClusterService({ ...deps, authorizer, audit, issuer }),
    principals: makePrincipalService({ ...deps, authorizer, audit }),
    access: makePrincipalAccess({ ...deps, authorizer, audit }),
    policies: makePolicyService({ ...deps, authorizer, audit }),
    audit: makeAuditService({ store: deps.store, authorizer }),
    projects: makeProjectService({ ...deps, authorizer, audit }),
    auditWriter: audit,
    index,
    webhooks: makeWebhookService({ ...deps, index, authorizer, audit }),
    crl,
    consoleSessions: makeConsoleSessions({ ...deps, audit }, { idleMs: baseDeps.consoleIdleMs }),
    /**
     * Loads the revocation index with every unexpired credential, whatever its state (store.credentials.scanUnexpired:
     * expired ones can never reach the webhook); call once before serving the webhooks.
     */
    loadIndex: () => index.load(baseDeps.store),
    /**
     * Marks a signed request's one-time value (its nonce, or a CCE signature) used, until its window ends (and a
     * margin for replicas' clocks); false when it already was. In the store, so a restart does not reopen the window.
     */
    claimOnce: (key: string, windowEnd: Date): Promise<boolean> =>
      baseDeps.store.nonces.claim(key, new Date(windowEnd.getTime() + NONCE_KEPT_PAST_WINDOW_MS), baseDeps.clock.now()),
    /**
     * Drops what has expired: replay nonces (one per signed vendor request), console sessions, and the revocation
     * index's long-expired entries. Run now and then (serve does, every 10 minutes); nothing else removes them.
     */
    sweepExpired: async (): Promise<{ nonces: number; consoleSessions: number; indexEntries: number }> => {
      const now = baseDeps.clock.now();
      const nonces = await baseDeps.store.nonces.prune(now);
      const consoleSessions = await baseDeps.store.consoleSessions.prune(now);
      return { nonces, consoleSessions, indexEntries: index.compact(new Date(now.getTime() - INDEX_EXPIRY_MARGIN_MS)) };
    },
    /** Deletes audit events and ended credentials past their retention, if the operator set one (serve runs it every 10 minutes). */
    retention: makeRetention({ store: baseDeps.store, clock: baseDeps.clock, audit }, baseDeps.retention ?? { auditDays: null, credentialDays: null }),
    /** When other servers share the database: follows their credential changes from `loadedAt` on (call after loadIndex). */
    followOtherServers: async (loadedAt: Date, on: Pick<IndexSyncOptions, 'onError' | 'onHealthChange'> = {}): Promise<IndexSync | null> => {
      const feed = baseDeps.store.changeFeed;
      return feed ? startIndexSync({ feed, store: baseDeps.store, index: { apply: changed }, clock: baseDeps.clock, ...on }, loadedAt) : null;
    },
  };
}

export type Authority = ReturnType<typeof makeAuthority>;
