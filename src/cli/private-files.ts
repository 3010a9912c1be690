// Files that hold credentials on the user's machine (the login config, kubeconfigs, the exec plugin's cache):
// created 0600 and replaced atomically, so no reader ever sees half a file and no other user ever sees any.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Writes `content` to a temporary file beside `file` (0600), then renames it into place. A failed write removes
 * the temporary file, which holds the same secret, and rethrows. The temporary name is random and created
 * exclusively (O_EXCL): in a directory others may write, a file or symlink planted under a name guessed in
 * advance would otherwise receive the secret and keep it, outside the file the user named.
 */
export function replacePrivateFile(file: string, content: string): void {
  const tmp = path.join(path.dirname(path.resolve(file)), `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`);
  let created = false;
  try {
    fs.writeFileSync(tmp, content, { mode: 0o600, flag: 'wx' });
    created = true;
    fs.renameSync(tmp, file);
  } catch (e) {
    // Only what this call created: never a file someone else put there.
    if (created) fs.rmSync(tmp, { force: true });
    throw e;
  }
}
