// Which index SQLite picks for each inventory filter. A page filtered to a rare state or kind must be read
// from its partial index (migration 009), not by walking back through every newer credential; one filtered by a
// status against the clock walks a listing index that carries state and expiry (migration 011). The plan is
// asked of the very SQL the repository sends, captured through Kysely's query log.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, type CompiledQuery } from 'kysely';
import type { CredentialFilter } from '../core/store-port.ts';
import { kyselyRepos } from './kysely-repos.ts';
import { migrateToLatest } from './migrate.ts';

/** A migrated in-memory store, the SQL its Kysely repositories send, and the raw connection to ask plans of. */
async function withMigrated(fn: (raw: BetterSqlite3.Database, repos: ReturnType<typeof kyselyRepos>, sent: CompiledQuery[]) => Promise<void>): Promise<void> {
  const raw = new BetterSqlite3(':memory:');
  const sent: CompiledQuery[] = [];
  const db = new Kysely<any>({ dialect: new SqliteDialect({ database: raw }), log: (e) => void (e.level === 'query' && sent.push(e.query)) });
  try {
    await migrateToLatest(db, 'sqlite');
    await fn(raw, kyselyRepos(db), sent);
  } finally {
    await db.destroy();
  }
}

test('inventory filters on a rare state or kind are answered from their partial indexes', () => withMigrated(async (raw, repos, sent) => {
  const planOf = async (f: Omit<CredentialFilter, 'accountId' | 'now'>): Promise<string> => {
    sent.length = 0;
    await repos.credentials.list({ accountId: 'acc_1', now: new Date(), ...f }, { limit: 50, cursor: null });
    const q = sent.find((s) => /from "credentials"/.test(s.sql))!;
    return (raw.prepare(`explain query plan ${q.sql}`).all(...(q.parameters as unknown[])) as { detail: string }[]).map((r) => r.detail).join('; ');
  };
  const cases: Array<[Omit<CredentialFilter, 'accountId' | 'now'>, RegExp]> = [
    [{ clusterId: 'cls_1', status: 'revoked' }, /USING INDEX credentials_settled_by_cluster \(account_id=\? AND cluster_id=\? AND state=\?\)/],
    [{ status: 'superseded' }, /USING INDEX credentials_settled_by_account \(account_id=\? AND state=\?\)/],
    [{ clusterId: 'cls_1', kind: 'default' }, /USING INDEX credentials_kind_by_cluster \(account_id=\? AND cluster_id=\? AND kind=\?\)/],
    [{ kind: 'csr' }, /USING INDEX credentials_kind_by_account \(account_id=\? AND kind=\?\)/],
    // The common filters keep the plain indexes, newest first.
    [{ clusterId: 'cls_1' }, /USING INDEX credentials_by_cluster \(account_id=\? AND cluster_id=\?\)/],
    [{ clusterId: 'cls_1', status: 'active' }, /USING INDEX credentials_by_cluster \(account_id=\? AND cluster_id=\?\)/],
    [{ kind: 'temporary' }, /USING INDEX credentials_by_account \(account_id=\?\)/],
    // A status against the clock walks the plain indexes too, filtering inside them (migration 011, below).
    [{ status: 'expired' }, /USING INDEX credentials_by_account \(account_id=\?\)/],
    [{ clusterId: 'cls_1', status: 'expired' }, /USING INDEX credentials_by_cluster \(account_id=\? AND cluster_id=\?\)/],
    [{ principalId: 'usr_1', status: 'active' }, /USING INDEX credentials_by_principal \(account_id=\? AND principal_id=\?\)/],
  ];
  for (const [filter, expected] of cases) {
    const plan = await planOf(filter);
    assert.match(plan, expected, `${JSON.stringify(filter)}: ${plan}`);
    assert.doesNotMatch(plan, /TEMP B-TREE/, `${JSON.stringify(filter)} sorts nothing: ${plan}`);
  }
  // Each listing index carries state and expiry after the ID: SQLite tests a status against them before it reads
  // a skipped row from the table (on a million credentials, an expired page went from 16-20 ms to 2-3 ms).
  const columns = (index: string) => (raw.pragma(`index_info("${index}")`) as Array<{ name: string }>).map((c) => c.name);
  assert.deepEqual(columns('credentials_by_account'), ['account_id', 'id', 'state', 'not_after']);
  assert.deepEqual(columns('credentials_by_cluster'), ['account_id', 'cluster_id', 'id', 'state', 'not_after']);
  assert.deepEqual(columns('credentials_by_principal'), ['account_id', 'principal_id', 'id', 'state', 'not_after']);
}));

test("the inventory by issuer reads the issuer's own credentials and the partial index of those issued for others, never the whole account", () => withMigrated(async (raw, repos, sent) => {
  const plansOf = async (f: Omit<CredentialFilter, 'accountId' | 'now'>): Promise<string[]> => {
    sent.length = 0;
    await repos.credentials.list({ accountId: 'acc_1', now: new Date(), ...f }, { limit: 50, cursor: null });
    return sent.filter((q) => /from "credentials"/.test(q.sql))
      .map((q) => (raw.prepare(`explain query plan ${q.sql}`).all(...(q.parameters as unknown[])) as { detail: string }[]).map((r) => r.detail).join('; '));
  };
  const [own, forOthers] = await plansOf({ issuedBy: 'usr_1' });
  assert.match(own!, /USING INDEX credentials_by_principal \(account_id=\? AND principal_id=\?\)/, own);
  assert.match(forOthers!, /USING INDEX credentials_issued_for_others \(account_id=\? AND issued_by=\?\)/, forOthers);
  const [forOne] = await plansOf({ issuedBy: 'usr_1', principalId: 'rol_1' });
  assert.match(forOne!, /USING INDEX credentials_(issued_for_others \(account_id=\? AND issued_by=\?\)|by_principal \(account_id=\? AND principal_id=\?\))/, forOne);
  for (const plan of [own, forOthers, forOne]) assert.doesNotMatch(plan!, /TEMP B-TREE|SCAN credentials/, plan);
}));

test('loading the revocation index reads the covering index of unexpired credentials, as a range', () => withMigrated(async (raw, repos, sent) => {
  const planOf = (sql: string, params: readonly unknown[]) => (raw.prepare(`explain query plan ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail).join('; ');
  const now = new Date();
  await repos.credentials.scanUnexpired(now, null, 10);
  await repos.credentials.scanUnexpired(now, { notAfter: new Date(now.getTime() + 60_000), id: 'crd_1' }, 10);
  const [first, next] = sent.filter((s) => /from "credentials"/.test(s.sql));
  assert.match(planOf(first!.sql, first!.parameters), /^SEARCH credentials USING COVERING INDEX credentials_unexpired \(not_after>\?\)$/, 'first page');
  assert.match(planOf(next!.sql, next!.parameters), /^SEARCH credentials USING COVERING INDEX credentials_unexpired \(\(not_after,id\)>\(\?,\?\)\)$/, 'later pages');
}));
