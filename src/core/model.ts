// The domain's records, as core sees them. Storage adapters map rows to these shapes
// and back; no field here names a table, a column or an HTTP header.

export type PrincipalKind = 'user' | 'role';
export type ClusterKind = 'kubernetes' | 'service-mesh';
/**
 * default: one per (cluster, principal), 3 years or the root's custom validity, handed out again until renewed.
 * temporary: 15 to 4320 minutes, a fresh key each time. csr: the caller's key, the default's validity.
 * explicit: a fresh key with the end its caller asked for, 15 minutes to 1827 days (CCE's duration or expire_at).
 */
export const CREDENTIAL_KINDS = ['default', 'temporary', 'csr', 'explicit'] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];
export type CredentialState = 'active' | 'revoked' | 'superseded';
/** What a caller sees: the stored state, with `expired` derived from the clock. */
export type CredentialStatus = CredentialState | 'expired';
export type KeyAlgorithm = 'ec-p256' | 'rsa-2048';
/** A client CA's key as labelled: what kubecred generates, or what an imported one is. */
export type CaAlgorithm = 'ec-p256' | 'ec-p384' | `rsa-${number}`;
export type Endpoint = 'public' | 'private';
/** An X.509 client certificate, or a bearer token checked by the TokenReview webhook. */
export type CredentialType = 'x509' | 'token';

export interface Account {
  id: string;
  name: string;
  createdAt: Date;
}

export interface Principal {
  id: string;
  accountId: string;
  kind: PrincipalKind;
  name: string;
  groups: string[];
  isRoot: boolean;
  createdAt: Date;
  deletedAt: Date | null;
}

export interface ApiToken {
  id: string;
  accountId: string;
  principalId: string;
  name: string;
  /** sha256 of the secret part, hex; the secret itself is never stored. */
  secretHash: string;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
  /** The principal whose request made it; null when made on the server (first start, `account root-token`) or before kubecred recorded it. */
  createdBy: string | null;
}

export interface AccessKey {
  id: string;
  accountId: string;
  principalId: string;
  /** The secret, sealed under the master key (the vendor surfaces need it back to check signatures). */
  secretSealed: string;
  createdAt: Date;
  revokedAt: Date | null;
  /** As `ApiToken.createdBy`. */
  createdBy: string | null;
}

export interface ClientCa {
  certPem: string;
  keySealed: string;
  /** 'ec-p256' or 'rsa-2048' when generated; an imported CA's own: 'ec-p384', 'rsa-4096'. */
  algorithm: CaAlgorithm;
  source: 'generated' | 'imported';
}

export interface Cluster {
  id: string;
  accountId: string;
  name: string;
  kind: ClusterKind;
  region: string;
  publicEndpoint: string | null;
  privateEndpoint: string | null;
  /** The CA bundle clients trust for the cluster's API server (certificate-authority-data). */
  serverCaPem: string | null;
  clientCa: ClientCa;
  /** Whether groups starting with `system:` (never `system:masters`) may be put in certificates. */
  allowSystemGroups: boolean;
  /** What its kubeconfigs carry: certificates (the CA key is with kubecred) or tokens (it is not). */
  credentialType: CredentialType;
  createdAt: Date;
  deletedAt: Date | null;
}

export interface Credential {
  id: string;
  type: CredentialType;
  accountId: string;
  clusterId: string;
  principalId: string;
  kind: CredentialKind;
  keySource: 'generated' | 'client';
  serialHex: string;
  fingerprintSha256: string;
  certPem: string;
  /** Stored only for default kubeconfigs, sealed; temporary and CSR keys are never stored. */
  keySealed: string | null;
  commonName: string;
  groups: string[];
  notBefore: Date;
  notAfter: Date;
  state: CredentialState;
  /** The default kubeconfig handed out for (cluster, principal) right now; at most one. */
  current: boolean;
  issuedAt: Date;
  issuedBy: string;
  requestId: string;
  revokedAt: Date | null;
  revokedBy: string | null;
  revokeReason: string | null;
  supersededAt: Date | null;
}

export interface ValidityOverride {
  clusterId: string;
  principalId: string;
  hours: number;
  setBy: string;
  setAt: Date;
}

export interface StoredPolicy {
  id: string;
  accountId: string;
  name: string;
  description: string;
  /** The policy document as JSON text, validated by the policy engine before it is stored. */
  document: string;
  createdAt: Date;
}

export type AuditOutcome = 'success' | 'denied' | 'failure';

export interface AuditEvent {
  seq: number;
  id: string;
  accountId: string;
  at: Date;
  actorId: string | null;
  action: string;
  resourceType: string;
  resourceId: string | null;
  outcome: AuditOutcome;
  sourceIp: string | null;
  requestId: string | null;
  /** Small non-secret facts (serial, expiry, reason); never key material or tokens. */
  detail: Record<string, unknown>;
}

export interface Page<T> {
  items: T[];
  /** Opaque cursor for the next page; null on the last page. */
  next: string | null;
}

export function credentialStatus(c: Pick<Credential, 'state' | 'notAfter'>, now: Date): CredentialStatus {
  if (c.state === 'active' && c.notAfter.getTime() <= now.getTime()) return 'expired';
  return c.state;
}
