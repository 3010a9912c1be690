// The clusters you may see, with their endpoints and client CA, and the way to register one.

import { api, query } from '../api.ts';
import { ErrorNotice } from '../errors.tsx';
import { useLoad } from '../hooks.ts';
import { Link } from '../router.tsx';
import type { Cluster, Page } from '../types.ts';
import { Empty, Loading, PageTitle, Time } from '../ui.tsx';
import { useState } from 'preact/hooks';

export function ClustersPage() {
  const [extra, setExtra] = useState<{ items: Cluster[]; next: string | null } | null>(null);
  const first = useLoad(() => api<Page<Cluster>>('GET', `/v1/clusters${query({ limit: 100 })}`), []);
  const [moreError, setMoreError] = useState<unknown>(null);
  const items = [...(first.data?.items ?? []), ...(extra?.items ?? [])];
  const next = extra ? extra.next : first.data?.next ?? null;
  const more = async () => {
    try {
      const p = await api<Page<Cluster>>('GET', `/v1/clusters${query({ limit: 100, cursor: next })}`);
      setExtra({ items: [...(extra?.items ?? []), ...p.items], next: p.next });
    } catch (e) {
      setMoreError(e);
    }
  };

  return (
    <section>
      <PageTitle sub="Kubernetes clusters and service meshes whose kubeconfigs kubecred issues.">Clusters</PageTitle>
      <p><Link href="/clusters/new" class="button primary">Register a cluster</Link></p>
      <ErrorNotice error={first.error} onRetry={first.reload} />
      {first.loading && <Loading what="clusters" />}
      {first.data && items.length === 0 && !next && (
        <Empty>
          <p>No clusters yet.</p>
          <p>Register one to start issuing kubeconfigs: kubecred generates its client CA, or you import yours.</p>
        </Empty>
      )}
      {items.length > 0 && (
        <div class="table-wrap">
          <table class="stack">
            <caption class="visually-hidden">Clusters</caption>
            <thead>
              <tr><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Public endpoint</th><th scope="col">Private endpoint</th><th scope="col">Client CA</th><th scope="col">Registered</th></tr>
            </thead>
            <tbody>
              {items.map((c) => (
                <tr key={c.id}>
                  <th scope="row"><Link href={`/clusters/${c.id}`}>{c.name}</Link><div class="muted small">{c.id}</div></th>
                  <td data-label="Kind">{c.kind}{c.credentialType === 'token' && <div class="muted small">token kubeconfigs</div>}</td>
                  <td data-label="Public" class="mono">{c.publicEndpoint ?? <span class="muted">none</span>}</td>
                  <td data-label="Private" class="mono">{c.privateEndpoint ?? <span class="muted">none</span>}</td>
                  <td data-label="Client CA">{c.clientCaSource} ({c.clientCaAlgorithm})</td>
                  <td data-label="Registered"><Time iso={c.createdAt} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ErrorNotice error={moreError} />
      {/* An empty page with a next is not "no clusters" (servers before this one filtered a page after reading it). */}
      {first.data && items.length === 0 && next && <Empty><p>None of the clusters read so far is one you may see; more are left to read.</p></Empty>}
      {next && <p><button type="button" onClick={more}>Load more clusters</button></p>}
    </section>
  );
}
