// Converting between table rows and core records, in one place for every SQL backend.
// Rows written by an older schema version are upgraded here, when read.

import type {
  AccessKey, ApiToken, AuditEvent, Cluster, Credential, CredentialKind, CredentialState, CaAlgorithm,
  Principal, PrincipalKind, ClusterKind, StoredPolicy, ValidityOverride,
} from '../core/model.ts';
import type {
  AccessKeysTable, ApiTokensTable, AuditEventsTable, ClustersTable, CredentialsTable, PoliciesTable, PrincipalsTable, ValidityOverridesTable,
  WebhookTokensTable,
} from './schema.ts';
import type { IndexedCredential, WebhookToken } from '../core/store-port.ts';

export const CLUSTER_RECORD_VERSION = 1;
export const CREDENTIAL_RECORD_VERSION = 1;

const d = (ms: number | string) => new Date(Number(ms));
const dn = (ms: number | string | null) => (ms === null ? null : new Date(Number(ms)));
const ms = (x: Date) => x.getTime();
const msn = (x: Date | null) => (x === null ? null : x.getTime());

export const principalFromRow = (r: PrincipalsTable): Principal => ({
  id: r.id, accountId: r.account_id, kind: r.kind as PrincipalKind, name: r.name, groups: JSON.parse(r.groups),
  isRoot: Number(r.is_root) === 1, createdAt: d(r.created_at), deletedAt: dn(r.deleted_at),
});
export const principalToRow = (p: Principal): PrincipalsTable => ({
  id: p.id, account_id: p.accountId, kind: p.kind, name: p.name, groups: JSON.stringify(p.groups),
  is_root: p.isRoot ? 1 : 0, created_at: ms(p.createdAt), deleted_at: msn(p.deletedAt),
});

export const tokenFromRow = (r: ApiTokensTable): ApiToken => ({
  id: r.id, accountId: r.account_id, principalId: r.principal_id, name: r.name, secretHash: r.secret_hash,
  createdAt: d(r.created_at), expiresAt: dn(r.expires_at), revokedAt: dn(r.revoked_at), createdBy: r.created_by ?? null,
});
export const tokenToRow = (t: ApiToken): ApiTokensTable => ({
  id: t.id, account_id: t.accountId, principal_id: t.principalId, name: t.name, secret_hash: t.secretHash,
  created_at: ms(t.createdAt), expires_at: msn(t.expiresAt), revoked_at: msn(t.revokedAt), created_by: t.createdBy,
});

export const accessKeyFromRow = (r: AccessKeysTable): AccessKey => ({
  id: r.id, accountId: r.account_id, principalId: r.principal_id, secretSealed: r.secret_sealed,
  createdAt: d(r.created_at), revokedAt: dn(r.revoked_at), createdBy: r.created_by ?? null,
});
export const accessKeyToRow = (k: AccessKey): AccessKeysTable => ({
  id: k.id, account_id: k.accountId, principal_id: k.principalId, secret_sealed: k.secretSealed,
  created_at: ms(k.createdAt), revoked_at: msn(k.revokedAt), created_by: k.createdBy,
});

export const clusterFromRow = (r: ClustersTable): Cluster => ({
  id: r.id, accountId: r.account_id, name: r.name, kind: r.kind as ClusterKind, region: r.region,
  publicEndpoint: r.public_endpoint, privateEndpoint: r.private_endpoint, serverCaPem: r.server_ca_pem,
  clientCa: {
    certPem: r.client_ca_cert_pem, keySealed: r.client_ca_key_sealed,
    algorithm: r.client_ca_algorithm as CaAlgorithm, source: r.client_ca_source as 'generated' | 'imported',
  },
  allowSystemGroups: Number(r.allow_system_groups) === 1, credentialType: (r.credential_type ?? 'x509') as Cluster['credentialType'],
  createdAt: d(r.created_at), deletedAt: dn(r.deleted_at),
});
export const clusterToRow = (c: Cluster): ClustersTable => ({
  id: c.id, account_id: c.accountId, name: c.name, kind: c.kind, region: c.region,
  public_endpoint: c.publicEndpoint, private_endpoint: c.privateEndpoint, server_ca_pem: c.serverCaPem,
  client_ca_cert_pem: c.clientCa.certPem, client_ca_key_sealed: c.clientCa.keySealed,
  client_ca_algorithm: c.clientCa.algorithm, client_ca_source: c.clientCa.source,
  allow_system_groups: c.allowSystemGroups ? 1 : 0, credential_type: c.credentialType, created_at: ms(c.createdAt), deleted_at: msn(c.deletedAt),
  v: CLUSTER_RECORD_VERSION,
});

export const credentialFromRow = (r: CredentialsTable): Credential => ({
  id: r.id, type: (r.credential_type ?? 'x509') as Credential['type'], accountId: r.account_id, clusterId: r.cluster_id, principalId: r.principal_id,
  kind: r.kind as CredentialKind, keySource: r.key_source as 'generated' | 'client', serialHex: r.serial_hex,
  fingerprintSha256: r.fingerprint_sha256, certPem: r.cert_pem, keySealed: r.key_sealed,
  commonName: r.common_name, groups: JSON.parse(r.groups), notBefore: d(r.not_before), notAfter: d(r.not_after),
  state: r.state as CredentialState, current: Number(r.is_current) === 1, issuedAt: d(r.issued_at),
  issuedBy: r.issued_by, requestId: r.request_id, revokedAt: dn(r.revoked_at), revokedBy: r.revoked_by,
  revokeReason: r.revoke_reason, supersededAt: dn(r.superseded_at),
});
export const credentialToRow = (c: Credential): CredentialsTable => ({
  id: c.id, credential_type: c.type, account_id: c.accountId, cluster_id: c.clusterId, principal_id: c.principalId, kind: c.kind,
  key_source: c.keySource, serial_hex: c.serialHex, fingerprint_sha256: c.fingerprintSha256, cert_pem: c.certPem,
  key_sealed: c.keySealed, common_name: c.commonName, groups: JSON.stringify(c.groups),
  not_before: ms(c.notBefore), not_after: ms(c.notAfter), state: c.state, is_current: c.current ? 1 : 0,
  issued_at: ms(c.issuedAt), issued_by: c.issuedBy, request_id: c.requestId, revoked_at: msn(c.revokedAt),
  revoked_by: c.revokedBy, revoke_reason: c.revokeReason, superseded_at: msn(c.supersededAt),
  v: CREDENTIAL_RECORD_VERSION,
});

/** The columns the revocation index needs (IndexedCredential), as the scans select them. */
export const INDEXED_COLUMNS = ['id', 'cluster_id', 'principal_id', 'fingerprint_sha256', 'state', 'not_after'] as const;
export const indexedFromRow = (r: Pick<CredentialsTable, (typeof INDEXED_COLUMNS)[number]>): IndexedCredential => ({
  id: r.id, clusterId: r.cluster_id, principalId: r.principal_id, fingerprintSha256: r.fingerprint_sha256,
  state: r.state as CredentialState, notAfter: d(r.not_after),
});

export const policyFromRow = (r: PoliciesTable): StoredPolicy => ({
  id: r.id, accountId: r.account_id, name: r.name, description: r.description, document: r.document,
  createdAt: d(r.created_at),
});

export const auditFromRow = (r: AuditEventsTable & { seq: number }): AuditEvent => ({
  seq: Number(r.seq), id: r.id, accountId: r.account_id, at: d(r.at), actorId: r.actor_id, action: r.action,
  resourceType: r.resource_type, resourceId: r.resource_id, outcome: r.outcome as AuditEvent['outcome'],
  sourceIp: r.source_ip, requestId: r.request_id, detail: JSON.parse(r.detail),
});

export const validityFromRow = (r: ValidityOverridesTable): ValidityOverride => ({
  clusterId: r.cluster_id, principalId: r.principal_id, hours: Number(r.hours), setBy: r.set_by, setAt: d(r.set_at),
});

export const webhookTokenFromRow = (r: WebhookTokensTable): WebhookToken => ({
  id: r.id, clusterId: r.cluster_id, secretHash: r.secret_hash, createdAt: d(r.created_at), revokedAt: dn(r.revoked_at),
});
