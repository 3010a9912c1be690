// cfssl as the issuance reference: installs golang-cfssl if missing (apt, 120 s limit), makes a
// self-signed EC P-256 CA with `cfssl gencert -initca`, and starts `cfssl serve` pinned, over TLS, with
// or without its SQLite certificate database.

import { execFile, execFileSync } from 'node:child_process';
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, spawnPinned, tempDir, wrap, type Child } from './proc.ts';
import { makeAgent, send, type Target } from './load.ts';

export interface Cfssl extends Child { target: Target }

function sh(cmd: string, timeoutMs: number): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', cmd], { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 124) : 0, out: `${stdout}${stderr}` });
    });
  });
}

/** Returns why cfssl cannot be used, or null when `cfssl` is on PATH. */
export async function ensureCfssl(log: (s: string) => void): Promise<string | null> {
  if ((await sh('command -v cfssl', 5000)).code === 0) return null;
  log('cfssl not found; trying apt-get install golang-cfssl (limit 120 s)...');
  const r = await sh('apt-get update -qq && apt-get install -y -qq golang-cfssl', 120_000);
  if (r.code === 0 && (await sh('command -v cfssl', 5000)).code === 0) return null;
  const last = r.out.trim().split('\n').slice(-1)[0] ?? '';
  return `cfssl unavailable: apt-get install golang-cfssl failed (exit ${r.code}${r.code === 124 ? ', timed out' : ''}): ${last}`;
}

export const NEWCERT_BODY = JSON.stringify({
  request: { CN: 'bench-user', hosts: [], key: { algo: 'ecdsa', size: 256 }, names: [{ O: 'dev' }] },
  profile: 'client',
});

/** cfssl 1.2's certificate database schema (certdb/sqlite/migrations/001_CreateCertificates.sql). */
const CERTDB_SCHEMA = `
CREATE TABLE certificates (
  serial_number blob NOT NULL, authority_key_identifier blob NOT NULL, ca_label blob, status blob NOT NULL,
  reason int, expiry timestamp, revoked_at timestamp, pem blob NOT NULL,
  PRIMARY KEY(serial_number, authority_key_identifier));
CREATE TABLE ocsp_responses (
  serial_number blob NOT NULL, authority_key_identifier blob NOT NULL, body blob NOT NULL, expiry timestamp,
  PRIMARY KEY(serial_number, authority_key_identifier));`;

/**
 * `certdb`: cfssl also stores every certificate it signs in its own SQLite certificate database
 * (`-db-config`, its SQLite driver's defaults: rollback journal, synchronous FULL), the way a CA that
 * can list and revoke what it issued must. `certificates()` counts the stored rows.
 */
export async function startCfssl(tls: { certFile: string; keyFile: string; caPem: string }, opts: { certdb?: boolean } = {}): Promise<Cfssl & { certificates(): number }> {
  const dir = tempDir('kubecred-bench-cfssl-');
  const dbFile = path.join(dir, 'certs.db');
  const dbArgs: string[] = [];
  if (opts.certdb) {
    const db = new Database(dbFile);
    db.exec(CERTDB_SCHEMA);
    db.close();
    fs.writeFileSync(path.join(dir, 'db-config.json'), JSON.stringify({ driver: 'sqlite3', data_source: dbFile }));
    dbArgs.push('-db-config', 'db-config.json');
  }
  const certificates = () => {
    if (!opts.certdb) return 0;
    const db = new Database(dbFile, { readonly: true });
    try {
      return (db.prepare('select count(*) as n from certificates').get() as { n: number }).n;
    } finally {
      db.close();
    }
  };
  fs.writeFileSync(path.join(dir, 'ca-csr.json'), JSON.stringify({ CN: 'bench cfssl CA', key: { algo: 'ecdsa', size: 256 } }));
  const init = JSON.parse(execFileSync('cfssl', ['gencert', '-initca', 'ca-csr.json'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  fs.writeFileSync(path.join(dir, 'ca.pem'), init.cert);
  fs.writeFileSync(path.join(dir, 'ca-key.pem'), init.key, { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({
    signing: {
      default: { expiry: '15m', usages: ['digital signature', 'client auth'] },
      profiles: { client: { expiry: '15m', usages: ['digital signature', 'client auth'] } },
    },
  }));
  const port = await freePort();
  const c = wrap(spawnPinned('cfssl', ['serve', '-address', '127.0.0.1', '-port', String(port), '-ca', 'ca.pem', '-ca-key', 'ca-key.pem',
    '-config', 'config.json', '-tls-cert', tls.certFile, '-tls-key', tls.keyFile, '-loglevel', '5', ...dbArgs], { cwd: dir }));
  const target: Target = { url: `https://127.0.0.1:${port}`, ca: tls.caPem };
  const agent = makeAgent(target, 1);
  const deadline = Date.now() + 15_000;
  try {
    for (;;) {
      try {
        const r = await send(target, agent, { method: 'POST', path: '/api/v1/cfssl/newcert', body: NEWCERT_BODY });
        if (r.status === 200 && JSON.parse(r.body).success) break;
        throw new Error(`HTTP ${r.status}: ${r.body.slice(0, 300)}`);
      } catch (e) {
        if (c.child.exitCode !== null || Date.now() > deadline) {
          await c.stop();
          throw new Error(`cfssl serve did not answer newcert: ${(e as Error).message}\n${c.output().slice(-1000)}`);
        }
        await new Promise((res) => setTimeout(res, 100));
      }
    }
  } finally {
    agent.destroy();
  }
  return { ...c, target, certificates };
}
