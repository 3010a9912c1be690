// The native API's shapes as the console reads them (see /openapi.json); only what the pages use.

import type { CredentialKind } from '../../src/core/model.ts';

/** `deletedAt`: a deleted principal is shown by its ID, with what it held, for the record. */
export interface Principal { id: string; kind: 'user' | 'role'; name: string; groups: string[]; isRoot: boolean; createdAt: string; deletedAt: string | null }

/** GET /v1/principals/{id}: with whether the caller's policies allow deleting it now. */
export interface PrincipalShown extends Principal { mayDelete: boolean }

/** DELETE /v1/principals/{id}: what the deletion ended. */
export interface PrincipalDeleted { revoked: number; tokensRevoked: number; accessKeysRevoked: number }

/** `tokenId`: the API token the session was opened with; revoking it ends the session. */
export interface Session { accountId: string; principal: Principal; tokenId: string; expiresAt: string; idleExpiresAt: string; csrfToken: string }

export interface Cluster {
  id: string; name: string; kind: 'kubernetes' | 'service-mesh'; region: string;
  publicEndpoint: string | null; privateEndpoint: string | null; serverCaPem: string | null; clientCaPem: string;
  clientCaAlgorithm: string; clientCaSource: string; allowSystemGroups: boolean; credentialType: 'x509' | 'token'; createdAt: string;
}

export type CredentialStatus = 'active' | 'revoked' | 'superseded' | 'expired';

export interface Credential {
  id: string; type: 'x509' | 'token'; clusterId: string; principalId: string; kind: CredentialKind;
  serial: string; commonName: string; groups: string[]; notBefore: string; notAfter: string; status: CredentialStatus;
  current: boolean; issuedAt: string; issuedBy: string; revokedAt: string | null; revokedBy: string | null; revokeReason: string | null; supersededAt: string | null;
}

export interface IssuedKubeconfig { kubeconfig: string; certificatePem: string; expiration: string; reused: boolean; credential: Credential }

export interface Policy { id: string; name: string; description: string; document: unknown; createdAt: string }

export interface AuditEvent {
  id: string; at: string; actorId: string | null; action: string; resourceType: string; resourceId: string | null;
  outcome: 'success' | 'denied' | 'failure'; sourceIp: string | null; requestId: string | null; detail: Record<string, unknown>;
}

/** API credentials, as listed: never their secrets. `createdBy`: whose request made it (null: on the server, or before it was recorded). */
export interface ApiToken { id: string; principalId: string; name: string; status: 'active' | 'expired' | 'revoked'; createdAt: string; createdBy: string | null; expiresAt: string | null; revokedAt: string | null }
export interface AccessKey { accessKeyId: string; principalId: string; status: 'active' | 'revoked'; createdAt: string; createdBy: string | null; revokedAt: string | null }
export interface WebhookToken { id: string; clusterId: string; status: 'active' | 'revoked'; createdAt: string; revokedAt: string | null }

/** The answers to creating them: the only time their secrets are sent. */
export interface NewApiToken { id: string; principalId: string; name: string; token: string; expiresAt: string | null }
export interface NewAccessKey { accessKeyId: string; accessKeySecret: string; principalId: string }
export interface NewWebhookToken { clusterId: string; token: string }

export interface Page<T> { items: T[]; next: string | null }

/** GET /v1/clusters/:id/kubeconfig-summary: counted by the server's database, however many were issued. */
export interface HolderSummary {
  principalId: string; principalName: string; principalDeleted: boolean; state: 'active' | 'expired' | 'revoked';
  usable: number; expired: number; superseded: number; revoked: number; total: number;
  kinds: Credential['kind'][]; nextExpiry: string | null; lastExpiry: string;
}
export type ExpiryBand = { untilDays: number | null; total: number } & Record<CredentialKind, number>;
export interface KubeconfigSummary {
  clusterId: string; at: string; holders: HolderSummary[];
  expiry: { total: number; bands: ExpiryBand[]; nextToExpire: Credential[] };
}
