// Maps an issued kubeconfig onto CCE's clustercert answer: a JSON kubeconfig with `internal` (private
// endpoint) and `external` (public endpoint) clusters and contexts. Must never skip TLS verification.

import { parse } from 'yaml';
import type { IssuedKubeconfig } from '../../core/credential-service.ts';
import type { Cluster } from '../../core/model.ts';

const b64 = (pem: string) => Buffer.from(pem, 'utf8').toString('base64');

export interface CceKubeconfig {
  kind: 'Config';
  apiVersion: 'v1';
  preferences: Record<string, never>;
  clusters: { name: string; cluster: { server: string; 'certificate-authority-data'?: string } }[];
  users: { name: string; user: { 'client-certificate-data': string; 'client-key-data'?: string } | { token: string } }[];
  contexts: { name: string; context: { cluster: string; user: string } }[];
  'current-context': string;
}

export function cceKubeconfig(cluster: Cluster, issued: IssuedKubeconfig): CceKubeconfig {
  // The key (or, on a token cluster, the bearer token) is only in core's rendered kubeconfig; it is read from
  // there, never stored here.
  const rendered = parse(issued.kubeconfig) as { users?: { user?: { 'client-key-data'?: string; token?: string } }[] };
  const keyData = rendered.users?.[0]?.user?.['client-key-data'];
  const token = rendered.users?.[0]?.user?.token;
  // CCE marks its external cluster insecure-skip-tls-verify because the EIP is not in the server
  // certificate; kubecred has the cluster's CA bundle, so both entries verify the server instead.
  const ca = cluster.serverCaPem ? { 'certificate-authority-data': b64(cluster.serverCaPem) } : {};
  const clusters: CceKubeconfig['clusters'] = [];
  const contexts: CceKubeconfig['contexts'] = [];
  if (cluster.privateEndpoint) {
    clusters.push({ name: 'internalCluster', cluster: { server: cluster.privateEndpoint, ...ca } });
    contexts.push({ name: 'internal', context: { cluster: 'internalCluster', user: 'user' } });
  }
  if (cluster.publicEndpoint) {
    clusters.push({ name: 'externalCluster', cluster: { server: cluster.publicEndpoint, ...ca } });
    contexts.push({ name: 'external', context: { cluster: 'externalCluster', user: 'user' } });
  }
  return {
    kind: 'Config',
    apiVersion: 'v1',
    preferences: {},
    clusters,
    users: [{ name: 'user', user: token !== undefined ? { token } : { 'client-certificate-data': b64(issued.certificatePem), ...(keyData ? { 'client-key-data': keyData } : {}) } }],
    contexts,
    // As CCE: the public endpoint when there is one.
    'current-context': cluster.publicEndpoint ? 'external' : 'internal',
  };
}
