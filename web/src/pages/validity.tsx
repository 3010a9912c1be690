// Custom validity of a principal's default kubeconfig on a cluster (1 to 876000 hours). Only the
// account's root may set it: the tab is shown to the root only, and the server refuses anyone else.

import { useState } from 'preact/hooks';
import { all, api, enc } from '../api.ts';
import { ErrorNotice } from '../errors.tsx';
import { hoursInWords } from '../format.ts';
import { useAction, useLoad } from '../hooks.ts';
import type { Cluster, Credential, Principal } from '../types.ts';
import { Loading, Time } from '../ui.tsx';

interface Validity { hours: number | null; setBy: string | null; setAt: string | null }

export function ValidityForm(props: { cluster: Cluster; isRoot: boolean }) {
  const c = props.cluster;
  const principals = useLoad(() => all<Principal>('/v1/principals').catch(() => [] as Principal[]), []);
  const list = principals.data ?? [];
  const [principal, setPrincipal] = useState('');
  const [hours, setHours] = useState('720');
  const [done, setDone] = useState<string | null>(null);
  // Only for a principal picked from the list: a name being typed is not looked up at every keystroke.
  const current = useLoad(() => (principal && list.length ? api<Validity>('GET', `/v1/clusters/${enc(c.id)}/validity/${enc(principal)}`) : Promise.resolve(null)), [c.id, principal, list.length]);
  const save = useAction(async () => {
    setDone(null);
    const res = await api<{ superseded: Credential[] }>('PUT', `/v1/clusters/${enc(c.id)}/validity/${enc(principal)}`, { hours: Number(hours) });
    setDone(`Saved: ${hoursInWords(Number(hours))}. ${res.superseded.length ? `${res.superseded.length} current default kubeconfig was superseded; the next download gets the new validity.` : 'The next default kubeconfig gets this validity.'}`);
    current.reload();
  });

  return (
    <>
      {!props.isRoot && (
        <p class="notice" role="note">Only the account's root may set a custom validity; kubecred will refuse it for you.</p>
      )}
      <p class="hint">A custom validity replaces the 3-year default for one principal's default kubeconfig on {c.name}. Setting it supersedes the current one; a revocation resets it.</p>
      <form class="form" onSubmit={(e) => { e.preventDefault(); void save.run(); }}>
        <div class="field">
          <label for="v-principal">Principal</label>
          {principals.loading ? <Loading what="principals" /> : list.length > 0 ? (
            <select id="v-principal" required value={principal} onChange={(e) => setPrincipal(e.currentTarget.value)}>
              <option value="">Choose a principal…</option>
              {list.map((p) => <option key={p.id} value={p.id}>{p.name}</option>)}
            </select>
          ) : (
            <input id="v-principal" required placeholder="principal ID or name" value={principal} onInput={(e) => setPrincipal(e.currentTarget.value.trim())} />
          )}
        </div>
        {principal && current.data && (
          <p class="hint" role="status">
            Now: {current.data.hours ? <>{hoursInWords(current.data.hours)}, set <Time iso={current.data.setAt} /></> : 'the 3-year default'}.
          </p>
        )}
        <ErrorNotice error={current.error} />
        <div class="field">
          <label for="v-hours">Validity in hours</label>
          <p class="hint" id="v-hours-hint">From 1 to 876000 (100 years). {Number(hours) > 0 && `That is ${hoursInWords(Number(hours))}.`}</p>
          <input id="v-hours" type="number" required min={1} max={876000} step={1} aria-describedby="v-hours-hint" value={hours} onInput={(e) => setHours(e.currentTarget.value)} />
        </div>
        {done && <p class="notice notice-ok" role="status">{done}</p>}
        <ErrorNotice error={save.error} />
        <button type="submit" class="primary" disabled={save.busy || !principal}>{save.busy ? 'Saving…' : 'Set validity'}</button>
      </form>
    </>
  );
}
