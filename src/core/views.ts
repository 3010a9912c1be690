// What callers may see of core records: secrets, sealed keys and internal flags stripped,
// `expired` derived from the clock. Every surface builds its answers from these.

import { credentialStatus, type Cluster, type Credential, type Principal, type CredentialStatus } from './model.ts';

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

export interface PrincipalView {
  id: string; kind: Principal['kind']; name: string; groups: string[]; isRoot: boolean; createdAt: string;
}

export const principalView = (p: Principal): PrincipalView => ({
  id: p.id, kind: p.kind, name: p.name, groups: p.groups, isRoot: p.isRoot, createdAt: p.createdAt.toISOString(),
});
