// `kubecred migrate` and `kubecred backup`: run on the server machine against its data directory or
// database. Migrations also run at every start; `migrate` lets a deployment apply them once, first.

import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Command } from 'commander';
import { loadDataDirConfig, loadStorageLocation } from '../config/server-config.ts';
import { syncDir } from '../config/data-dir.ts';
import { describeStore, openStore } from '../storage/open-store.ts';
import { takeOwnerLock } from '../storage/sqlite/sqlite-store.ts';
import { MASTER_KEY_CHECK, opensMasterKeyCheck } from '../core/master-key-check.ts';
import { aesGcmSealer } from '../pki/sealer.ts';
import { clusterCaKeyAad } from '../core/credential-issuer.ts';
import { randomIds } from '../core/ids.ts';
import { carryIssuedAfterBackup, NOTHING_CARRIED, type Carried, type CarryOptions } from '../storage/sqlite/restore-carry.ts';
import { NOTHING_REAPPLIED, type Reapplied } from '../storage/sqlite/restore-reapply.ts';
import { changesUndoneBy, type UndoneChange, type UndoneRecord } from '../storage/sqlite/restore-undone.ts';
import { loadMasterKeyring, MASTER_KEY_FILE } from '../config/data-dir.ts';
import { UsageError } from './exit-codes.ts';
import { outputOption, parseFormat, print, say } from './output.ts';
import { reportRestore } from './restore-report.ts';
import { reportError } from './run-action.ts';
import { storageOptions } from './server-options.ts';

export function registerDatabaseCommands(program: Command): void {
  outputOption(storageOptions(program.command('migrate').description('apply pending schema migrations to the database, then exit')))
    .addHelpText('after', '\nOn PostgreSQL, safe to run while servers are up and from several places at once: an advisory lock lets one\napply each step. On SQLite, stop the server first (it applies pending migrations itself when it starts):\nmigrate refuses to run beside it, since a migration may rebuild a table for a minute or more.')
    .action(async (o) => {
      try {
        const format = parseFormat(o.output);
        const config = loadStorageLocation(o);
        if (!config.databaseUrl) fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
        const store = await openStore(config, { exclusive: true, migrate: { progress: say } });
        await store.close();
        const result = { database: describeStore(config), applied: store.migrations.applied, current: store.migrations.current };
        if (format === 'table') {
          process.stdout.write(`${result.database}: ${result.applied.length ? `applied ${result.applied.join(', ')}` : 'already up to date'}\n`);
          process.stdout.write(`schema: ${result.current.join(', ')}\n`);
        } else {
          print(result, format);
        }
      } catch (e) {
        reportError(e);
      }
    });

  outputOption(storageOptions(program.command('restore <file>').description("put a backup in place of the data directory's database (stop the server first)")))
    .addHelpText('after', `
The database it replaces is kept beside it (kubecred.db.replaced-<time>, with its -wal and -shm), never
deleted. What it took away after the backup is re-applied: kubeconfigs, tokens, access keys, webhook tokens
and console sessions revoked since stay revoked (their time and reason kept), principals and clusters
deleted since stay deleted, with what their deletion revoked; one ReapplyRevocations audit event per
account lists them. What restore cannot re-apply is back as the backup had it: detached, rewritten or
deleted policies, changed validities or groups, removed projects, the policies a clean of access
detached. The output lists each such change the replaced database recorded after the backup's last
audit event: do them again. Whatever was made after the backup is lost.

Kubeconfigs issued after the backup are carried from the replaced database into the restored one, revoked
(the webhook denies them; the inventory and the CRL list them), with the principals and clusters made
since that they name, as deleted, and webhook tokens made since; one CarryCredentials audit event per
account lists them. A cluster made after the backup must be registered again to issue for it.
The master key must be the one the backup was sealed under.`)
    .action(async (file: string, o) => {
      try {
        const format = parseFormat(o.output);
        if (loadStorageLocation(o).databaseUrl) throw new UsageError('restore puts back an embedded SQLite backup; for PostgreSQL use pg_restore (see docs/ha.md)');
        const config = loadDataDirConfig(o);
        if (!config.masterKeyBase64 && !fs.existsSync(path.join(config.dataDir, MASTER_KEY_FILE))) {
          throw new UsageError(`no master key in ${config.dataDir}: put the master.key the backup was sealed under there (or set KUBECRED_MASTER_KEY) first`);
        }
        const ring = loadMasterKeyring(config.dataDir, config);
        const sealer = aesGcmSealer(ring.current, ring.others);
        const ids = randomIds();
        const result = restoreSqlite(path.resolve(file), config.databaseFile, new Date(), (sealed) => opensMasterKeyCheck(sealer, sealed), {
          eventId: () => ids.id('evt'),
          caKeyOpens: (clusterId, sealed) => {
            try {
              sealer.open(sealed, clusterCaKeyAad(clusterId));
              return true;
            } catch {
              return false;
            }
          },
        });
        reportRestore(result, format);
      } catch (e) {
        reportError(e);
      }
    });

  outputOption(storageOptions(program.command('backup <file>').description('copy the SQLite database to <file> while the server runs (an online, consistent backup)')))
    .addHelpText('after', `
The copy holds sealed CA keys and token hashes: it is written mode 0600. Keep the master key
(<data-dir>/master.key or KUBECRED_MASTER_KEY) apart from it; a backup is useless without that key
and the key is useless without the backup. For PostgreSQL use pg_dump (see docs/ha.md).`)
    .action(async (file: string, o) => {
      try {
        const format = parseFormat(o.output);
        const config = loadStorageLocation(o);
        if (config.databaseUrl) throw new UsageError('backup copies the embedded SQLite database; for PostgreSQL use pg_dump --format=custom (see docs/ha.md)');
        if (!fs.existsSync(config.databaseFile)) throw new UsageError(`no database at ${config.databaseFile}; give --data-dir`);
        const result = await backupSqlite(config.databaseFile, path.resolve(file), (done, total) => {
          if (process.stderr.isTTY || total > 10_000) process.stderr.write(`\rbackup: ${done}/${total} pages`);
        });
        if (process.stderr.isTTY) process.stderr.write('\n');
        if (format === 'table') process.stdout.write(`backed up ${config.databaseFile} to ${result.file} (${result.bytes} bytes, ${result.credentials} credentials, integrity ok)\n`);
        else print(result, format);
      } catch (e) {
        reportError(e);
      }
    });
}

/**
 * Copies `from` into a file created here, exclusively (O_EXCL: a file or symlink already at `to` fails the copy
 * instead of receiving it) and 0600 from its first byte, whatever the umask and the source's mode, then synced.
 * The copy holds sealed keys and token hashes: copying first and chmod'ing after left it 0644 meanwhile.
 */
export function copyIntoNewPrivateFile(from: string, to: string): void {
  const out = fs.openSync(to, 'wx', 0o600);
  try {
    const input = fs.openSync(from, 'r');
    try {
      const chunk = Buffer.allocUnsafe(1 << 20);
      for (let n; (n = fs.readSync(input, chunk, 0, chunk.length, null)) > 0;) {
        for (let off = 0; off < n;) off += fs.writeSync(out, chunk, off, n - off);
      }
    } finally {
      fs.closeSync(input);
    }
    fs.fsyncSync(out);
  } finally {
    fs.closeSync(out);
  }
}

interface CopyFacts { integrity: string; credentials: number; lastEvent: string | null; lastEventMs: number | null; masterKeyCheck: string | undefined }

/**
 * Opens a database copy read-only: SQLite's integrity check and, when it passes, how many credentials it holds and,
 * with `restoring`, its last audit event and its master-key check value. The -wal and -shm that opening a WAL
 * database leaves beside it (empty: nothing wrote) are removed.
 */
function inspectCopy(file: string, restoring = false): CopyFacts {
  const made = [`${file}-wal`, `${file}-shm`].filter((f) => !fs.existsSync(f));
  try {
    const db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
    try {
      const integrity = String(db.pragma('integrity_check', { simple: true }));
      if (integrity !== 'ok') return { integrity, credentials: 0, lastEvent: null, lastEventMs: null, masterKeyCheck: undefined };
      const credentials = (db.prepare('select count(*) as n from credentials').get() as { n: number }).n;
      if (!restoring) return { integrity, credentials, lastEvent: null, lastEventMs: null, masterKeyCheck: undefined };
      const at = (db.prepare('select max("at") as at from audit_events').get() as { at: number | null }).at;
      const masterKeyCheck = (db.prepare('select "value" from settings where "name" = ?').get(MASTER_KEY_CHECK) as { value: string } | undefined)?.value;
      return { integrity, credentials, lastEvent: at === null ? null : new Date(Number(at)).toISOString(), lastEventMs: at === null ? null : Number(at), masterKeyCheck };
    } finally {
      db.close();
    }
  } finally {
    for (const f of made) fs.rmSync(f, { force: true });
  }
}

/** What restore carried from the replaced database and re-applied to the backup's rows, or why it did neither. */
export type CarryOutcome = { carried: Carried; reapplied: Reapplied; carryError: null } | { carried: null; reapplied: null; carryError: string };

/**
 * Puts a backup in place of the data directory's database, the server stopped (its owner lock is taken for the
 * while). The database it replaces is kept beside it, and so are its -wal and -shm: left by a crash, they would
 * otherwise be replayed onto the restored file (SQLite matches a WAL to its database by name), corrupting it.
 * The backup is copied beside the database first, and what the replaced database holds that the copy lacks is
 * carried into the copy (carryIssuedAfterBackup) before anything is moved: a crash until then leaves the database
 * as it was (and the copy, which the next restore removes), so running restore again does it all again. Only the
 * renames that move the database aside and the copy in come after.
 */
export function restoreSqlite(backup: string, database: string, now: Date, masterKeyOpens: (sealedCheck: string) => boolean, carry: CarryOptions) {
  if (!fs.existsSync(backup)) throw new UsageError(`no backup at ${backup}`);
  let copy: CopyFacts;
  try {
    copy = inspectCopy(backup, true);
  } catch (e) {
    throw new UsageError(`${backup} is not a kubecred SQLite backup (${(e as Error).message.slice(0, 120)})`);
  }
  if (copy.integrity !== 'ok') throw new UsageError(`${backup} fails SQLite's integrity check (${copy.integrity.slice(0, 100)}); restore another backup`);
  const { credentials, lastEvent, lastEventMs, masterKeyCheck: sealed } = copy;
  // Its secrets must open under the key the server will hold, or the server would refuse to start on it.
  if (sealed !== undefined && !masterKeyOpens(sealed)) {
    const named = /^v2:([0-9a-f]{16}):/.exec(sealed)?.[1];
    throw new UsageError(`${backup} is sealed under another master key${named ? ` (${named})` : ''} than this data directory's: put that key in place first (<data-dir>/master.key, or KUBECRED_MASTER_KEY); nothing was changed`);
  }
  fs.mkdirSync(path.dirname(database), { recursive: true, mode: 0o700 });
  const lock = takeOwnerLock(database);
  try {
    removeUnfinishedCopies(database);
    const replaced = replacedSource(database);
    // Read before it is moved aside, with its write-ahead log still beside it (the latest changes may be only there).
    const undone = changesUndoneBy(replaced ?? database, lastEventMs);
    const partial = `${database}.partial-${process.pid}`;
    copyIntoNewPrivateFile(backup, partial);
    try {
      const { undone: left, ...carried } = carryInto(partial, replaced ?? database, now, carry, undone);
      // The copy's log was checkpointed when the carry closed it: one left would be lost by the rename (it goes by name).
      if (fs.existsSync(`${partial}-wal`)) throw new Error(`the restored copy kept a write-ahead log (${partial}-wal); nothing was changed: run restore again`);
      fs.rmSync(`${partial}-shm`, { force: true });
      const stamp = now.toISOString().replace(/[:.]/g, '-');
      const kept: string[] = [];
      for (const suffix of ['', '-wal', '-shm']) {
        if (!fs.existsSync(`${database}${suffix}`)) continue;
        const aside = `${database}.replaced-${stamp}${suffix}`;
        fs.renameSync(`${database}${suffix}`, aside);
        kept.push(aside);
      }
      syncDir(path.dirname(database));
      fs.renameSync(partial, database);
      syncDir(path.dirname(database));
      return { restored: database, from: backup, credentials, lastEvent, replacedKeptAs: kept, replacedReadFrom: replaced, undone: left, ...carried };
    } catch (e) {
      for (const suffix of ['', '-wal', '-shm']) fs.rmSync(`${partial}${suffix}`, { force: true });
      throw e;
    }
  } finally {
    lock.close();
  }
}

/**
 * The credentials issued after the backup, carried revoked into the copy, and the revocations and deletions made
 * since re-applied (one transaction), with the undone changes the copy still lacks. A replaced database that cannot
 * be read (the reason for a restore, often) carries and re-applies nothing, and says so: all its changes stay undone.
 */
function carryInto(partial: string, database: string, now: Date, opts: CarryOptions, undone: UndoneRecord[] | null): CarryOutcome & { undone: UndoneChange[] | null } {
  if (!fs.existsSync(database)) return { carried: { ...NOTHING_CARRIED }, reapplied: { ...NOTHING_REAPPLIED }, carryError: null, undone: [] };
  try {
    return { ...carryIssuedAfterBackup(partial, database, now, opts, undone), carryError: null };
  } catch (e) {
    return { carried: null, reapplied: null, carryError: (e as Error).message.slice(0, 200), undone: undone && undone.map((u) => u.change) };
  }
}

/**
 * What the restore replaces: the database, or, when there is none and an earlier restore moved one aside, the newest
 * one it moved aside. A restore killed after moving the database aside and before its copy took the place leaves no
 * database; run again, it must carry and re-apply from what was replaced, not from nothing (which would undo every
 * revocation since the backup, and forget every credential issued since, without a word). Reading an older replaced
 * database instead (one moved by hand, say) can only revoke more. Null: the database is there (or nothing ever was).
 */
function replacedSource(database: string): string | null {
  if (fs.existsSync(database)) return null;
  const prefix = `${path.basename(database)}.replaced-`;
  const stamps = fs.readdirSync(path.dirname(database)).filter((f) => f.startsWith(prefix) && !/-(wal|shm)$/.test(f)).sort();
  return stamps.length ? path.join(path.dirname(database), stamps[stamps.length - 1]!) : null;
}

/** Copies a killed restore left (this one holds the owner lock, so no other restore is writing one). */
function removeUnfinishedCopies(database: string): void {
  const prefix = `${path.basename(database)}.partial-`;
  for (const f of fs.readdirSync(path.dirname(database))) if (f.startsWith(prefix)) fs.rmSync(path.join(path.dirname(database), f), { force: true });
}

/** SQLite's online backup API: a consistent copy while writers go on; written beside, checked, then renamed. */
export async function backupSqlite(source: string, target: string, progress?: (done: number, total: number) => void) {
  if (fs.existsSync(target)) throw new UsageError(`${target} exists; give a new file name`);
  const partial = `${target}.partial-${process.pid}`;
  try {
    fs.closeSync(fs.openSync(partial, 'wx', 0o600));
  } catch (e) {
    // Said about <file> as given: the partial copy's name is ours, not the user's.
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(code === 'ENOENT' ? `cannot write <file> ${target}: there is no directory ${path.dirname(target)}` : `cannot write <file> ${target} (${code ?? (e as Error).message})`);
  }
  const db = new BetterSqlite3(source, { readonly: true, fileMustExist: true });
  try {
    // After the first small step, the rest in one: SQLite starts a stepped backup over whenever another connection
    // writes between steps, so with the server writing a few times a second small steps never finished. One step
    // holds a read transaction, which in WAL mode blocks no writer.
    await db.backup(partial, {
      progress: ({ totalPages, remainingPages }) => {
        progress?.(totalPages - remainingPages, totalPages);
        return totalPages + 1024;
      },
    });
  } catch (e) {
    fs.rmSync(partial, { force: true });
    throw e;
  } finally {
    db.close();
  }
  const removePartial = () => fs.rmSync(partial, { force: true });
  let credentials: number;
  try {
    const copy = inspectCopy(partial);
    if (copy.integrity !== 'ok') throw new Error(`the backup failed its integrity check (${copy.integrity.slice(0, 100)})`);
    credentials = copy.credentials;
  } catch (e) {
    removePartial();
    throw e;
  }
  fs.chmodSync(partial, 0o600);
  // "Never overwrites", atomically: link() fails if <file> appeared since the check above; rename() would replace it.
  try {
    fs.linkSync(partial, target);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      removePartial();
      throw new UsageError(`${target} exists; give a new file name`);
    }
    // A file system without hard links: the check above, then rename, is the best there is.
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') {
      removePartial();
      throw e;
    }
    if (fs.existsSync(target)) {
      removePartial();
      throw new UsageError(`${target} exists; give a new file name`);
    }
    fs.renameSync(partial, target);
  }
  fs.rmSync(partial, { force: true });
  syncDir(path.dirname(path.resolve(target))); // the new name survives a crash
  return { file: target, bytes: fs.statSync(target).size, credentials };
}
