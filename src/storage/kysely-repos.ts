// The Store port's repositories written once in Kysely, for every SQL backend (SQLite, PostgreSQL).
// Queries only: no business rules here, and no dialect-specific SQL.

import type { Kysely } from 'kysely';
import type { Page, Principal } from '../core/model.ts';
import type { PageRequest, Repos, SealedKind } from '../core/store-port.ts';
import { credentialRepos } from './kysely-credential-repos.ts';
import { decodeCursor, type Db, insertOrConflict, keptPage, type Listing, pageOf, scopeOf } from './kysely-helpers.ts';
import {
  accessKeyFromRow, accessKeyToRow, clusterFromRow, clusterToRow, policyFromRow, principalFromRow, principalToRow, tokenFromRow, tokenToRow,
  webhookTokenFromRow,
} from './row-mappers.ts';

/** The secrets a principal or a cluster holds: listed and revoked one by one, or all of an owner's at once. */
type Secrets = { table: 'api_tokens' | 'access_keys' | 'webhook_tokens'; owner: 'principal_id' | 'cluster_id'; listing: Listing };

function ownedSecrets<T>(db: Db, s: Secrets, fromRow: (r: any) => T) {
  // One table of three chosen at run time: Kysely cannot type the columns they share, so the queries are untyped here.
  const q = db as Kysely<any>;
  return {
    list: async (owner: string, page: PageRequest): Promise<Page<T>> => {
      let sel = q.selectFrom(s.table).selectAll().where(s.owner, '=', owner);
      const scope = scopeOf({ owner });
      const after = decodeCursor(s.listing, page.cursor, scope);
      if (after) sel = sel.where('id', '>', after);
      const rows = await sel.orderBy('id').limit(page.limit + 1).execute();
      return pageOf(s.listing, rows, page.limit, fromRow, (r) => r.id as string, scope);
    },
    /** False when it was already revoked, or is not the owner's. */
    revoke: async (owner: string, id: string, at: Date): Promise<boolean> => {
      const res = await q.updateTable(s.table).set({ revoked_at: at.getTime() }).where('id', '=', id).where(s.owner, '=', owner).where('revoked_at', 'is', null).executeTakeFirst();
      return Number(res.numUpdatedRows) === 1;
    },
    /** The IDs it revoked, in ID order: a deletion's audit event names what it ended. */
    revokeAll: async (owner: string, at: Date): Promise<string[]> => {
      const rows = await q.updateTable(s.table).set({ revoked_at: at.getTime() }).where(s.owner, '=', owner).where('revoked_at', 'is', null).returning('id').execute();
      return rows.map((r) => r.id as string).sort();
    },
  };
}

/** Where each kind of sealed secret lives. */
const SEALED_COLUMNS: Record<SealedKind, { table: 'clusters' | 'credentials' | 'access_keys'; column: string }> = {
  'cluster-ca-key': { table: 'clusters', column: 'client_ca_key_sealed' },
  'credential-key': { table: 'credentials', column: 'key_sealed' },
  'access-key-secret': { table: 'access_keys', column: 'secret_sealed' },
};

/** The policies attached to a principal that is not deleted: what an authorization decision reads. */
export const policiesOfLive = (db: Db, principalId: string) => db.selectFrom('policies')
  .innerJoin('policy_attachments', 'policy_attachments.policy_id', 'policies.id')
  .innerJoin('principals', 'principals.id', 'policy_attachments.principal_id')
  .selectAll('policies').where('policy_attachments.principal_id', '=', principalId).where('principals.deleted_at', 'is', null)
  .orderBy('policies.id');

/** What to do about a name in use: names are unique in an account, and work wherever an ID does. */
const NAME_TAKEN = 'choose another name, or use the existing one (its name works wherever an ID does)';

export function kyselyRepos(db: Db): Repos {
  const tokens = ownedSecrets(db, { table: 'api_tokens', owner: 'principal_id', listing: 'tokens' }, tokenFromRow);
  const accessKeys = ownedSecrets(db, { table: 'access_keys', owner: 'principal_id', listing: 'access-keys' }, accessKeyFromRow);
  const webhookTokens = ownedSecrets(db, { table: 'webhook_tokens', owner: 'cluster_id', listing: 'webhook-tokens' }, webhookTokenFromRow);

  return {
    accounts: {
      insert: (a) => insertOrConflict(() => db.insertInto('accounts').values({ id: a.id, name: a.name, created_at: a.createdAt.getTime() }).execute(), `an account named ${JSON.stringify(a.name)}`),
      get: async (id) => {
        const r = await db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
        return r && { id: r.id, name: r.name, createdAt: new Date(Number(r.created_at)) };
      },
      findByName: async (name) => {
        const r = await db.selectFrom('accounts').selectAll().where('name', '=', name).orderBy('created_at').executeTakeFirst();
        return r && { id: r.id, name: r.name, createdAt: new Date(Number(r.created_at)) };
      },
      count: async () => Number((await db.selectFrom('accounts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n),
      ids: async () => (await db.selectFrom('accounts').select('id').orderBy('id').execute()).map((r) => r.id),
    },

    principals: {
      insert: (p) => insertOrConflict(() => db.insertInto('principals').values(principalToRow(p)).execute(), `a principal named ${JSON.stringify(p.name)}`, NAME_TAKEN),
      get: async (accountId, id) => {
        const r = await db.selectFrom('principals').selectAll().where('account_id', '=', accountId).where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
        return r && principalFromRow(r);
      },
      getIncludingDeleted: async (accountId, id) => {
        const r = await db.selectFrom('principals').selectAll().where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
        return r && principalFromRow(r);
      },
      manyIncludingDeleted: async (accountId, ids) => {
        const out: Principal[] = [];
        // In chunks: one statement's parameters stay far below either database's limit.
        for (let i = 0; i < ids.length; i += 500) {
          const rows = await db.selectFrom('principals').selectAll()
            .where('account_id', '=', accountId).where('id', 'in', ids.slice(i, i + 500)).execute();
          for (const r of rows) out.push(principalFromRow(r));
        }
        return out;
      },
      findByName: async (accountId, name) => {
        const r = await db.selectFrom('principals').selectAll().where('account_id', '=', accountId).where('name', '=', name).where('deleted_at', 'is', null).executeTakeFirst();
        return r && principalFromRow(r);
      },
      list: async (accountId, page) => {
        let q = db.selectFrom('principals').selectAll().where('account_id', '=', accountId).where('deleted_at', 'is', null);
        const after = decodeCursor('principals', page.cursor);
        if (after) q = q.where('id', '>', after);
        const rows = await q.orderBy('id').limit(page.limit + 1).execute();
        return pageOf('principals', rows, page.limit, principalFromRow, (r) => r.id);
      },
      updateGroups: async (accountId, id, groups) => {
        await db.updateTable('principals').set({ groups: JSON.stringify(groups) }).where('account_id', '=', accountId).where('id', '=', id).execute();
      },
      markDeleted: async (accountId, id, at) => Number((await db.updateTable('principals').set({ deleted_at: at.getTime() })
        .where('account_id', '=', accountId).where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst()).numUpdatedRows) === 1,
      // A no-op update takes the row's lock in both dialects (SQLite has no FOR UPDATE; its one writer serializes anyway).
      lock: async (accountId, id) => {
        await db.updateTable('principals').set((eb) => ({ kind: eb.ref('kind') })).where('account_id', '=', accountId).where('id', '=', id).execute();
      },
      // A plain read: SQLite's one writer runs transactions one after another. PostgreSQL's store adds FOR SHARE.
      holdLive: async (accountId, id) => (await db.selectFrom('principals').select('id')
        .where('account_id', '=', accountId).where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst()) !== undefined,
    },

    tokens: {
      insert: (t) => insertOrConflict(() => db.insertInto('api_tokens').values(tokenToRow(t)).execute(), 'the token'),
      get: async (id) => {
        const r = await db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
        return r && tokenFromRow(r);
      },
      listForPrincipal: tokens.list,
      revoke: tokens.revoke,
      revokeForPrincipal: tokens.revokeAll,
    },

    accessKeys: {
      insert: (k) => insertOrConflict(() => db.insertInto('access_keys').values(accessKeyToRow(k)).execute(), 'the access key'),
      get: async (id) => {
        const r = await db.selectFrom('access_keys').selectAll().where('id', '=', id).executeTakeFirst();
        return r && accessKeyFromRow(r);
      },
      listForPrincipal: accessKeys.list,
      revoke: accessKeys.revoke,
      revokeForPrincipal: accessKeys.revokeAll,
    },

    clusters: {
      insert: (c) => insertOrConflict(() => db.insertInto('clusters').values(clusterToRow(c)).execute(), `a cluster named ${JSON.stringify(c.name)}`, NAME_TAKEN),
      get: async (accountId, id) => {
        const r = await db.selectFrom('clusters').selectAll().where('account_id', '=', accountId).where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
        return r && clusterFromRow(r);
      },
      findByName: async (accountId, name) => {
        const r = await db.selectFrom('clusters').selectAll().where('account_id', '=', accountId).where('name', '=', name).where('deleted_at', 'is', null).executeTakeFirst();
        return r && clusterFromRow(r);
      },
      list: (accountId, page, keep) => keptPage('clusters', page, (after, n) => {
        let q = db.selectFrom('clusters').selectAll().where('account_id', '=', accountId).where('deleted_at', 'is', null);
        if (after) q = q.where('id', '>', after);
        return q.orderBy('id').limit(n).execute();
      }, clusterFromRow, (r) => r.id, keep),
      getAnyAccount: async (id) => {
        const r = await db.selectFrom('clusters').selectAll().where('id', '=', id).executeTakeFirst();
        return r && clusterFromRow(r);
      },
      markDeleted: async (accountId, id, at) => Number((await db.updateTable('clusters').set({ deleted_at: at.getTime() })
        .where('account_id', '=', accountId).where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst()).numUpdatedRows) === 1,
      holdLive: async (accountId, id) => (await db.selectFrom('clusters').select('id')
        .where('account_id', '=', accountId).where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst()) !== undefined,
    },

    policies: {
      insert: (p) => insertOrConflict(() => db.insertInto('policies').values({
        id: p.id, account_id: p.accountId, name: p.name, description: p.description, document: p.document, created_at: p.createdAt.getTime(),
      }).execute(), `a policy named ${JSON.stringify(p.name)}`, NAME_TAKEN),
      get: async (accountId, id) => {
        const r = await db.selectFrom('policies').selectAll().where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
        return r && policyFromRow(r);
      },
      findByName: async (accountId, name) => {
        const r = await db.selectFrom('policies').selectAll().where('account_id', '=', accountId).where('name', '=', name).executeTakeFirst();
        return r && policyFromRow(r);
      },
      list: async (accountId, page) => {
        let q = db.selectFrom('policies').selectAll().where('account_id', '=', accountId);
        const after = decodeCursor('policies', page.cursor);
        if (after) q = q.where('id', '>', after);
        const rows = await q.orderBy('id').limit(page.limit + 1).execute();
        return pageOf('policies', rows, page.limit, policyFromRow, (r) => r.id);
      },
      attach: async (policyId, principalId, at) => {
        const res = await db.insertInto('policy_attachments').values({ policy_id: policyId, principal_id: principalId, attached_at: at.getTime() })
          .onConflict((oc) => oc.columns(['policy_id', 'principal_id']).doNothing()).executeTakeFirst();
        return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
      },
      detach: async (policyId, principalId) => {
        const res = await db.deleteFrom('policy_attachments').where('policy_id', '=', policyId).where('principal_id', '=', principalId).executeTakeFirst();
        return Number(res.numDeletedRows) > 0;
      },
      forPrincipal: async (principalId) => {
        const rows = await db.selectFrom('policies').innerJoin('policy_attachments', 'policy_attachments.policy_id', 'policies.id')
          .selectAll('policies').where('policy_attachments.principal_id', '=', principalId).orderBy('policies.id').execute();
        return rows.map(policyFromRow);
      },
      holdForPrincipal: async (principalId) => (await policiesOfLive(db, principalId).execute()).map(policyFromRow),
      holders: async (policyId, limit) => (await db.selectFrom('policy_attachments').innerJoin('principals', 'principals.id', 'policy_attachments.principal_id')
        .select('principals.id').where('policy_attachments.policy_id', '=', policyId).where('principals.deleted_at', 'is', null)
        .orderBy('principals.id').limit(limit).execute()).map((r) => r.id),
      hold: async (accountId, id) => (await db.selectFrom('policies').select('id').where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst()) !== undefined,
      update: async (accountId, id, fields) => Number((await db.updateTable('policies').set({ description: fields.description, document: fields.document })
        .where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst()).numUpdatedRows) === 1,
      delete: async (accountId, id) => {
        const owned = await db.selectFrom('policies').select('id').where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
        if (!owned) return false;
        await db.deleteFrom('policy_attachments').where('policy_id', '=', id).execute();
        return Number((await db.deleteFrom('policies').where('id', '=', id).executeTakeFirst()).numDeletedRows) === 1;
      },
    },

    webhookTokens: {
      insert: async (t) => {
        await db.insertInto('webhook_tokens').values({ id: t.id, cluster_id: t.clusterId, secret_hash: t.secretHash, created_at: t.createdAt.getTime(), revoked_at: null }).execute();
      },
      get: async (id) => {
        const r = await db.selectFrom('webhook_tokens').selectAll().where('id', '=', id).executeTakeFirst();
        return r && webhookTokenFromRow(r);
      },
      listForCluster: webhookTokens.list,
      revoke: webhookTokens.revoke,
    },

    settings: {
      get: async (name) => (await db.selectFrom('settings').select('value').where('name', '=', name).executeTakeFirst())?.value,
      claim: async (name, value, at) => {
        const res = await db.insertInto('settings').values({ name, value, updated_at: at.getTime() })
          .onConflict((oc) => oc.column('name').doNothing()).executeTakeFirst();
        return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
      },
      replace: async (name, from, to, at) => Number((await db.updateTable('settings').set({ value: to, updated_at: at.getTime() })
        .where('name', '=', name).where('value', '=', from).executeTakeFirst()).numUpdatedRows) > 0,
    },

    sealedValues: {
      page: async (kind, afterId, limit) => {
        const c = SEALED_COLUMNS[kind];
        // `key_sealed is not null` names the partial index credentials_sealed_keys (migration 012): ~2 % of the rows.
        let q = db.selectFrom(c.table as 'credentials').select(['id', `${c.column as 'key_sealed'} as sealed`])
          .where(c.column as 'key_sealed', 'is not', null);
        if (afterId !== null) q = q.where('id', '>', afterId);
        const rows = await q.orderBy('id').limit(limit).execute();
        return rows.map((r) => ({ id: r.id, sealed: r.sealed! }));
      },
      replace: async (kind, id, from, to) => {
        const c = SEALED_COLUMNS[kind];
        const res = await db.updateTable(c.table as 'credentials').set({ [c.column]: to } as { key_sealed: string })
          .where('id', '=', id).where(c.column as 'key_sealed', '=', from).executeTakeFirst();
        return Number(res.numUpdatedRows) > 0;
      },
    },

    consoleSessions: {
      insert: async (x) => {
        await db.insertInto('console_sessions').values({
          id: x.id, secret_hash: x.secretHash, account_id: x.accountId, principal_id: x.principalId, token_id: x.tokenId,
          csrf_hash: x.csrfHash, created_at: x.createdAt.getTime(), expires_at: x.expiresAt.getTime(), revoked_at: null,
          last_used_at: x.lastUsedAt.getTime(),
        }).execute();
      },
      get: async (id) => {
        const r = await db.selectFrom('console_sessions').selectAll().where('id', '=', id).executeTakeFirst();
        return r && {
          id: r.id, secretHash: r.secret_hash, accountId: r.account_id, principalId: r.principal_id, tokenId: r.token_id, csrfHash: r.csrf_hash,
          createdAt: new Date(Number(r.created_at)), expiresAt: new Date(Number(r.expires_at)), revokedAt: r.revoked_at === null ? null : new Date(Number(r.revoked_at)),
          lastUsedAt: new Date(Number(r.last_used_at ?? r.created_at)),
        };
      },
      touch: async (id, at) => {
        await db.updateTable('console_sessions').set({ last_used_at: at.getTime() }).where('id', '=', id)
          .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', at.getTime())])).execute();
      },
      revoke: async (id, at) => Number((await db.updateTable('console_sessions').set({ revoked_at: at.getTime() }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst()).numUpdatedRows) > 0,
      prune: async (now) => Number((await db.deleteFrom('console_sessions').where('expires_at', '<=', now.getTime()).executeTakeFirst()).numDeletedRows),
    },

    nonces: {
      claim: async (key, expiresAt, now) => {
        // A nonce whose window has passed may be reused; delete it first so the insert decides.
        await db.deleteFrom('signature_nonces').where('nonce_key', '=', key).where('expires_at', '<=', now.getTime()).execute();
        const res = await db.insertInto('signature_nonces').values({ nonce_key: key, expires_at: expiresAt.getTime() })
          .onConflict((oc) => oc.column('nonce_key').doNothing()).executeTakeFirst();
        return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
      },
      prune: async (now) => Number((await db.deleteFrom('signature_nonces').where('expires_at', '<=', now.getTime()).executeTakeFirst()).numDeletedRows),
    },

    vendorProjects: {
      put: async (p) => {
        await insertOrConflict(() => db.insertInto('vendor_projects').values({ vendor: p.vendor, project_id: p.projectId, account_id: p.accountId, region: p.region, created_at: p.createdAt.getTime() }).execute(),
          `project ${p.projectId}`, `your account maps it (kubecred project list shows its region); to change the region, remove it first with kubecred project remove ${p.projectId}`);
      },
      get: async (vendor, accountId, projectId) => {
        const r = await db.selectFrom('vendor_projects').selectAll().where('account_id', '=', accountId).where('vendor', '=', vendor).where('project_id', '=', projectId).executeTakeFirst();
        return r && { vendor: r.vendor, projectId: r.project_id, accountId: r.account_id, region: r.region, createdAt: new Date(Number(r.created_at)) };
      },
      listForAccount: async (accountId) => {
        const rows = await db.selectFrom('vendor_projects').selectAll().where('account_id', '=', accountId).orderBy('project_id').execute();
        return rows.map((r) => ({ vendor: r.vendor, projectId: r.project_id, accountId: r.account_id, region: r.region, createdAt: new Date(Number(r.created_at)) }));
      },
      delete: async (accountId, vendor, projectId) => Number((await db.deleteFrom('vendor_projects')
        .where('account_id', '=', accountId).where('vendor', '=', vendor).where('project_id', '=', projectId).executeTakeFirst()).numDeletedRows) === 1,
    },

    ...credentialRepos(db),
  };
}

export type { PageRequest };
