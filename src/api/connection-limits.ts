// How many connections the server holds: in all, and from one address. Without a cap one client kept 11,400 idle
// keep-alive connections open (~40 KB of RSS each), and on a server whose open-file limit was 1,000 it took every
// descriptor: health probes, kube-apiserver's webhook calls and the database's own files were all refused until it
// let go. A connection over a cap is closed at once, before its TLS handshake costs anything.

import fs from 'node:fs';
import type net from 'node:net';

export interface ConnectionLimits {
  /** Connections held at once, from everyone. */
  max: number;
  /** Connections held at once from one address; 0: no per-address cap (behind a proxy, which carries everyone's). */
  perAddress: number;
}

/** Descriptors kept for the database, its WAL, the logs, a PostgreSQL pool and TLS files, whatever clients do. */
export const RESERVED_DESCRIPTORS = 256;

/** This process's open-file limit (soft), from /proc; null where there is no /proc. */
export function openFileLimit(): number | null {
  try {
    const line = /^Max open files\s+(\d+|unlimited)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'))?.[1];
    return line === undefined || line === 'unlimited' ? null : Number(line);
  } catch {
    return null;
  }
}

/** The default total cap: the open-file limit less the reserve (at least 64), 65,536 at most. */
export function defaultMaxConnections(limit = openFileLimit()): number {
  return limit === null ? 65_536 : Math.min(65_536, Math.max(64, limit - RESERVED_DESCRIPTORS));
}

export function limitConnections(server: net.Server, limits: ConnectionLimits, refused: (reason: 'total' | 'per-address', address: string) => void): void {
  // Node closes a connection over maxConnections itself, and says so with 'drop'.
  server.maxConnections = limits.max;
  server.on('drop', (d?: { remoteAddress?: string }) => refused('total', d?.remoteAddress ?? 'unknown'));
  if (limits.perAddress <= 0) return;
  const held = new Map<string, number>();
  server.on('connection', (socket: net.Socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    const n = (held.get(address) ?? 0) + 1;
    if (n > limits.perAddress) {
      socket.destroy();
      refused('per-address', address);
      return;
    }
    held.set(address, n);
    socket.once('close', () => {
      const left = held.get(address)! - 1;
      if (left === 0) held.delete(address);
      else held.set(address, left);
    });
  });
}
