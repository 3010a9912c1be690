// Who holds kubeconfigs on a cluster, one row per principal: the certificate state, when it expires (or ended),
// which kinds, whether it can be revoked, and revocation (all of a holder's, or one kubeconfig) behind a confirmation.

import { useState } from 'preact/hooks';
import { api, enc, query } from '../api.ts';
import { ErrorNotice } from '../errors.tsx';
import { useAction, useLoad } from '../hooks.ts';
import type { Cluster, Credential, HolderSummary, KubeconfigSummary, Page } from '../types.ts';
import { Badge, ConfirmDialog, Empty, Loading, Time } from '../ui.tsx';

/** A summary row with the principal's name, from the summary itself (however many principals the account has). */
export interface Holder extends HolderSummary { name: string }

/** Still revocable one by one: active, or superseded, and not yet expired. */
const revocable = (c: Credential, now: number) => (c.status === 'active' || c.status === 'superseded') && Date.parse(c.notAfter) > now;
/** A kubeconfig just revoked was usable until then: not superseded before, and not yet at its end. */
const wasUsable = (k: Credential) => k.supersededAt === null && k.revokedAt !== null && Date.parse(k.notAfter) > Date.parse(k.revokedAt);
const rank = { active: 0, expired: 1, revoked: 2 };
const PAGE = 50;

export function KubeconfigStates(props: { cluster: Cluster }) {
  const c = props.cluster;
  // The server counts every kubeconfig with GROUP BY: a holder is never left out because another was issued thousands.
  const data = useLoad(async () => ({ summary: await api<KubeconfigSummary>('GET', `/v1/clusters/${enc(c.id)}/kubeconfig-summary`) }), [c.id]);
  // Bumped after a revocation, so the open lists under holders' names load again.
  const [version, setVersion] = useState(0);
  const [target, setTarget] = useState<Holder | null>(null);
  const [reason, setReason] = useState('');
  const [done, setDone] = useState<string | null>(null);
  const revoke = useAction(async (h: Holder) => {
    const res = await api<{ revoked: Credential[] }>('POST', `/v1/clusters/${enc(c.id)}/revocations`, { principalId: h.principalId, ...(reason.trim() ? { reason: reason.trim() } : {}) });
    setTarget(null);
    setReason('');
    // The revocation also marks expired and superseded ones revoked: the dialog counted the usable ones, so does this.
    const stopped = res.revoked.filter(wasUsable).length;
    const ended = res.revoked.length - stopped;
    setDone(`${stopped} usable kubeconfig${stopped === 1 ? '' : 's'} of ${h.name} on ${c.name} stopped working`
      + (ended ? `; ${ended} already expired or superseded ${ended === 1 ? 'was' : 'were'} marked revoked too.` : '.'));
    setVersion((v) => v + 1);
    data.reload();
  });

  // One kubeconfig of a holder (a leaked temporary one, say): the others stay valid.
  const [single, setSingle] = useState<{ holder: Holder; cred: Credential } | null>(null);
  const revokeOne = useAction(async (t: { holder: Holder; cred: Credential }) => {
    const res = await api<{ revoked: boolean; credential: Credential }>('POST', `/v1/credentials/${enc(t.cred.id)}/revoke`, reason.trim() ? { reason: reason.trim() } : {});
    setSingle(null);
    setReason('');
    setDone(res.revoked
      ? `Revoked ${t.cred.kind} kubeconfig ${t.cred.serial.slice(0, 16)} of ${t.holder.name} on ${c.name}; their other kubeconfigs stay valid.`
      : `Kubeconfig ${t.cred.serial.slice(0, 16)} of ${t.holder.name} was already ${res.credential.status}.`);
    setVersion((v) => v + 1);
    data.reload();
  });

  const rows: Holder[] = data.data
    ? data.data.summary.holders.map((h) => ({ ...h, name: h.principalName }))
      .sort((a, b) => rank[a.state] - rank[b.state] || a.name.localeCompare(b.name))
    : [];
  return (
    <>
      <p class="hint">Every principal that was ever issued a kubeconfig for this cluster. Revoking ends all of a principal's kubeconfigs here and resets any custom validity; they can then fetch a new one. To end just one (a leaked temporary kubeconfig, say), open the list under the principal's name and choose <em>Revoke this one</em>.</p>
      {done && <p class="notice notice-ok" role="status">{done}</p>}
      <ErrorNotice error={data.error} onRetry={data.reload} />
      {data.loading && <Loading what="kubeconfig states" />}
      {data.data && rows.length === 0 && <Empty><p>No kubeconfig was issued for {c.name} yet.</p></Empty>}
      {rows.length > 0 && (
        <div class="table-wrap">
          <table class="stack">
            <caption class="visually-hidden">Kubeconfig states on {c.name}</caption>
            <thead>
              <tr><th scope="col">Principal</th><th scope="col">Certificate state</th><th scope="col">Expiry</th><th scope="col">Kind</th><th scope="col">Revokable</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr>
            </thead>
            <tbody>
              {rows.map((h) => (
                <tr key={h.principalId} data-principal={h.principalId}>
                  <th scope="row">
                    {h.name}{h.principalDeleted && <span class="small muted"> (deleted)</span>}
                    <HolderKubeconfigs cluster={c} holder={h} version={version}
                      onRevoke={(k) => { setDone(null); revokeOne.setError(null); setSingle({ holder: h, cred: k }); }} />
                  </th>
                  <td data-label="State"><Badge status={h.state} /></td>
                  <td data-label="Expiry">
                    {/* Only a usable holder's date is an expiry to come; a revoked one's access ended at the revocation. */}
                    {h.state === 'active' && <Time iso={h.lastExpiry} rel />}
                    {h.state === 'expired' && <>Ended <Time iso={h.lastExpiry} rel /></>}
                    {h.state === 'revoked' && <>Ended when revoked<div class="small muted">certificate's end: <Time iso={h.lastExpiry} /></div></>}
                    {h.usable > 1 && h.nextExpiry && h.nextExpiry !== h.lastExpiry && <div class="small muted">next: <Time iso={h.nextExpiry} rel /></div>}
                  </td>
                  <td data-label="Kind">{h.kinds.join(', ')}</td>
                  <td data-label="Revokable">{h.usable ? `Yes (${h.usable} usable)` : 'No'}</td>
                  <td class="row-actions">{h.usable > 0 && <button type="button" class="danger" onClick={() => { setDone(null); revoke.setError(null); setTarget(h); }} aria-label={`Revoke kubeconfigs of ${h.name}`}>Revoke</button>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ConfirmDialog open={target !== null} danger title={`Revoke ${target?.name ?? ''}'s kubeconfigs?`} confirmLabel="Revoke"
        busy={revoke.busy} onCancel={() => { setTarget(null); revoke.setError(null); }} onConfirm={() => target && void revoke.run(target)}>
        <p>
          {target?.usable} usable kubeconfig{target?.usable === 1 ? '' : 's'} of <strong>{target?.name}</strong> on <strong>{c.name}</strong> will
          stop working (within the webhook's cache time where the cluster asks kubecred). Any custom validity is reset. This cannot be undone.
        </p>
        <div class="field">
          <label for="revoke-reason">Reason <span class="muted">(optional, kept in the audit log)</span></label>
          <input id="revoke-reason" maxLength={500} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
        </div>
        <ErrorNotice error={revoke.error} />
      </ConfirmDialog>
      <ConfirmDialog open={single !== null} danger title={`Revoke this kubeconfig of ${single?.holder.name ?? ''}?`} confirmLabel="Revoke kubeconfig"
        busy={revokeOne.busy} onCancel={() => { setSingle(null); revokeOne.setError(null); }} onConfirm={() => single && void revokeOne.run(single)}>
        <p>
          The {single?.cred.kind} kubeconfig with serial <span class="mono">{single?.cred.serial.slice(0, 16)}</span> of <strong>{single?.holder.name}</strong> on <strong>{c.name}</strong> will
          stop working (within the webhook's cache time where the cluster asks kubecred). Their other kubeconfigs stay as they are{single?.cred.kind === 'default' ? '; a custom validity is reset, as with every revocation of a default kubeconfig' : ', and so does any custom validity'}. This cannot be undone.
        </p>
        <div class="field">
          <label for="revoke-one-reason">Reason <span class="muted">(optional, kept in the audit log)</span></label>
          <input id="revoke-one-reason" maxLength={500} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
        </div>
        <ErrorNotice error={revokeOne.error} />
      </ConfirmDialog>
    </>
  );
}

/**
 * The list under a holder's name, newest first, loaded when opened and a page at a time (a CI role may hold thousands),
 * each usable one with "Revoke this one".
 */
function HolderKubeconfigs(props: { cluster: Cluster; holder: Holder; version: number; onRevoke(k: Credential): void }) {
  const { holder: h } = props;
  const [open, setOpen] = useState(false);
  return (
    <details class="small" onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>{h.total} kubeconfig{h.total === 1 ? '' : 's'}</summary>
      {open && <HolderList key={props.version} {...props} />}
    </details>
  );
}

function HolderList(props: { cluster: Cluster; holder: Holder; onRevoke(k: Credential): void }) {
  const { cluster: c, holder: h } = props;
  const path = (cursor: string | null) => `/v1/credentials${query({ cluster: c.id, principal: h.principalId, limit: PAGE, cursor })}`;
  const first = useLoad(() => api<Page<Credential>>('GET', path(null)), [c.id, h.principalId]);
  const [more, setMore] = useState<Page<Credential> | null>(null);
  const [moreError, setMoreError] = useState<unknown>(null);
  const items = [...(first.data?.items ?? []), ...(more?.items ?? [])];
  const next = more ? more.next : first.data?.next ?? null;
  const loadMore = async () => {
    try {
      const p = await api<Page<Credential>>('GET', path(next));
      setMore({ items: [...(more?.items ?? []), ...p.items], next: p.next });
    } catch (e) {
      setMoreError(e);
    }
  };
  const now = Date.now();
  return (
    <>
      <ErrorNotice error={first.error} onRetry={first.reload} />
      {first.loading && <Loading what={`the kubeconfigs of ${h.name}`} />}
      <ul class="plain">
        {items.map((k) => (
          <li key={k.id}>
            <Badge status={k.status} /> {k.kind}, serial <span class="mono">{k.serial.slice(0, 16)}</span>, until <Time iso={k.notAfter} />
            {k.revokeReason && <span class="muted"> — {k.revokeReason}</span>}
            {revocable(k, now) && (
              <> <button type="button" class="link danger" onClick={() => props.onRevoke(k)}
                aria-label={`Revoke ${k.kind} kubeconfig ${k.serial.slice(0, 16)} of ${h.name}`}>Revoke this one</button></>
            )}
          </li>
        ))}
      </ul>
      <ErrorNotice error={moreError} />
      {next && <button type="button" class="link" onClick={loadMore}>Show older ones ({Math.max(0, h.total - items.length)} more)</button>}
    </>
  );
}
