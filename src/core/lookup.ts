// Finding a cluster or principal by ID or by name, within one account. IDs carry a prefix
// (cls_, usr_, rol_), so a value without one is taken as a name.

import { notFound } from './errors.ts';
import type { Cluster, ClusterKind, Principal } from './model.ts';
import type { Repos } from './store-port.ts';

/**
 * `kind`: a surface that serves only one kind of cluster (ACK and CCE Kubernetes, ASM service meshes) does not see the
 * other. `includeDeleted`: a deleted cluster is found by its ID too (for listing what was issued there), as a deleted
 * principal is; never by its name, which a new cluster may have taken since.
 */
export async function findCluster(repos: Pick<Repos, 'clusters'>, accountId: string, idOrName: string, kind?: ClusterKind, opts: { includeDeleted?: boolean } = {}): Promise<Cluster> {
  const byId = idOrName.startsWith('cls_');
  const c = !byId ? await repos.clusters.findByName(accountId, idOrName)
    : opts.includeDeleted ? await repos.clusters.getAnyAccount(idOrName).then((any) => (any?.accountId === accountId ? any : undefined))
    : await repos.clusters.get(accountId, idOrName);
  if (!c || (kind !== undefined && c.kind !== kind)) throw notFound('cluster', idOrName);
  return c;
}

/**
 * `includeDeleted`: a deleted principal is found by its ID too (for revoking and listing what it held). Never by its
 * name, which a new principal may have taken since.
 */
export async function findPrincipal(repos: Pick<Repos, 'principals'>, accountId: string, idOrName: string, opts: { includeDeleted?: boolean } = {}): Promise<Principal> {
  const byId = /^(usr|rol)_/.test(idOrName);
  const p = !byId ? await repos.principals.findByName(accountId, idOrName)
    : opts.includeDeleted ? await repos.principals.getIncludingDeleted(accountId, idOrName)
    : await repos.principals.get(accountId, idOrName);
  if (!p) throw notFound('principal', idOrName);
  return p;
}
