// `kubecred restore`'s re-application: what the replaced database revoked or deleted after the backup, of rows the
// backup has too, is written into the restored copy as it was there, so that a restore gives back no access taken away.
// Only ever revokes or deletes (never un-revokes, never brings back); never writes to the database being replaced.

import BetterSqlite3 from 'better-sqlite3';
import { restoreEventWriter, splitIds } from './restore-audit.ts';

/** What a restore re-applied to the backup's rows: the revocations and deletions the replaced database made after it. */
export interface Reapplied {
  /** Kubeconfigs the backup had active (or superseded) and the replaced database revoked or superseded, in ID order. */
  credentials: Array<{ id: string; accountId: string; clusterId: string; principalId: string; state: string; revokedAt: string | null; revokeReason: string | null }>;
  /** API tokens, access keys, webhook tokens and console sessions revoked since, by ID. */
  tokens: string[];
  accessKeys: string[];
  webhookTokens: string[];
  consoleSessions: string[];
  /** Principals and clusters deleted since: marked deleted, and what their deletion revoked revoked too. */
  principals: string[];
  clusters: string[];
}

export const NOTHING_REAPPLIED: Readonly<Reapplied> = Object.freeze({ credentials: [], tokens: [], accessKeys: [], webhookTokens: [], consoleSessions: [], principals: [], clusters: [] });

type Row = Record<string, unknown>;
type Revocable = 'api_tokens' | 'access_keys' | 'webhook_tokens' | 'console_sessions';

/**
 * Re-applies into `into` (the restored copy, in the caller's transaction) every revocation and deletion `from` (the
 * replaced database, read-only) holds of a row `into` has live. A credential takes the replaced database's state and
 * revocation columns as they were (its time, who, why); a principal's or cluster's deletion is mirrored as
 * principal-service's and cluster-service's delete do it at row level: the row marked deleted at its time, and (for
 * a principal) its kubeconfigs, tokens and access keys revoked, (for a cluster) its kubeconfigs revoked. The rows
 * present in both were already given their own revocation above; what is left of theirs in the copy (rows the
 * replaced database no longer has) is revoked at the deletion's time, with the reason the deletion writes.
 */
export function reapplyRemovals(from: BetterSqlite3.Database, into: BetterSqlite3.Database): Reapplied {
  const out: Reapplied = { credentials: [], tokens: [], accessKeys: [], webhookTokens: [], consoleSessions: [], principals: [], clusters: [] };

  const current = into.prepare('select state, account_id, cluster_id, principal_id from credentials where id = ?');
  const settle = into.prepare(`update credentials set state = ?, is_current = 0, revoked_at = ?, revoked_by = ?, revoke_reason = ?,
    superseded_at = coalesce(?, superseded_at) where id = ?`);
  // Revoked or superseded there, and further along here: a revocation wins over a supersession, never the reverse.
  for (const r of from.prepare(`select id, state, revoked_at, revoked_by, revoke_reason, superseded_at from credentials where state <> 'active' order by id`).iterate() as Iterable<Row>) {
    const c = current.get(r.id) as Row | undefined;
    if (!c || !(c.state === 'active' || (c.state === 'superseded' && r.state === 'revoked'))) continue;
    settle.run(r.state, r.revoked_at, r.revoked_by, r.revoke_reason, r.superseded_at, r.id);
    out.credentials.push({
      id: String(r.id), accountId: String(c.account_id), clusterId: String(c.cluster_id), principalId: String(c.principal_id), state: String(r.state),
      revokedAt: r.revoked_at === null ? null : new Date(Number(r.revoked_at)).toISOString(), revokeReason: r.revoke_reason === null ? null : String(r.revoke_reason),
    });
  }

  const revocable: Array<[Revocable, string[]]> = [['api_tokens', out.tokens], ['access_keys', out.accessKeys], ['webhook_tokens', out.webhookTokens], ['console_sessions', out.consoleSessions]];
  for (const [table, list] of revocable) {
    // A backup from before the table's migration has none of its rows to revoke.
    if (!tableExists(from, table) || !tableExists(into, table)) continue;
    const revoke = into.prepare(`update "${table}" set revoked_at = ? where id = ? and revoked_at is null`);
    for (const r of from.prepare(`select id, revoked_at from "${table}" where revoked_at is not null order by id`).iterate() as Iterable<Row>) {
      if (revoke.run(r.revoked_at, r.id).changes === 1) list.push(String(r.id));
    }
  }

  // The reasons principal-service's and cluster-service's delete write.
  const reasons = { principals: 'principal deleted', clusters: 'cluster deleted' } as const;
  const revokeCredentialsWhere = (column: 'principal_id' | 'cluster_id') =>
    into.prepare(`update credentials set state = 'revoked', is_current = 0, revoked_at = ?, revoked_by = null, revoke_reason = ?
      where ${column} = ? and state in ('active', 'superseded') returning id, account_id, cluster_id, principal_id, revoked_at`);
  const revokeAllOf = (table: 'api_tokens' | 'access_keys') =>
    into.prepare(`update "${table}" set revoked_at = ? where principal_id = ? and revoked_at is null returning id`).pluck();
  // A principal's deletion also resets its custom validities (principal-service's delete): a backup from before that
  // (or before the deletion) has them.
  const validities = tableExists(into, 'validity_overrides') ? into.prepare('delete from validity_overrides where principal_id = ?') : null;
  const deletion = {
    principals: { credentials: revokeCredentialsWhere('principal_id'), tokens: revokeAllOf('api_tokens'), accessKeys: revokeAllOf('access_keys'), validities },
    clusters: { credentials: revokeCredentialsWhere('cluster_id'), tokens: null, accessKeys: null, validities: null },
  };
  for (const table of ['principals', 'clusters'] as const) {
    const markDeleted = into.prepare(`update "${table}" set deleted_at = ? where id = ? and deleted_at is null returning account_id`).pluck();
    const does = deletion[table];
    for (const r of from.prepare(`select id, deleted_at from "${table}" where deleted_at is not null order by id`).iterate() as Iterable<Row>) {
      const account = markDeleted.get(r.deleted_at, r.id) as string | undefined;
      if (account === undefined) continue;
      out[table].push(String(r.id));
      for (const c of does.credentials.all(r.deleted_at, reasons[table], r.id) as Row[]) {
        out.credentials.push({
          id: String(c.id), accountId: String(c.account_id), clusterId: String(c.cluster_id), principalId: String(c.principal_id), state: 'revoked',
          revokedAt: new Date(Number(c.revoked_at)).toISOString(), revokeReason: reasons[table],
        });
      }
      if (does.tokens) out.tokens.push(...(does.tokens.all(r.deleted_at, r.id) as string[]));
      if (does.accessKeys) out.accessKeys.push(...(does.accessKeys.all(r.deleted_at, r.id) as string[]));
      does.validities?.run(r.id);
    }
  }
  out.credentials.sort((a, b) => (a.id < b.id ? -1 : 1));
  for (const list of [out.tokens, out.accessKeys]) list.sort();
  return out;
}

/**
 * One ReapplyRevocations event per account that had anything re-applied (more when over IDS_PER_EVENT IDs: `part`
 * of `parts`), naming every row by ID.
 */
export function recordReapplied(into: BetterSqlite3.Database, r: Reapplied, now: number, eventId: () => string): void {
  const write = restoreEventWriter(into, now, eventId);
  // Prepared on first use: a backup from before a table's migration has no such table, and nothing re-applied in it.
  const lookup = (sql: string) => {
    let s: BetterSqlite3.Statement | undefined;
    return (id: string) => String((s ??= into.prepare(sql).pluck()).get(id));
  };
  const account = (table: string) => lookup(`select account_id from "${table}" where id = ?`);
  const clusterAccount = account('clusters');
  const webhookCluster = lookup('select cluster_id from webhook_tokens where id = ?');
  const credentialAccount = new Map(r.credentials.map((c) => [c.id, c.accountId]));
  const accountsOf = {
    credentialIds: (id: string) => credentialAccount.get(id)!,
    tokenIds: account('api_tokens'),
    accessKeyIds: account('access_keys'),
    webhookTokenIds: (id: string) => clusterAccount(webhookCluster(id)),
    consoleSessionIds: account('console_sessions'),
    principalsDeleted: account('principals'),
    clustersDeleted: clusterAccount,
  };
  const all = {
    credentialIds: r.credentials.map((c) => c.id), tokenIds: r.tokens, accessKeyIds: r.accessKeys, webhookTokenIds: r.webhookTokens,
    consoleSessionIds: r.consoleSessions, principalsDeleted: r.principals, clustersDeleted: r.clusters,
  };
  const byAccount = new Map<string, typeof all>();
  for (const [key, ids] of Object.entries(all) as Array<[keyof typeof all, string[]]>) {
    for (const id of ids) {
      const a = accountsOf[key](id);
      let mine = byAccount.get(a);
      if (!mine) byAccount.set(a, (mine = { credentialIds: [], tokenIds: [], accessKeyIds: [], webhookTokenIds: [], consoleSessionIds: [], principalsDeleted: [], clustersDeleted: [] }));
      mine[key].push(id);
    }
  }
  for (const [accountId, lists] of byAccount) {
    const parts = splitIds(lists);
    parts.forEach((ids, p) => write(accountId, 'ReapplyRevocations', {
      via: 'kubecred restore, on the server',
      reason: 'revoked or deleted in the replaced database after the backup that was restored: re-applied so that the restore gives no access back',
      ...ids, ...(parts.length > 1 ? { part: p + 1, parts: parts.length } : {}),
    }));
  }
}

/** Whether the database has the table: a backup from before a migration lacks the tables it added. */
export const tableExists = (db: BetterSqlite3.Database, table: string) =>
  (db.prepare('select count(*) from pragma_table_info(?)').pluck().get(table) as number) > 0;
