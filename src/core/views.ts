// What callers may see of core records: secrets, sealed keys and internal flags stripped,
// `expired` derived from the clock. Every surface builds its answers from these.

import type { WebhookToken } from './store-port.ts';
import { credentialStatus, type AccessKey, type ApiToken, type Cluster, type Credential, type Principal, type CredentialStatus } from './model.ts';

export interface CredentialView {
  id: string; type: Credential['type']; clusterId: string; principalId: string; kind: Credential['kind']; keySource: Credential['keySource'];
  serial: string; fingerprintSha256: string; commonName: string; groups: string[];
  notBefore: string; notAfter: string; status: CredentialStatus; current: boolean;
  issuedAt: string; issuedBy: string; revokedAt: string | null; revokedBy: string | null; revokeReason: string | null;
  supersededAt: string | null;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function credentialView(c: Credential, now: Date): CredentialView {
  return {
    id: c.id, type: c.type, clusterId: c.clusterId, principalId: c.principalId, kind: c.kind, keySource: c.keySource,
    serial: c.serialHex, fingerprintSha256: c.fingerprintSha256, commonName: c.commonName, groups: c.groups,
    notBefore: c.notBefore.toISOString(), notAfter: c.notAfter.toISOString(), status: credentialStatus(c, now),
    current: c.current, issuedAt: c.issuedAt.toISOString(), issuedBy: c.issuedBy, revokedAt: iso(c.revokedAt),
    revokedBy: c.revokedBy, revokeReason: c.revokeReason, supersededAt: iso(c.supersededAt),
  };
}

export interface ClusterView {
  id: string; name: string; kind: Cluster['kind']; region: string; publicEndpoint: string | null;
  privateEndpoint: string | null; serverCaPem: string | null; clientCaPem: string;
  clientCaAlgorithm: string; clientCaSource: string; allowSystemGroups: boolean; credentialType: Cluster['credentialType']; createdAt: string;
}

export function clusterView(c: Cluster): ClusterView {
  return {
    id: c.id, name: c.name, kind: c.kind, region: c.region, publicEndpoint: c.publicEndpoint,
    privateEndpoint: c.privateEndpoint, serverCaPem: c.serverCaPem, clientCaPem: c.clientCa.certPem,
    clientCaAlgorithm: c.clientCa.algorithm, clientCaSource: c.clientCa.source,
    allowSystemGroups: c.allowSystemGroups, credentialType: c.credentialType, createdAt: c.createdAt.toISOString(),
  };
}

/** `deletedAt`: null for a living principal; a deleted one is shown by its ID only, for the record. */
export interface PrincipalView {
  id: string; kind: Principal['kind']; name: string; groups: string[]; isRoot: boolean; createdAt: string; deletedAt: string | null;
}

export const principalView = (p: Principal): PrincipalView => ({
  id: p.id, kind: p.kind, name: p.name, groups: p.groups, isRoot: p.isRoot, createdAt: p.createdAt.toISOString(), deletedAt: iso(p.deletedAt),
});

/** A bearer token as its owner and the account's admins may see it: never its secret or hash. */
/** `createdBy`: whose request made it (it may be another principal's: a role's token made by an admin). */
export interface TokenView {
  id: string; principalId: string; name: string; status: 'active' | 'expired' | 'revoked';
  createdAt: string; createdBy: string | null; expiresAt: string | null; revokedAt: string | null;
}

export const tokenView = (t: ApiToken, now: Date): TokenView => ({
  id: t.id, principalId: t.principalId, name: t.name,
  status: t.revokedAt ? 'revoked' : t.expiresAt && t.expiresAt.getTime() <= now.getTime() ? 'expired' : 'active',
  createdAt: t.createdAt.toISOString(), createdBy: t.createdBy, expiresAt: iso(t.expiresAt), revokedAt: iso(t.revokedAt),
});

/** An access key as its owner and the account's admins may see it: never its secret. */
/** As `TokenView`. */
export interface AccessKeyView {
  accessKeyId: string; principalId: string; status: 'active' | 'revoked'; createdAt: string; createdBy: string | null; revokedAt: string | null;
}

export const accessKeyView = (k: AccessKey): AccessKeyView => ({
  accessKeyId: k.id, principalId: k.principalId, status: k.revokedAt ? 'revoked' : 'active', createdAt: k.createdAt.toISOString(), createdBy: k.createdBy, revokedAt: iso(k.revokedAt),
});

/** A cluster's webhook token (what its kube-apiserver presents to kubecred), never its secret or hash. */
export interface WebhookTokenView { id: string; clusterId: string; status: 'active' | 'revoked'; createdAt: string; revokedAt: string | null }

export const webhookTokenView = (t: WebhookToken): WebhookTokenView => ({
  id: t.id, clusterId: t.clusterId, status: t.revokedAt ? 'revoked' : 'active', createdAt: t.createdAt.toISOString(), revokedAt: iso(t.revokedAt),
});
