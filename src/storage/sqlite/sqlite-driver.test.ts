// The store's own Kysely transactions (migrations run in them): when SQLite has already rolled the transaction
// back itself, as it does on a full disk, the error that reaches the caller is the disk's, not the ROLLBACK's.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, sql } from 'kysely';
import { Connection, Gate, KubecredSqliteDialect, type Connections } from './sqlite-driver.ts';

test('a transaction SQLite rolled back itself (disk full) fails with the disk\'s error and frees the writer', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubecred-driver-'));
  const raw = new BetterSqlite3(path.join(dir, 'full.db'));
  try {
    raw.pragma('journal_mode = WAL');
    raw.exec('create table t (x blob)');
    // A database that may not grow by more than a few pages: the inserts below fill it.
    raw.pragma(`max_page_count = ${Number(raw.pragma('page_count', { simple: true })) + 3}`);
    const c: Connections = { writer: new Connection(raw), reader: null, gate: new Gate(), durable: null };
    const db = new Kysely<any>({ dialect: new KubecredSqliteDialect(c, 'store') });
    await assert.rejects(
      db.transaction().execute(async (tx) => {
        for (let i = 0; i < 100; i++) await sql`insert into t values (randomblob(3000))`.execute(tx);
      }),
      /database or disk is full/,
    );
    assert.equal(raw.inTransaction, false);
    // The gate was given back: the next transaction runs (and fits).
    await db.transaction().execute(async (tx) => void (await sql`insert into t values (1)`.execute(tx)));
    assert.equal((raw.prepare('select count(*) as n from t').get() as { n: number }).n, 1);
  } finally {
    raw.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
