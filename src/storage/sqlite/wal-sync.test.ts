// WalSync: every caller's write is covered by an fdatasync that started after it, concurrent callers
// share syncs, and a failed sync refuses every later write instead of calling it durable.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WalSync } from './wal-sync.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubecred-walsync-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('callers arriving while a sync runs share the next one; every call resolves after a sync that began after it', async () => {
  const file = path.join(dir, 'a-wal');
  fs.writeFileSync(file, 'x');
  const started: number[] = [];
  const original = fs.fdatasync;
  let syncs = 0;
  // Record when each fdatasync starts, in call order.
  (fs as { fdatasync: typeof fs.fdatasync }).fdatasync = ((fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => {
    syncs++;
    started.push(performance.now());
    setTimeout(() => original(fd, cb), 5);
  }) as typeof fs.fdatasync;
  try {
    const w = new WalSync(file);
    const calledAt: number[] = [];
    const done: number[] = [];
    const all = Array.from({ length: 20 }, (_, i) => new Promise<void>((resolve) => setTimeout(() => {
      calledAt[i] = performance.now();
      void w.sync().then(() => {
        done[i] = performance.now();
        resolve();
      });
    }, i)));
    await Promise.all(all);
    await w.idle();
    assert.ok(syncs < 20, `${syncs} syncs for 20 callers`);
    for (let i = 0; i < 20; i++) {
      // Some sync started at or after the call and before the answer.
      assert.ok(started.some((s) => s >= calledAt[i]! && s <= done[i]!), `caller ${i} is covered by a later sync`);
    }
    w.close();
  } finally {
    (fs as { fdatasync: typeof fs.fdatasync }).fdatasync = original;
  }
});

/** Runs `fn` while every fdatasync fails with EIO; `heal()` gives the real one back early. */
async function withFailingFdatasync(fn: (heal: () => void) => Promise<void>): Promise<void> {
  const original = fs.fdatasync;
  const heal = () => void ((fs as { fdatasync: typeof fs.fdatasync }).fdatasync = original);
  (fs as { fdatasync: typeof fs.fdatasync }).fdatasync = ((_fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => {
    setImmediate(() => cb(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })));
  }) as typeof fs.fdatasync;
  try {
    await fn(heal);
  } finally {
    heal();
  }
}

test('a failed sync fails its callers and every later one', async () => {
  const file = path.join(dir, 'b-wal');
  fs.writeFileSync(file, 'x');
  await withFailingFdatasync(async (heal) => {
    const w = new WalSync(file);
    await assert.rejects(w.sync(), /could not be synced/);
    assert.ok(w.failed);
    heal();
    await assert.rejects(w.sync(), /could not be synced/, 'a healthy disk later does not make the lost writes durable');
    w.close();
  });
});

test('a WAL file replaced on disk is reopened', async () => {
  const file = path.join(dir, 'c-wal');
  fs.writeFileSync(file, 'x');
  const w = new WalSync(file);
  await w.sync();
  fs.rmSync(file);
  fs.writeFileSync(file, 'y');
  await w.sync();
  w.close();
});

test('idle() settles after a failed sync, whether it failed at once or behind another (a server must still shut down)', async () => {
  // At once: the WAL file is gone, so opening it fails before any fdatasync runs.
  const w = new WalSync(path.join(dir, 'missing-wal'));
  await assert.rejects(w.sync(), /could not be synced/);
  await w.idle();
  w.close();

  // Behind another: a second caller waits on the one queued after a sync that then fails.
  const file = path.join(dir, 'd-wal');
  fs.writeFileSync(file, 'x');
  await withFailingFdatasync(async () => {
    const v = new WalSync(file);
    const first = v.sync();
    const second = v.sync();
    await assert.rejects(first, /could not be synced/);
    await assert.rejects(second, /could not be synced/);
    await v.idle();
    v.close();
  });
});
