// The native API's shapes as the console reads them (see /openapi.json); only what the pages use.

export interface Principal { id: string; kind: 'user' | 'role'; name: string; groups: string[]; isRoot: boolean; createdAt: string }

export interface Session { accountId: string; principal: Principal; expiresAt: string; csrfToken: string }

export interface Cluster {
  id: string; name: string; kind: 'kubernetes' | 'service-mesh'; region: string;
  publicEndpoint: string | null; privateEndpoint: string | null; serverCaPem: string | null; clientCaPem: string;
  clientCaAlgorithm: string; clientCaSource: string; allowSystemGroups: boolean; credentialType: 'x509' | 'token'; createdAt: string;
}

export type CredentialStatus = 'active' | 'revoked' | 'superseded' | 'expired';

export interface Credential {
  id: string; type: 'x509' | 'token'; clusterId: string; principalId: string; kind: 'default' | 'temporary' | 'csr';
  serial: string; commonName: string; groups: string[]; notBefore: string; notAfter: string; status: CredentialStatus;
  current: boolean; issuedAt: string; issuedBy: string; revokedAt: string | null; revokedBy: string | null; revokeReason: string | null;
}

export interface IssuedKubeconfig { kubeconfig: string; certificatePem: string; expiration: string; reused: boolean; credential: Credential }

export interface Policy { id: string; name: string; description: string; document: unknown; createdAt: string }

export interface AuditEvent {
  seq: number; id: string; at: string; actorId: string | null; action: string; resourceType: string; resourceId: string | null;
  outcome: 'success' | 'denied' | 'failure'; sourceIp: string | null; requestId: string | null; detail: Record<string, unknown>;
}

export interface Page<T> { items: T[]; next: string | null }
