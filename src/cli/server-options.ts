// The flags every command that works on the server's own data (serve, init, migrate, backup, account) shares.

import type { Command } from 'commander';

export const serverOptions = (c: Command) => c
  .option('--data-dir <dir>', 'data directory (env KUBECRED_DATA_DIR; default ~/.kubecred)')
  .option('--database <url>', 'postgres://… to share one PostgreSQL database between replicas (env KUBECRED_DATABASE_URL; default: SQLite in the data directory)')
  // No commander defaults here: they would hide the environment; loadServerConfig applies flag, then env, then default.
  .option('--host <host>', 'address to listen on (env KUBECRED_HOST; default 127.0.0.1)')
  .option('--port <port>', 'port to listen on, 0 for any free port (env KUBECRED_PORT; default 7443)')
  .option('--tls-cert <file>', 'TLS certificate (PEM); default: a self-signed one in <data-dir>/tls')
  .option('--tls-key <file>', 'TLS private key (PEM)')
  .option('--no-tls', 'serve plain HTTP (loopback addresses only)')
  .option('--insecure-http', 'serve plain HTTP on any address (behind a TLS proxy)')
  .option('--trust-proxy [hops|addresses]', 'behind a proxy: believe X-Forwarded-For/-Proto/-Host from this many proxy hops (alone: 1, the proxy that connects to kubecred) or only from these proxy addresses/CIDRs, comma-separated; the client address is the one the last trusted proxy saw (env KUBECRED_TRUST_PROXY; default: none)')
  .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (env KUBECRED_LOG_LEVEL; default info)');

/** The subset for commands that only touch the data directory and database. */
export const storageOptions = (c: Command) => c
  .option('--data-dir <dir>', 'data directory (env KUBECRED_DATA_DIR; default ~/.kubecred)')
  .option('--database <url>', 'postgres://… (env KUBECRED_DATABASE_URL; default: SQLite in the data directory)');
