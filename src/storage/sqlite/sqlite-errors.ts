// Which SQLite errors mean "the disk cannot take the write right now" (503, retry once an operator acts), as opposed
// to a bug or a constraint. Like pg-errors.ts for PostgreSQL; the driver's own text stays in the error's cause.

import { KubecredError } from '../../core/errors.ts';
import { WalSyncError } from './wal-sync.ts';

/** Why a write could not be stored: the label of kubecred_store_write_failures_total. */
export type WriteFailure = 'disk_full' | 'io_error' | 'read_only' | 'wal_sync';

export function writeFailureOf(e: unknown): WriteFailure | null {
  if (e instanceof WalSyncError) return 'wal_sync';
  const err = e as { code?: unknown } | null;
  if (!err || typeof err !== 'object') return null;
  const code = typeof err.code === 'string' ? err.code : '';
  if (code === 'SQLITE_FULL') return 'disk_full';
  if (code.startsWith('SQLITE_IOERR')) return 'io_error';
  if (code.startsWith('SQLITE_READONLY')) return 'read_only';
  return null;
}

const MESSAGES: Record<WriteFailure, string> = {
  disk_full: 'the server\'s disk is full; nothing was changed. Free space on the disk that holds the data directory, then retry',
  io_error: 'the server could not write to its disk (I/O error); nothing was changed. Check the disk that holds the data directory, then retry',
  read_only: 'the server\'s database is read-only (the file, its directory or the file system); nothing was changed. Make the data directory writable, then retry',
  // The commit is in the page cache but was never confirmed durable: not "nothing was changed".
  wal_sync: 'the server\'s disk failed to sync the database; this change was not confirmed and may not survive a crash. The server must be restarted once the disk is healthy',
};

/** Maps a storage failure to UNAVAILABLE (counting it); everything else passes through unchanged. */
export function sqliteErrorMapper(count: (reason: WriteFailure) => void): (e: unknown) => unknown {
  return (e) => {
    if (e instanceof KubecredError) return e;
    const reason = writeFailureOf(e);
    if (!reason) return e;
    count(reason);
    return new KubecredError('UNAVAILABLE', MESSAGES[reason], { cause: e });
  };
}
