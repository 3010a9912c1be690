// The committed rows every request reads again (API and webhook tokens, access keys, principals, clusters), kept in
// memory by the SQLite store. Exact, not a TTL: one process owns the file and all its writes go through
// one connection, whose TEMP triggers on these tables mark the cache stale; it is emptied when that
// connection gives up the gate (the write committed or rolled back). PostgreSQL replicas have no such
// single writer, so that store reads every time.

import type BetterSqlite3 from 'better-sqlite3';

/** The tables whose rows are cached; a write to any of them empties the whole cache. */
export const CACHED_TABLES = ['api_tokens', 'access_keys', 'principals', 'clusters', 'webhook_tokens'] as const;

/** Beyond this many rows the cache starts over (a guess at IDs must not grow it without bound). */
const MAX_ROWS = 4096;
/**
 * Keys read and found absent, remembered apart from the rows (and bounded on their own) so that guessing IDs
 * never pushes out a real row. Without them an unknown token ID cost a database read where a known one with a
 * wrong secret cost a map lookup: ~25 µs that told which IDs exist (bench/timing.ts).
 */
const MAX_ABSENT = 1024;

export class RowCache {
  #rows = new Map<string, unknown>();
  #absent = new Set<string>();
  #generation = 0;
  #touched = false;
  hits = 0;
  misses = 0;

  /**
   * Has `raw` (the store's only writing connection) tell the cache of every insert, update and delete on
   * the cached tables, whichever code wrote them. TEMP triggers live only in this connection.
   */
  watch(raw: BetterSqlite3.Database): void {
    raw.function('kubecred_rows_touched', { deterministic: false }, () => {
      this.#touched = true;
      return null;
    });
    for (const table of CACHED_TABLES) {
      for (const op of ['insert', 'update', 'delete']) {
        raw.exec(`create temp trigger if not exists "kubecred_touch_${table}_${op}" after ${op} on main."${table}" begin select kubecred_rows_touched(); end`);
      }
    }
  }

  /** Called whenever the writer is released: a touched table's rows are dropped, committed or not. */
  settle(): void {
    if (!this.#touched) return;
    this.#touched = false;
    this.#generation++;
    this.#rows.clear();
    this.#absent.clear();
  }

  /**
   * The row under `key`, from memory or from `load` (a read of committed data outside any transaction).
   * Only rows nobody wrote while `load` ran are kept, and so is their absence. The object handed out is
   * frozen: it is shared.
   */
  async get<T extends object>(key: string, load: () => Promise<T | undefined>): Promise<T | undefined> {
    const kept = this.#rows.get(key) as T | undefined;
    if (kept || this.#absent.has(key)) {
      this.hits++;
      return kept;
    }
    this.misses++;
    const generation = this.#generation;
    const row = await load();
    if (generation === this.#generation && !this.#touched) {
      if (row) {
        if (this.#rows.size >= MAX_ROWS) this.#rows.clear();
        this.#rows.set(key, deepFreeze(row));
      } else {
        if (this.#absent.size >= MAX_ABSENT) this.#absent.clear();
        this.#absent.add(key);
      }
    }
    return row;
  }
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o) && !(o instanceof Date)) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
