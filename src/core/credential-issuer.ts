// Minting one credential inside a caller's transaction: key (or CSR), certificate, stored row, audit event.
// It never checks authorization (the services do) and never stores a temporary or client-held private key.

import type { Actor } from './actor.ts';
import type { AuditWriter } from './audit.ts';
import { CURRENT_DEFAULT_RACE, KubecredError, notFound } from './errors.ts';
import type { Cluster, Credential, CredentialKind, Principal } from './model.ts';
import type { Clock, Ids, Sealer } from './ports.ts';
import type { Repos } from './store-port.ts';
import { clampToIssuer, defaultNotAfter, isDueForRenewal, TEMPORARY_MINUTES, temporaryNotAfter, validityWindow } from './validity-rules.ts';
import { checkGroupsForCluster } from './group-rules.ts';
import { generateKeyPair } from '../pki/keys.ts';
import { issueClientCertificate, loadCa, type LoadedCa } from '../pki/client-cert.ts';
import { parseCsr } from '../pki/csr.ts';
import { randomSerial } from '../pki/x509.ts';
import { sha256Hex } from '../pki/fingerprint.ts';

export interface Minted {
  credential: Credential;
  /** The private key in PEM, only when kubecred generated it; never when the client sent a CSR. */
  keyPem: string | null;
  /** The bearer token of a token kubeconfig. */
  token: string | null;
  /** True when an existing default was handed out again rather than minted. */
  reused: boolean;
}

/** Token kubeconfigs: `kct1.<credential ID>.<secret>`; the webhook finds the row by ID and compares hashes. */
export const TOKEN_KUBECONFIG_PREFIX = 'kct1';

export const credentialKeyAad = (credentialId: string) => `credential:${credentialId}:key`;
export const clusterCaKeyAad = (clusterId: string) => `cluster:${clusterId}:client-ca-key`;

export function makeCredentialIssuer(deps: { ids: Ids; clock: Clock; sealer: Sealer; audit: AuditWriter }) {
  // Unsealing and parsing a CA key costs far more than signing: keep each cluster's loaded CA.
  const caCache = new Map<string, LoadedCa>();
  function caFor(cluster: Cluster): LoadedCa {
    let ca = caCache.get(cluster.id);
    if (!ca) {
      const keyPem = deps.sealer.open(cluster.clientCa.keySealed, clusterCaKeyAad(cluster.id)).toString('utf8');
      ca = loadCa({ certPem: cluster.clientCa.certPem, keyPem, algorithm: cluster.clientCa.algorithm });
      caCache.set(cluster.id, ca);
    }
    return ca;
  }

  /** The credential material: a certificate for a new key or the CSR's key, or a bearer token. */
  function material(cluster: Cluster, principal: Principal, id: string, window: { notBefore: Date; notAfter: Date }, csrPem?: string) {
    if (cluster.credentialType === 'token') {
      if (csrPem !== undefined) throw new KubecredError('CSR_INVALID', `cluster ${cluster.name} issues token kubeconfigs: there is no certificate to sign a CSR for`, { details: { field: 'csr' } });
      const token = `${TOKEN_KUBECONFIG_PREFIX}.${id}.${deps.ids.secret(32)}`;
      return { keySource: 'generated' as const, serialHex: randomSerial().toString('hex'), fingerprintSha256: sha256Hex(Buffer.from(token)), certPem: '', secret: token, keyPem: null, token };
    }
    const key = csrPem === undefined ? generateKeyPair('ec-p256') : null;
    const publicKeyDer = key ? key.publicKeyDer : parseCsr(csrPem!).publicKeyDer;
    const cert = issueClientCertificate({
      ca: caFor(cluster), publicKeyDer, commonName: principal.id, organizations: principal.groups,
      notBefore: window.notBefore, notAfter: window.notAfter,
    });
    return {
      keySource: key ? 'generated' as const : 'client' as const, serialHex: cert.serialHex, fingerprintSha256: cert.fingerprintSha256,
      certPem: cert.certPem, secret: key?.privateKeyPem ?? null, keyPem: key?.privateKeyPem ?? null, token: null,
    };
  }

  async function mint(tx: Repos, actor: Actor, cluster: Cluster, principal: Principal, opts: {
    kind: CredentialKind; notAfter: Date; csrPem?: string; current: boolean;
  }): Promise<Minted> {
    checkGroupsForCluster(principal.groups, cluster.allowSystemGroups);
    const now = deps.clock.now();
    const caEnds = caFor(cluster).notAfter;
    // Clamped to the CA's end, a kubeconfig would be shorter than asked, and from then on already expired: refused
    // once the CA cannot carry even the shortest kubeconfig kubecred issues.
    if (cluster.credentialType === 'x509' && caEnds.getTime() - now.getTime() < TEMPORARY_MINUTES.min * 60_000) {
      throw new KubecredError('CONFLICT', `cluster ${cluster.name}'s client CA ${caEnds.getTime() <= now.getTime() ? 'expired' : 'expires'} at ${caEnds.toISOString()}: it cannot sign a kubeconfig of even ${TEMPORARY_MINUTES.min} minutes; give kube-apiserver a new client CA and register it with kubecred`, { details: { field: 'clientCa', caNotAfter: caEnds.toISOString() } });
    }
    const window = validityWindow(now, clampToIssuer(opts.notAfter, caEnds));
    const id = deps.ids.id('crd');
    const m = material(cluster, principal, id, window, opts.csrPem);
    // Looked up before this transaction: a deletion may have committed since, and revoked all it held but this one.
    if (!(await tx.principals.holdLive(principal.accountId, principal.id))) throw notFound('principal', principal.id);
    if (!(await tx.clusters.holdLive(cluster.accountId, cluster.id))) throw notFound('cluster', cluster.id);
    const credential: Credential = {
      id, type: cluster.credentialType, accountId: cluster.accountId, clusterId: cluster.id, principalId: principal.id, kind: opts.kind,
      keySource: m.keySource, serialHex: m.serialHex, fingerprintSha256: m.fingerprintSha256, certPem: m.certPem,
      // Only a default kubeconfig must be handed out again, so only its key (or token) is kept, sealed.
      keySealed: m.secret && opts.kind === 'default' ? deps.sealer.seal(m.secret, credentialKeyAad(id)) : null,
      commonName: principal.id, groups: [...principal.groups], notBefore: window.notBefore, notAfter: window.notAfter,
      state: 'active', current: opts.current, issuedAt: now, issuedBy: actor.principal.id, requestId: actor.requestId,
      revokedAt: null, revokedBy: null, revokeReason: null, supersededAt: null,
    };
    await tx.credentials.insert(credential);
    await deps.audit.record(tx, actor, cluster.accountId, {
      action: 'IssueKubeconfig', resourceType: 'credential', resourceId: id,
      detail: {
        cluster: cluster.id, principal: principal.id, kind: opts.kind, type: credential.type, serial: m.serialHex,
        fingerprintSha256: m.fingerprintSha256, notAfter: window.notAfter.toISOString(), keySource: credential.keySource,
      },
    });
    return { credential, keyPem: m.keyPem, token: m.token, reused: false };
  }

  return {
    /** The (cluster, principal)'s default kubeconfig: the current one, or a new one when none is current or it is due for renewal. */
    /**
     * The current default kubeconfig, or a new one. `fresh` (a reissue, which has just revoked the old one) never hands
     * one out again: an active current default found then was made by a concurrent reissue on another replica, a lost
     * race the caller runs again (so that it revokes that one too), never a key two callers share.
     */
    async defaultKubeconfig(tx: Repos, actor: Actor, cluster: Cluster, principal: Principal, fresh = false): Promise<Minted> {
      const now = deps.clock.now();
      const current = await tx.credentials.currentDefault(cluster.id, principal.id);
      if (fresh && current && current.state === 'active') {
        throw new KubecredError('CONFLICT', 'a concurrent reissue made a default kubeconfig during this one', { details: CURRENT_DEFAULT_RACE });
      }
      if (current && current.state === 'active' && !isDueForRenewal(current, now) && current.keySealed) {
        const secret = deps.sealer.open(current.keySealed, credentialKeyAad(current.id)).toString('utf8');
        // Handing out a stored private key (or token) again is as sensitive as minting it: who, for whom, when.
        await deps.audit.record(tx, actor, cluster.accountId, {
          action: 'GetKubeconfig', resourceType: 'credential', resourceId: current.id,
          detail: { cluster: cluster.id, principal: principal.id, kind: current.kind, serial: current.serialHex, reused: true },
        });
        return current.type === 'token'
          ? { credential: current, keyPem: null, token: secret, reused: true }
          : { credential: current, keyPem: secret, token: null, reused: true };
      }
      // Renewal: the previous one stops being handed out but stays valid until it expires.
      if (current) await tx.credentials.clearCurrent(current.id);
      const override = await tx.validity.get(cluster.id, principal.id);
      return mint(tx, actor, cluster, principal, { kind: 'default', current: true, notAfter: defaultNotAfter(now, override?.hours) });
    },

    async temporaryKubeconfig(tx: Repos, actor: Actor, cluster: Cluster, principal: Principal, minutes: number, csrPem?: string): Promise<Minted> {
      return mint(tx, actor, cluster, principal, { kind: 'temporary', current: false, notAfter: temporaryNotAfter(deps.clock.now(), minutes), csrPem });
    },

    /** A fresh key and certificate ending at a validity the caller chose (already checked), kind `explicit`; like a temporary one's, its key is never kept. */
    async explicitKubeconfig(tx: Repos, actor: Actor, cluster: Cluster, principal: Principal, notAfter: Date): Promise<Minted> {
      // Not `temporary`: it may last years, and the inventory and console say a temporary one lasts at most 3 days.
      return mint(tx, actor, cluster, principal, { kind: 'explicit', current: false, notAfter });
    },

    /** A certificate for a client-held key, with the principal's default validity; never the stored default. */
    async csrKubeconfig(tx: Repos, actor: Actor, cluster: Cluster, principal: Principal, csrPem: string): Promise<Minted> {
      const override = await tx.validity.get(cluster.id, principal.id);
      return mint(tx, actor, cluster, principal, { kind: 'csr', current: false, csrPem, notAfter: defaultNotAfter(deps.clock.now(), override?.hours) });
    },

    /** The cluster's loaded client CA (cached), e.g. to sign its CRL. */
    caFor,

    forgetCluster(clusterId: string) {
      caCache.delete(clusterId);
    },
  };
}

export type CredentialIssuer = ReturnType<typeof makeCredentialIssuer>;

export function endpointOf(cluster: Cluster, endpoint: 'public' | 'private'): string {
  const server = endpoint === 'private' ? cluster.privateEndpoint : cluster.publicEndpoint;
  if (!server) {
    const other = endpoint === 'private' ? 'public' : 'private';
    throw new KubecredError('ENDPOINT_UNAVAILABLE', `cluster ${cluster.name} has no ${endpoint} API endpoint; ask for the ${other} one${endpoint === 'private' ? ' (leave out --private / PrivateIpAddress)' : ' (--private / PrivateIpAddress=true)'}`, { details: { endpoint } });
  }
  return server;
}
