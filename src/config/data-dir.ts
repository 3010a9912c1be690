// The data directory: master key, SQLite database and generated TLS files, created with owner-only
// permissions. Secrets written here are mode 0600 from the first byte, never chmod-ed afterwards.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from './server-config.ts';

const CAUSES: Record<string, string> = {
  ENOTDIR: 'a file is in the way (the path, or one of its parents, is not a directory)',
  EEXIST: 'a file is in the way (the path, or one of its parents, is not a directory)',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOSPC: 'the disk is full',
};

/**
 * Creates the data directory (0700) if it is missing, and checks kubecred can write in it. Whatever stops it is a
 * configuration error naming the directory and the cause, not an errno. Returns a warning for a directory that
 * already existed with group or other access.
 */
export function ensureDataDir(dir: string): string | null {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    // mkdir -p on a read-only file system can answer ENOENT for the part it could not make.
    const cause = CAUSES[code] ?? (code === 'ENOENT' ? 'a parent directory is missing and could not be made (a read-only file system?)' : code || (e as Error).message);
    throw new ConfigError(`cannot use the data directory ${dir}: ${cause}\n  hint: give --data-dir (or KUBECRED_DATA_DIR) a directory kubecred can create and write`);
  }
  const mode = fs.statSync(dir).mode & 0o777;
  return mode & 0o077 ? `the data directory ${dir} is open to group or others (mode ${mode.toString(8).padStart(3, '0')}); its secret files are 0600 each, but run: chmod 700 ${dir}` : null;
}

/** Writes a new secret file atomically; fails if it already exists (never overwrites a key). */
export function writeSecretFile(file: string, content: string): void {
  const fd = fs.openSync(file, 'wx', 0o600);
  try {
    fs.writeSync(fd, content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export const MASTER_KEY_FILE = 'master.key';
/** Where a first start writes the root token and access key secret when stderr is not a terminal (a log). */
export const FIRST_START_FILE = 'first-start-secrets.txt';
/** The key a `kubecred master-key rotate` is moving to; present only while one is unfinished. */
export const NEXT_MASTER_KEY_FILE = 'master.key.next';
/** The key a finished rotation replaced, kept (never loaded) for restoring backups taken before it. */
export const retiredMasterKeyFile = (keyId: string) => `master.key.retired-${keyId}`;

/** The master key: from the environment when given, else the data directory's master.key, created on first use. */
export function loadOrCreateMasterKey(dataDir: string, fromEnv: string | null): Buffer {
  if (fromEnv) return Buffer.from(fromEnv, 'base64');
  const file = path.join(dataDir, MASTER_KEY_FILE);
  if (!fs.existsSync(file)) {
    try {
      writeSecretFile(file, crypto.randomBytes(32).toString('base64') + '\n');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  return readKeyFile(file);
}

export interface MasterKeyring {
  /** Seals and opens. */
  current: Buffer;
  /** Only open: keys a rotation is replacing. */
  others: Buffer[];
  /** Where each key came from, the current one first, for messages and `master-key status`. */
  sources: { role: 'current' | 'previous'; source: string; key: Buffer }[];
}

/**
 * The keys a server holds. From the environment: KUBECRED_MASTER_KEY, and during a rotation the keys it replaces
 * (KUBECRED_PREVIOUS_MASTER_KEYS). From the data directory: master.key, and master.key.next while a `master-key
 * rotate` is unfinished (killed half-way, some values are sealed under it already: a server must open them).
 */
export function loadMasterKeyring(dataDir: string, fromEnv: { masterKeyBase64: string | null; previousMasterKeysBase64: readonly string[] }): MasterKeyring {
  const current = loadOrCreateMasterKey(dataDir, fromEnv.masterKeyBase64);
  if (fromEnv.masterKeyBase64) {
    const others = fromEnv.previousMasterKeysBase64.map((k) => Buffer.from(k, 'base64'));
    return {
      current, others,
      sources: [{ role: 'current', source: 'KUBECRED_MASTER_KEY', key: current }, ...others.map((key) => ({ role: 'previous' as const, source: 'KUBECRED_PREVIOUS_MASTER_KEYS', key }))],
    };
  }
  const nextFile = path.join(dataDir, NEXT_MASTER_KEY_FILE);
  const others = fs.existsSync(nextFile) ? [readKeyFile(nextFile)] : [];
  return {
    current, others,
    sources: [{ role: 'current', source: path.join(dataDir, MASTER_KEY_FILE), key: current }, ...others.map((key) => ({ role: 'previous' as const, source: `${nextFile} (an unfinished rotation)`, key }))],
  };
}

/** The key an unfinished rotation was moving to, or a new one, written (0600, synced) before anything is sealed with it. */
export function stageNextMasterKey(dataDir: string): Buffer {
  const file = path.join(dataDir, NEXT_MASTER_KEY_FILE);
  if (!fs.existsSync(file)) {
    writeSecretFile(file, crypto.randomBytes(32).toString('base64') + '\n');
    syncDir(dataDir);
  }
  return readKeyFile(file);
}

/**
 * Ends a rotation whose values are all sealed under master.key.next: the old key is copied to a retired file,
 * then master.key.next replaces master.key in one rename. At every moment master.key holds a key that, with
 * master.key.next beside it, opens everything, so a kill anywhere leaves a data directory a server can start on.
 */
export function finishMasterKeyRotation(dataDir: string, oldKey: Buffer, oldKeyId: string): { retiredFile: string } {
  const retiredFile = path.join(dataDir, retiredMasterKeyFile(oldKeyId));
  if (!fs.existsSync(retiredFile)) writeSecretFile(retiredFile, oldKey.toString('base64') + '\n');
  else if (!readKeyFile(retiredFile).equals(oldKey)) throw new Error(`${retiredFile} exists and holds another key; move it away and run again`);
  fs.renameSync(path.join(dataDir, NEXT_MASTER_KEY_FILE), path.join(dataDir, MASTER_KEY_FILE));
  syncDir(dataDir);
  return { retiredFile };
}

function readKeyFile(file: string): Buffer {
  const mode = fs.statSync(file).mode & 0o077;
  if (mode !== 0) throw new ConfigError(`${file} is readable by group or others: whoever read it can open every secret kubecred sealed\n  hint: run chmod 600 ${file}, then consider \`kubecred master-key rotate\` (docs/ha.md)`);
  const key = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new Error(`${file} does not hold a 32-byte base64 key`);
  return key;
}

/** Makes a file's creation or rename in `dir` durable. */
export function syncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
