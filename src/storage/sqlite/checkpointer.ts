// Copies the WAL back into the database file from a worker thread with its own connection, instead of
// letting SQLite do it inside whichever COMMIT crosses its threshold: that checkpoint (up to a thousand
// pages written, two fsyncs) would stop the event loop, and every webhook decision with it, for milliseconds.
// Must never block the writer: PASSIVE checkpoints copy what they can and leave the rest for next time.

import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = NORMAL'); // the WAL is synced before the copy, the database file after it
parentPort.on('message', (m) => {
  if (m === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage(null);
  } catch (e) {
    parentPort.postMessage(String((e && e.message) || e));
  }
});
`;

/** Commits between checkpoints: about SQLite's own 1,000-page threshold at one small transaction a commit. */
const COMMITS_PER_CHECKPOINT = 64;
/** A quiet server still checkpoints what it wrote, this long after its last commit. */
const IDLE_CHECKPOINT_MS = 500;

export class Checkpointer {
  #worker: Worker | null;
  #exited: Promise<void>;
  #busy = false;
  #commits = 0;
  #timer: NodeJS.Timeout | null = null;
  /** Checkpoints completed, and the last error (for tests and diagnostics). */
  runs = 0;
  lastError: string | null = null;

  constructor(file: string) {
    const module = createRequire(import.meta.url).resolve('better-sqlite3');
    const w = new Worker(WORKER, { eval: true, workerData: { file, module } });
    this.#worker = w;
    w.unref();
    this.#exited = new Promise((resolve) => w.once('exit', () => resolve()));
    w.on('message', (error: string | null) => {
      this.#busy = false;
      this.runs++;
      this.lastError = error;
      if (this.#commits >= COMMITS_PER_CHECKPOINT) this.#run();
    });
    w.on('error', (e) => {
      this.lastError = e.message;
      this.#busy = false;
      this.#worker = null; // SQLite's own checkpoints (wal_autocheckpoint) still run as a fallback
    });
  }

  /** After every commit on the writer. */
  noteCommit(): void {
    this.#commits++;
    if (this.#commits >= COMMITS_PER_CHECKPOINT) this.#run();
    else if (!this.#timer) {
      this.#timer = setTimeout(() => {
        this.#timer = null;
        if (this.#commits > 0) this.#run();
      }, IDLE_CHECKPOINT_MS);
      this.#timer.unref();
    }
  }

  #run(): void {
    if (this.#busy || !this.#worker) return;
    this.#busy = true;
    this.#commits = 0;
    this.#worker.postMessage('checkpoint');
  }

  /** Lets a running checkpoint finish, then closes the worker's connection. */
  async close(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    const w = this.#worker;
    this.#worker = null;
    if (!w) return;
    w.postMessage('close');
    const timeout = setTimeout(() => void w.terminate(), 10_000);
    await this.#exited;
    clearTimeout(timeout);
  }
}
