// The data directory: master key, SQLite database and generated TLS files, created with owner-only
// permissions. Secrets written here are mode 0600 from the first byte, never chmod-ed afterwards.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export function ensureDataDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
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

/** The master key: from the environment when given, else the data directory's master.key, created on first use. */
export function loadOrCreateMasterKey(dataDir: string, fromEnv: string | null): Buffer {
  if (fromEnv) return Buffer.from(fromEnv, 'base64');
  const file = path.join(dataDir, 'master.key');
  if (!fs.existsSync(file)) {
    try {
      writeSecretFile(file, crypto.randomBytes(32).toString('base64') + '\n');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  const mode = fs.statSync(file).mode & 0o077;
  if (mode !== 0) throw new Error(`${file} is readable by group or others; run: chmod 600 ${file}`);
  const key = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new Error(`${file} does not hold a 32-byte base64 key`);
  return key;
}
