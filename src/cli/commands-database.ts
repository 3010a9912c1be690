// `kubecred migrate` and `kubecred backup`: run on the server machine against its data directory or
// database. Migrations also run at every start; `migrate` lets a deployment apply them once, first.

import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Command } from 'commander';
import { loadStorageLocation } from '../config/server-config.ts';
import { describeStore, openStore } from '../storage/open-store.ts';
import { UsageError } from './exit-codes.ts';
import { outputOption, parseFormat, print, say } from './output.ts';
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
    await db.backup(partial, {
      progress: ({ totalPages, remainingPages }) => {
        progress?.(totalPages - remainingPages, totalPages);
        return 256;
      },
    });
  } catch (e) {
    fs.rmSync(partial, { force: true });
    throw e;
  } finally {
    db.close();
  }
  // The copy is in WAL mode, as its source: opening it, even read-only, makes -wal and -shm files that SQLite leaves
  // behind on close. They hold nothing (nothing wrote) and go with the partial copy, whatever the check says.
  const removePartial = (withCopy: boolean) => {
    for (const f of [...(withCopy ? [partial] : []), `${partial}-wal`, `${partial}-shm`]) fs.rmSync(f, { force: true });
  };
  let credentials: number;
  try {
    const copy = new BetterSqlite3(partial, { readonly: true });
    try {
      const check = copy.pragma('integrity_check', { simple: true });
      if (check !== 'ok') throw new Error(`the backup failed its integrity check (${String(check).slice(0, 100)})`);
      credentials = (copy.prepare('select count(*) as n from credentials').get() as { n: number }).n;
    } finally {
      copy.close();
    }
  } catch (e) {
    removePartial(true);
    throw e;
  }
  removePartial(false);
  fs.chmodSync(partial, 0o600);
  // "Never overwrites", atomically: link() fails if <file> appeared since the check above; rename() would replace it.
  try {
    fs.linkSync(partial, target);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      removePartial(true);
      throw new UsageError(`${target} exists; give a new file name`);
    }
    // A file system without hard links: the check above, then rename, is the best there is.
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') {
      removePartial(true);
      throw e;
    }
    if (fs.existsSync(target)) {
      removePartial(true);
      throw new UsageError(`${target} exists; give a new file name`);
    }
    fs.renameSync(partial, target);
  }
  fs.rmSync(partial, { force: true });
  return { file: target, bytes: fs.statSync(target).size, credentials };
}
