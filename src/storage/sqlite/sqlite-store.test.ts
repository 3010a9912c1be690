// The SQLite store's own speed-ups: prepared hot statements must answer exactly what the Kysely
// repositories answer, and group commit must answer each transaction only once it is durable.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { KubecredError } from '../../core/errors.ts';
import type { AuditEvent, Cluster, Credential, Principal } from '../../core/model.ts';
import { cursorOfRow, type Repos } from '../../core/store-port.ts';
import { kyselyRepos } from '../kysely-repos.ts';
import type { Database } from '../schema.ts';
import { openSqliteStore, type SqliteStore } from './sqlite-store.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubecred-sqlite-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
const id = (prefix: string) => `${prefix}_${crypto.randomBytes(13).toString('hex').slice(0, 26)}`;
const T0 = Date.parse('2026-03-01T10:00:00Z');

async function open(): Promise<{ store: SqliteStore; file: string; reference: () => { repos: Repos; raw: BetterSqlite3.Database; close(): Promise<void> } }> {
  const file = path.join(dir, `s${n++}.db`);
  const store = await openSqliteStore({ file });
  return {
    store, file,
    // A second, plain Kysely connection: what the Kysely repositories answer, and what is committed.
    reference: () => {
      const raw = new BetterSqlite3(file);
      const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }) });
      return { repos: kyselyRepos(db), raw, close: () => db.destroy() };
    },
  };
}

async function fixture(store: SqliteStore) {
  const accountId = id('acc');
  await store.accounts.insert({ id: accountId, name: 'hot', createdAt: new Date(T0) });
  const principal: Principal = { id: id('usr'), accountId, kind: 'user', name: 'alice', groups: ['dev', 'ops'], isRoot: false, createdAt: new Date(T0), deletedAt: null };
  await store.principals.insert(principal);
  const gone: Principal = { ...principal, id: id('usr'), name: 'gone' };
  await store.principals.insert(gone);
  await store.principals.markDeleted(accountId, gone.id, new Date(T0 + 1));
  const cluster: Cluster = {
    id: id('cls'), accountId, name: 'prod', kind: 'kubernetes', region: 'eu-1', publicEndpoint: 'https://203.0.113.1:6443',
    privateEndpoint: null, serverCaPem: 'SERVER CA', clientCa: { certPem: 'CA PEM', keySealed: 'sealed', algorithm: 'ec-p256', source: 'generated' },
    allowSystemGroups: false, credentialType: 'x509', createdAt: new Date(T0), deletedAt: null,
  };
  await store.clusters.insert(cluster);
  const deletedCluster: Cluster = { ...cluster, id: id('cls'), name: 'old' };
  await store.clusters.insert(deletedCluster);
  await store.clusters.markDeleted(accountId, deletedCluster.id, new Date(T0 + 2));
  return { accountId, principal, gone, cluster, deletedCluster };
}

const credential = (f: Awaited<ReturnType<typeof fixture>>, over: Partial<Credential> = {}): Credential => {
  const cid = id('crd');
  return {
    id: cid, type: 'x509', accountId: f.accountId, clusterId: f.cluster.id, principalId: f.principal.id, kind: 'temporary', keySource: 'generated',
    serialHex: crypto.randomBytes(16).toString('hex'), fingerprintSha256: crypto.randomBytes(32).toString('hex'), certPem: `PEM ${cid}`,
    keySealed: null, commonName: f.principal.id, groups: ['dev'], notBefore: new Date(T0), notAfter: new Date(T0 + 3600_000), state: 'active', current: false,
    issuedAt: new Date(T0), issuedBy: f.principal.id, requestId: 'req_hot', revokedAt: null, revokedBy: null, revokeReason: null, supersededAt: null,
    ...over,
  };
};

test('the prepared hot statements answer exactly what the Kysely repositories answer', async () => {
  const { store, reference } = await open();
  const f = await fixture(store);
  const tokenId = id('tok');
  await store.tokens.insert({ id: tokenId, accountId: f.accountId, principalId: f.principal.id, name: 't', secretHash: 'ab'.repeat(32), createdAt: new Date(T0), expiresAt: null, revokedAt: null, createdBy: null });
  const akId = `KC${crypto.randomBytes(11).toString('hex').toUpperCase()}`;
  await store.accessKeys.insert({ id: akId, accountId: f.accountId, principalId: f.principal.id, secretSealed: 'v2:k:sealed', createdAt: new Date(T0), revokedAt: new Date(T0 + 1), createdBy: null });
  const whtId = id('wht');
  await store.webhookTokens.insert({ id: whtId, clusterId: f.cluster.id, secretHash: 'cd'.repeat(32), createdAt: new Date(T0), revokedAt: null });
  const creds = [
    credential(f),
    credential(f, { kind: 'default', current: true, keySealed: 'v1:sealed', groups: [] }),
    credential(f, { type: 'token', state: 'revoked', revokedAt: new Date(T0 + 5), revokedBy: f.principal.id, revokeReason: 'left' }),
  ];
  for (const c of creds) await store.transaction((tx) => tx.credentials.insert(c));
  await store.transaction((tx) => tx.audit.append({
    id: id('evt'), accountId: f.accountId, at: new Date(T0 + 7), actorId: f.principal.id, action: 'IssueKubeconfig', resourceType: 'credential',
    resourceId: creds[0]!.id, outcome: 'success', sourceIp: '127.0.0.1', requestId: 'req_x', detail: { a: 1, nested: { b: [1, 2] } },
  }));

  await store.validity.put({ clusterId: f.cluster.id, principalId: f.principal.id, hours: 72, setBy: f.principal.id, setAt: new Date(T0 + 8) });

  const ref = reference();
  try {
    assert.equal((await store.credentials.currentDefault(f.cluster.id, f.principal.id))?.id, creds[1]!.id);
    assert.equal((await store.validity.get(f.cluster.id, f.principal.id))?.hours, 72);
    const cases: Array<[string, (r: Repos) => Promise<unknown>]> = [
      ['tokens.get', (r) => r.tokens.get(tokenId)],
      ['tokens.get unknown', (r) => r.tokens.get('tok_none')],
      ['principals.get', (r) => r.principals.get(f.accountId, f.principal.id)],
      ['principals.get deleted', (r) => r.principals.get(f.accountId, f.gone.id)],
      ['principals.get other account', (r) => r.principals.get('acc_other', f.principal.id)],
      ['clusters.get', (r) => r.clusters.get(f.accountId, f.cluster.id)],
      ['clusters.get deleted', (r) => r.clusters.get(f.accountId, f.deletedCluster.id)],
      ['clusters.getAnyAccount', (r) => r.clusters.getAnyAccount(f.cluster.id)],
      ['clusters.getAnyAccount deleted', (r) => r.clusters.getAnyAccount(f.deletedCluster.id)],
      ['accessKeys.get', (r) => r.accessKeys.get(akId)],
      ['accessKeys.get unknown', (r) => r.accessKeys.get('KCNONE')],
      ['webhookTokens.get', (r) => r.webhookTokens.get(whtId)],
      ['webhookTokens.get unknown', (r) => r.webhookTokens.get('wht_none')],
      ...creds.map((c, i): [string, (r: Repos) => Promise<unknown>] => [`credentials.getAnyAccount ${i}`, (r) => r.credentials.getAnyAccount(c.id)]),
      ['credentials.getAnyAccount unknown', (r) => r.credentials.getAnyAccount('crd_none')],
      ['credentials.currentDefault', (r) => r.credentials.currentDefault(f.cluster.id, f.principal.id)],
      ['credentials.currentDefault none', (r) => r.credentials.currentDefault(f.deletedCluster.id, f.principal.id)],
      ['validity.get', (r) => r.validity.get(f.cluster.id, f.principal.id)],
      ['validity.get none', (r) => r.validity.get(f.deletedCluster.id, f.principal.id)],
      ['credentials.scanUnexpired', (r) => r.credentials.scanUnexpired(new Date(T0), null, 10)],
      ['credentials.scanUnexpired one page of 2', (r) => r.credentials.scanUnexpired(new Date(T0), null, 2)],
      ['credentials.scanUnexpired resumed (a tie on notAfter, ordered by ID)', async (r) => {
        const [, second] = await r.credentials.scanUnexpired(new Date(T0), null, 2);
        return r.credentials.scanUnexpired(new Date(T0), cursorOfRow(second!), 10);
      }],
      ['credentials.scanUnexpired from a cursor not later than now', (r) => r.credentials.scanUnexpired(new Date(T0), { notAfter: new Date(T0 - 1), id: 'crd_zzz' }, 10)],
      ['credentials.scanUnexpired all expired', (r) => r.credentials.scanUnexpired(new Date(T0 + 3600_000), null, 10)],
    ];
    for (const [name, q] of cases) assert.deepEqual(await q(store), await q(ref.repos), name);
    for (const [i, c] of creds.entries()) assert.deepEqual(await store.credentials.getAnyAccount(c.id), c, `credential ${i} round-trips`);
    const events = await ref.repos.audit.list({ accountId: f.accountId }, { limit: 10 });
    assert.equal(events.items.length, 1);
    const { seq: _seq, ...event } = events.items[0]! as AuditEvent;
    assert.deepEqual(event.detail, { a: 1, nested: { b: [1, 2] } });
    assert.equal(event.at.getTime(), T0 + 7);
  } finally {
    await ref.close();
    await store.close();
  }
});

test('a duplicate current default is a CONFLICT from the prepared insert, as from Kysely', async () => {
  const { store } = await open();
  const f = await fixture(store);
  await store.transaction((tx) => tx.credentials.insert(credential(f, { kind: 'default', current: true })));
  await assert.rejects(store.transaction((tx) => tx.credentials.insert(credential(f, { kind: 'default', current: true }))),
    (e: unknown) => e instanceof KubecredError && e.code === 'CONFLICT' && /current default kubeconfig/.test(e.message));
  await assert.rejects(store.credentials.insert(credential(f, { kind: 'default', current: true })), (e: unknown) => e instanceof KubecredError && e.code === 'CONFLICT');
  await store.close();
});

test('group commit: concurrent transactions share commits, a failing one leaves no trace, each answer follows its commit', async () => {
  const { store, reference } = await open();
  const f = await fixture(store);
  const ref = reference();
  const committed = (cid: string) => ref.raw.prepare('select count(*) as n from credentials where id = ?').get(cid) as { n: number };
  const before = store.stats();
  const N = 60;
  const results = await Promise.allSettled(Array.from({ length: N }, (_, i) => {
    const c = credential(f);
    return store.transaction(async (tx) => {
      await tx.credentials.insert(c);
      await tx.audit.append({ id: id('evt'), accountId: f.accountId, at: new Date(T0), actorId: null, action: 'IssueKubeconfig', resourceType: 'credential', resourceId: c.id, outcome: 'success', sourceIp: null, requestId: null, detail: {} });
      if (i % 5 === 3) throw new Error(`member ${i} fails after writing`);
      return c.id;
    }).then((cid) => {
      // The answer comes after the shared COMMIT: another connection already sees the row.
      assert.equal(committed(cid).n, 1, `credential of member ${i} is committed when answered`);
      return cid;
    });
  }));
  const ok = results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<string>).value);
  const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
  assert.equal(ok.length, N - N / 5);
  assert.ok(failed.every((r) => /fails after writing/.test(String(r.reason))), String(failed.find((r) => !/fails after/.test(String(r.reason)))?.reason));
  const rows = ref.raw.prepare('select count(*) as n from credentials').get() as { n: number };
  assert.equal(rows.n, ok.length, 'only the successful members\' credentials are stored');
  const audits = ref.raw.prepare("select count(*) as n from audit_events where action = 'IssueKubeconfig'").get() as { n: number };
  assert.equal(audits.n, ok.length, 'and only their audit events');
  const after = store.stats();
  const commits = after.commits - before.commits;
  assert.equal(after.transactions - before.transactions, ok.length);
  assert.ok(commits < ok.length, `${ok.length} transactions shared ${commits} commits`);
  // Every answer waited for a sync of the WAL; a sync begun after several commits serves them all.
  const syncs = after.syncs - before.syncs;
  assert.ok(syncs >= 1 && syncs <= commits, `${syncs} syncs for ${commits} commits`);
  assert.ok(after.syncSeconds > before.syncSeconds, 'their time is counted');
  await ref.close();
  await store.close();
});

test('group commit: reads outside a transaction see committed data only, without waiting for a group', async () => {
  const { store } = await open();
  const f = await fixture(store);
  const c = credential(f);
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const tx = store.transaction(async (t) => {
    await t.credentials.insert(c);
    assert.deepEqual(await t.credentials.getAnyAccount(c.id), c, 'the transaction sees its own write');
    await held; // the group holds the writer, mid-transaction
    return 'done';
  });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(await store.credentials.getAnyAccount(c.id), undefined, 'hot statement: not committed, not seen');
  const listed = await store.credentials.list({ accountId: f.accountId, now: new Date(T0) }, { limit: 10 });
  assert.equal(listed.items.length, 0, 'Kysely query: not committed, not seen');
  release();
  assert.equal(await tx, 'done');
  assert.deepEqual(await store.credentials.getAnyAccount(c.id), c, 'committed: seen');
  assert.equal((await store.credentials.list({ accountId: f.accountId, now: new Date(T0) }, { limit: 10 })).items.length, 1);
  await store.close();
});

test('writes outside a transaction wait for the group holding the writer', async () => {
  const { store, reference } = await open();
  const f = await fixture(store);
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const tx = store.transaction(async (t) => {
    await t.credentials.insert(credential(f));
    await held;
  });
  await new Promise((r) => setTimeout(r, 5));
  let written = false;
  const write = store.principals.updateGroups(f.accountId, f.principal.id, ['changed']).then(() => (written = true));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(written, false, 'the write waits at the gate');
  release();
  await tx;
  await write;
  const ref = reference();
  assert.deepEqual((await ref.repos.principals.get(f.accountId, f.principal.id))?.groups, ['changed']);
  await ref.close();
  await store.close();
});

test('close waits for a group in flight and later transactions fail cleanly', async () => {
  const { store } = await open();
  const f = await fixture(store);
  const pending = store.transaction((tx) => tx.credentials.insert(credential(f)));
  await store.close();
  await pending;
  await assert.rejects(store.transaction((tx) => tx.credentials.insert(credential(f))));
});

test('revoke and supersedeDefaults through the holder index change and return exactly what the Kysely queries do', async () => {
  // Two copies of the same rows: one answered through the SQLite overrides, the other through plain Kysely.
  const a = await open();
  const fa = await fixture(a.store);
  const rows: Credential[] = [];
  const other: Principal = { ...fa.principal, id: id('usr'), name: 'bob' };
  await a.store.principals.insert(other);
  for (const [i, p] of [fa.principal, other, fa.principal, other, fa.principal, fa.principal].entries()) {
    rows.push(credential(fa, { principalId: p.id, kind: i % 3 === 0 ? 'default' : 'temporary', current: i === 0, state: i === 5 ? 'superseded' : 'active', supersededAt: i === 5 ? new Date(T0) : null }));
  }
  rows.push(credential({ ...fa, cluster: fa.deletedCluster }, { principalId: fa.principal.id }));
  for (const r of rows) await a.store.transaction((tx) => tx.credentials.insert(r));
  await a.store.close(); // checkpoints the WAL into the file, so one copy carries everything
  const copy = path.join(dir, `s${n++}.db`);
  fs.copyFileSync(a.file, copy);
  const hot = await openSqliteStore({ file: a.file });
  const raw = new BetterSqlite3(copy);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }) });
  const plain = kyselyRepos(db);
  const byId = (xs: Credential[]) => [...xs].sort((x, y) => x.id.localeCompare(y.id));
  const at = new Date(T0 + 60_000);
  try {
    const cases: Array<[string, (r: Repos) => Promise<Credential[]>]> = [
      ['revoke one credential of (cluster, alice)', (r) => r.credentials.revoke({ clusterId: fa.cluster.id, principalId: fa.principal.id, credentialId: rows[2]!.id, states: ['active', 'superseded'] }, 'usr_root', 'leaked', at)],
      ["bob's credential named under alice: nothing", (r) => r.credentials.revoke({ clusterId: fa.cluster.id, principalId: fa.principal.id, credentialId: rows[1]!.id, states: ['active'] }, 'usr_root', 'x', at)],
      ['supersede defaults of (cluster, alice)', (r) => r.credentials.supersedeDefaults(fa.cluster.id, fa.principal.id, at)],
      ['revoke (cluster, bob)', (r) => r.credentials.revoke({ clusterId: fa.cluster.id, principalId: other.id, states: ['active', 'superseded'] }, 'usr_root', 'left', at)],
      ['revoke alice everywhere', (r) => r.credentials.revoke({ principalId: fa.principal.id, states: ['active'] }, 'usr_root', 'gone', at)],
      ['revoke the whole cluster', (r) => r.credentials.revoke({ clusterId: fa.cluster.id, states: ['active', 'superseded'] }, 'usr_root', 'cluster deleted', at)],
      ['nothing left to revoke', (r) => r.credentials.revoke({ clusterId: fa.cluster.id, principalId: other.id, states: ['active'] }, 'usr_root', 'again', at)],
    ];
    const counts: number[] = [];
    for (const [name, run] of cases) {
      const mine = await hot.transaction((tx) => run(tx));
      const theirs = await db.transaction().execute((trx) => run(kyselyRepos(trx)));
      assert.deepEqual(byId(mine), byId(theirs), name);
      counts.push(mine.length);
    }
    assert.deepEqual(counts.slice(0, 2), [1, 0], 'one credential revoked by its ID, none under another holder');
    const all = async (r: Repos) => byId((await r.credentials.list({ accountId: fa.accountId, now: new Date(T0) }, { limit: 100 })).items);
    assert.deepEqual(await all(hot), await all(plain), 'the same rows afterwards');
  } finally {
    await hot.close();
    await db.destroy();
  }
});

test('the WAL is copied back into the database file by the worker, not inside a COMMIT', async () => {
  const { store, file } = await open();
  const f = await fixture(store);
  const before = fs.statSync(file).size;
  for (let i = 0; i < 200; i++) await store.transaction((tx) => tx.credentials.insert(credential(f)));
  // 200 commits: three rounds of 64, then the idle one 500 ms after the last commit.
  const deadline = Date.now() + 5000;
  while (fs.statSync(file).size === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.ok(fs.statSync(file).size > before, 'the database file grew: pages were checkpointed');
  assert.equal((await store.credentials.list({ accountId: f.accountId, now: new Date(T0) }, { limit: 500 })).items.length, 200);
  await store.close();
  const raw = new BetterSqlite3(file, { readonly: true });
  assert.equal((raw.prepare('select count(*) as n from credentials').get() as { n: number }).n, 200);
  raw.close();
});

/** The WAL header's salts: SQLite draws new ones each time it restarts the WAL from its first frame. */
const walSalt = (file: string): string => {
  const fd = fs.openSync(`${file}-wal`, 'r');
  try {
    const b = Buffer.alloc(8);
    fs.readSync(fd, b, 0, 8, 16);
    return b.toString('hex');
  } finally {
    fs.closeSync(fd);
  }
};

test('the WAL is restarted by the worker when the writer is quiet, so the next COMMIT does not restart it (and fsync) itself', async () => {
  const { store, file } = await open();
  const f = await fixture(store);
  const worker = () => ({ restarts: store.stats().walRestarts });
  for (let round = 0; round < 3; round++) {
    const restarts = worker().restarts;
    await store.transaction((tx) => tx.credentials.insert(credential(f)));
    const deadline = Date.now() + 5000;
    while (worker().restarts === restarts && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    assert.equal(worker().restarts, restarts + 1, `round ${round}: the worker restarted the WAL 500 ms after the last commit`);
    const salt = walSalt(file);
    await store.transaction((tx) => tx.credentials.insert(credential(f)));
    await store.audit.append({ id: id('evt'), accountId: f.accountId, at: new Date(T0), actorId: null, action: 'Test', resourceType: 'credential', resourceId: null, outcome: 'success', sourceIp: null, requestId: null, detail: {} });
    assert.equal(walSalt(file), salt, `round ${round}: the writer's commits continued the WAL the worker had restarted`);
  }
  await store.close();
});

test('under a steady stream of commits the WAL stays small: restarted every few hundred commits, not grown to SQLite\'s fallback threshold', async () => {
  const { store, file } = await open();
  const f = await fixture(store);
  let largest = 0;
  // Never 500 ms apart: the quiet-time restart never runs, only the one counted in commits.
  for (let i = 0; i < 3000; i++) {
    await Promise.all([0, 1, 2].map(() => store.transaction((tx) => tx.credentials.insert(credential(f)))));
    if (i % 50 === 0) largest = Math.max(largest, fs.statSync(`${file}-wal`).size);
  }
  const restarts = store.stats().walRestarts;
  assert.ok(restarts >= 2, `restarted under load (${restarts} times)`);
  // 3,000 groups of about 3 inserts write well over 20,000 frames: without restarts the WAL would pass 80 MB.
  assert.ok(largest < 40 * 1024 * 1024, `the WAL stayed under 40 MB (largest ${(largest / 1048576).toFixed(1)} MB)`);
  assert.equal((await store.credentials.list({ accountId: f.accountId, now: new Date(T0) }, { limit: 1 })).items.length, 1);
  await store.close();
});

test('a server holds its file: a second server on it is refused at once, one-shot openers are not, and the lock goes with the first', async () => {
  const file = path.join(dir, `owned-${n++}.db`);
  const first = await openSqliteStore({ file, exclusive: true });
  await assert.rejects(openSqliteStore({ file, exclusive: true }),
    (e: unknown) => e instanceof KubecredError && e.code === 'CONFLICT' && /another kubecred server or migration is using/.test(e.message));
  // A backup or `account create` opens the store without the lock, while the server runs.
  const oneShot = await openSqliteStore({ file });
  await oneShot.close();
  assert.equal(fs.statSync(`${file}-owner`).mode & 0o777, 0o600);
  await first.close();
  const second = await openSqliteStore({ file, exclusive: true });
  await second.close();
});

test('a server that fails to open its file gives the owner lock back, so the next attempt names the real error', async () => {
  const bad = path.join(dir, `not-a-db-${n++}.db`);
  fs.writeFileSync(bad, Buffer.alloc(4096, 7));
  await assert.rejects(openSqliteStore({ file: bad, exclusive: true }), /not a database/);
  await assert.rejects(openSqliteStore({ file: bad, exclusive: true }), /not a database/);
});
