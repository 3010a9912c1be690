// `kubecred master-key status|rotate|reseal`: run on the server machine against its data directory or database.
// The master key seals every CA key, default kubeconfig key and access key secret (src/pki/sealer.ts); these
// commands replace it. How a rotation goes, for one server and for replicas: docs/ha.md, "Rotating the master key".

import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { finishMasterKeyRotation, loadMasterKeyring, MASTER_KEY_FILE, stageNextMasterKey, type MasterKeyring } from '../config/data-dir.ts';
import { ConfigError, loadDataDirConfig, type ServerConfig } from '../config/server-config.ts';
import { makeAuditWriter } from '../core/audit.ts';
import { randomIds } from '../core/ids.ts';
import { MasterKeyMismatch, checkMasterKey } from '../core/master-key-check.ts';
import { allUnderCurrentKey, countSealed, resealUnderCurrentKey, type SealedCount } from '../core/master-key-rotation.ts';
import { systemClock, type Sealer } from '../core/ports.ts';
import type { Store } from '../core/store-port.ts';
import { aesGcmSealer, masterKeyId } from '../pki/sealer.ts';
import { describeStore, openStore } from '../storage/open-store.ts';
import { Exit, UsageError } from './exit-codes.ts';
import { outputOption, parseFormat, print, say, type Format } from './output.ts';
import { reportError } from './run-action.ts';
import { storageOptions } from './server-options.ts';

const KEYS_HELP = `
Keys: KUBECRED_MASTER_KEY (base64, 32 bytes) when set, with KUBECRED_PREVIOUS_MASTER_KEYS (the keys a rotation
replaces, separated by commas) beside it; otherwise <data-dir>/master.key. Exit codes: 0 every secret opens (and,
for reseal, is sealed under the current key), 5 some do not, or (rotate) a server still holds the data directory:
the message says which, 2 usage, 1 anything else.`;

export function registerMasterKeyCommands(program: Command): void {
  const mk = program.command('master-key').description('the master key that seals CA keys, kubeconfig keys and access key secrets: status and rotation (run where the server runs)')
    .addHelpText('after', '\nSee docs/ha.md, "Rotating the master key".');

  outputOption(storageOptions(mk.command('status').description('which key seals how many secrets, and whether every one opens with the keys given (reads only)')))
    .addHelpText('after', KEYS_HELP)
    .action(action(async (config, format) => {
      const { store, sealer, keys, mismatch } = await open(config, { reportMismatch: true });
      try {
        const counts = await countSealed(store, sealer, progress());
        printCounts({ database: describeStore(config), keys, secrets: counts.map((c) => view(c, sealer)) }, format);
        verdict(counts, sealer, 'status');
        if (mismatch) {
          // The check value is what servers open first: with keys that do not open it, none of them starts.
          say(`${mismatch.charAt(0).toUpperCase()}${mismatch.slice(1)}`);
          process.exitCode = Exit.CONFLICT;
        }
      } finally {
        await store.close();
      }
    }));

  outputOption(storageOptions(mk.command('reseal').description('re-seal under the current key every secret a previous key sealed (safe while servers run, if every one holds the new key)')))
    .addHelpText('after', `
For keys in the environment (PostgreSQL replicas, or a server given KUBECRED_MASTER_KEY):
  1. give every server the new key in KUBECRED_MASTER_KEY and the old one in KUBECRED_PREVIOUS_MASTER_KEYS,
     and restart them: they open with both and seal with the new one;
  2. run kubecred master-key reseal with the same two variables;
  3. remove KUBECRED_PREVIOUS_MASTER_KEYS from every server and restart them.
A server started with the old key alone after step 2 refuses to start. Each secret is replaced only if it is
still what was read, a page per transaction, so the command can be stopped and run again. On SQLite with no
server running, it then rewrites the database file (VACUUM, write-ahead log emptied) so that the replaced values'
old bytes are gone from it; with a server running it says to run it again once the server is stopped. On
PostgreSQL, run VACUUM FULL on clusters, credentials, access_keys and settings afterwards (docs/ha.md).` + KEYS_HELP)
    .action(action(async (config, format) => {
      const { store, sealer, keys } = await open(config, {});
      try {
        const results = await resealUnderCurrentKey({ store, sealer, clock: systemClock, audit: makeAuditWriter({ ids: randomIds(), clock: systemClock }) }, progress());
        const after = await countSealed(store, sealer);
        const oldCopies = await dropOldCopies(store);
        printCounts({
          database: describeStore(config), keys,
          secrets: after.map((c, i) => ({ ...view(c, sealer), resealed: results[i]!.resealed, changedMeanwhile: results[i]!.changedMeanwhile })),
          ...(format === 'table' ? {} : { oldCopies }),
        }, format);
        verdict(after, sealer, 'reseal');
      } finally {
        await store.close();
      }
    }));

  outputOption(storageOptions(mk.command('rotate').description("replace <data-dir>/master.key with a new key and re-seal every secret under it (stop the server first)")))
    .addHelpText('after', `
For a data directory's own master.key (the default, one server on SQLite). In order: the new key is written to
master.key.next (0600); every secret is re-sealed under it; the old key is copied to master.key.retired-<key id>;
master.key.next becomes master.key. Before the rename the database file is rewritten (VACUUM, write-ahead log
emptied), so that no copy of a value sealed under the old key stays in its free space, nor in backups taken
after; on a big database this takes a while. Killed at any point, the server still starts (it opens with master.key.next
too) and running rotate again finishes the job. Keep the retired key only as long as you keep backups taken
before the rotation: they need it. Keys given in KUBECRED_MASTER_KEY are rotated with reseal instead.` + KEYS_HELP)
    .action(action(async (config, format) => {
      if (config.masterKeyBase64) {
        throw new UsageError('the master key comes from KUBECRED_MASTER_KEY, not the data directory: rotate it there (see kubecred master-key reseal --help)');
      }
      const { store, keys, ring: old } = await open(config, { exclusive: true });
      let closed = false;
      try {
        const next = stageNextMasterKey(config.dataDir);
        const sealer = aesGcmSealer(next, [old.current, ...old.others]);
        say(`re-sealing every secret under the new master key ${sealer.currentKeyId} (was ${masterKeyId(old.current)})`);
        // No server runs beside it (the exclusive lock): what the re-sealing counted is what the store holds.
        const results = await resealUnderCurrentKey({ store, sealer, clock: systemClock, audit: makeAuditWriter({ ids: randomIds(), clock: systemClock }) }, progress());
        // Before the old key is retired: killed during it, rotate runs again (master.key.next still there) and does it again.
        const oldCopies = allUnderCurrentKey(results, sealer.currentKeyId) ? await dropOldCopies(store) : undefined;
        await store.close();
        closed = true;
        const secrets = results.map((r) => ({ ...view(r, sealer), resealed: r.resealed }));
        if (!allUnderCurrentKey(results, sealer.currentKeyId)) {
          printCounts({ database: describeStore(config), keys, secrets }, format);
          verdict(results, sealer, 'rotate');
          return;
        }
        const { retiredFile } = finishMasterKeyRotation(config.dataDir, old.current, masterKeyId(old.current));
        const done = { database: describeStore(config), masterKeyId: sealer.currentKeyId, previousMasterKeyId: masterKeyId(old.current), retiredKeyFile: retiredFile, oldCopies, secrets };
        if (format !== 'table') return print(done, format);
        process.stdout.write(`rotated the master key of ${config.dataDir}: ${done.previousMasterKeyId} -> ${done.masterKeyId}\n`);
        printCounts({ secrets }, format);
        process.stdout.write(`the old key is in ${retiredFile}: keep it only as long as backups taken before now, which need it, then delete it.\nStart the server again.\n`);
      } finally {
        if (!closed) await store.close();
      }
    }));
}

type KeyView = { role: string; keyId: string; source: string };

/**
 * After re-sealing: a replaced value's old bytes stay in the database's free space and write-ahead log (and so in
 * every later backup), where the retired key, kept beside them, opens them. Drops them where the store can, and
 * says what became of them.
 */
async function dropOldCopies(store: Store): Promise<'dropped' | 'left: a server holds the database' | 'left: PostgreSQL keeps dead rows until VACUUM FULL'> {
  if (!store.dropOldPages) {
    say('PostgreSQL keeps the replaced values in dead rows (and in its WAL archive) until they are vacuumed: run VACUUM FULL clusters, credentials, access_keys, settings (docs/ha.md, "Rotating the master key")');
    return 'left: PostgreSQL keeps dead rows until VACUUM FULL';
  }
  say('rewriting the database file without the replaced values (VACUUM, and the write-ahead log emptied)');
  if ((await store.dropOldPages()) === 'in-use') {
    say('a server holds the database, so the replaced values are still in its free space and write-ahead log: stop the server and run this again (it rewrites the file then)');
    return 'left: a server holds the database';
  }
  say('the replaced values are gone from the database file and its write-ahead log (VACUUM; WAL checkpointed and truncated)');
  return 'dropped';
}

/** The keys from the environment or the data directory, the store, and a check that they fit this database. */
/**
 * Opens the store with the keys given. The commands that write refuse when the keys do not open the database's check
 * value; status (`reportMismatch`) goes on, since saying which secrets open with which key is what it is for.
 */
async function open(config: ServerConfig, opts: { exclusive?: boolean; reportMismatch?: boolean }): Promise<{ store: Store; sealer: Sealer; keys: KeyView[]; ring: MasterKeyring; mismatch: string | null }> {
  if (!config.databaseUrl && !fs.existsSync(config.databaseFile)) {
    throw new ConfigError(`there is no database at ${config.databaseFile}\n  hint: give --data-dir the server's data directory (or --database its PostgreSQL URL)`);
  }
  if (!config.masterKeyBase64 && !fs.existsSync(path.join(config.dataDir, MASTER_KEY_FILE))) {
    throw new ConfigError(`there is no ${MASTER_KEY_FILE} in ${config.dataDir} and KUBECRED_MASTER_KEY is not set: give the key the server runs with`);
  }
  const ring = loadMasterKeyring(config.dataDir, config);
  const sealer = aesGcmSealer(ring.current, ring.others);
  const store = await openStore(config, { exclusive: opts.exclusive, migrate: { upgrade: false } });
  let mismatch: string | null = null;
  try {
    await checkMasterKey(store, sealer, systemClock);
  } catch (e) {
    if (opts.reportMismatch && e instanceof MasterKeyMismatch) {
      mismatch = e.message;
    } else {
      await store.close();
      throw e;
    }
  }
  return { store, sealer, ring, mismatch, keys: ring.sources.map((s) => ({ role: s.role, keyId: masterKeyId(s.key), source: s.source })) };
}

const view = (c: SealedCount, sealer: Sealer) => {
  const underCurrentKey = c.byKey[sealer.currentKeyId] ?? 0;
  return { kind: c.kind, total: c.total, underCurrentKey, underPreviousKeys: c.total - underCurrentKey - c.unopenable, unopenable: c.unopenable, unopenableIds: c.unopenableIds, byKey: c.byKey };
};

function printCounts(data: { database?: string; keys?: KeyView[]; secrets: Record<string, unknown>[]; oldCopies?: string }, format: Format): void {
  if (format !== 'table') return print(data, format);
  if (data.keys) {
    print(data.keys, 'table', ['role', 'keyId', 'source']);
    process.stdout.write('\n');
  }
  const columns = ['kind', 'total', 'underCurrentKey', 'underPreviousKeys', 'unopenable', ...('resealed' in (data.secrets[0] ?? {}) ? ['resealed'] : [])];
  print(data.secrets, 'table', columns);
}

/** The last line: what the counts mean and what to do next; exit code 5 when something is left. */
function verdict(counts: SealedCount[], sealer: Sealer, command: 'status' | 'reseal' | 'rotate'): void {
  const unopenable = counts.reduce((n, c) => n + c.unopenable, 0);
  const previous = counts.reduce((n, c) => n + c.total - (c.byKey[sealer.currentKeyId] ?? 0) - c.unopenable, 0);
  if (unopenable > 0) {
    const ids = counts.flatMap((c) => c.unopenableIds.map((id) => `${c.kind} ${id}`)).slice(0, 5).join(', ');
    say(`${unopenable} secret(s) open with none of the keys given (${ids}${unopenable > 5 ? ', …' : ''}): they were sealed under another key, or damaged; give that key as a previous key (KUBECRED_PREVIOUS_MASTER_KEYS) and run ${command === 'status' ? 'kubecred master-key reseal' : 'this again'}`);
    process.exitCode = Exit.CONFLICT;
  } else if (previous > 0) {
    say(command === 'status'
      ? `${previous} secret(s) are sealed under a previous key: finish the rotation (kubecred master-key reseal, or rotate for a data directory's master.key) before dropping that key`
      : `${previous} secret(s) are still sealed under a previous key (a server still sealing with it?): give every server the new key, then run this again`);
    process.exitCode = Exit.CONFLICT;
  } else if (command === 'reseal') {
    say(sealer.keyIds.length > 1
      ? `every secret is sealed under master key ${sealer.currentKeyId}: remove KUBECRED_PREVIOUS_MASTER_KEYS from every server, then restart them`
      : `every secret is sealed under master key ${sealer.currentKeyId}`);
  } else if (command === 'status') {
    say(`every secret opens, and master key ${sealer.currentKeyId} seals them all${sealer.keyIds.length > 1 ? ': the previous keys can go' : ''}`);
  }
}

function progress(): ((kind: string, done: number) => void) | undefined {
  let last = Date.now();
  return (kind, done) => {
    if (Date.now() - last < 2000) return;
    last = Date.now();
    say(`${kind}: ${done} read`);
  };
}

function action(fn: (config: ServerConfig, format: Format) => Promise<void>) {
  return async (o: { output?: string; dataDir?: string; database?: string }) => {
    try {
      const format = parseFormat(o.output);
      await fn(loadDataDirConfig(o), format);
    } catch (e) {
      reportError(e);
    }
  };
}
