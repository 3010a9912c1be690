// The server's configuration: one schema, read from flags and environment once at start,
// validated and frozen. The only module that reads process.env for the server.

import path from 'node:path';
import os from 'node:os';
import net from 'node:net';

export interface ServerConfig {
  dataDir: string;
  /** The embedded SQLite file, used when no databaseUrl is given. */
  databaseFile: string;
  /** postgres://… : several replicas share this database. */
  databaseUrl: string | null;
  host: string;
  port: number;
  tls: { mode: 'self-signed' } | { mode: 'files'; certFile: string; keyFile: string } | { mode: 'off' };
  /** Base64 master key from the environment; when absent the data directory's master.key is used. */
  masterKeyBase64: string | null;
  /** Base64 keys a rotation replaces (KUBECRED_PREVIOUS_MASTER_KEYS): they open what they sealed, never seal. */
  previousMasterKeysBase64: readonly string[];
  bodyLimitBytes: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /**
   * Which proxies in front to believe about the client (X-Forwarded-For/-Proto/-Host): a number of hops (0: none, use
   * the socket address; 1: the one proxy that connects to us), or the proxies' own addresses and CIDRs. Never "all":
   * the leftmost X-Forwarded-For entry is whatever the client sent.
   */
  trustProxy: number | readonly string[];
  /**
   * While neither the pool nor the change feed reaches the database, how long /readyz still says ready (the
   * webhooks decide from the in-memory index) before it says not ready (docs/ha.md).
   */
  outageGraceMs: number;
  /** Who may read /metrics: 'any', or these addresses and CIDRs ('loopback' names 127.0.0.0/8 and ::1). */
  metricsFrom: 'any' | readonly string[];
  /** How long an unused web console session lasts. */
  consoleIdleMs: number;
  /** Connections held at once in all (null: the open-file limit less a reserve, found at start) and from one address (0: no cap). */
  maxConnections: number | null;
  maxConnectionsPerAddress: number;
  /** Days audit events are kept, and days credentials are kept after they end; null: forever (the default). */
  retention: { auditDays: number | null; credentialDays: number | null };
  /** What serve logs as warnings at start: a configuration that runs, but likely not as the operator meant. */
  warnings: readonly string[];
}

export interface ServeFlags {
  dataDir?: string;
  database?: string;
  host?: string;
  port?: string | number;
  tlsCert?: string;
  tlsKey?: string;
  tls?: boolean; // commander's --no-tls sets false
  insecureHttp?: boolean;
  logLevel?: string;
  /** commander: true for a bare --trust-proxy, a string for --trust-proxy <hops|addresses>. */
  trustProxy?: boolean | string;
  outageGrace?: string;
  metricsFrom?: string;
  consoleIdleMinutes?: string;
  maxConnections?: string;
  maxConnectionsPerAddress?: string;
  auditRetentionDays?: string;
  credentialRetentionDays?: string;
}

export class ConfigError extends Error {}

export const DEFAULT_PORT = 7443;
export const DEFAULT_BODY_LIMIT = 1024 * 1024;
/** Far more than kube-apiserver opens (one per webhook call in flight, 25 kept idle), far less than a flood. */
export const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 512;

/** A whole number from min to max, or a ConfigError naming the flag, the unit, the range and `note` (why, or what else to do). */
function wholeNumber(text: string, flag: string, min: number, max: number, unit: string, note?: string): number {
  const t = String(text).trim();
  const n = /^\d{1,7}$/.test(t) ? Number(t) : NaN;
  if (!(n >= min && n <= max)) throw new ConfigError(`${flag} must be a whole number of ${unit} from ${min} to ${max}${note ? ` (${note})` : ''}, got ${t}`);
  return n;
}

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.KUBECRED_DATA_DIR || path.join(os.homedir(), '.kubecred');
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (net.isIPv4(host)) return host.startsWith('127.');
  return host === '::1';
}

const TRUST_PROXY_HINT = '--trust-proxy takes a number of proxy hops (e.g. 1, the default when given alone) or the proxies\' addresses and CIDRs separated by commas (e.g. 10.0.0.0/8,192.168.1.5)';

const METRICS_FROM_HINT = '--metrics-from takes "any", or addresses and CIDRs separated by commas, "loopback" among them if wanted (e.g. loopback,10.0.0.0/8)';

/** --metrics-from / KUBECRED_METRICS_FROM: who may read /metrics; loopback only unless said. */
export function parseMetricsFrom(value: string | undefined): 'any' | readonly string[] {
  const v = (value ?? 'loopback').trim();
  if (v === 'any') return 'any';
  const list = v.split(/[\s,]+/).filter(Boolean);
  if (list.length === 0) throw new ConfigError(`${METRICS_FROM_HINT}; got nothing`);
  for (const entry of list) {
    if (entry === 'loopback') continue;
    const [addr, prefix, ...rest] = entry.split('/');
    const family = net.isIP(addr!);
    const okPrefix = prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
    if (family === 0 || !okPrefix || rest.length > 0) throw new ConfigError(`${METRICS_FROM_HINT}; "${entry}" is neither`);
  }
  return Object.freeze(list);
}

/** --trust-proxy / KUBECRED_TRUST_PROXY: hops (a bare flag is 1 hop) or a list of addresses and CIDRs; never "trust all". */
export function parseTrustProxy(value: boolean | string | undefined): number | readonly string[] {
  if (value === undefined || value === false) return 0;
  if (value === true) return 1;
  const v = value.trim();
  if (v === '' || v === 'false') return 0;
  if (v === 'true') return 1;
  if (/^\d+$/.test(v)) {
    const hops = Number(v);
    if (hops > 100) throw new ConfigError(`${TRUST_PROXY_HINT}; got ${v} hops`);
    return hops;
  }
  const list = v.split(/[\s,]+/).filter(Boolean);
  for (const entry of list) {
    if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) continue; // proxy-addr's named ranges
    const [addr, prefix, ...rest] = entry.split('/');
    const family = net.isIP(addr);
    const maxPrefix = family === 4 ? 32 : 128;
    const okPrefix = prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= maxPrefix);
    if (family === 0 || !okPrefix || rest.length > 0) throw new ConfigError(`${TRUST_PROXY_HINT}; "${entry}" is neither`);
  }
  return Object.freeze(list);
}

/** A retention in whole days (1 to 100 years), or null when not given: kept forever. */
const retentionDays = (value: string | undefined, flag: string, what: string): number | null =>
  value === undefined ? null : wholeNumber(value, flag, 1, 36_500, 'days', `${what}; leave it out to keep them forever`);

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Where the data lives, for commands that touch only the database (migrate, backup): no master key needed. */
export function loadStorageLocation(flags: Pick<ServeFlags, 'dataDir' | 'database'>, env: NodeJS.ProcessEnv = process.env) {
  const dataDir = path.resolve(flags.dataDir ?? defaultDataDir(env));
  const databaseUrl = flags.database ?? env.KUBECRED_DATABASE_URL ?? null;
  if (databaseUrl !== null && !DATABASE_URL.test(databaseUrl)) throw new ConfigError(DATABASE_URL_HINT);
  return { dataDir, databaseFile: path.join(dataDir, 'kubecred.db'), databaseUrl };
}

/** Whether a database URL holds a password (postgres://user:PASSWORD@… or ?password=…). */
export function databaseUrlHasPassword(url: string): boolean {
  try {
    const u = new URL(url);
    return u.password !== '' || u.searchParams.has('password');
  } catch {
    return false;
  }
}

const DATABASE_URL = /^postgres(ql)?:\/\//;
const DATABASE_URL_HINT = '--database must be a postgres:// URL (leave it out to use the embedded SQLite database in the data directory)';

/** The listening side of the configuration: only `serve` reads it; the data-directory commands never see it. */
const SERVE_ONLY_ENV = ['KUBECRED_HOST', 'KUBECRED_PORT', 'KUBECRED_LOG_LEVEL', 'KUBECRED_TRUST_PROXY', 'KUBECRED_OUTAGE_GRACE_SECONDS', 'KUBECRED_CONSOLE_IDLE_MINUTES',
  'KUBECRED_AUDIT_RETENTION_DAYS', 'KUBECRED_CREDENTIAL_RETENTION_DAYS'] as const;

/**
 * For commands that work on the data directory and database without serving (init, account, master-key): the data
 * directory, database and master keys only. A service environment's KUBECRED_HOST or KUBECRED_PORT, which these
 * commands never use, cannot break them (e.g. `account root-token`, the way back in); the listening fields keep their
 * defaults and mean nothing here.
 */
export function loadDataDirConfig(flags: Pick<ServeFlags, 'dataDir' | 'database'>, env: NodeJS.ProcessEnv = process.env): Readonly<ServerConfig> {
  const dataEnv: NodeJS.ProcessEnv = { ...env };
  for (const k of SERVE_ONLY_ENV) delete dataEnv[k];
  return loadServerConfig({ dataDir: flags.dataDir, database: flags.database }, dataEnv);
}

export function loadServerConfig(flags: ServeFlags, env: NodeJS.ProcessEnv = process.env): Readonly<ServerConfig> {
  const dataDir = path.resolve(flags.dataDir ?? defaultDataDir(env));
  // A variable set but empty (a templated unit file or Helm value left blank) means "not set", never port 0 (any free
  // port) or host '' (every address).
  const fromEnv = (name: string) => (env[name]?.trim() ? env[name]!.trim() : undefined);
  const host = flags.host ?? fromEnv('KUBECRED_HOST') ?? '127.0.0.1';
  if (host.trim() === '') throw new ConfigError('--host must not be empty (leave it out for 127.0.0.1)');
  const portText = String(flags.port ?? fromEnv('KUBECRED_PORT') ?? DEFAULT_PORT).trim();
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`--port must be 0-65535, got ${JSON.stringify(flags.port ?? env.KUBECRED_PORT)}`);
  const logLevel = (flags.logLevel ?? fromEnv('KUBECRED_LOG_LEVEL') ?? 'info') as ServerConfig['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);

  let tls: ServerConfig['tls'];
  if (flags.tlsCert || flags.tlsKey) {
    if (!flags.tlsCert || !flags.tlsKey) throw new ConfigError('give both --tls-cert and --tls-key');
    tls = { mode: 'files', certFile: path.resolve(flags.tlsCert), keyFile: path.resolve(flags.tlsKey) };
  } else if (flags.tls === false || flags.insecureHttp) {
    tls = { mode: 'off' };
  } else {
    tls = { mode: 'self-signed' };
  }
  if (tls.mode === 'off' && !isLoopback(host) && !flags.insecureHttp) {
    throw new ConfigError(`refusing to serve plain HTTP on ${host}: kubeconfigs and tokens would cross the network in clear. Use TLS (the default), or pass --insecure-http if a TLS proxy sits in front`);
  }

  const graceText = flags.outageGrace ?? env.KUBECRED_OUTAGE_GRACE_SECONDS ?? '300';
  const outageGrace = Number(graceText);
  if (!/^\d+$/.test(String(graceText)) || !Number.isSafeInteger(outageGrace)) throw new ConfigError(`--outage-grace must be a whole number of seconds (0 or more), got ${graceText}`);

  const idleText = String(flags.consoleIdleMinutes ?? fromEnv('KUBECRED_CONSOLE_IDLE_MINUTES') ?? '30').trim();
  const idleMinutes = wholeNumber(idleText, '--console-idle-minutes', 1, 720, 'minutes', 'a session lasts 12 hours at most');

  const retention = {
    auditDays: retentionDays(flags.auditRetentionDays ?? fromEnv('KUBECRED_AUDIT_RETENTION_DAYS'), '--audit-retention-days', 'audit events older than this many days are deleted'),
    credentialDays: retentionDays(flags.credentialRetentionDays ?? fromEnv('KUBECRED_CREDENTIAL_RETENTION_DAYS'), '--credential-retention-days', 'credentials that ended longer ago than this many days are deleted from the inventory'),
  };

  const { databaseUrl } = loadStorageLocation(flags, env);
  const masterKeyBase64 = env.KUBECRED_MASTER_KEY ?? null;
  if (databaseUrl !== null && masterKeyBase64 === null) {
    throw new ConfigError('with --database, set KUBECRED_MASTER_KEY (32 bytes, base64) to the same value on every replica: each one must unseal the keys the others stored');
  }
  if (masterKeyBase64 !== null && Buffer.from(masterKeyBase64, 'base64').length !== 32) {
    throw new ConfigError('KUBECRED_MASTER_KEY must be 32 bytes, base64-encoded (e.g. `openssl rand -base64 32`)');
  }
  const previousMasterKeysBase64 = (env.KUBECRED_PREVIOUS_MASTER_KEYS ?? '').split(/[\s,]+/).filter(Boolean);
  if (previousMasterKeysBase64.length > 0 && masterKeyBase64 === null) {
    throw new ConfigError('KUBECRED_PREVIOUS_MASTER_KEYS is set but KUBECRED_MASTER_KEY is not: during a rotation set the new key in KUBECRED_MASTER_KEY and the old one in KUBECRED_PREVIOUS_MASTER_KEYS (a data directory\'s master.key is rotated with `kubecred master-key rotate`)');
  }
  previousMasterKeysBase64.forEach((k, i) => {
    if (Buffer.from(k, 'base64').length !== 32) throw new ConfigError(`KUBECRED_PREVIOUS_MASTER_KEYS: key ${i + 1} is not 32 bytes, base64-encoded (keys are separated by commas or spaces)`);
  });

  const trustProxy = parseTrustProxy(flags.trustProxy ?? fromEnv('KUBECRED_TRUST_PROXY'));
  const maxText = flags.maxConnections ?? fromEnv('KUBECRED_MAX_CONNECTIONS');
  const maxConnections = maxText === undefined ? null : wholeNumber(maxText, '--max-connections', 1, 1_000_000, 'connections');
  const perAddressText = flags.maxConnectionsPerAddress ?? fromEnv('KUBECRED_MAX_CONNECTIONS_PER_ADDRESS');
  // Behind a proxy every client's connections come from the proxy's address: no per-address cap unless asked for.
  const maxConnectionsPerAddress = perAddressText === undefined
    ? (trustProxy === 0 ? DEFAULT_MAX_CONNECTIONS_PER_ADDRESS : 0)
    : wholeNumber(perAddressText, '--max-connections-per-address', 0, 1_000_000, 'connections', '0: no cap');
  const warnings: string[] = [];
  // --insecure-http says a TLS proxy is in front; without --trust-proxy the server cannot tell the browser uses HTTPS.
  if (flags.insecureHttp && trustProxy === 0) {
    warnings.push('--insecure-http without --trust-proxy: the web console\'s session cookie is set without Secure (browsers would send it over plain HTTP too) and the audit trail records the proxy\'s address as every client\'s. Behind a TLS proxy, add --trust-proxy (or KUBECRED_TRUST_PROXY) so the server believes its X-Forwarded-Proto and X-Forwarded-For');
  }

  return Object.freeze({
    dataDir,
    databaseFile: path.join(dataDir, 'kubecred.db'),
    databaseUrl,
    host,
    port,
    tls: Object.freeze(tls),
    masterKeyBase64,
    previousMasterKeysBase64: Object.freeze(previousMasterKeysBase64),
    bodyLimitBytes: DEFAULT_BODY_LIMIT,
    logLevel,
    trustProxy,
    outageGraceMs: outageGrace * 1000,
    metricsFrom: parseMetricsFrom(flags.metricsFrom ?? fromEnv('KUBECRED_METRICS_FROM')),
    consoleIdleMs: idleMinutes * 60_000,
    maxConnections,
    maxConnectionsPerAddress,
    retention: Object.freeze(retention),
    warnings: Object.freeze(warnings),
  });
}
