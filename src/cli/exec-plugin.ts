// `kubecred credential exec`: a client.authentication.k8s.io/v1 exec credential plugin. It hands kubectl
// short-lived certificates (or, on a token cluster, bearer tokens), cached on disk (0600) until shortly
// before expiry, and stops once revoked.

import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import type { NativeClient } from '../client/native-client.ts';
import { enc } from '../client/native-client.ts';
import { DeniedError } from './exit-codes.ts';
import { kubectlYaml } from '../pki/kubeconfig.ts';
import { replacePrivateFile } from './private-files.ts';

/** Refresh this long before the certificate expires, so a request never leaves with a dying one. */
export const REFRESH_BEFORE_MS = 60_000;
export const EXEC_API_VERSION = 'client.authentication.k8s.io/v1';

/**
 * A certificate and its key, or (on a cluster that issues token kubeconfigs) a bearer token. `expiresAt`: its end by
 * this machine's clock (fetched at + its remaining lifetime by the server's), which may not agree with the server's.
 */
interface Cached { credentialId: string; certPem?: string; keyPem?: string; token?: string; notAfter: string; expiresAt?: string }

/**
 * One cache file per server, cluster, principal asked for and caller (a digest of its token): another kubecred user
 * on the same account and HOME, or after `kubecred login` as someone else, must never get this one's certificate.
 */
export function cacheFile(cacheDir: string, server: string, cluster: string, principal: string | undefined, caller: string): string {
  const key = crypto.createHash('sha256').update(`${server}\n${cluster}\n${principal ?? ''}\n${caller}`).digest('hex').slice(0, 32);
  return path.join(cacheDir, `${key}.json`);
}

export function defaultCacheDir(): string {
  return path.join(os.homedir(), '.cache', 'kubecred', 'exec');
}

function readCache(file: string): Cached | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Cached;
  } catch {
    return null;
  }
}

function writeCache(file: string, c: Cached): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  replacePrivateFile(file, JSON.stringify(c));
}

export function execCredential(c: Cached): string {
  return JSON.stringify({
    apiVersion: EXEC_API_VERSION, kind: 'ExecCredential', spec: {},
    // By this machine's clock, which client-go compares it with.
    status: { ...(c.token !== undefined ? { token: c.token } : { clientCertificateData: c.certPem, clientKeyData: c.keyPem }), expirationTimestamp: c.expiresAt ?? c.notAfter },
  });
}

export class RevokedError extends DeniedError {}

/** Returns the ExecCredential JSON for kubectl: the cached certificate (or token), or a fresh temporary one. */
export async function runExecPlugin(client: NativeClient, opts: { server: string; cluster: string; principal?: string; minutes: number; cacheDir: string; now?: Date }): Promise<string> {
  const file = cacheFile(opts.cacheDir, opts.server, opts.cluster, opts.principal, client.identity());
  const now = (opts.now ?? new Date()).getTime();
  const cached = readCache(file);
  if (cached && Date.parse(cached.expiresAt ?? cached.notAfter) - REFRESH_BEFORE_MS > now) return execCredential(cached);
  if (cached) {
    // Refreshing: a revoked predecessor means someone meant to cut this access; don't quietly mint a new one.
    const prev = await client.get<{ status: string; revokeReason: string | null }>(`/v1/credentials/${enc(cached.credentialId)}`).catch(() => null);
    if (prev?.status === 'revoked') {
      throw new RevokedError(`your kubecred credential for cluster ${opts.cluster} was revoked (${prev.revokeReason ?? 'no reason given'}); if you should still have access, run \`kubecred kubeconfig get --exec --cluster ${opts.cluster}\` again`);
    }
  }
  const res = await client.post<{ kubeconfig: string; credential: { id: string; notAfter: string; issuedAt: string } }>(`/v1/clusters/${enc(opts.cluster)}/kubeconfig`, { temporaryMinutes: opts.minutes, principalId: opts.principal });
  const user = YAML.parse(res.kubeconfig).users[0].user;
  // The lifetime by the server's clock, counted from now by this one's: a local clock minutes off neither keeps
  // handing out a certificate already expired nor mints a new one on every run.
  const expiresAt = new Date(now + Date.parse(res.credential.notAfter) - Date.parse(res.credential.issuedAt)).toISOString();
  const fresh: Cached = typeof user.token === 'string'
    ? { credentialId: res.credential.id, token: user.token, notAfter: res.credential.notAfter, expiresAt }
    : {
      credentialId: res.credential.id,
      certPem: Buffer.from(user['client-certificate-data'], 'base64').toString(),
      keyPem: Buffer.from(user['client-key-data'], 'base64').toString(),
      notAfter: res.credential.notAfter, expiresAt,
    };
  writeCache(file, fresh);
  return execCredential(fresh);
}

/** A kubeconfig whose user runs this plugin; the token comes from the environment or `kubecred login`, never the file. */
export function execKubeconfig(i: { clusterName: string; server: string; caPem: string | null; command: string; args: string[] }): string {
  const user = `${i.clusterName}-kubecred-exec`;
  return kubectlYaml({
    apiVersion: 'v1', kind: 'Config', preferences: {},
    clusters: [{ name: i.clusterName, cluster: { server: i.server, ...(i.caPem ? { 'certificate-authority-data': Buffer.from(i.caPem).toString('base64') } : {}) } }],
    users: [{ name: user, user: { exec: { apiVersion: EXEC_API_VERSION, command: i.command, args: i.args, interactiveMode: 'Never', provideClusterInfo: false, installHint: 'kubecred is needed for this kubeconfig: npm install -g kubecred (or use npx kubecred)' } } }],
    contexts: [{ name: user, context: { cluster: i.clusterName, user } }],
    'current-context': user,
  });
}
