// The Store port: everything core asks of a database, in core's own terms.
// Backends (SQLite, later PostgreSQL) implement it and pass the same contract tests.

import type {
  AccessKey, Account, ApiToken, AuditEvent, AuditOutcome, Cluster, Credential, CredentialKind,
  CredentialState, Page, Principal, StoredPolicy, ValidityOverride,
} from './model.ts';

/** A vendor's name for an account, e.g. a Huawei Cloud project ID, with its region. */
export interface VendorProject { vendor: string; projectId: string; accountId: string; region: string; createdAt: Date }

/** A web console sign-in: the cookie carries `id` and a secret (stored hashed); it acts as the API token it was opened with. */
export interface ConsoleSession {
  id: string; secretHash: string; accountId: string; principalId: string; tokenId: string; csrfHash: string;
  createdAt: Date; expiresAt: Date; revokedAt: Date | null;
  /** When it was last used, to the minute or so (core refreshes it at most once a minute): the idle limit counts from here. */
  lastUsedAt: Date;
}

export interface WebhookToken { id: string; clusterId: string; secretHash: string; createdAt: Date; revokedAt: Date | null }

/** The few fields enforcement needs about a credential. */
export interface IndexedCredential { id: string; clusterId: string; principalId: string; fingerprintSha256: string; state: CredentialState; notAfter: Date }

/**
 * One credential as `credentials.scanUnexpired` reads it for the revocation index's load: the same fields as
 * IndexedCredential, as a tuple with the end in epoch milliseconds. ~90,000 of them at every start of a large
 * store: an object and a Date each cost ~200 ms of the start (building them, then collecting them).
 */
export type IndexedRow = [id: string, clusterId: string, principalId: string, fingerprintSha256: string, state: CredentialState, notAfterMs: number];

/** Where a page of `credentials.scanUnexpired` resumes: the last row of the page before. */
export type UnexpiredCursor = Pick<IndexedCredential, 'notAfter' | 'id'>;

export const cursorOfRow = (r: IndexedRow): UnexpiredCursor => ({ notAfter: new Date(r[5]), id: r[0] });

/** The three kinds of secrets sealed in rows: a cluster's client CA key, a default kubeconfig's key (or token), an access key secret. */
export type SealedKind = 'cluster-ca-key' | 'credential-key' | 'access-key-secret';
export const SEALED_KINDS: readonly SealedKind[] = ['cluster-ca-key', 'credential-key', 'access-key-secret'];
export interface SealedValue { id: string; sealed: string }

export interface PageRequest {
  limit: number;
  cursor?: string | null;
}

export interface CredentialFilter {
  accountId: string;
  clusterId?: string;
  principalId?: string;
  /** Issued by this principal, for itself or for others. */
  issuedBy?: string;
  kind?: CredentialKind;
  /** `expired` is derived: active with notAfter <= now. */
  status?: CredentialState | 'expired';
  now: Date;
}

/**
 * One (principal, kind, state) group of a cluster's credentials, counted by the store: how many, how many of them end
 * after the `now` asked about (for active and superseded ones: still usable), the soonest of those ends, and the last end.
 */
export interface CredentialTally {
  principalId: string; kind: CredentialKind; state: CredentialState;
  count: number; unexpired: number; nextExpiry: Date | null; lastExpiry: Date;
}

/** A cluster's active, unexpired credentials of one kind, counted by how many end before each of the bounds asked about. */
export interface ExpiryTally { kind: CredentialKind; total: number; endingBefore: number[] }

export interface AuditFilter {
  accountId: string;
  /** Any of these actions. */
  actions?: string[];
  actorId?: string;
  resourceId?: string;
  outcome?: AuditOutcome;
  since?: Date;
  until?: Date;
}

/** What one pruning batch deleted in one account. */
export interface PrunedCount { accountId: string; count: number }

export interface RevokeWhere {
  clusterId?: string;
  principalId?: string;
  /** One credential (of that cluster and principal, when they are given too). */
  credentialId?: string;
  states: CredentialState[];
}

export interface Repos {
  accounts: {
    insert(a: Account): Promise<void>;
    get(id: string): Promise<Account | undefined>;
    /** For refusing a second account of the same name. */
    findByName(name: string): Promise<Account | undefined>;
    count(): Promise<number>;
    /** Every account's ID (there are few: tenants), for server-wide events each account's audit trail records. */
    ids(): Promise<string[]>;
  };
  principals: {
    insert(p: Principal): Promise<void>;
    get(accountId: string, id: string): Promise<Principal | undefined>;
    /**
     * By ID within the account, deleted or not: what a deleted principal held stays in the inventory, and stays
     * revocable by its ID (CCE's clustercertrevoke takes the IDs of deleted users and agencies).
     */
    getIncludingDeleted(accountId: string, id: string): Promise<Principal | undefined>;
    findByName(accountId: string, name: string): Promise<Principal | undefined>;
    /** These principals of the account, deleted or not, in no particular order (unknown IDs are left out): a cluster's holders. */
    manyIncludingDeleted(accountId: string, ids: string[]): Promise<Principal[]>;
    list(accountId: string, page: PageRequest): Promise<Page<Principal>>;
    updateGroups(accountId: string, id: string, groups: string[]): Promise<void>;
    /**
     * False when it was already deleted (or is unknown). Inside a transaction, do it before acting on what the
     * principal holds: it waits for the transactions holding the row (`holdLive`), and later ones wait for it.
     */
    markDeleted(accountId: string, id: string, at: Date): Promise<boolean>;
    /**
     * Inside a transaction: holds the principal's row until it ends, so transactions that decide on the same
     * principal's rows (the root's last usable token) run one after another, also on PostgreSQL's READ COMMITTED.
     */
    lock(accountId: string, id: string): Promise<void>;
    /**
     * Inside a transaction: a shared hold on the principal's row until it ends, and whether it is live. Issuances
     * share it; a deletion waits for them, and one asked meanwhile waits for the deletion and answers false. So a
     * credential is either revoked by the deletion or never made.
     */
    holdLive(accountId: string, id: string): Promise<boolean>;
  };
  tokens: {
    insert(t: ApiToken): Promise<void>;
    get(id: string): Promise<ApiToken | undefined>;
    /** A principal's tokens, revoked and expired ones too, by ID. */
    listForPrincipal(principalId: string, page: PageRequest): Promise<Page<ApiToken>>;
    /** Marks one token revoked; false when it was already revoked (or is not the principal's). */
    revoke(principalId: string, id: string, at: Date): Promise<boolean>;
    /** Marks every usable token of the principal revoked; the IDs it revoked, in ID order. */
    revokeForPrincipal(principalId: string, at: Date): Promise<string[]>;
  };
  accessKeys: {
    insert(k: AccessKey): Promise<void>;
    get(id: string): Promise<AccessKey | undefined>;
    /** A principal's access keys, revoked ones too, by ID. */
    listForPrincipal(principalId: string, page: PageRequest): Promise<Page<AccessKey>>;
    /** Marks one access key revoked; false when it was already revoked (or is not the principal's). */
    revoke(principalId: string, id: string, at: Date): Promise<boolean>;
    /** As `tokens.revokeForPrincipal`. */
    revokeForPrincipal(principalId: string, at: Date): Promise<string[]>;
  };
  clusters: {
    insert(c: Cluster): Promise<void>;
    get(accountId: string, id: string): Promise<Cluster | undefined>;
    findByName(accountId: string, name: string): Promise<Cluster | undefined>;
    /**
     * By ID. With `keep`, a page of the clusters it accepts (the caller's permissions), read on until the page is full
     * or the clusters run out; `next` names the last one returned, never one left out.
     */
    list(accountId: string, page: PageRequest, keep?: (c: Cluster) => boolean | Promise<boolean>): Promise<Page<Cluster>>;
    /** As `principals.markDeleted`. */
    markDeleted(accountId: string, id: string, at: Date): Promise<boolean>;
    /** As `principals.holdLive`, for the cluster's row: issuing on a cluster while it is deleted. */
    holdLive(accountId: string, id: string): Promise<boolean>;
    /**
     * By ID across accounts, deleted or not: for callers that are clusters, not principals (the webhooks, the CRL).
     * A deleted cluster's API server may still trust its client CA: its revoked credentials must stay denied.
     */
    getAnyAccount(id: string): Promise<Cluster | undefined>;
  };
  credentials: {
    /** By ID across accounts: for the TokenReview webhook, whose caller is a cluster. */
    getAnyAccount(id: string): Promise<Credential | undefined>;
    /** Every credential's index fields, in ID order, a page at a time. */
    scan(afterId: string | null, limit: number): Promise<IndexedCredential[]>;
    /**
     * Index fields of every credential whose notAfter is later than `now`, whatever its state, in (notAfter, ID)
     * order, a page at a time: for loading the revocation index at start. `after` is the last row of the previous
     * page (null for the first); pass the same `now` for every page. The order is stable under concurrent writes
     * (a credential's notAfter never changes), so paging never skips a credential that existed when the first
     * page was read. Backed by a covering index (migration 008): the expired majority of a large store is never read.
     */
    scanUnexpired(now: Date, after: UnexpiredCursor | null, limit: number): Promise<IndexedRow[]>;
    /** Index fields of credentials issued, revoked or superseded at or after `since`: a replica catching up. */
    changedSince(since: Date): Promise<IndexedCredential[]>;
    /** Revoked and superseded credentials of a cluster, for its CRL. */
    /** A cluster's revoked and superseded credentials that had not expired at `unexpiredAt`, by ID (for its CRL). */
    listRevoked(clusterId: string, unexpiredAt: Date): Promise<Credential[]>;
    insert(c: Credential): Promise<void>;
    get(accountId: string, id: string): Promise<Credential | undefined>;
    currentDefault(clusterId: string, principalId: string): Promise<Credential | undefined>;
    list(filter: CredentialFilter, page: PageRequest): Promise<Page<Credential>>;
    /**
     * A cluster's credentials grouped by (principal, kind, state), counted with GROUP BY: however many there are. By
     * cluster alone (IDs are unique across accounts; the caller found the cluster in its account), so that the
     * count reads the covering index credentials_by_holder only: ~50 ms for a cluster of 100,000, not ~600. With a
     * principal, only that holder's groups (a range of the same index).
     */
    tally(clusterId: string, now: Date, principalId?: string): Promise<CredentialTally[]>;
    /** A cluster's active credentials ending after `now`, per kind, with how many end before each of `bounds` (ascending). */
    tallyExpiry(clusterId: string, now: Date, bounds: Date[]): Promise<ExpiryTally[]>;
    /** A cluster's active credentials ending after `now`, soonest first: the next `limit` to expire. */
    nextToExpire(accountId: string, clusterId: string, now: Date, limit: number): Promise<Credential[]>;
    clearCurrent(id: string): Promise<void>;
    /** Marks matching credentials revoked and not current; returns the ones it changed. */
    revoke(where: RevokeWhere, by: string, reason: string, at: Date): Promise<Credential[]>;
    /** Marks the (cluster, principal)'s active defaults superseded and not current. */
    supersedeDefaults(clusterId: string, principalId: string, at: Date): Promise<Credential[]>;
    /**
     * Deletes up to `limit` credentials that ended before `endedBefore`, oldest end first, never a current default
     * (its holder's next fetch must find it); how many it deleted, per account. A range of credentials_unexpired.
     */
    prune(endedBefore: Date, limit: number): Promise<PrunedCount[]>;
  };
  validity: {
    get(clusterId: string, principalId: string): Promise<ValidityOverride | undefined>;
    put(v: ValidityOverride): Promise<void>;
    delete(clusterId: string, principalId: string): Promise<boolean>;
    /** Every custom validity of the principal, on any cluster (its deletion); how many went. */
    deleteForPrincipal(principalId: string): Promise<number>;
  };
  policies: {
    insert(p: StoredPolicy): Promise<void>;
    get(accountId: string, id: string): Promise<StoredPolicy | undefined>;
    findByName(accountId: string, name: string): Promise<StoredPolicy | undefined>;
    list(accountId: string, page: PageRequest): Promise<Page<StoredPolicy>>;
    attach(policyId: string, principalId: string, at: Date): Promise<boolean>;
    detach(policyId: string, principalId: string): Promise<boolean>;
    forPrincipal(principalId: string): Promise<StoredPolicy[]>;
    /**
     * Inside a transaction, for an authorization decision: the policies attached to the principal while it is live
     * (none once it is deleted), each attachment, policy and the principal's row held shared until the transaction
     * ends. A detach, a policy's update or deletion, or the principal's deletion then waits for the transaction, and
     * one committed before is seen (PostgreSQL: FOR SHARE; SQLite's one writer serialises).
     */
    holdForPrincipal(principalId: string): Promise<StoredPolicy[]>;
    /** Living principals the policy is attached to, by ID (deleted principals' attachments do not count). */
    holders(policyId: string, limit: number): Promise<string[]>;
    /**
     * Holds the policy's row for the transaction: shared for an attachment, exclusive for a change or a deletion, so
     * an attachment never lands on a policy being deleted (PostgreSQL row locks; SQLite's one writer serialises).
     * False when the policy is gone.
     */
    hold(accountId: string, id: string, mode: 'share' | 'exclusive'): Promise<boolean>;
    /** Replaces the description and document; false when the policy is gone. */
    update(accountId: string, id: string, fields: { description: string; document: string }): Promise<boolean>;
    /** Deletes the policy and every attachment of it (deleted principals' too); false when it was gone. */
    delete(accountId: string, id: string): Promise<boolean>;
  };
  webhookTokens: {
    insert(t: WebhookToken): Promise<void>;
    get(id: string): Promise<WebhookToken | undefined>;
    /** A cluster's webhook tokens, revoked ones too, by ID. */
    listForCluster(clusterId: string, page: PageRequest): Promise<Page<WebhookToken>>;
    /** Marks one token revoked; false when it was already revoked (or is not the cluster's). */
    revoke(clusterId: string, id: string, at: Date): Promise<boolean>;
  };
  /** Server-wide facts kept in the database (the master-key check, the first-start claim). */
  settings: {
    get(name: string): Promise<string | undefined>;
    /** Stores `value` unless `name` is already set; false when it was (another replica got there first). */
    claim(name: string, value: string, at: Date): Promise<boolean>;
    /** Sets `name` to `to` if it still holds `from`; false when it changed meanwhile. */
    replace(name: string, from: string, to: string, at: Date): Promise<boolean>;
  };
  /** Every secret kept sealed under the master key, by kind, for a key rotation to count and re-seal. */
  sealedValues: {
    /** Up to `limit` values of one kind with IDs after `afterId`, in ID order (deleted clusters' and revoked rows too). */
    page(kind: SealedKind, afterId: string | null, limit: number): Promise<SealedValue[]>;
    /** Replaces one sealed value if it is still `from`; false when it changed meanwhile or its row is gone. */
    replace(kind: SealedKind, id: string, from: string, to: string): Promise<boolean>;
  };
  consoleSessions: {
    insert(s: ConsoleSession): Promise<void>;
    get(id: string): Promise<ConsoleSession | undefined>;
    revoke(id: string, at: Date): Promise<boolean>;
    /** Moves lastUsedAt forward to `at` (never back: another replica may have moved it further). */
    touch(id: string, at: Date): Promise<void>;
    /** Forgets sessions that expired before `now`; returns how many. */
    prune(now: Date): Promise<number>;
  };
  nonces: {
    /** Records a signature nonce until `expiresAt`; false when it was already seen (a replay). Survives restarts. */
    claim(key: string, expiresAt: Date, now: Date): Promise<boolean>;
    /** Forgets nonces whose window has passed; returns how many. */
    prune(now: Date): Promise<number>;
  };
  vendorProjects: {
    /** A CONFLICT when the account already maps the project ID; another account's mapping of it is no obstacle. */
    put(p: VendorProject): Promise<void>;
    /** The account's mapping of the project ID: a project ID names a project only together with an account. */
    get(vendor: string, accountId: string, projectId: string): Promise<VendorProject | undefined>;
    listForAccount(accountId: string): Promise<VendorProject[]>;
    /** Removes the account's mapping of the project; false when the account had none. */
    delete(accountId: string, vendor: string, projectId: string): Promise<boolean>;
  };
  audit: {
    append(e: Omit<AuditEvent, 'seq'>): Promise<void>;
    /**
     * Newest first. A filtered listing examines at most `scanLimit` of the account's events per page (there is no
     * index on the filtered columns): when it stops there before the page is full, the page is short (even empty)
     * and `next` resumes where the examination stopped.
     */
    list(filter: AuditFilter, page: PageRequest, scanLimit?: number): Promise<Page<AuditEvent>>;
    /**
     * Deletes those of the `limit` oldest events (by seq, every account's) recorded before `before`; how many it
     * deleted, per account. Reads the primary key from its start only: no index on `at` is needed.
     */
    prune(before: Date, limit: number): Promise<PrunedCount[]>;
  };
}

/** Committed credential changes made by any server on the same database (PostgreSQL replicas). */
export interface CredentialChangeFeed {
  /** Starts listening; `onChange` gets each committed change, `onReconnect` fires after a gap in which changes may have been missed. */
  start(onChange: (changed: IndexedCredential[]) => void, onReconnect: () => void): Promise<void>;
  /** False while the feed is disconnected (the server then may miss other replicas' revocations). */
  connected(): boolean;
  /**
   * How far the database's clock is ahead of this server's (negative: behind), as last measured; null before the
   * first measure. Other servers stamp their changes with their own clocks, so catching up from the table by time
   * holds only while every server's clock is near the database's.
   */
  clockSkewMs?(): number | null;
  stop(): Promise<void>;
}

/** Counters of the work an embedded store does itself, since it was opened (for metrics and tests). */
export interface StoreStats {
  /** COMMITs made, and the transactions they carried (a group commit shares one COMMIT among several). */
  commits: number;
  transactions: number;
  largestGroup: number;
  /** Syncs of the write-ahead log to disk that completed, and the seconds from each start to its completion being handled, in all. */
  syncs: number;
  syncSeconds: number;
  /** Background checkpoints run, write-ahead-log restarts made, and the last checkpoint error. */
  checkpoints: number;
  walRestarts: number;
  checkpointError: string | null;
  /** Token, principal and cluster reads answered from memory, and those that went to the database. */
  rowCacheHits: number;
  rowCacheMisses: number;
  /** Storage failures answered as UNAVAILABLE, by reason (disk_full, io_error, read_only, wal_sync). */
  writeFailures?: Readonly<Record<string, number>>;
}

export interface Store extends Repos {
  /**
   * Runs `fn` as one transaction: all of its writes land, or none do. `fn` may be run more than once (PostgreSQL runs
   * again a transaction it aborted to break a deadlock, whose writes were all undone), so it must change nothing
   * outside `tx` (counters, caches, events to publish) before it has returned: return what to do after the commit.
   */
  transaction<T>(fn: (tx: Repos) => Promise<T>): Promise<T>;
  /** Cheap round trip for /readyz. */
  ping(): Promise<void>;
  /**
   * The database's clock, one for every server sharing it (PostgreSQL), for what must increase whichever replica
   * makes it (a CRL's number). Absent for an embedded store, whose one server's clock is the only one.
   */
  sharedClockMs?(): Promise<number>;
  /**
   * Set once the store can never work again in this process (SQLite: a failed sync of its write-ahead log, after
   * which no write may be called durable): /healthz fails, so that a supervisor restarts the server.
   */
  fatal?(): Error | null;
  close(): Promise<void>;
  readonly dialect: 'sqlite' | 'postgres';
  /** Which schema migrations this database carries, and which were applied when it was opened. */
  readonly migrations: { applied: string[]; current: string[] };
  /** Present when other servers may write to the same database. */
  readonly changeFeed?: CredentialChangeFeed;
  /** Present where the store commits and syncs itself (embedded SQLite); a database server keeps its own statistics. */
  stats?(): StoreStats;
  /** A database server's failures answered as UNAVAILABLE, by reason, since the store was opened (PostgreSQL). */
  failures?(): Readonly<Record<string, number>>;
  /** Transactions run again after the database aborted them, by reason (deadlock, serialization_failure), since the store was opened (PostgreSQL). */
  transactionRetries?(): Readonly<Record<string, number>>;
  /**
   * Present where a rewritten value's old bytes stay in the store's own files (embedded SQLite: its free pages and
   * write-ahead log), and so in every later backup: rewrites the database with only its live rows and empties the
   * write-ahead log. After a master-key rotation, so that the retired key opens nothing in the file. Copies the whole
   * database, so slow on a big one; `'in-use'` (nothing done) when another process holds the database.
   */
  dropOldPages?(): Promise<'done' | 'in-use'>;
}
