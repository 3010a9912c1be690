// Files that hold credentials on the user's machine (the login config, kubeconfigs, the exec plugin's cache):
// created 0600 and replaced atomically, so no reader ever sees half a file and no other user ever sees any.

import fs from 'node:fs';
import path from 'node:path';

/**
 * Writes `content` to a temporary file beside `file` (0600), then renames it into place. A failed write removes
 * the temporary file, which holds the same secret, and rethrows.
 */
export function replacePrivateFile(file: string, content: string): void {
  const tmp = path.join(path.dirname(path.resolve(file)), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(tmp, content, { mode: 0o600 });
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
