// Who holds kubeconfigs on a cluster, one row per principal: the certificate state, when it expires,
// which kinds, whether it can be revoked, and revocation (all of a holder's, or one kubeconfig) behind a confirmation.

import { useState } from 'preact/hooks';
import { all, api, enc } from '../api.ts';
import { ErrorNotice } from '../errors.tsx';
import { useAction, useLoad } from '../hooks.ts';
import type { Cluster, Credential, CredentialStatus, Principal } from '../types.ts';
import { Badge, ConfirmDialog, Empty, Loading, Time } from '../ui.tsx';

export interface Holder {
  principalId: string;
  name: string;
  state: CredentialStatus;
  expiresAt: string;
  kinds: string[];
  live: Credential[];
  all: Credential[];
}

/** Still usable: active, or superseded but not yet expired (a renewed default keeps working until it ends). */
const usable = (c: Credential, now: number) => (c.status === 'active' || c.status === 'superseded') && Date.parse(c.notAfter) > now;

export function holders(creds: Credential[], names: Map<string, string>, now = Date.now()): Holder[] {
  const by = new Map<string, Credential[]>();
  for (const c of creds) by.set(c.principalId, [...(by.get(c.principalId) ?? []), c]);
  const out: Holder[] = [];
  for (const [principalId, cs] of by) {
    const live = cs.filter((c) => usable(c, now));
    const state: CredentialStatus = live.length ? 'active' : cs.some((c) => c.status !== 'revoked') ? 'expired' : 'revoked';
    const pool = live.length ? live : cs;
    const shown = live.find((c) => c.current) ?? pool.reduce((a, b) => (b.notAfter > a.notAfter ? b : a));
    out.push({ principalId, name: names.get(principalId) ?? principalId, state, expiresAt: shown.notAfter, kinds: [...new Set(pool.map((c) => c.kind))], live, all: cs });
  }
  const rank = { active: 0, superseded: 1, expired: 2, revoked: 3 };
  return out.sort((a, b) => rank[a.state] - rank[b.state] || a.name.localeCompare(b.name));
}

export function KubeconfigStates(props: { cluster: Cluster }) {
  const c = props.cluster;
  const data = useLoad(async () => {
    const [creds, principals] = await Promise.all([
      all<Credential>('/v1/credentials', { cluster: c.id }),
      // Listing principals needs its own permission; without it the table shows principal IDs.
      all<Principal>('/v1/principals').catch(() => [] as Principal[]),
    ]);
    return { creds, names: new Map(principals.map((p) => [p.id, p.name])) };
  }, [c.id]);
  const [target, setTarget] = useState<Holder | null>(null);
  const [reason, setReason] = useState('');
  const [done, setDone] = useState<string | null>(null);
  const revoke = useAction(async (h: Holder) => {
    const res = await api<{ revoked: Credential[] }>('POST', `/v1/clusters/${enc(c.id)}/revocations`, { principalId: h.principalId, ...(reason.trim() ? { reason: reason.trim() } : {}) });
    setTarget(null);
    setReason('');
    setDone(`Revoked ${res.revoked.length} kubeconfig${res.revoked.length === 1 ? '' : 's'} of ${h.name} on ${c.name}.`);
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
    data.reload();
  });

  const rows = data.data ? holders(data.data.creds, data.data.names) : [];
  const now = Date.now();
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
              <tr><th scope="col">Principal</th><th scope="col">Certificate state</th><th scope="col">Expires</th><th scope="col">Kind</th><th scope="col">Revokable</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr>
            </thead>
            <tbody>
              {rows.map((h) => (
                <tr key={h.principalId} data-principal={h.principalId}>
                  <th scope="row">
                    {h.name}
                    <details class="small">
                      <summary>{h.all.length} kubeconfig{h.all.length === 1 ? '' : 's'}</summary>
                      <ul class="plain">
                        {h.all.map((k) => (
                          <li key={k.id}>
                            <Badge status={k.status} /> {k.kind}, serial <span class="mono">{k.serial.slice(0, 16)}</span>, until <Time iso={k.notAfter} />
                            {k.revokeReason && <span class="muted"> — {k.revokeReason}</span>}
                            {usable(k, now) && (
                              <> <button type="button" class="link danger" onClick={() => { setDone(null); revokeOne.setError(null); setSingle({ holder: h, cred: k }); }}
                                aria-label={`Revoke ${k.kind} kubeconfig ${k.serial.slice(0, 16)} of ${h.name}`}>Revoke this one</button></>
                            )}
                          </li>
                        ))}
                      </ul>
                    </details>
                  </th>
                  <td data-label="State"><Badge status={h.state} /></td>
                  <td data-label="Expires"><Time iso={h.expiresAt} rel /></td>
                  <td data-label="Kind">{h.kinds.join(', ')}</td>
                  <td data-label="Revokable">{h.live.length ? `Yes (${h.live.length} usable)` : 'No'}</td>
                  <td class="row-actions">{h.live.length > 0 && <button type="button" class="danger" onClick={() => { setDone(null); revoke.setError(null); setTarget(h); }} aria-label={`Revoke kubeconfigs of ${h.name}`}>Revoke</button>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ConfirmDialog open={target !== null} danger title={`Revoke ${target?.name ?? ''}'s kubeconfigs?`} confirmLabel="Revoke"
        busy={revoke.busy} onCancel={() => { setTarget(null); revoke.setError(null); }} onConfirm={() => target && void revoke.run(target)}>
        <p>
          {target?.live.length} usable kubeconfig{target?.live.length === 1 ? '' : 's'} of <strong>{target?.name}</strong> on <strong>{c.name}</strong> will
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
