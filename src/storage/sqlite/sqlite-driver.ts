// Kysely's SQLite dialect, reworked for one writer and one reader connection: statements are prepared
// once per SQL text (Kysely's own driver prepares every query afresh), reads outside transactions go to
// a read-only connection that sees only committed data, and every write waits at the Gate the store's
// group commit holds for a whole group. Must never let a write or a transaction bypass the Gate.

import type BetterSqlite3 from 'better-sqlite3';
import { SqliteDialect, type CompiledQuery, type DatabaseConnection, type Driver, type QueryResult } from 'kysely';

const RESOLVED = Promise.resolve();

/** A FIFO async mutex over the single writing connection. */
export class Gate {
  #held = false;
  #waiters: Array<() => void> = [];
  /** Told each time the writer is given up, before anyone else gets it (no transaction is open then). */
  onRelease: (() => void) | null = null;

  get held(): boolean {
    return this.#held;
  }

  acquire(): Promise<void> {
    if (!this.#held) {
      this.#held = true;
      return RESOLVED;
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  release(): void {
    this.onRelease?.();
    const next = this.#waiters.shift();
    // Hand the gate straight to the next waiter, so nobody can slip in between.
    if (next) next();
    else this.#held = false;
  }

  /** Runs a synchronous `fn` holding the gate: at once when it is free, otherwise in turn. */
  run<T>(fn: () => T): Promise<T> {
    if (!this.#held) {
      this.#held = true;
      try {
        return Promise.resolve(fn());
      } catch (e) {
        return Promise.reject(e);
      } finally {
        this.release();
      }
    }
    return this.acquire().then(() => {
      try {
        return fn();
      } finally {
        this.release();
      }
    });
  }
}

const STATEMENT_CACHE_MAX = 512;

/** One better-sqlite3 connection with its prepared statements by SQL text (bounded: `in (?, ?, ...)` makes many). */
export class Connection {
  readonly raw: BetterSqlite3.Database;
  #stmts = new Map<string, BetterSqlite3.Statement>();

  constructor(raw: BetterSqlite3.Database) {
    this.raw = raw;
  }

  statement(sql: string): BetterSqlite3.Statement {
    let s = this.#stmts.get(sql);
    if (!s) {
      if (this.#stmts.size >= STATEMENT_CACHE_MAX) this.#stmts.clear();
      s = this.raw.prepare(sql);
      this.#stmts.set(sql, s);
    }
    return s;
  }

  execute<R>(q: CompiledQuery): QueryResult<R> {
    const stmt = this.statement(q.sql);
    const params = q.parameters as unknown[];
    if (stmt.reader) return { rows: stmt.all(params) as R[] };
    const { changes, lastInsertRowid } = stmt.run(params);
    return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
  }

  async *stream<R>(q: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    // A fresh statement: a cached one could be iterated twice at once.
    const stmt = this.raw.prepare(q.sql);
    if (!stmt.reader) throw new Error('this SQLite driver only streams select queries');
    for (const row of stmt.iterate(q.parameters as unknown[])) yield { rows: [row as R] };
  }
}

/** Where the store's queries run: `reader` is null for ':memory:' (a second connection would be another database). */
export interface Connections {
  writer: Connection;
  reader: Connection | null;
  gate: Gate;
  /** Resolves once every write committed before the call is on disk (null: nothing to sync, e.g. ':memory:'). */
  durable: (() => Promise<void>) | null;
  /** Set once a sync to disk failed: from then on nothing may be written (and answered as stored). */
  failure?: () => Error | null;
  /** Told of every commit on the writer, so the WAL is copied back off the event loop. */
  committed?: () => void;
  checkpointer?: { close(): Promise<void>; runs: number; restarts: number; lastError: string | null } | null;
}

/** A write outside any transaction: its turn at the gate, then the same durability wait a group commit has. */
export function writeOutside<T>(c: Connections, fn: (writer: Connection) => T): Promise<T> {
  const broken = c.failure?.();
  if (broken) return Promise.reject(broken);
  const written = c.gate.run(() => {
    const v = fn(c.writer);
    c.committed?.();
    return v;
  });
  return c.durable ? written.then(async (v) => {
    await c.durable!();
    return v;
  }) : written;
}

const attempt = <T>(fn: () => T): Promise<T> => {
  try {
    return Promise.resolve(fn());
  } catch (e) {
    return Promise.reject(e);
  }
};

/**
 * A read outside any transaction. The writer when it is free: its page cache is current, whereas the
 * reader's is dropped after every commit. The reader when a group holds the writer: it sees the last
 * committed state without waiting for the group to finish.
 */
export function readOutside<T>(c: Connections, fn: (conn: Connection) => T): Promise<T> {
  return c.reader && c.gate.held ? attempt(() => fn(c.reader!)) : c.gate.run(() => fn(c.writer));
}

/** Kysely hands each caller its own connection object, so a transaction's queries are told from others'. */
class RoutedConnection implements DatabaseConnection {
  inTransaction = false;
  #c: Connections;
  #readonly: Map<string, boolean>;

  constructor(c: Connections, readonly: Map<string, boolean>) {
    this.#c = c;
    this.#readonly = readonly;
  }

  #isRead(sql: string): boolean {
    let r = this.#readonly.get(sql);
    if (r === undefined) {
      r = this.#c.reader ? this.#c.reader.statement(sql).readonly : false;
      if (this.#readonly.size >= STATEMENT_CACHE_MAX) this.#readonly.clear();
      this.#readonly.set(sql, r);
    }
    return r;
  }

  executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
    const c = this.#c;
    // In a transaction this connection already holds the gate.
    if (this.inTransaction) return attempt(() => c.writer.execute<R>(q));
    if (c.reader && this.#isRead(q.sql)) return readOutside(c, (conn) => conn.execute<R>(q));
    return writeOutside(c, (w) => w.execute<R>(q));
  }

  streamQuery<R>(q: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    return (this.inTransaction || !this.#c.reader ? this.#c.writer : this.#c.reader).stream<R>(q);
  }
}

/** The driver of the store's own Kysely instance: routes reads, gates writes and Kysely transactions (migrations). */
class RoutedDriver implements Driver {
  #c: Connections;
  #readonly = new Map<string, boolean>();

  constructor(c: Connections) {
    this.#c = c;
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new RoutedConnection(this.#c, this.#readonly);
  }

  async releaseConnection(): Promise<void> {}

  async beginTransaction(conn: DatabaseConnection): Promise<void> {
    await this.#c.gate.acquire();
    try {
      this.#c.writer.statement('begin immediate').run();
    } catch (e) {
      this.#c.gate.release();
      throw e;
    }
    (conn as RoutedConnection).inTransaction = true;
  }

  async commitTransaction(conn: DatabaseConnection): Promise<void> {
    this.#end(conn, 'commit');
    await this.#c.durable?.();
  }

  async rollbackTransaction(conn: DatabaseConnection): Promise<void> {
    // SQLite may have rolled back already (disk full, I/O error): a ROLLBACK then would fail, and its error
    // would replace the one that says why.
    this.#end(conn, this.#c.writer.raw.inTransaction ? 'rollback' : null);
  }

  #end(conn: DatabaseConnection, sql: 'commit' | 'rollback' | null): void {
    const rc = conn as RoutedConnection;
    try {
      if (sql) this.#c.writer.statement(sql).run();
    } finally {
      // A failed COMMIT leaves the transaction open: roll it back before anyone else may write.
      if (this.#c.writer.raw.inTransaction) {
        try {
          this.#c.writer.statement('rollback').run();
        } catch {
          // nothing left to undo
        }
      }
      rc.inTransaction = false;
      this.#c.gate.release();
    }
  }

  async destroy(): Promise<void> {
    // The store closes both connections itself, once.
  }
}

/** Members of a group commit: the group holds the gate for them, so they run straight on the writer. */
class GroupMemberDriver implements Driver {
  #conn: DatabaseConnection;

  constructor(writer: Connection) {
    this.#conn = {
      executeQuery: <R>(q: CompiledQuery) => attempt(() => writer.execute<R>(q)),
      streamQuery: <R>(q: CompiledQuery) => writer.stream<R>(q),
    };
  }

  async init(): Promise<void> {}
  async acquireConnection(): Promise<DatabaseConnection> {
    return this.#conn;
  }
  async releaseConnection(): Promise<void> {}
  async beginTransaction(): Promise<void> {
    throw new Error('a transaction inside a group-commit member: use the tx repositories it was given');
  }
  async commitTransaction(): Promise<void> {}
  async rollbackTransaction(): Promise<void> {}
  async destroy(): Promise<void> {}
}

export class KubecredSqliteDialect extends SqliteDialect {
  #driver: Driver;

  constructor(c: Connections, role: 'store' | 'group-member') {
    super({ database: c.writer.raw });
    this.#driver = role === 'store' ? new RoutedDriver(c) : new GroupMemberDriver(c.writer);
  }

  override createDriver(): Driver {
    return this.#driver;
  }
}
