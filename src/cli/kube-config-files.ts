// The files a cluster admin installs so kube-apiserver asks kubecred before serving a kubecred
// credential: AuthorizationConfiguration, webhook kubeconfig, client CA, flags and notes. Pure text.

import YAML from 'yaml';

export interface KubeConfigInput {
  clusterId: string;
  clusterName: string;
  /** Base URL of kubecred as kube-apiserver reaches it. */
  kubecredUrl: string;
  /** CA that signed kubecred's server certificate (PEM), or null when it has a publicly trusted one. */
  kubecredCaPem: string | null;
  webhookToken: string;
  clientCaPem: string;
  /** Where the files will live on the control-plane node. */
  installDir: string;
  unauthorizedTtl: string;
  failurePolicy: 'Deny' | 'NoOpinion';
  timeout: string;
  /** Token clusters also get the TokenReview webhook. */
  credentialType: 'x509' | 'token';
  tokenCacheTtl: string;
  /** The control plane's Kubernetes minor version (32 for 1.32): what it can be configured with. */
  kubeMinor: number;
}

/** What each Kubernetes version offers the webhook (KUBE-WIRE §0, §3). */
export const KUBE_MINOR = {
  /** Reviews carry the certificate's credential ID; AuthorizationConfiguration is v1. */
  credentialIds: 32,
  /** AuthorizationConfiguration v1beta1 (on by default): failurePolicy and matchConditions. */
  structuredConfig: 30,
  /** `--authorization-webhook-version` (v1 reviews) exists; older ones send v1beta1 only. */
  oldest: 19,
} as const;

export function kubeConfigFiles(i: KubeConfigInput): Record<string, { content: string; mode: number }> {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const webhookKubeconfig = (endpoint: 'authorize' | 'authenticate') => ({
    apiVersion: 'v1', kind: 'Config', preferences: {},
    clusters: [{ name: 'kubecred', cluster: { server: `${i.kubecredUrl.replace(/\/+$/, '')}/kube/clusters/${i.clusterId}/${endpoint}`, ...(i.kubecredCaPem ? { 'certificate-authority-data': b64(i.kubecredCaPem) } : {}) } }],
    users: [{ name: 'kube-apiserver', user: { token: i.webhookToken } }],
    contexts: [{ name: 'kubecred', context: { cluster: 'kubecred', user: 'kube-apiserver' } }],
    'current-context': 'kubecred',
  });
  const tokens = i.credentialType === 'token';
  const withIds = i.kubeMinor >= KUBE_MINOR.credentialIds;
  const structured = i.kubeMinor >= KUBE_MINOR.structuredConfig;
  const authz = {
    apiVersion: withIds ? 'apiserver.config.k8s.io/v1' : 'apiserver.config.k8s.io/v1beta1',
    kind: 'AuthorizationConfiguration',
    authorizers: [
      {
        type: 'Webhook',
        name: 'kubecred-revocation',
        webhook: {
          timeout: i.timeout,
          subjectAccessReviewVersion: 'v1',
          matchConditionSubjectAccessReviewVersion: 'v1',
          failurePolicy: i.failurePolicy,
          // kubecred never answers allowed:true, so this cache is never filled.
          authorizedTTL: '5m',
          // Bounds how long a revoked certificate keeps working: kube-apiserver caches "no opinion" this long.
          unauthorizedTTL: i.unauthorizedTtl,
          connectionInfo: { type: 'KubeConfigFile', kubeConfigFile: `${i.installDir}/authz-webhook.kubeconfig` },
          // Before 1.32 there is no credential ID: a kubecred user is known by its name, the principal's ID.
          matchConditions: withIds ? [
            { expression: "'authentication.kubernetes.io/credential-id' in request.extra" },
            { expression: "request.extra['authentication.kubernetes.io/credential-id'].exists(c, c.startsWith('X509SHA256='))" },
            { expression: "!request.user.startsWith('system:')" },
          ] : [
            { expression: "request.user.startsWith('usr_') || request.user.startsWith('rol_')" },
          ],
        },
      },
      { type: 'Node', name: 'node' },
      { type: 'RBAC', name: 'rbac' },
    ],
  };
  const authzFlags = structured ? [`--authorization-config=${i.installDir}/authorization-config.yaml`] : [
    // Before 1.30: the legacy flags, a Webhook authorizer with no failurePolicy (NoOpinion) and no matchConditions.
    '--authorization-mode=Node,Webhook,RBAC',
    `--authorization-webhook-config-file=${i.installDir}/authz-webhook.kubeconfig`,
    '--authorization-webhook-version=v1',
    '--authorization-webhook-cache-authorized-ttl=5m',
    `--authorization-webhook-cache-unauthorized-ttl=${i.unauthorizedTtl}`,
  ];
  const apiserverFlags = [
    ...authzFlags,
    ...(tokens ? [
      `--authentication-token-webhook-config-file=${i.installDir}/authn-webhook.kubeconfig`,
      '--authentication-token-webhook-version=v1',
      `--authentication-token-webhook-cache-ttl=${i.tokenCacheTtl}`,
    ] : []),
  ];
  const flags = [
    ...apiserverFlags,
    `--client-ca-file=<your existing bundle, with ${i.installDir}/client-ca.crt appended>`,
    structured
      ? '# remove --authorization-mode and --authorization-webhook-* : they cannot be combined with --authorization-config'
      : '# replace your --authorization-mode with the one above (Webhook before RBAC); do not add --authorization-config',
  ].join('\n') + '\n';
  // k3s and RKE2 take the same flags in their config files, without the leading dashes.
  const serverArgs = apiserverFlags.map((f) => `    - ${f.slice(2)}`).join('\n');
  const version = `1.${i.kubeMinor}`;
  const notes = `# kubecred enforcement for cluster ${i.clusterName} (${i.clusterId})

Copy these files to ${i.installDir} on every control-plane node (authz-webhook.kubeconfig holds a
token: keep it mode 0600), append client-ca.crt to the file kube-apiserver's --client-ca-file names,
and add the flags in kube-apiserver-flags.txt. Written for Kubernetes ${version}${withIds ? ` or newer (credential IDs in
SubjectAccessReviews, AuthorizationConfiguration v1)` : ''}.

${withIds ? `What it does: kube-apiserver asks kubecred about every request made with an X.509 client certificate
by a non-system user. kubecred denies certificates it revoked, superseded or that expired, and has no
opinion about everything else, so RBAC still decides.` : `What it does: before 1.32 a review carries no credential ID, so kube-apiserver asks kubecred about every
request by a kubecred user (${structured ? 'a name starting usr_ or rol_, the principal\'s ID' : `before 1.30 there are no match conditions: about every request, system users' and service
accounts' too, which kubecred leaves to RBAC`}). kubecred denies a kubecred user holding no active
credential on this cluster, but cannot tell one certificate of a user from another: revoking one of
several leaves the others, and that one, working. Revoke all of a user's kubeconfigs to cut them off.
Upgrading to 1.32+, write these files again without --kube-version.`}
A revoked credential keeps working for at most unauthorizedTTL (${i.unauthorizedTtl}) per distinct request, plus
requests already running (watch, exec).
${tokens ? `This cluster uses token kubeconfigs: kube-apiserver asks kubecred's TokenReview webhook
(authn-webhook.kubeconfig) who a token belongs to, and caches the answer for ${i.tokenCacheTtl}, then keeps a
success 10 s more in a cache of its own: a revoked token (or one past its expiry) stops working within
${i.tokenCacheTtl} + 10 s. kubecred answers without audiences, so kube-apiserver takes its own: a token is good
for kube-apiserver only, not for another service checking tokens through the TokenReview API.
` : ''}
${structured ? `failurePolicy ${i.failurePolicy}: ${i.failurePolicy === 'Deny'
  ? 'if kubecred is unreachable, requests by kubecred users fail with HTTP 500 (fail closed); system users, service accounts and system:masters are unaffected, but every other X.509 user outside system: is refused too, kubeadm 1.29+\'s admin.conf (kubernetes-admin, group kubeadm:cluster-admins) among them: keep /etc/kubernetes/super-admin.conf (system:masters) for repairs.'
  : 'if kubecred is unreachable, RBAC alone decides (fail open): revoked certificates work again until it is back.'}` : `Before 1.30 the webhook has no failurePolicy: kube-apiserver treats an unreachable kubecred as no
opinion, so RBAC alone decides (fail open) and revoked certificates work again until it is back; and
it waits up to 30 s for kubecred (no timeout setting).`}

## kubeadm
Put the files under ${i.installDir}, then edit /etc/kubernetes/manifests/kube-apiserver.yaml:
add the flags, and mount ${i.installDir} (hostPath, readOnly) into the kube-apiserver pod.
The kubelet restarts the static pod when the manifest changes.

## k3s
In /etc/rancher/k3s/config.yaml:
  kube-apiserver-arg:
${serverArgs}
${structured ? `k3s releases before the spring 2025 fix (k3s-io/k3s#12017) pass --authorization-mode themselves, and
kube-apiserver then refuses to start with --authorization-config: upgrade k3s first.
` : ''}k3s manages its own client CA; append client-ca.crt to /var/lib/rancher/k3s/server/tls/client-ca.crt
(or import k3s's client CA into kubecred instead), then restart k3s.

## RKE2
In /etc/rancher/rke2/config.yaml:
  kube-apiserver-arg:
${serverArgs}
  kube-apiserver-extra-mount:
    - ${i.installDir}:${i.installDir}:ro
Append client-ca.crt to /var/lib/rancher/rke2/server/tls/client-ca.crt and restart rke2-server.
`;
  return {
    ...(structured ? { 'authorization-config.yaml': { content: YAML.stringify(authz), mode: 0o644 } } : {}),
    'authz-webhook.kubeconfig': { content: YAML.stringify(webhookKubeconfig('authorize')), mode: 0o600 },
    ...(tokens ? { 'authn-webhook.kubeconfig': { content: YAML.stringify(webhookKubeconfig('authenticate')), mode: 0o600 } } : {}),
    'client-ca.crt': { content: i.clientCaPem, mode: 0o644 },
    'kube-apiserver-flags.txt': { content: flags, mode: 0o644 },
    'README.md': { content: notes, mode: 0o644 },
  };
}
