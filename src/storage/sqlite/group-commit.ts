// Group commit for the SQLite store: transactions that queue up while one commits are run one after the
// other inside a single SQLite transaction, each in its own savepoint, and share one COMMIT (one fsync).
// Must never answer a member before that shared COMMIT has returned, nor let a failed member's writes land.

import type BetterSqlite3 from 'better-sqlite3';
import type { Repos } from '../../core/store-port.ts';
import type { Connections } from './sqlite-driver.ts';

interface Member {
  fn: (tx: Repos) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export interface GroupCommitStats {
  /** Transactions committed, and the COMMITs that carried them. */
  transactions: number;
  commits: number;
  largestGroup: number;
}

/** At most this many members share a commit, so one group cannot hold the connection for long. */
const MAX_GROUP = 64;

export function makeGroupCommit(c: Connections, txRepos: Repos) {
  const { gate } = c;
  const raw: BetterSqlite3.Database = c.writer.raw;
  const queue: Member[] = [];
  const stats: GroupCommitStats = { transactions: 0, commits: 0, largestGroup: 0 };
  let draining: Promise<void> | null = null;
  const exec = (sql: string) => c.writer.statement(sql).run();
  const rollbackAll = () => {
    try {
      if (raw.inTransaction) exec('rollback');
    } catch {
      // nothing more to undo: SQLite has already dropped the transaction or the connection is gone
    }
  };

  async function runGroup(): Promise<void> {
    await gate.acquire();
    const broken = c.failure?.();
    if (broken) {
      gate.release();
      for (const m of queue.splice(0)) m.reject(broken);
      return;
    }
    const done: Array<{ m: Member; value: unknown }> = [];
    let current: Member | null = null;
    const failAll = (e: unknown) => {
      rollbackAll();
      current?.reject(e);
      current = null;
      for (const d of done.splice(0)) d.m.reject(e);
    };
    try {
      exec('begin immediate');
    } catch (e) {
      // Busy past busy_timeout, or the database is closed: the waiting transactions fail rather than spin.
      gate.release();
      for (const m of queue.splice(0)) m.reject(e);
      return;
    }
    try {
      while (queue.length > 0 && done.length < MAX_GROUP) {
        current = queue.shift()!;
        exec('savepoint member');
        let value: unknown;
        try {
          value = await current.fn(txRepos);
        } catch (e) {
          if (!raw.inTransaction) {
            // SQLite rolled the whole transaction back itself (disk full, I/O error): every member so far is lost.
            failAll(e);
            gate.release();
            return;
          }
          exec('rollback to member');
          exec('release member');
          current.reject(e);
          current = null;
          continue;
        }
        exec('release member');
        done.push({ m: current, value });
        current = null;
      }
      exec('commit');
    } catch (e) {
      // A savepoint statement or COMMIT failed: nothing of this group may be answered as stored.
      failAll(e);
      gate.release();
      return;
    }
    gate.release();
    c.committed?.();
    stats.commits++;
    stats.transactions += done.length;
    stats.largestGroup = Math.max(stats.largestGroup, done.length);
    // Not awaited: the next group runs while this one's WAL frames reach the disk. Syncs complete in order.
    const answer = () => {
      // Only now is every member durable; answer them in the order they ran.
      for (const d of done) d.m.resolve(d.value);
    };
    if (c.durable) c.durable().then(answer, (e) => { for (const d of done) d.m.reject(e); });
    else answer();
  }

  async function drain(): Promise<void> {
    while (queue.length > 0) await runGroup();
  }

  function schedule(): void {
    // Start after this turn's I/O callbacks: every request that arrived with this one can join the group.
    draining = new Promise<void>((resolve) => setImmediate(resolve)).then(drain).finally(() => {
      draining = null;
      if (queue.length > 0) schedule();
    });
  }

  return {
    stats,
    /** Settles once every queued transaction has run and committed (their durability waits may still be pending). */
    async settle(): Promise<void> {
      while (draining) await draining;
    },
    transaction<T>(fn: (tx: Repos) => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
        if (!draining) schedule();
      });
    },
  };
}
