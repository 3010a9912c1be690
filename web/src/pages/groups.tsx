// Kubernetes groups as kubecred knows them: each group with the principals whose certificates carry it.
// Groups are not objects of their own; they are edited on the principals page.

import { all } from '../api.ts';
import { ErrorNotice } from '../errors.tsx';
import { useLoad } from '../hooks.ts';
import { Link } from '../router.tsx';
import type { Principal } from '../types.ts';
import { Empty, Loading, PageTitle } from '../ui.tsx';

export function GroupsPage() {
  const list = useLoad(() => all<Principal>('/v1/principals'), []);
  const groups = new Map<string, Principal[]>();
  for (const p of list.data ?? []) for (const g of p.groups) groups.set(g, [...(groups.get(g) ?? []), p]);
  const names = [...groups.keys()].sort();
  return (
    <section>
      <PageTitle sub={<>The Kubernetes groups kubecred puts in certificates; bind RBAC to them. Change a principal's groups on the <Link href="/principals">principals</Link> page: kubeconfigs issued before keep their old groups until reissued.</>}>Groups</PageTitle>
      <ErrorNotice error={list.error} onRetry={list.reload} />
      {list.loading && <Loading what="groups" />}
      {list.data && names.length === 0 && <Empty><p>No principal carries a group yet.</p></Empty>}
      {names.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Groups and their members</caption>
            <thead><tr><th scope="col">Group</th><th scope="col">Principals</th></tr></thead>
            <tbody>
              {names.map((g) => (
                <tr key={g}><th scope="row" class="mono">{g}</th><td>{groups.get(g)!.map((p) => p.name).join(', ')}</td></tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
