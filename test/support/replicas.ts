// Several `kubecred serve` replicas on one PostgreSQL database, as in deploy/: the same master key,
// each its own data directory (TLS files only). Shared by the replica and outage tests.

import crypto from 'node:crypto';
import { rawRequest, type RawResponse } from './http.ts';
import { startServerProcess, type ServerProcess } from './server-process.ts';

export const masterKey = () => crypto.randomBytes(32).toString('base64');

export function startReplica(databaseUrl: string, key: string, previous?: ServerProcess): Promise<ServerProcess> {
  return startServerProcess({ args: ['--database', databaseUrl, '--log-level', 'warn'], env: { KUBECRED_MASTER_KEY: key }, previous });
}

/** Fills in the first-start secrets a replica did not print because another one bootstrapped. */
export function sharing(srv: ServerProcess, from: ServerProcess): ServerProcess {
  return { ...srv, rootToken: from.rootToken, accessKeyId: from.accessKeyId, accessKeySecret: from.accessKeySecret, accountId: from.accountId, rootPrincipalId: from.rootPrincipalId };
}

export const api = (srv: ServerProcess, method: string, path: string, body?: unknown): Promise<RawResponse> =>
  rawRequest(srv, method, path, { token: srv.rootToken, body: body === undefined ? undefined : JSON.stringify(body) });

/** Asks a replica's SubjectAccessReview webhook about a certificate, as kube-apiserver 1.32+ would. */
export async function webhookVerdict(srv: ServerProcess, clusterId: string, webhookToken: string, fingerprint: string, user: string): Promise<{ allowed: boolean; denied: boolean; reason?: string }> {
  const r = await rawRequest(srv, 'POST', `/kube/clusters/${clusterId}/authorize`, {
    token: webhookToken,
    body: JSON.stringify({
      apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
      spec: { user, groups: ['system:authenticated'], extra: { 'authentication.kubernetes.io/credential-id': [`X509SHA256=${fingerprint}`] }, resourceAttributes: { verb: 'get', resource: 'pods', namespace: 'default', version: 'v1' } },
    }),
  });
  if (r.status !== 200) throw new Error(`webhook answered ${r.status}: ${r.body}`);
  return { allowed: r.json.status.allowed, denied: r.json.status.denied === true, reason: r.json.status.reason };
}
