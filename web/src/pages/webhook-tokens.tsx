// A cluster's webhook tokens, which its kube-apiserver presents to kubecred's webhooks: listed without their
// secrets, created with the secret shown once, revoked after confirming (the cluster needs another one first).

import { useState } from 'preact/hooks';
import { all, api, enc } from '../api.ts';
import { ErrorNotice } from '../errors.tsx';
import { useAction, useLoad } from '../hooks.ts';
import { SecretOnce, StateSince, usableFirst } from '../secrets.tsx';
import type { Cluster, NewWebhookToken, WebhookToken } from '../types.ts';
import { ConfirmDialog, Empty, Loading, Time } from '../ui.tsx';

/** `kcw1.<token id>.<secret>`: the creation answer names the token only inside the token itself. */
const tokenIdOf = (token: string) => token.split('.')[1] ?? '';

export function WebhookTokens(props: { cluster: Cluster }) {
  const c = props.cluster;
  const list = useLoad(() => all<WebhookToken>(`/v1/clusters/${enc(c.id)}/webhook-tokens`), [c.id]);
  const [created, setCreated] = useState<NewWebhookToken | null>(null);
  const [target, setTarget] = useState<WebhookToken | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const items = usableFirst(list.data ?? []);
  const othersActive = target ? items.filter((t) => t.status === 'active' && t.id !== target.id).length : 0;

  const create = useAction(async () => {
    setDone(null);
    setCreated(await api<NewWebhookToken>('POST', `/v1/clusters/${enc(c.id)}/webhook-tokens`));
    list.reload();
  });
  const revoke = useAction(async (t: WebhookToken) => {
    const res = await api<{ revoked: boolean }>('DELETE', `/v1/clusters/${enc(c.id)}/webhook-tokens/${enc(t.id)}`);
    setTarget(null);
    setDone(res.revoked ? `Revoked webhook token ${t.id}: kubecred refuses it from now on (other replicas within a second).` : `Webhook token ${t.id} was already revoked.`);
    list.reload();
  });

  return (
    <>
      <p class="hint">
        The bearer tokens {c.name}'s kube-apiserver presents to kubecred's webhooks (revocation checks{c.credentialType === 'token' && ' and token reviews'}).{' '}
        <code>kubecred cluster kube-config {c.name} --out DIR</code> issues one and writes the files that use it; a token made here goes in
        the <code>token</code> of those webhook kubeconfigs.
      </p>
      {created && (
        <SecretOnce id="new-webhook-token" title={`New webhook token ${tokenIdOf(created.token)}`} onDone={() => setCreated(null)}
          secrets={[{ label: 'Webhook token', copy: 'Copy the webhook token', value: created.token }]}>
          <p class="hint">Put it in <code>users[0].user.token</code> of <code>authz-webhook.kubeconfig</code>{c.credentialType === 'token' && <> and <code>authn-webhook.kubeconfig</code></>} on every control-plane node of {c.name}. It is valid for this cluster only.</p>
        </SecretOnce>
      )}
      <p><button type="button" onClick={() => void create.run()} disabled={create.busy}>{create.busy ? 'Creating…' : 'Create a webhook token'}</button></p>
      <ErrorNotice error={create.error} />
      {done && <p class="notice notice-ok" role="status">{done}</p>}
      <ErrorNotice error={list.error} onRetry={list.reload} />
      {list.loading && !list.data && <Loading what="webhook tokens" />}
      {list.data && items.length === 0 && <Empty><p>{c.name} has no webhook token: its kube-apiserver does not ask kubecred yet.</p></Empty>}
      {items.length > 0 && (
        <div class="table-wrap">
          <table class="stack">
            <caption class="visually-hidden">Webhook tokens of {c.name}</caption>
            <thead><tr><th scope="col">Token</th><th scope="col">State</th><th scope="col">Created</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>
              {items.map((t) => (
                <tr key={t.id} data-webhook-token={t.id}>
                  <th scope="row" class="mono">{t.id}</th>
                  <td data-label="State"><StateSince status={t.status} at={t.revokedAt} /></td>
                  <td data-label="Created"><Time iso={t.createdAt} /></td>
                  <td class="row-actions">
                    {t.status === 'active' && (
                      <button type="button" class="danger" onClick={() => { setDone(null); revoke.setError(null); setTarget(t); }} aria-label={`Revoke webhook token ${t.id}`}>Revoke</button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ConfirmDialog open={target !== null} danger title={`Revoke webhook token ${target?.id ?? ''}?`} confirmLabel="Revoke webhook token"
        busy={revoke.busy} onCancel={() => { setTarget(null); revoke.setError(null); }} onConfirm={() => target && void revoke.run(target)}>
        <p>
          kubecred will refuse {c.name}'s kube-apiserver when it presents <span class="mono">{target?.id}</span>. Install a webhook kubeconfig with
          another token on every control-plane node first: until then its kube-apiserver meets the webhooks' failurePolicy (with the <code>Deny</code> that
          kube-config writes, the requests it would have asked kubecred about are refused). This cannot be undone.
        </p>
        {target && othersActive === 0 && <p class="notice notice-warn" role="note">This is {c.name}'s only active webhook token.</p>}
        <ErrorNotice error={revoke.error} />
      </ConfirmDialog>
    </>
  );
}
