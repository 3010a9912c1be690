// Deleting a principal: the step for someone who leaves. Offered only when the server says the caller's policies
// allow it (never for the root, nor for yourself here); the confirmation names everything it ends.

import { useState } from 'preact/hooks';
import { api, enc } from '../api.ts';
import { ErrorNotice } from '../errors.tsx';
import { useAction } from '../hooks.ts';
import type { PrincipalDeleted, PrincipalShown } from '../types.ts';
import { ConfirmDialog } from '../ui.tsx';

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

export function DeletePrincipal(props: { principal: PrincipalShown; onDeleted(res: PrincipalDeleted): void }) {
  const p = props.principal;
  const [asking, setAsking] = useState(false);
  const remove = useAction(async () => {
    const res = await api<PrincipalDeleted>('DELETE', `/v1/principals/${enc(p.id)}`);
    setAsking(false);
    props.onDeleted(res);
  });

  return (
    <section aria-labelledby={`delete-${p.id}`}>
      <h2 id={`delete-${p.id}`}>Offboarding</h2>
      <p class="hint">
        For someone who leaves: deleting {p.name} ends all of its access at once. Revoking kubeconfigs on a cluster is not enough: whoever still has a
        token or an access key, and a policy that allows it, fetches new ones.
      </p>
      <p><button type="button" class="danger" onClick={() => { remove.setError(null); setAsking(true); }}>{`Delete ${p.kind} ${p.name}`}</button></p>
      <ConfirmDialog open={asking} danger title={`Delete ${p.kind} ${p.name}?`} confirmLabel={`Delete ${p.name}`}
        busy={remove.busy} onCancel={() => { setAsking(false); remove.setError(null); }} onConfirm={() => void remove.run()}>
        <p>At once, on every replica, this ends everything <strong>{p.name}</strong> <span class="mono">({p.id})</span> holds:</p>
        <ul>
          <li>its kubeconfigs on every cluster: default, temporary, CSR and exec-plugin certificates, and token kubeconfigs;</li>
          <li>its API tokens and the console sessions opened with them;</li>
          <li>its access keys for the Alibaba Cloud and Huawei Cloud SDKs;</li>
          <li>what its policies allowed it (they stay attached to its record, and grant nothing).</li>
        </ul>
        <p>
          It cannot be undone. Its history stays: the inventory and the audit trail keep it, and its page stays at this address. Its name may be
          given to someone else. What it created for others (a role's tokens, access keys or kubeconfigs) keeps working: check that afterwards.
        </p>
        <ErrorNotice error={remove.error} />
      </ConfirmDialog>
    </section>
  );
}

/** What a deletion ended, in a sentence. */
export const deletedSummary = (name: string, r: PrincipalDeleted) =>
  `Deleted ${name}: ${plural(r.revoked, 'kubeconfig', 'kubeconfigs')}, ${plural(r.tokensRevoked, 'API token', 'API tokens')} and ${plural(r.accessKeysRevoked, 'access key', 'access keys')} revoked.`;
