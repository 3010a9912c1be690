// Policy documents ({Version, Statement:[{Effect, Action, Resource, Condition}]}), and creating one.
// Attaching happens on the principals page.

import { useState } from 'preact/hooks';
import { all, api } from '../api.ts';
import { ErrorNotice, FormProblem } from '../errors.tsx';
import { useAction, useLoad } from '../hooks.ts';
import { Link } from '../router.tsx';
import type { Policy } from '../types.ts';
import { Empty, Loading, PageTitle, Time } from '../ui.tsx';

const TEMPLATE = JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: ['kubecred:GetKubeconfig', 'kubecred:ListClusters', 'kubecred:GetCluster'], Resource: '*' }] }, null, 2);

export function PoliciesPage() {
  const list = useLoad(() => all<Policy>('/v1/policies'), []);
  const items = list.data ?? [];
  return (
    <section>
      <PageTitle sub={<>Who may do what. Explicit deny wins; the account's root may do everything. Attach policies on the <Link href="/principals">principals</Link> page.</>}>Policies</PageTitle>
      <CreatePolicy onCreated={list.reload} />
      <h2>All policies</h2>
      <ErrorNotice error={list.error} onRetry={list.reload} />
      {list.loading && <Loading what="policies" />}
      {list.data && items.length === 0 && <Empty><p>No policies yet: only the account's root can do anything.</p></Empty>}
      {items.length > 0 && (
        <div class="table-wrap">
          <table class="stack">
            <caption class="visually-hidden">Policies</caption>
            <thead><tr><th scope="col">Name</th><th scope="col">Description</th><th scope="col">Document</th><th scope="col">Created</th></tr></thead>
            <tbody>
              {items.map((p) => (
                <tr key={p.id}>
                  <th scope="row">{p.name}<div class="muted small mono">{p.id}</div></th>
                  <td data-label="Description">{p.description || <span class="muted">—</span>}</td>
                  <td data-label="Document"><details><summary>Show</summary><pre class="pem">{JSON.stringify(p.document, null, 2)}</pre></details></td>
                  <td data-label="Created"><Time iso={p.createdAt} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function CreatePolicy(props: { onCreated(): void }) {
  const [f, setF] = useState({ name: '', description: '', document: TEMPLATE });
  const [problem, setProblem] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const create = useAction(async (document: unknown) => {
    const p = await api<Policy>('POST', '/v1/policies', { name: f.name.trim(), description: f.description.trim(), document });
    setDone(`Created policy ${p.name}.`);
    setF({ name: '', description: '', document: TEMPLATE });
    props.onCreated();
  });
  const submit = (e: Event) => {
    e.preventDefault();
    setDone(null);
    let doc: unknown;
    try {
      doc = JSON.parse(f.document);
    } catch (err) {
      return setProblem(`The document is not valid JSON: ${(err as Error).message}`);
    }
    setProblem(null);
    void create.run(doc);
  };
  return (
    <details class="card">
      <summary>Create a policy</summary>
      <form class="form" onSubmit={submit}>
        <div class="row">
          <div class="field">
            <label for="pol-name">Name</label>
            <input id="pol-name" required maxLength={63} value={f.name} onInput={(e) => setF({ ...f, name: e.currentTarget.value })} />
          </div>
          <div class="field">
            <label for="pol-desc">Description <span class="muted">(optional)</span></label>
            <input id="pol-desc" maxLength={1024} value={f.description} onInput={(e) => setF({ ...f, description: e.currentTarget.value })} />
          </div>
        </div>
        <div class="field">
          <label for="pol-doc">Document (JSON)</label>
          <p class="hint" id="pol-doc-hint">Actions such as <code>kubecred:GetKubeconfig</code>, <code>kubecred:RevokeKubeconfig</code>, <code>kubecred:ListCredentials</code>; vendor names like <code>cs:DescribeClusterUserKubeconfig</code> work too.</p>
          <textarea id="pol-doc" rows={10} spellcheck={false} class="mono" aria-describedby="pol-doc-hint" value={f.document} onInput={(e) => setF({ ...f, document: e.currentTarget.value })} />
        </div>
        <FormProblem text={problem} />
        {done && <p class="notice notice-ok" role="status">{done}</p>}
        <ErrorNotice error={create.error} />
        <button type="submit" class="primary" disabled={create.busy}>{create.busy ? 'Creating…' : 'Create policy'}</button>
      </form>
    </details>
  );
}
