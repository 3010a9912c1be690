// Fills a data directory made by `kubecred init` with a realistic inventory for the scale tables:
// clusters and their webhook tokens through kubecred's own services, then principals, credentials
// (real certificates signed by each cluster's CA) and their audit events through prepared statements
// in one SQLite transaction. docs/performance.md describes exactly what the rows contain.

import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Actor } from '../../src/core/actor.ts';
import { makeAuthority } from '../../src/core/authority.ts';
import { clusterCaKeyAad, credentialKeyAad } from '../../src/core/credential-issuer.ts';
import { randomIds } from '../../src/core/ids.ts';
import type { Credential, CredentialKind, CredentialState, Principal } from '../../src/core/model.ts';
import { systemClock } from '../../src/core/ports.ts';
import { loadOrCreateMasterKey } from '../../src/config/data-dir.ts';
import { issueClientCertificate, loadCa, type LoadedCa } from '../../src/pki/client-cert.ts';
import { generateKeyPair, type KeyPair } from '../../src/pki/keys.ts';
import { aesGcmSealer } from '../../src/pki/sealer.ts';
import { credentialToRow, principalToRow } from '../../src/storage/row-mappers.ts';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import { BIN } from './proc.ts';

export interface BulkPlan {
  credentials: number;
  principals: number;
  clusters: number;
  /** Issuance times spread evenly over this many days before now. */
  historyDays: number;
}

export interface Sample { clusterId: string; principalId: string; fingerprint: string; id: string }

export interface BulkLoaded {
  dataDir: string;
  rootToken: string;
  rootPrincipalId: string;
  accountId: string;
  clusters: Array<{ id: string; name: string; webhookToken: string }>;
  counts: { principals: number; credentials: number; auditEvents: number; holders: number; byState: Record<string, number>; byKind: Record<string, number>; activeUnexpired: number; dbMb: number };
  /** Active, unexpired x509 credentials (up to 4,096) and revoked, unexpired ones (up to 1,024), for the webhook rows. */
  active: Sample[];
  revoked: Sample[];
  seconds: number;
  /** A reused store, as it is now: earlier runs' issuances and revocations have added to what was loaded. */
  now?: { credentials: number; auditEvents: number; revoked: number; dbMb: number };
}

const DAY = 86_400_000;
const MINUTE = 60_000;
const TEMPORARY_MINUTES = [15, 60, 240, 480, 1440, 4320];
const GROUPS = ['dev', 'ops', 'qa', 'data', 'sre', 'platform', 'mobile', 'web', 'ml', 'security'];
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/** Deterministic, fast randomness for the shape of the data (not for anything secret). */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** IDs in kubecred's format (ids.ts: 12 base32 characters of time, 14 random), from a pooled random buffer. */
function idMaker() {
  const pool = Buffer.alloc(64 * 1024);
  let off = pool.length;
  let lastMs = 0;
  let counter = 0;
  const base32 = (v: bigint, chars: number) => {
    let out = '';
    for (let i = chars - 1; i >= 0; i--) out += ALPHABET[Number((v >> BigInt(i * 5)) & 31n)];
    return out;
  };
  return (prefix: string, ms: number) => {
    counter = ms === lastMs ? counter + 1 : 0;
    lastMs = ms;
    if (off + 9 > pool.length) {
      crypto.randomFillSync(pool);
      off = 0;
    }
    const r = pool.readBigUInt64BE(off) & ((1n << 70n) - 1n);
    off += 9;
    // 56 bits of (ms * 1024 + counter) -> 12 chars (60 bits, top 4 zero), like ids.ts's base32 of 7 bytes.
    const time = (BigInt(ms) * 1024n + BigInt(counter & 1023)) << 4n;
    return `${prefix}_${base32(time, 12)}${base32(r, 14)}`;
  };
}

export function dirSizeMb(dir: string): number {
  return fs.readdirSync(dir).filter((f) => f.startsWith('kubecred.db')).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0) / 1048576;
}

export async function bulkLoad(dataDir: string, plan: BulkPlan, log: (s: string) => void): Promise<BulkLoaded> {
  const t0 = Date.now();
  const boot = JSON.parse(execFileSync(process.execPath, [BIN, 'init', '--data-dir', dataDir, '--output', 'json'], {
    encoding: 'utf8', env: { ...process.env, KUBECRED_MASTER_KEY: undefined }, stdio: ['ignore', 'pipe', 'pipe'],
  })) as { accountId: string; rootPrincipalId: string; rootToken: string };
  const dbFile = path.join(dataDir, 'kubecred.db');
  const sealer = aesGcmSealer(loadOrCreateMasterKey(dataDir, null));

  // Clusters (with generated client CAs) and webhook tokens through the services, as an operator would.
  const store = await openSqliteStore({ file: dbFile });
  const authority = makeAuthority({ store, clock: systemClock, ids: randomIds(), sealer });
  const root: Actor = { accountId: boot.accountId, principal: (await store.principals.get(boot.accountId, boot.rootPrincipalId))!, requestId: 'req_bulk_load', sourceIp: '127.0.0.1', surface: 'bench' };
  const clusters: BulkLoaded['clusters'] = [];
  const cas = new Map<string, LoadedCa>();
  for (let i = 0; i < plan.clusters; i++) {
    const c = await authority.clusters.create(root, { name: `scale-${i}`, publicEndpoint: `https://192.0.2.${10 + i}:6443` });
    const { token } = await authority.webhooks.createToken(root, c.id);
    clusters.push({ id: c.id, name: c.name, webhookToken: token });
    const row = (await store.clusters.get(boot.accountId, c.id))!;
    cas.set(c.id, loadCa({ certPem: row.clientCa.certPem, keyPem: sealer.open(row.clientCa.keySealed, clusterCaKeyAad(c.id)).toString('utf8'), algorithm: row.clientCa.algorithm }));
  }
  await store.close();

  const db = new BetterSqlite3(dbFile);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -1048576');
  const random = rng(9);
  const newId = idMaker();
  const now = Date.now();
  const start = now - plan.historyDays * DAY;

  // Principals: users and a few robots, each with one to three groups and one to three clusters.
  const principals: Array<{ p: Principal; clusters: string[] }> = [];
  const insertPrincipal = db.prepare('insert into principals (id, account_id, kind, name, groups, is_root, created_at, deleted_at) values (@id, @account_id, @kind, @name, @groups, @is_root, @created_at, @deleted_at)');
  db.transaction(() => {
    for (let i = 0; i < plan.principals; i++) {
      const robot = random() < 0.1;
      const created = start - Math.floor(random() * 30 * DAY);
      const groups = [...new Set(Array.from({ length: 1 + Math.floor(random() * 3) }, () => GROUPS[Math.floor(random() * GROUPS.length)]!))];
      const p: Principal = { id: newId(robot ? 'rol' : 'usr', created), accountId: boot.accountId, kind: robot ? 'role' : 'user', name: `${robot ? 'robot' : 'user'}-${i}`, groups, isRoot: false, createdAt: new Date(created), deletedAt: null };
      insertPrincipal.run(principalToRow(p));
      const home = [...new Set(Array.from({ length: 1 + Math.floor(random() * 3) }, () => clusters[Math.floor(random() * clusters.length)]!.id))];
      principals.push({ p, clusters: home });
    }
  })();

  // A pool of real P-256 keys, reused across certificates (generating a million keys would only slow the load).
  const keys: KeyPair[] = Array.from({ length: 512 }, () => generateKeyPair('ec-p256'));
  const cols = Object.keys(credentialToRow({ id: 'x', type: 'x509', accountId: '', clusterId: '', principalId: '', kind: 'temporary', keySource: 'generated', serialHex: '', fingerprintSha256: '', certPem: '', keySealed: null, commonName: '', groups: [], notBefore: new Date(0), notAfter: new Date(0), state: 'active', current: false, issuedAt: new Date(0), issuedBy: '', requestId: '', revokedAt: null, revokedBy: null, revokeReason: null, supersededAt: null }));
  const insertCredential = db.prepare(`insert into credentials (${cols.join(', ')}) values (${cols.map((c) => `@${c}`).join(', ')})`);
  const supersede = db.prepare("update credentials set state = 'superseded', is_current = 0, superseded_at = ? where id = ?");
  const insertAudit = db.prepare('insert into audit_events (id, account_id, at, actor_id, action, resource_type, resource_id, outcome, source_ip, request_id, detail) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');

  const currentDefault = new Map<string, { id: string; state: CredentialState }>();
  const holders = new Set<string>();
  const byState: Record<string, number> = {};
  const byKind: Record<string, number> = {};
  const active: Sample[] = [];
  const revoked: Sample[] = [];
  let activeUnexpired = 0;
  let audits = 0;
  let sealed = 0;
  const step = (now - start) / plan.credentials;
  const reqId = () => `req_${crypto.randomBytes(12).toString('hex')}`;
  log(`bulk load: ${plan.credentials.toLocaleString('en-US')} credentials for ${plan.principals.toLocaleString('en-US')} principals on ${plan.clusters} clusters`);
  let lastLog = Date.now();
  db.transaction(() => {
    for (let i = 0; i < plan.credentials; i++) {
      if (Date.now() - lastLog > 10_000) {
        log(`bulk load: ${i.toLocaleString('en-US')} credentials so far`);
        lastLog = Date.now();
      }
      // Busy principals get more certificates: a squared uniform pick skews towards the low indexes.
      const who = principals[Math.floor(random() * random() * principals.length)]!;
      const clusterId = who.clusters[Math.floor(random() * who.clusters.length)]!;
      const issued = Math.floor(start + i * step);
      const r = random();
      const kind: CredentialKind = r < 0.02 ? 'default' : r < 0.07 ? 'csr' : 'temporary';
      const notBefore = issued - 5 * MINUTE;
      const notAfter = kind === 'temporary' ? issued + TEMPORARY_MINUTES[Math.floor(random() * TEMPORARY_MINUTES.length)]! * MINUTE : issued + 3 * 365 * DAY;
      const key = keys[Math.floor(random() * keys.length)]!;
      const id = newId('crd', issued);
      const cert = issueClientCertificate({ ca: cas.get(clusterId)!, publicKeyDer: key.publicKeyDer, commonName: who.p.id, organizations: who.p.groups, notBefore: new Date(notBefore), notAfter: new Date(notAfter) });
      let state: CredentialState = 'active';
      let revokedAt: number | null = null;
      if (random() < 0.03) {
        state = 'revoked';
        revokedAt = Math.min(now, issued + Math.floor(random() * (notAfter - issued)));
      }
      const holder = `${clusterId}|${who.p.id}`;
      holders.add(holder);
      let current = false;
      if (kind === 'default') {
        const prev = currentDefault.get(holder);
        if (prev && prev.state === 'active') {
          supersede.run(issued, prev.id);
          byState.active!--;
          byState.superseded = (byState.superseded ?? 0) + 1;
        }
        current = state === 'active';
        if (current) currentDefault.set(holder, { id, state });
        else currentDefault.delete(holder);
      }
      const c: Credential = {
        id, type: 'x509', accountId: boot.accountId, clusterId, principalId: who.p.id, kind, keySource: kind === 'csr' ? 'client' : 'generated',
        serialHex: cert.serialHex, fingerprintSha256: cert.fingerprintSha256, certPem: cert.certPem,
        keySealed: kind === 'default' ? (sealed++, sealer.seal(key.privateKeyPem, credentialKeyAad(id))) : null,
        commonName: who.p.id, groups: who.p.groups, notBefore: new Date(notBefore), notAfter: new Date(notAfter), state, current,
        issuedAt: new Date(issued), issuedBy: random() < 0.8 ? who.p.id : boot.rootPrincipalId, requestId: reqId(),
        revokedAt: revokedAt === null ? null : new Date(revokedAt), revokedBy: revokedAt === null ? null : boot.rootPrincipalId,
        revokeReason: revokedAt === null ? null : 'left the team', supersededAt: null,
      };
      insertCredential.run(credentialToRow(c));
      insertAudit.run(newId('evt', issued), boot.accountId, issued, c.issuedBy, 'IssueKubeconfig', 'credential', id, 'success', `10.0.${(i >> 8) & 255}.${i & 255}`, c.requestId,
        JSON.stringify({ surface: 'native', cluster: clusterId, principal: who.p.id, kind, type: 'x509', serial: cert.serialHex, fingerprintSha256: cert.fingerprintSha256, notAfter: new Date(notAfter).toISOString(), keySource: c.keySource }));
      audits++;
      byState[state] = (byState[state] ?? 0) + 1;
      byKind[kind] = (byKind[kind] ?? 0) + 1;
      if (notAfter > now) {
        const sample = { clusterId, principalId: who.p.id, fingerprint: cert.fingerprintSha256, id };
        if (state === 'active') {
          activeUnexpired++;
          // Reservoir sampling: every active, unexpired credential is equally likely to be picked.
          if (active.length < 4096) active.push(sample);
          else if (random() < 4096 / activeUnexpired) active[Math.floor(random() * 4096)] = sample;
        } else if (revoked.length < 1024) revoked.push(sample);
      }
    }
  })();
  log(`bulk load: ${sealed} default kubeconfig keys sealed; checkpointing`);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  // Superseded defaults were active when sampled; drop them from the active sample.
  const check = new BetterSqlite3(dbFile, { readonly: true });
  const stateOf = check.prepare('select state from credentials where id = ?').pluck();
  const stillActive = active.filter((s) => stateOf.get(s.id) === 'active');
  check.close();
  return {
    dataDir, rootToken: boot.rootToken, rootPrincipalId: boot.rootPrincipalId, accountId: boot.accountId, clusters,
    counts: { principals: plan.principals, credentials: plan.credentials, auditEvents: audits, holders: holders.size, byState, byKind, activeUnexpired, dbMb: dirSizeMb(dataDir) },
    active: stillActive, revoked, seconds: (Date.now() - t0) / 1000,
  };
}
