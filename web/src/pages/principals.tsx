// Principals (users and roles) with the Kubernetes groups their certificates carry, and the policies
// attached to them; each name leads to the principal's API credentials. Group changes apply to
// kubeconfigs issued afterwards.

import { useState } from 'preact/hooks';
import { all, api, enc } from '../api.ts';
import { ErrorNotice } from '../errors.tsx';
import { useAction, useLoad } from '../hooks.ts';
import { Link } from '../router.tsx';
import type { Principal, Session } from '../types.ts';
import { Empty, Loading, PageTitle, Time } from '../ui.tsx';
import { PrincipalPolicies } from './principal-policies.tsx';

export const parseGroups = (s: string) => [...new Set(s.split(/[\s,]+/).filter(Boolean))];

export function PrincipalsPage(props: { session: Session }) {
  const list = useLoad(() => all<Principal>('/v1/principals'), []);
  const [editing, setEditing] = useState<string | null>(null);
  const [policiesOf, setPoliciesOf] = useState<Principal | null>(null);
  // Saved changes show at once, from the server's answer, without waiting for the list to reload.
  const [saved, setSaved] = useState<Record<string, Principal>>({});
  const items = (list.data ?? []).map((p) => saved[p.id] ?? p);

  return (
    <section>
      <PageTitle sub="Users and roles in your account, and the Kubernetes groups their certificates carry.">Principals</PageTitle>
      <CreatePrincipal onCreated={list.reload} />
      <h2>All principals</h2>
      <ErrorNotice error={list.error} onRetry={list.reload} />
      {list.loading && <Loading what="principals" />}
      {list.data && items.length === 0 && <Empty><p>No principals.</p></Empty>}
      {items.length > 0 && (
        <div class="table-wrap">
          <table class="stack">
            <caption class="visually-hidden">Principals</caption>
            <thead><tr><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Kubernetes groups</th><th scope="col">Created</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>
              {items.map((p) => (
                <tr key={p.id}>
                  <th scope="row"><Link href={`/principals/${p.id}`}>{p.name}</Link>{p.isRoot && <span class="badge badge-root">root</span>}{p.id === props.session.principal.id && <span class="muted small"> (you)</span>}<div class="muted small mono">{p.id}</div></th>
                  <td data-label="Kind">{p.kind}</td>
                  <td data-label="Groups">{editing === p.id ? <EditGroups principal={p} onDone={(updated) => { if (updated) setSaved({ ...saved, [p.id]: updated }); setEditing(null); }} /> : <Groups groups={p.groups} />}</td>
                  <td data-label="Created"><Time iso={p.createdAt} /></td>
                  <td class="row-actions">
                    {editing !== p.id && <button type="button" onClick={() => setEditing(p.id)} aria-label={`Edit groups of ${p.name}`}>Edit groups</button>}
                    <button type="button" onClick={() => setPoliciesOf(p)} aria-label={`Policies of ${p.name}`}>Policies</button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {policiesOf && <PrincipalPolicies principal={policiesOf} onClose={() => setPoliciesOf(null)} />}
    </section>
  );
}

const Groups = (props: { groups: string[] }) =>
  props.groups.length ? <ul class="chips">{props.groups.map((g) => <li key={g}>{g}</li>)}</ul> : <span class="muted">none</span>;

function EditGroups(props: { principal: Principal; onDone(updated?: Principal): void }) {
  const [text, setText] = useState(props.principal.groups.join(', '));
  const save = useAction(async () => {
    props.onDone(await api<Principal>('PATCH', `/v1/principals/${enc(props.principal.id)}`, { groups: parseGroups(text) }));
  });
  const id = `groups-${props.principal.id}`;
  return (
    <form class="inline" onSubmit={(e) => { e.preventDefault(); void save.run(); }}>
      <label for={id} class="visually-hidden">Groups of {props.principal.name}, separated by commas</label>
      <input id={id} value={text} autofocus onInput={(e) => setText(e.currentTarget.value)} onKeyDown={(e) => e.key === 'Escape' && props.onDone()} />
      <button type="submit" class="primary" disabled={save.busy}>Save</button>
      <button type="button" onClick={() => props.onDone()}>Cancel</button>
      <ErrorNotice error={save.error} />
    </form>
  );
}

function CreatePrincipal(props: { onCreated(): void }) {
  const [f, setF] = useState({ name: '', kind: 'user', groups: '' });
  const [done, setDone] = useState<string | null>(null);
  const create = useAction(async () => {
    const p = await api<Principal>('POST', '/v1/principals', { name: f.name.trim(), kind: f.kind, groups: parseGroups(f.groups) });
    setDone(`Created ${p.kind} ${p.name} (${p.id}). Give it an API token on its page, or with: kubecred token create --principal ${p.name}`);
    setF({ name: '', kind: 'user', groups: '' });
    props.onCreated();
  });
  return (
    <details class="card">
      <summary>Create a principal</summary>
      <form class="form" onSubmit={(e) => { e.preventDefault(); void create.run(); }}>
        <div class="row">
          <div class="field">
            <label for="p-name">Name</label>
            <input id="p-name" required maxLength={63} value={f.name} onInput={(e) => setF({ ...f, name: e.currentTarget.value })} />
          </div>
          <div class="field">
            <label for="p-kind">Kind</label>
            <select id="p-kind" value={f.kind} onChange={(e) => setF({ ...f, kind: e.currentTarget.value })}>
              <option value="user">User (a person)</option>
              <option value="role">Role (a robot or service)</option>
            </select>
          </div>
        </div>
        <div class="field">
          <label for="p-groups">Kubernetes groups</label>
          <p class="hint" id="p-groups-hint">Separated by commas, e.g. <code>dev, oncall</code>. Bind RBAC to them. <code>system:masters</code> is never allowed.</p>
          <input id="p-groups" aria-describedby="p-groups-hint" value={f.groups} onInput={(e) => setF({ ...f, groups: e.currentTarget.value })} />
        </div>
        {done && <p class="notice notice-ok" role="status">{done}</p>}
        <ErrorNotice error={create.error} />
        <button type="submit" class="primary" disabled={create.busy}>{create.busy ? 'Creating…' : 'Create principal'}</button>
      </form>
    </details>
  );
}
