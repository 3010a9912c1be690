// `kubecred restore`'s carry: the credentials the database being replaced holds and the backup does not (issued after
// it) are written into the restored copy as revoked, so the webhook, the CRL and the inventory still know them; and
// the revocations and deletions it made since of the backup's own rows are re-applied (restore-reapply.ts).
// Never writes to the database being replaced (it is kept aside as it was), and never carries anything live but webhook tokens.

import BetterSqlite3 from 'better-sqlite3';
import { IDS_PER_EVENT, restoreEventWriter } from './restore-audit.ts';
import { reapplyRemovals, recordReapplied, tableExists, type Reapplied } from './restore-reapply.ts';
import { stillUndone, type UndoneChange, type UndoneRecord } from './restore-undone.ts';

/** What a restore carried from the replaced database into the restored one. */
export interface Carried {
  /** Every credential carried, in ID order: all revoked now (those already revoked keep their revocation). */
  credentials: Array<{ id: string; accountId: string; clusterId: string; principalId: string; kind: string; notAfter: string; revokedByRestore: boolean }>;
  /** Per cluster: how many, and whether the cluster itself was carried (created after the backup: carried deleted). */
  byCluster: Array<{ clusterId: string; name: string; credentials: number; clusterCarriedDeleted: boolean }>;
  /** Principals created after the backup that carried credentials name: carried deleted. */
  principals: string[];
  /** Clusters created after the backup that carried credentials name: carried deleted, with their sealed client CA. */
  clusters: string[];
  /** Accounts created after the backup that carried rows belong to (their name suffixed with the ID if another account has it). */
  accounts: string[];
  /** Webhook tokens made after the backup for a cluster the restored database has: carried as they were. */
  webhookTokens: string[];
  /** Carried clusters whose sealed client CA key none of this data directory's master keys opens (their CRL cannot be signed). */
  caKeysNotOpening: string[];
}

export interface CarryOptions {
  eventId: () => string;
  /** Whether the master keys at hand open a cluster's sealed client CA key. */
  caKeyOpens: (clusterId: string, sealed: string) => boolean;
}

export const CARRIED_REASON = 'issued after the backup that was restored; revoked by kubecred restore';

/** What the carry wrote into the restored copy, and what of the undone changes it could not re-apply. */
export interface CarryResult { carried: Carried; reapplied: Reapplied; undone: UndoneChange[] | null }

type Row = Record<string, unknown>;

/**
 * Carries into `restored` (a copy of the backup not yet in place) what `replaced` holds and it lacks, and re-applies
 * the revocations and deletions `replaced` made of rows both hold, in one transaction: a crash leaves the copy without
 * any of it, and the copy only goes into place after this returned. Parent rows missing from the backup are carried
 * as deleted, so nothing carried gives access (but a webhook token, so the API server configured after the backup can
 * still ask, and be told these credentials are revoked). `undone` (the changes `replaced` recorded after the backup)
 * comes back without those the copy now shows. `replaced` is opened read-only, with its write-ahead log (the latest
 * changes may be only there).
 */
export function carryIssuedAfterBackup(restored: string, replaced: string, now: Date, opts: CarryOptions, undone: UndoneRecord[] | null): CarryResult {
  const from = new BetterSqlite3(replaced, { readonly: true, fileMustExist: true });
  try {
    const into = new BetterSqlite3(restored, { fileMustExist: true });
    try {
      // A commit is synced before it returns: the copy is renamed into place right after.
      into.pragma('synchronous = FULL');
      into.pragma('foreign_keys = ON');
      return into.transaction(() => {
        // First, while the copy holds the backup's rows only: a carried row is the replaced one as it is already.
        const reapplied = reapplyRemovals(from, into);
        const carried = carry(from, into, now.getTime(), opts);
        recordReapplied(into, reapplied, now.getTime(), opts.eventId);
        return { carried, reapplied, undone: undone && stillUndone(into, undone) };
      })();
    } finally {
      into.close();
    }
  } finally {
    from.close();
  }
}

export const NOTHING_CARRIED: Readonly<Carried> = Object.freeze({ credentials: [], byCluster: [], principals: [], clusters: [], accounts: [], webhookTokens: [], caKeysNotOpening: [] });

function carry(from: BetterSqlite3.Database, into: BetterSqlite3.Database, now: number, opts: CarryOptions): Carried {
  const out: Carried = { credentials: [], byCluster: [], principals: [], clusters: [], accounts: [], webhookTokens: [], caKeysNotOpening: [] };
  const has = byId(into, (table) => `select 1 from "${table}" where "id" = ?`);
  const readRow = byId(from, (table) => `select * from "${table}" where "id" = ?`);
  const copy = copier(from, into);
  const missing: string[] = [];
  // IDs only (an index read), then whole rows of those missing: the replaced database may hold a million.
  for (const id of from.prepare('select id from credentials order by id').pluck().iterate() as Iterable<string>) {
    if (!has('credentials', id)) missing.push(id);
  }

  const ensureAccount = (id: string) => {
    if (has('accounts', id)) return;
    const a = readRow('accounts', id) as Row;
    const taken = into.prepare('select 1 from accounts where name = ?').pluck().get(a.name) !== undefined;
    copy('accounts', a, taken ? { name: `${String(a.name)}-${id}` } : {});
    out.accounts.push(id);
  };
  const ensure = (table: 'principals' | 'clusters', id: string, list: string[]) => {
    if (has(table, id)) return;
    const r = readRow(table, id) as Row;
    ensureAccount(String(r.account_id));
    copy(table, r, { deleted_at: r.deleted_at ?? now });
    list.push(id);
    if (table === 'clusters' && !opts.caKeyOpens(id, String(r.client_ca_key_sealed))) out.caKeysNotOpening.push(id);
  };

  for (const id of missing) {
    const c = readRow('credentials', id) as Row;
    ensureAccount(String(c.account_id));
    ensure('principals', String(c.principal_id), out.principals);
    ensure('clusters', String(c.cluster_id), out.clusters);
    const alreadyRevoked = c.state === 'revoked';
    // As a cluster's deletion does: active and superseded become revoked. Private keys are not carried: nobody
    // fetches a revoked kubeconfig again, and a key sealed under a later master key would not open here.
    copy('credentials', c, {
      state: 'revoked', is_current: 0, key_sealed: null,
      ...(alreadyRevoked ? {} : { revoked_at: now, revoked_by: null, revoke_reason: CARRIED_REASON }),
    });
    out.credentials.push({
      id, accountId: String(c.account_id), clusterId: String(c.cluster_id), principalId: String(c.principal_id), kind: String(c.kind),
      notAfter: new Date(Number(c.not_after)).toISOString(), revokedByRestore: !alreadyRevoked,
    });
  }

  const tokenCluster = new Map<string, string>();
  if (tableExists(from, 'webhook_tokens') && tableExists(into, 'webhook_tokens')) {
    for (const t of from.prepare('select * from webhook_tokens order by id').iterate() as Iterable<Row>) {
      if (has('webhook_tokens', String(t.id)) || !has('clusters', String(t.cluster_id))) continue;
      copy('webhook_tokens', t, {});
      out.webhookTokens.push(String(t.id));
      tokenCluster.set(String(t.id), String(t.cluster_id));
    }
  }

  const counts = new Map<string, number>();
  for (const c of out.credentials) counts.set(c.clusterId, (counts.get(c.clusterId) ?? 0) + 1);
  const clusterName = into.prepare('select name from clusters where id = ?').pluck();
  out.byCluster = [...counts].map(([clusterId, n]) => ({ clusterId, name: String(clusterName.get(clusterId)), credentials: n, clusterCarriedDeleted: out.clusters.includes(clusterId) }));
  recordPerAccount(into, out, tokenCluster, now, opts.eventId);
  return out;
}

/** A lookup by ID in any table, its statements prepared once per table. */
function byId(db: BetterSqlite3.Database, query: (table: string) => string): (table: string, id: string) => unknown {
  const prepared = new Map<string, BetterSqlite3.Statement>();
  return (table, id) => {
    let s = prepared.get(table);
    if (!s) prepared.set(table, (s = db.prepare(query(table))));
    return s.get(id);
  };
}

/** One CarryCredentials event per account that received anything (more when it received over IDS_PER_EVENT credentials). */
function recordPerAccount(into: BetterSqlite3.Database, out: Carried, tokenCluster: Map<string, string>, now: number, eventId: () => string): void {
  const accountOf = (table: string) => into.prepare(`select account_id from "${table}" where id = ?`).pluck();
  const principalAccount = accountOf('principals');
  const clusterAccount = accountOf('clusters');
  const tokenAccount = (t: string) => clusterAccount.get(tokenCluster.get(t)) as string;
  const accounts = new Set([...out.credentials.map((c) => c.accountId), ...out.accounts, ...out.webhookTokens.map(tokenAccount)]);
  const write = restoreEventWriter(into, now, eventId);
  for (const accountId of accounts) {
    const mine = out.credentials.filter((c) => c.accountId === accountId);
    const detail = {
      via: 'kubecred restore, on the server',
      reason: 'issued after the backup that was restored: carried from the replaced database so that they stay refused',
      carried: mine.length,
      revoked: mine.filter((c) => c.revokedByRestore).length,
      byCluster: Object.fromEntries(out.byCluster.filter((b) => mine.some((c) => c.clusterId === b.clusterId)).map((b) => [b.clusterId, b.credentials])),
      principalsCarriedDeleted: out.principals.filter((p) => principalAccount.get(p) === accountId),
      clustersCarriedDeleted: out.clusters.filter((c) => clusterAccount.get(c) === accountId),
      webhookTokens: out.webhookTokens.filter((t) => tokenAccount(t) === accountId),
    };
    const parts = Math.max(1, Math.ceil(mine.length / IDS_PER_EVENT));
    for (let p = 0; p < parts; p++) {
      const credentialIds = mine.slice(p * IDS_PER_EVENT, (p + 1) * IDS_PER_EVENT).map((c) => c.id);
      write(accountId, 'CarryCredentials', { ...detail, credentialIds, ...(parts > 1 ? { part: p + 1, parts } : {}) });
    }
  }
}

/**
 * Copies a row into the same table of `into`, in the columns both databases have: a backup from before a migration
 * lacks the columns it added, which it gets, with their defaults, when the server next starts and migrates it.
 */
function copier(from: BetterSqlite3.Database, into: BetterSqlite3.Database) {
  const statements = new Map<string, { columns: string[]; insert: BetterSqlite3.Statement }>();
  return (table: string, row: Row, overrides: Row) => {
    let s = statements.get(table);
    if (!s) {
      const mine = new Set(columnsOf(from, table));
      const columns = columnsOf(into, table).filter((c) => mine.has(c));
      s = { columns, insert: into.prepare(`insert into "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) values (${columns.map(() => '?').join(', ')})`) };
      statements.set(table, s);
    }
    s.insert.run(...s.columns.map((c) => (c in overrides ? overrides[c] : row[c])));
  };
}

const columnsOf = (db: BetterSqlite3.Database, table: string): string[] =>
  (db.prepare(`select name from pragma_table_info(?)`).pluck().all(table) as string[]);

