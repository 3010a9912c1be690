// Copies the WAL back into the database file, and restarts the WAL, from a worker thread with its own
// connection, so that neither happens on the event loop. SQLite would otherwise checkpoint inside whichever
// COMMIT crosses its threshold (up to thousands of pages written, two fsyncs), and the first write after a
// complete checkpoint restarts the WAL and fsyncs its new header inside that COMMIT: with the event loop
// stopped, every webhook decision waits for the disk. Must never block the writer for longer than a restart.

import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Gate } from './sqlite-driver.ts';

const WORKER = `
const fs = require('node:fs');
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = NORMAL'); // the WAL is synced before the copy, the database file after it
const copy = () => db.pragma('wal_checkpoint(PASSIVE)')[0];
const complete = (r) => r.busy === 0 && r.log > 0 && r.checkpointed === r.log;
// One frame written while every frame is in the database file: SQLite restarts the WAL for it (new header,
// fsync'ed here, in this thread). The frame stays in the WAL, so the writer's next commit continues this WAL.
const touch = db.prepare("insert into settings (name, value, updated_at) values ('sqlite.walRestartedAt', ?, ?) on conflict (name) do update set value = excluded.value, updated_at = excluded.updated_at");
// The header's salts change at every restart.
const salt = () => {
  const fd = fs.openSync(workerData.file + '-wal', 'r');
  try {
    const b = Buffer.alloc(8);
    fs.readSync(fd, b, 0, 8, 16);
    return b.toString('hex');
  } finally {
    fs.closeSync(fd);
  }
};
parentPort.on('message', (m) => {
  if (m === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    const r = copy();
    let restarted = false;
    if (m === 'restart' && complete(r)) {
      const before = salt();
      const now = Date.now();
      touch.run(String(now), now);
      restarted = salt() !== before;
    }
    // Not restarted and complete: the next commit would restart the WAL itself, so ask for a restart here.
    parentPort.postMessage({ error: null, restarted, pending: !restarted && complete(r) });
  } catch (e) {
    parentPort.postMessage({ error: String((e && e.message) || e), restarted: false, pending: false });
  }
});
`;

/** Commits between background checkpoints: about SQLite's own 1,000-page threshold at one small transaction a commit. */
const COMMITS_PER_CHECKPOINT = 64;
/** Commits between WAL restarts under load: keeps the WAL to a few MB, rewritten in place. */
const COMMITS_PER_RESTART = 512;
/** A quiet server checkpoints what it wrote, and restarts the WAL, this long after its last commit. */
const IDLE_CHECKPOINT_MS = 500;

export class Checkpointer {
  #worker: Worker | null;
  #exited: Promise<void>;
  #gate: Gate;
  #busy = false;
  /** Set while a restart holds the gate (writers wait for it). */
  #holdingGate = false;
  #commits = 0;
  #sinceRestart = 0;
  /** The quiet-time restart came while the worker was busy: it runs next. */
  #restartOwed = false;
  #timer: NodeJS.Timeout | null = null;
  /** Checkpoints completed, WAL restarts made here, and the last error (for tests and diagnostics). */
  runs = 0;
  restarts = 0;
  lastError: string | null = null;

  /** `gate` is the writer's: a restart holds it, since its write would otherwise meet the writer's as SQLITE_BUSY. */
  constructor(file: string, gate: Gate) {
    this.#gate = gate;
    const module = createRequire(import.meta.url).resolve('better-sqlite3');
    const w = new Worker(WORKER, { eval: true, workerData: { file, module } });
    this.#worker = w;
    w.unref();
    this.#exited = new Promise((resolve) => w.once('exit', () => {
      this.#done();
      resolve();
    }));
    w.on('message', (m: { error: string | null; restarted: boolean; pending: boolean }) => {
      const wasRestart = this.#holdingGate;
      this.#done();
      this.runs++;
      this.lastError = m.error;
      if (m.restarted) this.restarts++;
      // A checkpoint that copied everything leaves the restart to whoever writes next: do it here, now (once:
      // a restart that could not happen, a reader being in the way, waits for the next occasion).
      if ((m.pending && !wasRestart) || this.#restartOwed) this.#run(true);
      else if (this.#commits >= COMMITS_PER_CHECKPOINT) this.#run();
    });
    w.on('error', (e) => {
      this.lastError = e.message;
      this.#done();
      this.#worker = null; // SQLite's own checkpoints (wal_autocheckpoint) still run as a fallback
    });
  }

  /** After every commit on the writer. */
  noteCommit(): void {
    this.#commits++;
    this.#sinceRestart++;
    if (this.#commits >= COMMITS_PER_CHECKPOINT) this.#run();
    if (this.#timer) this.#timer.refresh();
    else {
      this.#timer = setTimeout(() => {
        this.#timer = null;
        if (this.#sinceRestart > 0) this.#run(true);
      }, IDLE_CHECKPOINT_MS);
      this.#timer.unref();
    }
  }

  #done(): void {
    this.#busy = false;
    if (this.#holdingGate) {
      this.#holdingGate = false;
      this.#gate.release();
    }
  }

  #run(restart = false): void {
    if (!this.#worker) return;
    if (this.#busy) {
      if (restart) this.#restartOwed = true;
      return;
    }
    this.#busy = true;
    this.#commits = 0;
    if (!restart && this.#sinceRestart < COMMITS_PER_RESTART) {
      this.#worker.postMessage('checkpoint');
      return;
    }
    this.#restartOwed = false;
    // A restart writes: it takes its turn at the writer's gate like any write, and gives it back when the worker answers.
    this.#sinceRestart = 0;
    void this.#gate.acquire().then(() => {
      if (!this.#worker) {
        this.#busy = false;
        this.#gate.release();
        return;
      }
      this.#holdingGate = true;
      this.#worker.postMessage('restart');
    });
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
