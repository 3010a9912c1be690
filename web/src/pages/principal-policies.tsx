// The policies attached to one principal: attach another, or detach one.

import { useState } from 'preact/hooks';
import { all, api, enc } from '../api.ts';
import { ErrorNotice } from '../errors.tsx';
import { useAction, useLoad } from '../hooks.ts';
import type { Policy, Principal } from '../types.ts';
import { Empty, Loading } from '../ui.tsx';

export function PrincipalPolicies(props: { principal: Principal; onClose(): void }) {
  const p = props.principal;
  const attached = useLoad(() => api<{ items: Policy[] }>('GET', `/v1/principals/${enc(p.id)}/policies`), [p.id]);
  const policies = useLoad(() => all<Policy>('/v1/policies'), []);
  const [choice, setChoice] = useState('');
  const attach = useAction(async () => {
    await api('POST', `/v1/principals/${enc(p.id)}/policies`, { policy: choice });
    setChoice('');
    attached.reload();
  });
  const detach = useAction(async (policyId: string) => {
    await api('DELETE', `/v1/principals/${enc(p.id)}/policies/${enc(policyId)}`);
    attached.reload();
  });
  const has = new Set((attached.data?.items ?? []).map((x) => x.id));
  const free = (policies.data ?? []).filter((x) => !has.has(x.id));

  return (
    <section class="card" aria-labelledby="pp-title">
      <h2 id="pp-title">Policies of {p.name}</h2>
      {p.isRoot && <p class="hint">The account's root may do everything in its account; policies do not limit it.</p>}
      <ErrorNotice error={attached.error} onRetry={attached.reload} />
      {attached.loading && <Loading what="attached policies" />}
      {attached.data && attached.data.items.length === 0 && <Empty><p>No policy attached: {p.name} may do nothing yet.</p></Empty>}
      <ul class="plain">
        {attached.data?.items.map((x) => (
          <li key={x.id}>
            <strong>{x.name}</strong> <span class="muted">{x.description}</span>{' '}
            <button type="button" onClick={() => void detach.run(x.id)} disabled={detach.busy} aria-label={`Detach ${x.name} from ${p.name}`}>Detach</button>
          </li>
        ))}
      </ul>
      <ErrorNotice error={detach.error} />
      <form class="inline" onSubmit={(e) => { e.preventDefault(); void attach.run(); }}>
        <label for="pp-choice">Attach a policy</label>
        <select id="pp-choice" required value={choice} onChange={(e) => setChoice(e.currentTarget.value)}>
          <option value="">Choose…</option>
          {free.map((x) => <option key={x.id} value={x.id}>{x.name}</option>)}
        </select>
        <button type="submit" class="primary" disabled={attach.busy || !choice}>Attach</button>
        <button type="button" onClick={props.onClose}>Close</button>
      </form>
      <ErrorNotice error={attach.error ?? policies.error} />
    </section>
  );
}
