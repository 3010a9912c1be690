// Makes committed SQLite writes durable off the event loop: fdatasync of the WAL file on libuv's thread
// pool, shared by every caller waiting at the time. SQLite runs with synchronous=NORMAL and this does the
// sync synchronous=FULL would have done inside COMMIT, blocking the whole process for the disk's latency.
// Must never report a write durable from an fdatasync that started before that write was made.

import fs from 'node:fs';

/** A failed sync of the WAL: the store cannot confirm a write again until the process restarts. */
export class WalSyncError extends Error {}

export class WalSync {
  #path: string;
  #fd: number | null = null;
  #ino = -1;
  #checkedAt = 0;
  /** The fdatasync in flight, and whether someone wrote after it started (so another one is owed). */
  #running: Promise<void> | null = null;
  #next: Promise<void> | null = null;
  /** Once an fdatasync fails, no later write may be called durable: the page cache may have dropped it. */
  #failed: Error | null = null;
  /** fdatasyncs completed, and the seconds from each one's start to its callback on the event loop, in all. */
  syncs = 0;
  seconds = 0;

  constructor(walPath: string) {
    this.#path = walPath;
  }

  get failed(): Error | null {
    return this.#failed;
  }

  /** Resolves once an fdatasync that began after this call has completed. */
  sync(): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed);
    if (!this.#running) return this.#begin();
    // One is in flight but may predate the caller's write: share the one that follows it.
    this.#next ??= this.#running.then(() => {
      this.#next = null;
      return this.#begin();
    }, () => {
      this.#next = null;
      return Promise.reject(this.#failed);
    });
    return this.#next;
  }

  /** Starts a sync and records it as running, unless it failed at once (then nothing runs: idle() must not wait on it). */
  #begin(): Promise<void> {
    const p = this.#start();
    if (!this.#failed) this.#running = p;
    return p;
  }

  #start(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let fd: number;
      try {
        fd = this.#open();
      } catch (e) {
        this.#running = null;
        reject(this.#fail(e));
        return;
      }
      const t0 = performance.now();
      fs.fdatasync(fd, (err) => {
        this.#running = null;
        if (err) return reject(this.#fail(err));
        this.syncs++;
        this.seconds += (performance.now() - t0) / 1000;
        resolve();
      });
    });
  }

  /**
   * The WAL's current inode: SQLite recreates the file only when the last connection closes, but check, at most
   * once a second (a stat per request is a system call per request).
   */
  #open(): number {
    const now = performance.now();
    if (this.#fd !== null && now - this.#checkedAt < 1000) return this.#fd;
    this.#checkedAt = now;
    const st = fs.statSync(this.#path);
    if (this.#fd === null || st.ino !== this.#ino) {
      if (this.#fd !== null) fs.closeSync(this.#fd);
      this.#fd = fs.openSync(this.#path, 'r');
      this.#ino = fs.fstatSync(this.#fd).ino;
    }
    return this.#fd;
  }

  #fail(e: unknown): Error {
    this.#failed = new WalSyncError(`the database write-ahead log could not be synced to disk; restart kubecred once the disk is healthy (${(e as Error).message})`, { cause: e });
    return this.#failed;
  }

  /** Settles once no sync is in flight or owed. */
  async idle(): Promise<void> {
    // A failed sync owes nothing more: every later one is refused at once.
    while ((this.#running || this.#next) && !this.#failed) await (this.#next ?? this.#running)!.catch(() => undefined);
  }

  close(): void {
    if (this.#fd !== null) fs.closeSync(this.#fd);
    this.#fd = null;
  }
}
