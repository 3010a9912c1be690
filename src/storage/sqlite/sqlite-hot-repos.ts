// The handful of Store methods every issuance or webhook call makes, as cached prepared statements on SQLite
// instead of Kysely queries (query building costs 20-40 µs each). Same rows, same mappers, same errors as
// kysely-repos.ts; sqlite-store.test.ts runs both side by side. Keep the two in step.

import type BetterSqlite3 from 'better-sqlite3';
import { KubecredError } from '../../core/errors.ts';
import type { IndexedRow, Repos, RevokeWhere } from '../../core/store-port.ts';
import { isUniqueViolation } from '../kysely-helpers.ts';
import { accessKeyFromRow, clusterFromRow, credentialFromRow, credentialToRow, principalFromRow, tokenFromRow, validityFromRow, webhookTokenFromRow } from '../row-mappers.ts';
import type { AccessKeysTable, ClustersTable, CredentialsTable, PrincipalsTable, ApiTokensTable, ValidityOverridesTable, WebhookTokensTable } from '../schema.ts';
import type { RowCache } from './row-cache.ts';
import { readOutside, writeOutside, type Connection, type Connections } from './sqlite-driver.ts';

const CREDENTIAL_COLUMNS = [
  'id', 'credential_type', 'account_id', 'cluster_id', 'principal_id', 'kind', 'key_source', 'serial_hex', 'fingerprint_sha256',
  'cert_pem', 'key_sealed', 'common_name', 'groups', 'not_before', 'not_after', 'state', 'is_current', 'issued_at', 'issued_by',
  'request_id', 'revoked_at', 'revoked_by', 'revoke_reason', 'superseded_at', 'v',
] as const;

const HOT_SQL = {
  insertCredential: `insert into "credentials" (${CREDENTIAL_COLUMNS.map((c) => `"${c}"`).join(', ')}) values (${CREDENTIAL_COLUMNS.map(() => '?').join(', ')})`,
  appendAudit: 'insert into "audit_events" ("id", "account_id", "at", "actor_id", "action", "resource_type", "resource_id", "outcome", "source_ip", "request_id", "detail") values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  token: 'select * from "api_tokens" where "id" = ?',
  principal: 'select * from "principals" where "account_id" = ? and "id" = ? and "deleted_at" is null',
  cluster: 'select * from "clusters" where "account_id" = ? and "id" = ? and "deleted_at" is null',
  clusterAnyAccount: 'select * from "clusters" where "id" = ?',
  credentialAnyAccount: 'select * from "credentials" where "id" = ?',
  currentDefault: 'select * from "credentials" where "cluster_id" = ? and "principal_id" = ? and "is_current" = 1',
  validity: 'select * from "validity_overrides" where "cluster_id" = ? and "principal_id" = ?',
  webhookToken: 'select * from "webhook_tokens" where "id" = ?',
  accessKey: 'select * from "access_keys" where "id" = ?',
  // kysely-credential-repos.ts's scanUnexpired, read as arrays (below): the comment keeps these statements apart from any
  // Kysely builds (the connection caches statements by their text, and raw mode belongs to the statement).
  unexpiredFirst: 'select /* as arrays */ "id", "cluster_id", "principal_id", "fingerprint_sha256", "state", "not_after" from "credentials" where "not_after" > ? order by "not_after", "id" limit ?',
  unexpiredAfter: 'select /* as arrays */ "id", "cluster_id", "principal_id", "fingerprint_sha256", "state", "not_after" from "credentials" where ("not_after", "id") > (?, ?) order by "not_after", "id" limit ?',
};

// The credential indexes all start with account_id, which RevokeWhere does not carry: taken from the
// cluster (or principal) row, it lets a revocation read the holder's rows instead of the whole table.
// The unary + keeps SQLite off credentials_by_cluster when the principal narrows the rows far more.
const revokeSql = (w: RevokeWhere): string | null => {
  if (w.credentialId) return null; // one row by its primary key: the generic query is as good
  const states = w.states.map(() => '?').join(', ');
  const set = 'update "credentials" set "state" = \'revoked\', "is_current" = 0, "revoked_at" = ?, "revoked_by" = ?, "revoke_reason" = ?';
  if (w.clusterId && w.principalId) return `${set} where "account_id" = (select "account_id" from "clusters" where "id" = ?) and +"cluster_id" = ? and "principal_id" = ? and "state" in (${states}) returning *`;
  if (w.principalId) return `${set} where "account_id" = (select "account_id" from "principals" where "id" = ?) and "principal_id" = ? and "state" in (${states}) returning *`;
  if (w.clusterId) return `${set} where "account_id" = (select "account_id" from "clusters" where "id" = ?) and "cluster_id" = ? and "state" in (${states}) returning *`;
  return null;
};
const SUPERSEDE = 'update "credentials" set "state" = \'superseded\', "is_current" = 0, "superseded_at" = ? where "account_id" = (select "account_id" from "clusters" where "id" = ?) and +"cluster_id" = ? and "principal_id" = ? and "kind" = \'default\' and "state" = \'active\' returning *';

const attempt = <T>(fn: () => T): Promise<T> => {
  try {
    return Promise.resolve(fn());
  } catch (e) {
    return Promise.reject(e);
  }
};

/**
 * Overrides of `base`'s hot methods. In a group commit (`inGroup`) the group already holds the gate and
 * everything runs on the writer, seeing the transaction's own writes; outside one, reads go to the
 * reader (committed data only), the token, access key, principal and cluster rows through `cache`, and writes wait
 * their turn at the gate, then for the disk.
 */
export function hotRepos(base: Repos, c: Connections, inGroup: boolean, cache?: RowCache): Repos {
  const read = <T>(fn: (conn: Connection) => T): Promise<T> => (inGroup ? attempt(() => fn(c.writer)) : readOutside(c, fn));
  const write = <T>(fn: () => T): Promise<T> => (inGroup ? attempt(fn) : writeOutside(c, fn));
  const one = <R>(sql: string, ...params: unknown[]) => read((conn) => conn.statement(sql).get(...params) as R | undefined);
  // Inside a transaction a read must see that transaction's own writes: never from the cache.
  // Keys join the method and its arguments with NUL, which no ID contains: one method's key is never another's.
  const cached = <T extends object>(key: string[], load: () => Promise<T | undefined>) => (cache && !inGroup ? cache.get(key.join('\u0000'), load) : load());
  const stmt = (sql: string): BetterSqlite3.Statement => c.writer.statement(sql);

  return {
    ...base,
    tokens: {
      ...base.tokens,
      get: (id) => cached(['token', id], async () => {
        const r = await one<ApiTokensTable>(HOT_SQL.token, id);
        return r && tokenFromRow(r);
      }),
    },
    principals: {
      ...base.principals,
      get: (accountId, id) => cached(['principal', accountId, id], async () => {
        const r = await one<PrincipalsTable>(HOT_SQL.principal, accountId, id);
        return r && principalFromRow(r);
      }),
      // The one writer already runs transactions one after another: a read of the row is the hold (prepared, as the
      // hot reads are; the base's is the same query through Kysely).
      holdLive: async (accountId, id) => (await one(HOT_SQL.principal, accountId, id)) !== undefined,
    },
    clusters: {
      ...base.clusters,
      get: (accountId, id) => cached(['cluster', accountId, id], async () => {
        const r = await one<ClustersTable>(HOT_SQL.cluster, accountId, id);
        return r && clusterFromRow(r);
      }),
      holdLive: async (accountId, id) => (await one(HOT_SQL.cluster, accountId, id)) !== undefined,
      getAnyAccount: (id) => cached(['cluster-any-account', id], async () => {
        const r = await one<ClustersTable>(HOT_SQL.clusterAnyAccount, id);
        return r && clusterFromRow(r);
      }),
    },
    credentials: {
      ...base.credentials,
      // The revocation index's load at start-up: ~90,000 rows on the scale store. better-sqlite3 builds a row object
      // in C++ at ~8 µs a row; as arrays, ~3 µs (650-800 against ~300 ms for the whole scan in a fresh process, pinned).
      scanUnexpired: (now, after, limit) => read((conn) => {
        const from = after && after.notAfter.getTime() > now.getTime() ? after : null;
        const s = conn.statement(from ? HOT_SQL.unexpiredAfter : HOT_SQL.unexpiredFirst).raw(true);
        // The columns are IndexedRow's, in its order: better-sqlite3's arrays are the answer as they are.
        return (from ? s.all(from.notAfter.getTime(), from.id, limit) : s.all(now.getTime(), limit)) as IndexedRow[];
      }),
      getAnyAccount: async (id) => {
        const r = await one<CredentialsTable>(HOT_SQL.credentialAnyAccount, id);
        return r && credentialFromRow(r);
      },
      currentDefault: async (clusterId, principalId) => {
        const r = await one<CredentialsTable>(HOT_SQL.currentDefault, clusterId, principalId);
        return r && credentialFromRow(r);
      },
      revoke: (w, by, reason, at) => {
        const sql = w.states.length ? revokeSql(w) : null;
        if (!sql) return base.credentials.revoke(w, by, reason, at);
        const scope = w.clusterId && w.principalId ? [w.clusterId, w.clusterId, w.principalId] : w.principalId ? [w.principalId, w.principalId] : [w.clusterId, w.clusterId];
        return write(() => (stmt(sql).all(at.getTime(), by, reason, ...scope, ...w.states) as CredentialsTable[]).map(credentialFromRow));
      },
      supersedeDefaults: (clusterId, principalId, at) =>
        write(() => (stmt(SUPERSEDE).all(at.getTime(), clusterId, clusterId, principalId) as CredentialsTable[]).map(credentialFromRow)),
      insert: (cred) => write(() => {
        const row = credentialToRow(cred);
        try {
          stmt(HOT_SQL.insertCredential).run(CREDENTIAL_COLUMNS.map((k) => row[k]));
        } catch (e) {
          if (isUniqueViolation(e)) throw new KubecredError('CONFLICT', 'a current default kubeconfig for this cluster and principal already exists', { cause: e });
          throw e;
        }
      }),
    },
    validity: {
      ...base.validity,
      get: async (clusterId, principalId) => {
        const r = await one<ValidityOverridesTable>(HOT_SQL.validity, clusterId, principalId);
        return r && validityFromRow(r);
      },
    },
    // Every signed vendor request reads its key; from memory, a known key and an unknown one cost the same.
    accessKeys: {
      ...base.accessKeys,
      get: (id) => cached(['access-key', id], async () => {
        const r = await one<AccessKeysTable>(HOT_SQL.accessKey, id);
        return r && accessKeyFromRow(r);
      }),
    },
    webhookTokens: {
      ...base.webhookTokens,
      get: (id) => cached(['webhook-token', id], async () => {
        const r = await one<WebhookTokensTable>(HOT_SQL.webhookToken, id);
        return r && webhookTokenFromRow(r);
      }),
    },
    audit: {
      ...base.audit,
      append: (e) => write(() => {
        stmt(HOT_SQL.appendAudit).run(e.id, e.accountId, e.at.getTime(), e.actorId, e.action, e.resourceType, e.resourceId, e.outcome,
          e.sourceIp, e.requestId, JSON.stringify(e.detail));
      }),
    },
  };
}
