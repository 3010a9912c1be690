// Renders a single-cluster, single-user kubeconfig that kubectl reads as-is.
// Must never include client-key-data unless kubecred generated the key (a CSR's key stays with the client).

import { stringify } from 'yaml';
import { KubecredError } from '../core/errors.ts';

export interface KubeconfigInput {
  clusterName: string;
  server: string;
  certificateAuthorityPem?: string;
  userName: string;
  contextName: string;
  clientCertificatePem?: string;
  clientKeyPem?: string;
  /** A bearer token instead of a client certificate. */
  token?: string;
}

const b64 = (pem: string) => Buffer.from(pem, 'utf8').toString('base64');

export function renderKubeconfig(i: KubeconfigInput): string {
  for (const field of ['clusterName', 'server', 'userName', 'contextName', i.token === undefined ? 'clientCertificatePem' : 'token'] as const) {
    if (typeof i[field] !== 'string' || i[field].length === 0) {
      throw new KubecredError('VALIDATION_FAILED', `${field} is required for a kubeconfig`, { details: { field } });
    }
  }
  const cluster: Record<string, string> = { server: i.server };
  if (i.certificateAuthorityPem !== undefined) cluster['certificate-authority-data'] = b64(i.certificateAuthorityPem);
  const user: Record<string, string> = i.token !== undefined ? { token: i.token } : { 'client-certificate-data': b64(i.clientCertificatePem!) };
  if (i.token === undefined && i.clientKeyPem !== undefined) user['client-key-data'] = b64(i.clientKeyPem);
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: [{ name: i.clusterName, cluster }],
    users: [{ name: i.userName, user }],
    contexts: [{ name: i.contextName, context: { cluster: i.clusterName, user: i.userName } }],
    'current-context': i.contextName,
  };
  // kubectl reads YAML 1.1, where a plain `yes`, `on` or `0x1` is not a string: quote every value.
  // lineWidth 0: never fold the long base64 scalars.
  return stringify(doc, { lineWidth: 0, defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN' });
}
