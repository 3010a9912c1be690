// Reading a file named by a flag (--csr, --ca-cert, --file, ...): a file that cannot be read is a usage
// error naming the flag, the path as given and why, never a stack trace. `-` reads standard input.

import fs from 'node:fs';
import { UsageError } from './exit-codes.ts';

/** `-` is standard input, as in most tools (`kubecred policy create p --file - < p.json`). */
export function readFlagFile(file: string, flag: string): string {
  try {
    return fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${flag} ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}
