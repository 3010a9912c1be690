// `kubecred serve` and `kubecred init`: prepare the data directory (master key, database, TLS files,
// first account), then listen. First-start secrets are printed once, to the terminal, never logged.

import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createSecureContext } from 'node:tls';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { makeAuthority } from '../core/authority.ts';
import { makeAuditWriter } from '../core/audit.ts';
import { bootstrapIfEmpty, createAccount, recoverRootToken, type BootstrapResult, type RecoveredRootToken } from '../core/bootstrap.ts';
import { randomIds } from '../core/ids.ts';
import { systemClock, type Clock, type Sealer } from '../core/ports.ts';
import type { Store } from '../core/store-port.ts';
import { defaultMaxConnections } from '../api/connection-limits.ts';
import { buildApp } from '../api/server.ts';
import { ensureDataDir, loadMasterKeyring, writeSecretFile } from '../config/data-dir.ts';
import { ConfigError, type ServerConfig } from '../config/server-config.ts';
import { createSelfSignedServerCert } from '../pki/ca.ts';
import { aesGcmSealer } from '../pki/sealer.ts';
import { checkMasterKey } from '../core/master-key-check.ts';
import { KubecredError } from '../core/errors.ts';
import { causeCode, describeStore, openStore } from '../storage/open-store.ts';
import type { TransactionRetry } from '../storage/postgres/pg-transaction-retry.ts';
import { VERSION } from './version.ts';
import { say } from './output.ts';

export interface Prepared {
  store: Store;
  sealer: Sealer;
  bootstrap: BootstrapResult | null;
}

/**
 * Where a warning for the operator goes: `human` is the stderr line (one-shot commands only say it), `fields` what a
 * JSON log line adds to it (serve logs each: startupWarnings).
 */
export type Warn = (human: string, fields?: Record<string, unknown>) => void;
const sayOnly: Warn = (human) => say(human);

/**
 * serve's warnings before and during start-up: a JSON log line at warn, like everything else it logs, and the human
 * line too while a person watches stderr (a terminal, as for the first-start secrets: main.ts) or the log would not
 * carry it (--log-level silent or error).
 */
function startupWarnings(log: pino.Logger | undefined): Warn {
  const toTerminal = !log?.isLevelEnabled('warn') || process.stderr.isTTY === true;
  return (human, fields = {}) => {
    log?.warn(fields, human.replace(/^warning: /, ''));
    if (toTerminal) say(human);
  };
}

/** A server started before its database (a pod before PostgreSQL) waits for it a while, saying so and why. */
async function openStoreWaiting(config: ServerConfig, opts: { listen?: boolean; waitForDatabaseMs?: number; warn?: Warn; onTransactionRetry?: (r: TransactionRetry) => void }) {
  // A server upgrades its database (saying so); one-shot commands (init, account create) refuse an older one.
  const deadline = Date.now() + (opts.waitForDatabaseMs ?? 0);
  for (let attempt = 1; ; attempt++) {
    try {
      return await openStore(config, { listen: opts.listen, migrate: { upgrade: opts.listen ?? false, progress: say }, onTransactionRetry: opts.onTransactionRetry });
    } catch (e) {
      if (!(e instanceof KubecredError && e.code === 'UNAVAILABLE') || Date.now() >= deadline) throw e;
      // The driver's code says which: ECONNREFUSED (nothing listens), ENOTFOUND (no such host), 57P03 (starting up)...
      const cause = causeCode(e) ?? 'no answer';
      (opts.warn ?? sayOnly)(`waiting for the database (${describeStore(config)}) to answer (${cause}), attempt ${attempt}`, { store: describeStore(config), cause, attempt });
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

/** Creates what is missing in the data directory and opens the store; safe to run again. */
export async function prepareDataDir(config: ServerConfig, clock: Clock = systemClock, opts: { listen?: boolean; waitForDatabaseMs?: number; bootstrap?: boolean; warn?: Warn; onTransactionRetry?: (r: TransactionRetry) => void } = {}): Promise<Prepared> {
  const openDir = ensureDataDir(config.dataDir);
  if (openDir) (opts.warn ?? sayOnly)(`warning: ${openDir}`, { dataDir: config.dataDir });
  const ring = loadMasterKeyring(config.dataDir, config);
  const sealer = aesGcmSealer(ring.current, ring.others);
  const store = await openStoreWaiting(config, opts);
  try {
    await checkMasterKey(store, sealer, clock);
    const ids = randomIds();
    const bootstrap = opts.bootstrap === false ? null : await bootstrapIfEmpty({ store, ids, clock, sealer, audit: makeAuditWriter({ ids, clock }) });
    return { store, sealer, bootstrap };
  } catch (e) {
    await store.close();
    throw e;
  }
}

/**
 * `account create`. On a data directory not yet initialized, preparing it creates the first account too: its
 * secrets go to `onFirstAccount` at once, before the new account can fail, since they are shown once or never.
 */
export async function createAccountInDataDir(config: ServerConfig, name: string, onFirstAccount?: (b: BootstrapResult) => void): Promise<BootstrapResult> {
  const { store, sealer, bootstrap } = await prepareDataDir(config);
  try {
    if (bootstrap) onFirstAccount?.(bootstrap);
    const ids = randomIds();
    return await createAccount({ store, ids, clock: systemClock, sealer, audit: makeAuditWriter({ ids, clock: systemClock }) }, name);
  } finally {
    await store.close();
  }
}

/** `kubecred account root-token`: a new token for an account's root, straight from the data directory. */
export async function recoverRootTokenInDataDir(config: ServerConfig, name: string): Promise<RecoveredRootToken> {
  // Nothing is created: a data directory never started has no root to recover, and its first start prints one.
  if (!config.databaseUrl && !fs.existsSync(config.databaseFile)) {
    throw new ConfigError(`there is no database at ${config.databaseFile}\n  hint: give --data-dir the server's data directory (or --database its PostgreSQL URL)`);
  }
  const { store } = await prepareDataDir(config, systemClock, { bootstrap: false });
  try {
    const ids = randomIds();
    return await recoverRootToken({ store, ids, clock: systemClock, audit: makeAuditWriter({ ids, clock: systemClock }) }, name);
  } finally {
    await store.close();
  }
}

const SELF_SIGNED_DAYS = 825;
/** A self-signed certificate is made again at start when it would expire within this many days. */
const RENEW_WITHIN_DAYS = 30;

/** Why the self-signed certificate must be made again (it expires soon, or does not name a host served), or null. */
function whyRenew(certPem: string, keyPem: string, hosts: string[], now: Date): string | null {
  let cert: crypto.X509Certificate;
  try {
    cert = new crypto.X509Certificate(certPem);
    if (!cert.checkPrivateKey(crypto.createPrivateKey(keyPem))) return 'the old one does not match server.key';
  } catch {
    return 'the old one (or server.key) could not be parsed';
  }
  const notAfter = new Date(cert.validTo);
  if (notAfter.getTime() - now.getTime() < RENEW_WITHIN_DAYS * 86_400_000) {
    return `the old one ${notAfter <= now ? 'expired' : 'expires'} on ${notAfter.toISOString()}`;
  }
  const missing = hosts.filter((h) => (net.isIP(h) ? cert.checkIP(h) === undefined : cert.checkHost(h, { wildcards: false }) === undefined));
  return missing.length ? `the old one does not name ${missing.join(', ')}` : null;
}

const short = (e: unknown) => String((e as Error)?.message ?? e).replace(/^error:[0-9A-F]+:/, '').slice(0, 200);

/**
 * The given --tls-cert/--tls-key, parsed and matched here, before a first start prints secrets: otherwise Fastify finds
 * a bad file only after the data directory is made, with OpenSSL's text and exit 1.
 */
function checkTlsPair(cert: string, key: string, certFile: string, keyFile: string, now: Date, warn: Warn): Date {
  let x509: crypto.X509Certificate;
  try {
    x509 = new crypto.X509Certificate(cert);
  } catch (e) {
    throw new ConfigError(`--tls-cert ${certFile} is not a PEM certificate (${short(e)})\n  hint: give --tls-cert the server's certificate, "-----BEGIN CERTIFICATE-----" first (then any intermediates)`);
  }
  try {
    crypto.createPrivateKey(key);
  } catch (e) {
    throw new ConfigError(`--tls-key ${keyFile} is not an unencrypted PEM private key (${short(e)})\n  hint: give --tls-key the certificate's private key ("-----BEGIN PRIVATE KEY-----" or "-----BEGIN EC/RSA PRIVATE KEY-----"), without a passphrase`);
  }
  try {
    createSecureContext({ cert, key });
  } catch (e) {
    throw new ConfigError(`--tls-key ${keyFile} is not the private key of --tls-cert ${certFile} (${short(e)})\n  hint: give the key the certificate was issued for`);
  }
  const notAfter = new Date(x509.validTo);
  if (notAfter.getTime() - now.getTime() < RENEW_WITHIN_DAYS * 86_400_000) {
    warn(`warning: --tls-cert ${certFile} ${notAfter <= now ? 'expired' : 'expires'} on ${notAfter.toISOString()}; clients will refuse it${notAfter <= now ? '' : ' then'}: replace it`, { certFile, notAfter: notAfter.toISOString() });
  }
  return notAfter;
}

/** The server's TLS material: given files, or a self-signed certificate kept in <data-dir>/tls. */
export interface TlsMaterial {
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
  notAfter: Date;
  /** Made by kubecred in <data-dir>/tls (renewed by it), not given with --tls-cert. */
  selfSigned: boolean;
}

export function tlsMaterial(config: ServerConfig, clock: Clock = systemClock, warn: Warn = sayOnly): TlsMaterial | null {
  if (config.tls.mode === 'off') return null;
  if (config.tls.mode === 'files') {
    const read = (file: string, flag: string) => {
      try {
        return fs.readFileSync(file, 'utf8');
      } catch (e) {
        throw new ConfigError(`cannot read ${flag} ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})\n  hint: give ${flag} the path of a PEM file, or leave out --tls-cert and --tls-key for a self-signed certificate in <data-dir>/tls`);
      }
    };
    const { certFile, keyFile } = config.tls;
    const cert = read(certFile, '--tls-cert');
    const key = read(keyFile, '--tls-key');
    const notAfter = checkTlsPair(cert, key, certFile, keyFile, clock.now(), warn);
    // Often a mounted Secret (0644 by default, in a directory only root may enter): said, not refused.
    const open = openToOthers(keyFile);
    if (open) warn(`warning: --tls-key ${keyFile} is readable by group or others (mode ${open}): whoever reads it can pose as this server to webhook callers and clients; run: chmod 600 ${keyFile}`, { keyFile, mode: open });
    return { cert, key, certFile, keyFile, notAfter, selfSigned: false };
  }
  ensureDataDir(config.dataDir); // before <data-dir>/tls: a data directory kubecred cannot use is said as such
  const dir = path.join(config.dataDir, 'tls');
  const certFile = path.join(dir, 'server.crt');
  const keyFile = path.join(dir, 'server.key');
  const hosts = [...new Set(['127.0.0.1', 'localhost', '::1', config.host].filter((h) => h !== '0.0.0.0' && h !== '::'))];
  const now = clock.now();
  // kubecred made it 0600; opened since, it may have been read: refused, as master.key is.
  const open = fs.existsSync(keyFile) ? openToOthers(keyFile) : null;
  if (open) throw new ConfigError(`${keyFile} is readable by group or others (mode ${open}): whoever read it can pose as this server\n  hint: run chmod 600 ${keyFile}, or delete ${dir} to have a new certificate made (clients that trust the old one then need the new ${certFile})`);
  const renew = fs.existsSync(certFile) && fs.existsSync(keyFile) ? whyRenew(fs.readFileSync(certFile, 'utf8'), fs.readFileSync(keyFile, 'utf8'), hosts, now) : 'missing';
  if (renew) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const { certPem, keyPem } = createSelfSignedServerCert(hosts, now, SELF_SIGNED_DAYS);
    // Written beside the old pair, then renamed over it: a crash leaves the old pair or the new one, never half of each
    // that would not match (the key first: a new key with the old certificate fails at start and is made again).
    const tmpKey = `${keyFile}.new-${process.pid}`;
    const tmpCert = `${certFile}.new-${process.pid}`;
    fs.rmSync(tmpKey, { force: true });
    writeSecretFile(tmpKey, keyPem);
    fs.writeFileSync(tmpCert, certPem, { mode: 0o644 });
    fs.renameSync(tmpKey, keyFile);
    fs.renameSync(tmpCert, certFile);
    if (renew !== 'missing') {
      warn(`made a new self-signed TLS certificate in ${dir}: ${renew}; it names ${hosts.join(', ')} and is valid until ${new Date(now.getTime() + SELF_SIGNED_DAYS * 86_400_000).toISOString()}. Clients that copied the old ${certFile} (--ca-file, KUBECRED_CA_FILE, webhook kubeconfigs from \`kubecred cluster kube-config\`) need the new one`, { certFile, reason: renew });
    }
  }
  const cert = fs.readFileSync(certFile, 'utf8');
  return { cert, key: fs.readFileSync(keyFile, 'utf8'), certFile, keyFile, notAfter: new Date(new crypto.X509Certificate(cert).validTo), selfSigned: true };
}

/** The file's permission bits in octal when group or others have any access, else null. */
function openToOthers(file: string): string | null {
  const mode = fs.statSync(file).mode & 0o777;
  return mode & 0o077 ? mode.toString(8).padStart(3, '0') : null;
}

/**
 * The new account's secrets, under a heading that says what happened: `initialized <data-dir>` on a first start,
 * `created account <name>` for `account create` (whose output must name the account it made).
 */
/**
 * The first account's credentials, printed once. `secretsFile`: stderr is a log (journald, a pod's), not a person at
 * a terminal, so the two secrets go to that file (0600) instead, and the log says where.
 */
export function printBootstrap(b: BootstrapResult, heading: string, out: NodeJS.WritableStream, secretsFile?: string): void {
  const SAVE = 'Save the token and the access key secret now: kubecred keeps only a hash and a sealed copy, and will not show them again.';
  const lines = (secrets: boolean, last: string) => [
    `kubecred: ${heading}`,
    `  account:           ${b.accountId}`,
    `  root principal:    ${b.rootPrincipalId}`,
    ...(secrets ? [`  root token:        ${b.rootToken}`] : []),
    `  access key id:     ${b.accessKeyId}`,
    ...(secrets ? [`  access key secret: ${b.accessKeySecret}`] : []),
    last,
    '',
  ].join('\n');
  if (secretsFile === undefined) return void out.write(lines(true, SAVE));
  try {
    fs.rmSync(secretsFile, { force: true }); // left by an earlier first start whose database is gone
    writeSecretFile(secretsFile, lines(true, SAVE));
  } catch (e) {
    // Never the log instead: the account works, and its root can be given a token where the data is.
    return void out.write(lines(false, `The root token and access key secret could not be written to ${secretsFile} (${(e as NodeJS.ErrnoException).code ?? 'error'}) and are not shown in this log: give the root a token with \`kubecred account root-token\` where this database is (--data-dir, or --database for PostgreSQL), then make access keys with it.`));
  }
  out.write(lines(false, `The root token and the access key secret are in ${secretsFile} (mode 0600), not in this log: save them now (kubecred will not show them again), then delete that file.`));
}

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  caFile: string | null;
  close(): Promise<void>;
}

export async function startServer(config: ServerConfig, opts: { clock?: Clock; onBootstrap?: (b: BootstrapResult) => void; logStream?: NodeJS.WritableStream } = {}): Promise<RunningServer> {
  const clock = opts.clock ?? systemClock;
  // Made first, so that what start-up warns of (the database not answering yet, a TLS file) is logged as JSON too.
  const logger = config.logLevel === 'silent' ? false : pino({
    level: config.logLevel,
    // Belt and braces: nothing below should ever hold these, but if it does it is cut out.
    redact: { paths: ['req.headers.authorization', 'headers.authorization', '*.token', '*.accessKeySecret', '*.kubeconfig', '*.keyPem'], censor: '[redacted]' },
  }, opts.logStream ?? process.stdout);
  const log = logger || undefined;
  const warn = startupWarnings(log);
  // A port already taken is said now, before anything is made and not after migrations and the revocation index's
  // load (seconds on a large store); then TLS: a wrong --tls-cert fails before a first start prints secrets.
  await checkPortFree(config.host, config.port);
  const tls = tlsMaterial(config, clock, warn);
  // One line per run again, without the SQL: which abort, and the how-manieth run again (the metric counts them).
  const onTransactionRetry = (r: TransactionRetry) => log?.warn({ sqlState: r.code, reason: r.reason, attempt: r.attempt, retryInMs: r.delayMs },
    'the database rolled back a transaction to let another through (a deadlock or a serialization failure); nothing of it was committed, running it again');
  const { store, sealer, bootstrap } = await prepareDataDir(config, clock, { listen: true, waitForDatabaseMs: 60_000, warn, onTransactionRetry });
  if (bootstrap) opts.onBootstrap?.(bootstrap);
  // Undone on a failed start: the store's worker thread (and the change feed) would keep the process from ever exiting.
  let undo = () => store.close();
  try {
    const authority = makeAuthority({ store, clock, ids: randomIds(), sealer, consoleIdleMs: config.consoleIdleMs, retention: config.retention });
    // Enforcement must know every revocation before the first review arrives (the CVE-2022-41316 lesson).
    const loadedAt = clock.now();
    const loadStarted = performance.now();
    const indexed = await authority.loadIndex();
    const loadMs = Math.round(performance.now() - loadStarted);
    (logger || undefined)?.info({ credentials: indexed, ms: loadMs }, 'revocation index loaded: every unexpired credential, whatever its state');
    if (sealer.keyIds.length > 1) {
      (logger || undefined)?.warn({ masterKey: sealer.currentKeyId, previousMasterKeys: sealer.keyIds.slice(1) }, 'a master-key rotation is under way: this server seals under the current key and opens under the previous ones too; `kubecred master-key status` says what is left to do');
    } else {
      (logger || undefined)?.info({ masterKey: sealer.currentKeyId }, 'master key loaded');
    }
    // Replicas: other servers' revocations reach this one's index through the database's change feed.
    for (const warning of config.warnings) warn(`warning: ${warning}`);
    const sync = await authority.followOtherServers(loadedAt, {
      onError: (e, next) => log?.warn(
        { error: { message: String((e as Error)?.message).slice(0, 200) }, retryInMs: next.retryInMs },
        next.afterGap
          ? 'revocation index catch-up after a change-feed gap failed; retrying with backoff, and not ready (changeFeed) until it succeeds'
          : 'periodic revocation index catch-up failed; the next one runs at its usual interval',
      ),
      // The window in which other replicas' revocations may go unheard here, from its start to its end.
      onHealthChange: (healthy, forMs, why) => (healthy
        ? log?.info({ staleForMs: forMs }, 'change feed current again: other replicas\' revocations are heard')
        : why ? log?.error({ why }, 'not ready: other replicas\' revocations could go unheard here, stamped by clocks this far apart')
        : log?.warn('change feed down or behind: other replicas\' revocations may go unheard here until it catches up')),
    });
    const stopFeedAndStore = async () => {
      await sync?.stop();
      // Counted denials not yet summarised would be lost with this process's memory.
      await authority.authorizer.flushDenialSummaries(true).catch((e) => log?.warn({ error: { message: String((e as Error)?.message).slice(0, 200) } }, 'recording the counts of suppressed denials failed; those counts are lost'));
      await store.close();
    };
    undo = stopFeedAndStore;
    const { app } = await buildApp({
      readiness: { freshness: sync ?? undefined, outageGraceMs: config.outageGraceMs }, metricsFrom: config.metricsFrom,
      authority, logger: logger as never, bodyLimitBytes: config.bodyLimitBytes, https: tls ? { cert: tls.cert, key: tls.key } : null,
      trustProxy: config.trustProxy, version: VERSION,
      connectionLimits: { max: config.maxConnections ?? defaultMaxConnections(), perAddress: config.maxConnectionsPerAddress },
    });
    // Expired nonces, sessions and index entries, swept now and then (the first a minute in, off the start-up path).
    const sweep = () => void authority.sweepExpired().then(
      (dropped) => { if (dropped.nonces + dropped.consoleSessions + dropped.indexEntries > 0) log?.info(dropped, 'expired replay nonces, console sessions and revocation index entries dropped'); },
      (e) => log?.warn({ error: { message: String((e as Error)?.message).slice(0, 200) } }, 'sweeping expired rows failed; the next sweep tries again'),
    );
    const firstSweep = setTimeout(sweep, 60_000).unref();
    const sweeps = setInterval(sweep, SWEEP_EVERY_MS).unref();
    // A burst of one principal's denials is summarised in one event once its window ends.
    const flushDenials = setInterval(() => void authority.authorizer.flushDenialSummaries().catch(
      (e) => log?.warn({ error: { message: String((e as Error)?.message).slice(0, 200) } }, 'recording the counts of suppressed denials failed; the next try is in 10 s'),
    ), 10_000).unref();
    // Retention, when set: the first run a few seconds in (in small batches, so never a long pause), then with the sweeps.
    let pruning: Promise<void> | null = null;
    const prune = () => {
      pruning ??= authority.retention.run().then(
        (deleted) => { if (deleted.auditEvents + deleted.credentials > 0) log?.info(deleted, 'audit events and ended credentials past their retention deleted'); },
        (e) => log?.warn({ error: { message: String((e as Error)?.message).slice(0, 200) } }, 'deleting rows past their retention failed; the next run (in 10 minutes) tries again'),
      ).finally(() => { pruning = null; });
    };
    const firstPrune = authority.retention.configured ? setTimeout(prune, RETENTION_FIRST_MS).unref() : undefined;
    const prunes = authority.retention.configured ? setInterval(prune, SWEEP_EVERY_MS).unref() : undefined;
    app.addHook('onClose', async () => {
      clearTimeout(firstSweep);
      clearInterval(sweeps);
      clearInterval(flushDenials);
      clearTimeout(firstPrune);
      clearInterval(prunes);
      authority.retention.stop();
      await pruning; // a batch under way finishes before the store closes
    });
    app.addHook('onClose', stopFeedAndStore);
    undo = () => app.close();
    await app.listen({ host: config.host, port: config.port });
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    const url = `${tls ? 'https' : 'http'}://${host}:${port}`;
    // One line that says what this process is, for whoever reads the logs after an upgrade or an incident.
    log?.info({
      version: VERSION, node: process.version, pid: process.pid, url, store: describeStore(config), masterKey: sealer.currentKeyId,
      tls: tls ? { certFile: tls.certFile, notAfter: tls.notAfter.toISOString(), selfSigned: tls.selfSigned } : null,
      startupMs: Math.round(performance.now()),
    }, 'kubecred serving');
    return { app, url, caFile: tls?.certFile ?? null, close: () => app.close() };
  } catch (e) {
    await undo().catch(() => undefined);
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') throw portInUse(config.host, config.port);
    throw e;
  }
}

const SWEEP_EVERY_MS = 10 * 60_000;
/** The first retention run after start: soon, so that an operator who set one sees it applied. */
const RETENTION_FIRST_MS = 5_000;

const portInUse = (host: string, port: number) =>
  new ConfigError(`port ${port} on ${host} is already in use\n  hint: stop what listens there, or choose another port with --port (env KUBECRED_PORT)`);

/**
 * Fails at once when the address is taken (or cannot be bound): a probe listener, closed again before the data directory
 * is touched. Another process can still take the port before the real listen, which then fails the same way. With
 * --port 0 the probe still checks the host (any free port will do for it).
 */
async function checkPortFree(host: string, port: number): Promise<void> {
  const probe = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen({ host, port, exclusive: true }, resolve);
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw portInUse(host, port);
    if (code === 'EADDRNOTAVAIL') throw new ConfigError(`cannot listen on ${host}: no network interface has that address\n  hint: give --host an address of this machine (0.0.0.0 for all of them)`);
    if (code === 'EACCES') throw new ConfigError(`not allowed to listen on port ${port} (ports below 1024 need privileges)\n  hint: choose another port with --port`);
    throw e;
  } finally {
    await new Promise((r) => probe.close(r));
  }
}
