// The two backends' schemas must not drift: after every migration, SQLite and PostgreSQL have the same
// tables, columns (kind, nullability, primary key) and indexes (columns, uniqueness, partial or not).
// PostgreSQL's NOTIFY trigger (migration 006) has no SQLite twin by design and is checked on its own, and SQLite's
// note of committed migrations (migrations.ts, COMMITTED_TABLE) is bookkeeping, as Kysely's own tables are.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { COMMITTED_TABLE } from '../src/storage/migrations.ts';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.ts';
import { openPostgresStore } from '../src/storage/postgres/postgres-store.ts';
import { startPostgres, type TestPostgres } from './support/postgres.ts';

interface Shape { columns: string[]; indexes: string[] }
type Schema = Record<string, Shape>;

const kind = (t: string) => ({ text: 'text', integer: 'int', bigint: 'int' } as Record<string, string>)[t.toLowerCase()] ?? `?${t}`;

function sqliteSchema(file: string): Schema {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    const tables = (db.prepare(`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like 'kysely_%' and name <> '${COMMITTED_TABLE}' order by name`).all() as Array<{ name: string }>).map((r) => r.name);
    const out: Schema = {};
    for (const t of tables) {
      const cols = db.prepare(`pragma table_info("${t}")`).all() as Array<{ name: string; type: string; notnull: number; pk: number }>;
      const indexes = (db.prepare(`pragma index_list("${t}")`).all() as Array<{ name: string; unique: number; origin: string; partial: number }>)
        .filter((i) => i.origin !== 'pk')
        .map((i) => {
          const on = (db.prepare(`pragma index_info("${i.name}")`).all() as Array<{ name: string }>).map((c) => c.name);
          return `${i.unique ? 'unique ' : ''}(${on.join(',')})${i.partial ? ' partial' : ''}`;
        });
      out[t] = {
        columns: cols.map((c) => `${c.name} ${kind(c.type)}${c.notnull || c.pk ? ' not null' : ''}${c.pk ? ' pk' : ''}`).sort(),
        indexes: indexes.sort(),
      };
    }
    return out;
  } finally {
    db.close();
  }
}

async function postgresSchema(url: string): Promise<Schema> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const cols = await c.query(`
      select c.table_name, c.column_name, c.data_type, c.is_nullable,
             exists (select 1 from information_schema.table_constraints tc
                     join information_schema.key_column_usage k on k.constraint_name = tc.constraint_name and k.table_name = tc.table_name
                     where tc.constraint_type = 'PRIMARY KEY' and tc.table_name = c.table_name and k.column_name = c.column_name) as pk
      from information_schema.columns c
      where c.table_schema = 'public' and c.table_name not like 'kysely_%'`);
    const idx = await c.query(`
      select t.relname as table_name, i.indisunique as is_unique, i.indpred is not null as partial, i.indisprimary as primary,
             array(select a.attname from unnest(i.indkey) with ordinality k(n, o) join pg_attribute a on a.attrelid = t.oid and a.attnum = k.n order by k.o)::text[] as cols
      from pg_index i join pg_class t on t.oid = i.indrelid join pg_namespace s on s.oid = t.relnamespace
      where s.nspname = 'public' and t.relname not like 'kysely_%'`);
    const out: Schema = {};
    for (const r of cols.rows) {
      const shape = (out[r.table_name] ??= { columns: [], indexes: [] });
      shape.columns.push(`${r.column_name} ${kind(r.data_type)}${r.is_nullable === 'NO' ? ' not null' : ''}${r.pk ? ' pk' : ''}`);
    }
    for (const r of idx.rows) {
      if (r.primary) continue;
      out[r.table_name].indexes.push(`${r.is_unique ? 'unique ' : ''}(${r.cols.join(',')})${r.partial ? ' partial' : ''}`);
    }
    for (const s of Object.values(out)) {
      s.columns.sort();
      s.indexes.sort();
    }
    return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
  } finally {
    await c.end();
  }
}

let postgres: TestPostgres;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubecred-schema-'));
before(async () => {
  postgres = await startPostgres();
});
after(async () => {
  await postgres?.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('SQLite and PostgreSQL carry the same schema after every migration', async () => {
  const file = path.join(dir, 'schema.db');
  const sqlite = await openSqliteStore({ file });
  const url = await postgres.createDatabase('schema');
  const pgStore = await openPostgresStore({ url, listen: false });
  assert.deepEqual(pgStore.migrations.current, sqlite.migrations.current, 'the same migrations, in the same order');
  await sqlite.close();
  await pgStore.close();

  const a = sqliteSchema(file);
  const b = await postgresSchema(url);
  assert.ok(Object.keys(a).length >= 15, `expected every table, saw ${Object.keys(a).join(', ')}`);
  assert.deepEqual(b, a);
});

test('PostgreSQL announces credential changes from a trigger on the credentials table', async () => {
  const url = await postgres.createDatabase('trigger');
  const store = await openPostgresStore({ url, listen: false });
  await store.close();
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query("select tgname from pg_trigger where tgrelid = 'credentials'::regclass and not tgisinternal");
    assert.deepEqual(r.rows.map((x) => x.tgname), ['credentials_notify']);
  } finally {
    await c.end();
  }
});
