// The embedded default Store: one SQLite file in WAL mode, through Kysely and better-sqlite3.
// One connection writes (transactions serialized, and grouped to share a commit); a second, read-only one
// answers reads outside transactions. It must never be opened by two servers.

import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, sql } from 'kysely';
import { KubecredError } from '../../core/errors.ts';
import type { Store, StoreStats } from '../../core/store-port.ts';
import { migrateToLatest, type MigrateOptions, type MigrationReport } from '../migrate.ts';
import type { Database } from '../schema.ts';
import { kyselyRepos } from '../kysely-repos.ts';
import { makeGroupCommit } from './group-commit.ts';
import { hotRepos } from './sqlite-hot-repos.ts';
import { Connection, Gate, KubecredSqliteDialect, type Connections } from './sqlite-driver.ts';
import { WalSync } from './wal-sync.ts';
import { sqliteErrorMapper, type WriteFailure } from './sqlite-errors.ts';
import { guardErrors, mapRepoErrors } from '../map-errors.ts';
import { Checkpointer } from './checkpointer.ts';
import { RowCache } from './row-cache.ts';

export interface SqliteOptions {
  /** File path, or ':memory:' for tests of storage alone. */
  file: string;
  /**
   * A server: holds the file's owner lock for as long as the store is open, so that a second server started on
   * the same file stops at once. Each would keep answering from what it holds in memory (the revocation index,
   * cached tokens and principals) and never see the other's revocations. One-shot commands (backup, account
   * create) need no lock.
   */
  exclusive?: boolean;
  /** Whether pending migrations may be applied to an existing database, and who hears about it. */
  migrate?: MigrateOptions;
}

/**
 * An exclusive lock on `<file>-owner`, an empty SQLite database kept in an open EXCLUSIVE transaction. The
 * lock is a POSIX lock, which the kernel drops when the process ends however it ends (kill -9 included), and
 * which SQLite also enforces between connections of one process.
 */
export function takeOwnerLock(file: string): BetterSqlite3.Database {
  const lockFile = `${file}-owner`;
  if (!fs.existsSync(lockFile)) fs.closeSync(fs.openSync(lockFile, 'a', 0o600));
  const lock = new BetterSqlite3(lockFile);
  try {
    lock.pragma('locking_mode = EXCLUSIVE');
    lock.exec('begin exclusive');
    return lock;
  } catch (e) {
    lock.close();
    if ((e as { code?: string }).code !== 'SQLITE_BUSY') throw e;
    throw new KubecredError('CONFLICT', `another kubecred server or migration is using ${file}; stop it first (two servers on one SQLite file would each miss the other's revocations, and a migration may rebuild a table under a server), or run several replicas on one PostgreSQL database (--database postgres://…, or KUBECRED_DATABASE_URL)`, { cause: e });
  }
}

/** The SQLite Store always counts its commits, syncs and checkpoints (zero syncs and checkpoints for ':memory:'). */
export type SqliteStore = Store & { stats(): StoreStats };

export async function openSqliteStore(opts: SqliteOptions): Promise<SqliteStore> {
  if (opts.file !== ':memory:') {
    fs.mkdirSync(path.dirname(opts.file), { recursive: true, mode: 0o700 });
    // The database holds sealed keys and token hashes: nobody else may read it.
    if (!fs.existsSync(opts.file)) fs.closeSync(fs.openSync(opts.file, 'a', 0o600));
  }
  const owner = opts.exclusive && opts.file !== ':memory:' ? takeOwnerLock(opts.file) : null;
  try {
    return await openConnections(opts.file, owner, opts.migrate);
  } catch (e) {
    // Whatever failed (not a database, a migration, a pragma), the lock must not outlive the attempt.
    owner?.close();
    throw e;
  }
}

async function openConnections(location: string, owner: BetterSqlite3.Database | null, migrate?: MigrateOptions): Promise<SqliteStore> {
  const raw = new BetterSqlite3(location);
  let reader: BetterSqlite3.Database | null = null;
  try {
    raw.pragma('journal_mode = WAL');
    // A certificate answered to a client must survive a power cut, not only a process crash: nothing is answered
    // until the WAL holding it has been fdatasync'ed (wal-sync.ts), which is what synchronous=FULL would do inside
    // COMMIT. Doing it ourselves, on libuv's thread pool, keeps the event loop running during the disk's latency
    // and lets a whole group commit share one sync; SQLite itself then needs only NORMAL (the WAL is still synced
    // before every checkpoint, the database file after). An in-memory database has nothing to sync.
    const file = location === ':memory:' ? null : location;
    raw.pragma(file ? 'synchronous = NORMAL' : 'synchronous = FULL');
    raw.pragma('foreign_keys = ON');
    raw.pragma('busy_timeout = 5000');
    // Each member of a group commit runs in a savepoint, whose undo pages would otherwise go to a temp file.
    raw.pragma('temp_store = MEMORY');
    // A worker thread checkpoints (checkpointer.ts); SQLite's own, in-COMMIT checkpoint is only the fallback
    // should the worker fail or fall far behind (20,000 pages, 80 MB of WAL).
    if (file) raw.pragma('wal_autocheckpoint = 20000');
    // The writer also answers most reads (sqlite-driver.ts): a 32 MB page cache instead of SQLite's 2 MB keeps the
    // hot index pages of a million-credential inventory in memory.
    raw.pragma('cache_size = -32768');
    const gate = new Gate();
    const wal = file ? new WalSync(`${file}-wal`) : null;
    const c: Connections = { writer: new Connection(raw), reader: null, gate, durable: wal && (() => wal.sync()), failure: () => wal?.failed ?? null };
    const db = new Kysely<Database>({ dialect: new KubecredSqliteDialect(c, 'store') });
    const migrations = await migrateToLatest(db, 'sqlite', migrate);
    // A migration that rebuilt a table leaves its pages in the WAL (2 GB for a million credentials): copy them into the
    // database file and empty the WAL now, once, rather than serve with every read consulting a WAL that size.
    if (file && migrations.applied.length > 0) raw.pragma('wal_checkpoint(TRUNCATE)');
    if (file) {
      // Opened after the migrations so it never holds a stale schema; WAL lets it read while the writer commits.
      reader = new BetterSqlite3(file, { readonly: true });
      reader.pragma('busy_timeout = 5000');
      c.reader = new Connection(reader);
    }
    // After the migrations, which may still rebuild the cached tables.
    const cache = new RowCache();
    cache.watch(raw);
    gate.onRelease = () => cache.settle();
    if (file) {
      const checkpointer = new Checkpointer(file, gate);
      c.checkpointer = checkpointer;
      c.committed = () => checkpointer.noteCommit();
    }
    return sqliteStore(c, db, migrations, wal, cache, owner, file);
  } catch (e) {
    reader?.close();
    raw.close();
    throw e;
  }
}

function sqliteStore(c: Connections, db: Kysely<Database>, migrations: MigrationReport, wal: WalSync | null, cache: RowCache, owner: BetterSqlite3.Database | null, file: string | null): SqliteStore {
  // Members of a group commit run while the group holds the gate: their queries go straight to the writer.
  const inGroup = new Kysely<Database>({ dialect: new KubecredSqliteDialect(c, 'group-member') });
  const group = makeGroupCommit(c, hotRepos(kyselyRepos(inGroup), c, true));
  let closed = false;
  // A full disk, an I/O error or a read-only file is the operator's to fix, not a bug: 503 UNAVAILABLE, counted.
  const writeFailures: Partial<Record<WriteFailure, number>> = {};
  const mapError = sqliteErrorMapper((reason) => (writeFailures[reason] = (writeFailures[reason] ?? 0) + 1));
  return {
    ...mapRepoErrors(hotRepos(kyselyRepos(db), c, false, cache), mapError),
    dialect: 'sqlite',
    migrations,
    stats: () => {
      const k = c.checkpointer;
      return {
        ...group.stats, syncs: wal?.syncs ?? 0, syncSeconds: wal?.seconds ?? 0,
        checkpoints: k?.runs ?? 0, walRestarts: k?.restarts ?? 0, checkpointError: k?.lastError ?? null,
        rowCacheHits: cache.hits, rowCacheMisses: cache.misses, writeFailures: { ...writeFailures },
      };
    },
    transaction: guardErrors((fn) => group.transaction(fn), mapError) as SqliteStore['transaction'],
    fatal: () => wal?.failed ?? null,
    ping: async () => {
      if (wal?.failed) throw wal.failed;
      await sql`select 1`.execute(db);
    },
    dropOldPages: async () => {
      if (!file) return 'done';
      // A server beside us would have VACUUM hold its writes for as long as the copy takes: leave it to a later run.
      let lock: BetterSqlite3.Database | null = null;
      if (!owner) {
        try {
          lock = takeOwnerLock(file);
        } catch (e) {
          if ((e as KubecredError).code === 'CONFLICT') return 'in-use';
          throw e;
        }
      }
      try {
        await group.settle();
        await c.gate.run(() => {
          // VACUUM writes every page afresh (free pages and the unused space of pages hold deleted and replaced rows),
          // through the WAL; TRUNCATE then copies those pages over the file's and cuts the WAL, whose older frames
          // hold the pages as they were, to nothing.
          c.writer.raw.exec('VACUUM');
          const [r] = c.writer.raw.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
          if (r?.busy) throw new KubecredError('UNAVAILABLE', `another connection (a kubecred backup?) kept reading ${file}, so its write-ahead log could not be emptied: run this again once it is done`);
        });
      } finally {
        lock?.close();
      }
      return 'done';
    },
    close: async () => {
      if (closed) return;
      closed = true;
      // Wait for whoever holds the writer (a group mid-commit) and for syncs owed to answered writes.
      await group.settle();
      await c.gate.run(() => undefined);
      await wal?.idle();
      await c.gate.run(() => {
        c.reader?.raw.close();
        c.writer.raw.close();
      });
      await c.checkpointer?.close();
      wal?.close();
      await db.destroy();
      await inGroup.destroy();
      owner?.close();
    },
  };
}
