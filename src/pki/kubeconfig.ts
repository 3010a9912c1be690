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

// Printable ASCII without `"` or `\`: YAML's double-quoted style writes these verbatim between quotes.
const VERBATIM = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/**
 * The same text as the generic yaml stringify below for the usual case (every value printable ASCII with
 * nothing to escape), written directly: the yaml library costs ~250 µs per kubeconfig, this ~2 µs.
 * Returns null when any value needs escaping; kubeconfig.test.ts compares the two on many inputs.
 */
function renderDirect(i: KubeconfigInput, cluster: Record<string, string>, user: Record<string, string>): string | null {
  const values = [i.clusterName, i.userName, i.contextName, ...Object.values(cluster), ...Object.values(user)];
  for (const v of values) if (!VERBATIM.test(v)) return null;
  const q = (v: string) => `"${v}"`;
  const map = (m: Record<string, string>, indent: string) => Object.entries(m).map(([k, v]) => `${indent}${k}: ${q(v)}\n`).join('');
  return 'apiVersion: "v1"\nkind: "Config"\npreferences: {}\n'
    + `clusters:\n  - name: ${q(i.clusterName)}\n    cluster:\n${map(cluster, '      ')}`
    + `users:\n  - name: ${q(i.userName)}\n    user:\n${map(user, '      ')}`
    + `contexts:\n  - name: ${q(i.contextName)}\n    context:\n      cluster: ${q(i.clusterName)}\n      user: ${q(i.userName)}\n`
    + `current-context: ${q(i.contextName)}\n`;
}

export function renderKubeconfig(i: KubeconfigInput): string {
  return render(i, true);
}

/** The yaml library only: the reference the direct writer is tested against. */
export function renderKubeconfigGeneric(i: KubeconfigInput): string {
  return render(i, false);
}

function render(i: KubeconfigInput, direct: boolean): string {
  for (const field of ['clusterName', 'server', 'userName', 'contextName', i.token === undefined ? 'clientCertificatePem' : 'token'] as const) {
    if (typeof i[field] !== 'string' || i[field].length === 0) {
      throw new KubecredError('VALIDATION_FAILED', `${field} is required for a kubeconfig`, { details: { field } });
    }
  }
  const cluster: Record<string, string> = { server: i.server };
  if (i.certificateAuthorityPem !== undefined) cluster['certificate-authority-data'] = b64(i.certificateAuthorityPem);
  const user: Record<string, string> = i.token !== undefined ? { token: i.token } : { 'client-certificate-data': b64(i.clientCertificatePem!) };
  if (i.token === undefined && i.clientKeyPem !== undefined) user['client-key-data'] = b64(i.clientKeyPem);
  if (direct) {
    const text = renderDirect(i, cluster, user);
    if (text !== null) return text;
  }
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: [{ name: i.clusterName, cluster }],
    users: [{ name: i.userName, user }],
    contexts: [{ name: i.contextName, context: { cluster: i.clusterName, user: i.userName } }],
    'current-context': i.contextName,
  };
  return kubectlYaml(doc);
}

/**
 * YAML for kubectl, which reads YAML 1.1, where a plain `yes`, `on`, `1_000` or `0x1` is not a string: every value
 * quoted. lineWidth 0: the long base64 scalars never folded.
 */
export function kubectlYaml(doc: unknown): string {
  return stringify(doc, { lineWidth: 0, defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN' });
}
