// One principal's access keys, which sign requests to the Alibaba Cloud and Huawei Cloud surfaces: listed
// without their secrets, created with the secret shown once, revoked after confirming.

import { useState } from 'preact/hooks';
import { all, api, enc } from '../api.ts';
import { ErrorNotice } from '../errors.tsx';
import { useAction, useLoad } from '../hooks.ts';
import { MadeBy, SecretOnce, StateSince, usableFirst } from '../secrets.tsx';
import type { AccessKey, NewAccessKey, Principal, Session } from '../types.ts';
import { ConfirmDialog, Empty, Loading, Time } from '../ui.tsx';

export function AccessKeys(props: { principal: Principal; session: Session }) {
  const p = props.principal;
  const list = useLoad(() => all<AccessKey>(`/v1/principals/${enc(p.id)}/access-keys`), [p.id]);
  const [created, setCreated] = useState<NewAccessKey | null>(null);
  const [target, setTarget] = useState<AccessKey | null>(null);
  const [done, setDone] = useState<string | null>(null);
  // Nobody but the root makes or revokes the root's access keys (one made for the root would act as the root).
  const othersRoot = p.isRoot && !props.session.principal.isRoot;
  // A deleted principal's access keys are all revoked, and it can be given none: listed for the record only.
  const closed = othersRoot || p.deletedAt !== null;
  const items = usableFirst(list.data ?? []);

  const create = useAction(async () => {
    setDone(null);
    setCreated(await api<NewAccessKey>('POST', `/v1/principals/${enc(p.id)}/access-keys`));
    list.reload();
  });
  const revoke = useAction(async (k: AccessKey) => {
    const res = await api<{ revoked: boolean }>('DELETE', `/v1/principals/${enc(p.id)}/access-keys/${enc(k.accessKeyId)}`);
    setTarget(null);
    setDone(res.revoked ? `Revoked access key ${k.accessKeyId}: requests signed with it are refused from now on.` : `Access key ${k.accessKeyId} was already revoked.`);
    list.reload();
  });

  return (
    <section aria-labelledby={`keys-${p.id}`}>
      <h2 id={`keys-${p.id}`}>Access keys</h2>
      <p class="hint">AccessKey ID and secret pairs for the official Alibaba Cloud (ACK, ASM) and Huawei Cloud (CCE) SDKs pointed at kubecred. Revoking one refuses its signatures at once.</p>
      {othersRoot && <p class="notice" role="note">These are the account root's access keys: only the root may create or revoke them, and kubecred refuses anyone else.</p>}
      {created && (
        <SecretOnce id="new-access-key" title={`New access key ${created.accessKeyId}`} onDone={() => setCreated(null)} secrets={[
          { label: 'AccessKey ID', copy: 'Copy the AccessKey ID', value: created.accessKeyId },
          { label: 'AccessKey secret', copy: 'Copy the AccessKey secret', value: created.accessKeySecret },
        ]}>
          <p class="hint">Give both to the SDK as its access key ID and secret (Huawei Cloud: AK and SK), with kubecred as its endpoint.</p>
        </SecretOnce>
      )}
      {!closed && (
        <p><button type="button" onClick={() => void create.run()} disabled={create.busy}>{create.busy ? 'Creating…' : 'Create an access key'}</button></p>
      )}
      <ErrorNotice error={create.error} />
      {done && <p class="notice notice-ok" role="status">{done}</p>}
      <ErrorNotice error={list.error} onRetry={list.reload} />
      {list.loading && !list.data && <Loading what="access keys" />}
      {list.data && items.length === 0 && <Empty><p>{p.name} has no access key.</p></Empty>}
      {items.length > 0 && (
        <div class="table-wrap">
          <table class="stack">
            <caption class="visually-hidden">Access keys of {p.name}</caption>
            <thead><tr><th scope="col">AccessKey ID</th><th scope="col">State</th><th scope="col">Created</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>
              {items.map((k) => (
                <tr key={k.accessKeyId} data-access-key={k.accessKeyId}>
                  <th scope="row" class="mono">{k.accessKeyId}</th>
                  <td data-label="State"><StateSince status={k.status} at={k.revokedAt} /></td>
                  <td data-label="Created"><Time iso={k.createdAt} /><MadeBy by={k.createdBy} holder={p.id} /></td>
                  <td class="row-actions">
                    {k.status === 'active' && !closed && (
                      <button type="button" class="danger" onClick={() => { setDone(null); revoke.setError(null); setTarget(k); }} aria-label={`Revoke access key ${k.accessKeyId}`}>Revoke</button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ConfirmDialog open={target !== null} danger title={`Revoke access key ${target?.accessKeyId ?? ''}?`} confirmLabel="Revoke access key"
        busy={revoke.busy} onCancel={() => { setTarget(null); revoke.setError(null); }} onConfirm={() => target && void revoke.run(target)}>
        <p>
          Requests signed with access key <span class="mono">{target?.accessKeyId}</span> of <strong>{p.name}</strong> will be refused from now on: the
          SDKs and scripts that use it stop working. This cannot be undone.
        </p>
        <ErrorNotice error={revoke.error} />
      </ConfirmDialog>
    </section>
  );
}
