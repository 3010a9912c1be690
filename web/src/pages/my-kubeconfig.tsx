// "My kubeconfig": the default one (the same one each time, until renewal) or a temporary one of 15
// to 4320 minutes, for the public or the private endpoint, to download or copy. Nothing is stored here.

import { useEffect, useRef, useState } from 'preact/hooks';
import { all, api, enc } from '../api.ts';
import { ErrorNotice } from '../errors.tsx';
import { minutesInWords } from '../format.ts';
import { useForgetOnPageHide } from '../secrets.tsx';
import { useAction, useLoad } from '../hooks.ts';
import type { Cluster, IssuedKubeconfig } from '../types.ts';
import { CopyButton, DownloadButton, Loading, PageTitle, Time } from '../ui.tsx';

export function MyKubeconfigPage(props: { clusterId: string | null }) {
  const clusters = useLoad(() => all<Cluster>('/v1/clusters'), []);
  const [clusterId, setClusterId] = useState(props.clusterId ?? '');
  const [kind, setKind] = useState<'default' | 'temporary'>('default');
  const [minutes, setMinutes] = useState('60');
  const [endpoint, setEndpoint] = useState<'public' | 'private'>('public');
  const [result, setResult] = useState<{ issued: IssuedKubeconfig; cluster: string; endpoint: string } | null>(null);
  // The kubeconfig holds the private key: never left in a page the back/forward cache keeps.
  useForgetOnPageHide(() => setResult(null));
  const list = clusters.data ?? [];
  const cluster = list.find((c) => c.id === clusterId || c.name === clusterId);

  useEffect(() => {
    if (!clusterId && list.length === 1) setClusterId(list[0].id);
  }, [list.length]);
  useEffect(() => {
    // Pick the endpoint the cluster has, when it has only one.
    if (cluster && !cluster.publicEndpoint && cluster.privateEndpoint) setEndpoint('private');
    if (cluster && cluster.publicEndpoint && !cluster.privateEndpoint) setEndpoint('public');
  }, [cluster?.id]);

  const get = useAction(async () => {
    setResult(null);
    const body: Record<string, unknown> = { endpoint };
    if (kind === 'temporary') body.temporaryMinutes = Number(minutes);
    const issued = await api<IssuedKubeconfig>('POST', `/v1/clusters/${enc(cluster?.id ?? clusterId)}/kubeconfig`, body);
    setResult({ issued, cluster: cluster?.name ?? clusterId, endpoint });
  });
  const m = Number(minutes);

  return (
    <section>
      <PageTitle sub="Your own kubeconfig for a cluster. It holds your private key: keep the file to yourself (mode 600).">My kubeconfig</PageTitle>
      <form class="form" onSubmit={(e) => { e.preventDefault(); void get.run(); }}>
        <div class="field">
          <label for="k-cluster">Cluster</label>
          {clusters.loading ? <Loading what="clusters" /> : clusters.error ? (
            <>
              <input id="k-cluster" required placeholder="cluster ID or name" value={clusterId} onInput={(e) => setClusterId(e.currentTarget.value.trim())} />
              <p class="hint">The cluster list is not available to you; type the cluster's ID or name.</p>
            </>
          ) : list.length === 0 ? (
            <p class="empty" role="status">There is no cluster you may see yet.</p>
          ) : (
            <select id="k-cluster" required value={cluster?.id ?? ''} onChange={(e) => { setClusterId(e.currentTarget.value); setResult(null); }}>
              <option value="">Choose a cluster…</option>
              {list.map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
            </select>
          )}
        </div>
        <fieldset>
          <legend>Kind</legend>
          <div class="choices">
            <label><input type="radio" name="kind" value="default" checked={kind === 'default'} onChange={() => setKind('default')} /> Default <span class="muted">(long-lived; the same one each time you ask)</span></label>
            <label><input type="radio" name="kind" value="temporary" checked={kind === 'temporary'} onChange={() => setKind('temporary')} /> Temporary <span class="muted">(a new key, valid for minutes to days)</span></label>
          </div>
          {kind === 'temporary' && (
            <div class="field">
              <label for="k-minutes">Valid for (minutes)</label>
              <p class="hint" id="k-minutes-hint">From 15 to 4320 (3 days). {m >= 15 && m <= 4320 && Number.isInteger(m) ? `That is ${minutesInWords(m)}.` : ''}</p>
              <input id="k-minutes" type="number" required min={15} max={4320} step={1} aria-describedby="k-minutes-hint" value={minutes} onInput={(e) => setMinutes(e.currentTarget.value)} />
            </div>
          )}
        </fieldset>
        <fieldset>
          <legend>API server address in the kubeconfig</legend>
          <div class="choices">
            <label><input type="radio" name="endpoint" value="public" checked={endpoint === 'public'} disabled={!!cluster && !cluster.publicEndpoint} onChange={() => setEndpoint('public')} /> Public {cluster?.publicEndpoint && <span class="mono muted">{cluster.publicEndpoint}</span>}</label>
            <label><input type="radio" name="endpoint" value="private" checked={endpoint === 'private'} disabled={!!cluster && !cluster.privateEndpoint} onChange={() => setEndpoint('private')} /> Private {cluster?.privateEndpoint && <span class="mono muted">{cluster.privateEndpoint}</span>}</label>
          </div>
        </fieldset>
        <ErrorNotice error={get.error} />
        <button type="submit" class="primary" disabled={get.busy || !clusterId}>{get.busy ? 'Issuing…' : 'Get kubeconfig'}</button>
      </form>
      {result && <Issued {...result} />}
    </section>
  );
}

function Issued(props: { issued: IssuedKubeconfig; cluster: string; endpoint: string }) {
  const k = props.issued;
  const title = useRef<HTMLHeadingElement>(null);
  // Move focus to the answer once, when it arrives, so keyboard users find the download button next.
  useEffect(() => title.current?.focus(), [k.credential.id]);
  const filename = `${props.cluster}${k.credential.kind === 'temporary' ? '-temporary' : ''}.kubeconfig`;
  return (
    <section class="card result" aria-labelledby="issued-title">
      <h2 id="issued-title" tabIndex={-1} ref={title}>Your kubeconfig for {props.cluster}</h2>
      <dl class="facts">
        <dt>Kind</dt><dd>{k.credential.kind}{k.reused && ' (the same one as before)'}</dd>
        <dt>Expires</dt><dd><Time iso={k.expiration} rel /></dd>
        <dt>Endpoint</dt><dd>{props.endpoint}</dd>
        <dt>User name in the cluster</dt><dd class="mono">{k.credential.commonName}</dd>
        <dt>Groups</dt><dd>{k.credential.groups.length ? k.credential.groups.join(', ') : <span class="muted">none</span>}</dd>
        <dt>Serial</dt><dd class="mono">{k.credential.serial}</dd>
      </dl>
      <div class="actions">
        <DownloadButton text={k.kubeconfig} filename={filename} label="Download kubeconfig" primary />
        <CopyButton text={k.kubeconfig} label="Copy kubeconfig" />
      </div>
      <p class="hint">Then: <code>chmod 600 {filename} && kubectl --kubeconfig {filename} get pods</code></p>
      <details>
        <summary>Show the kubeconfig</summary>
        <pre class="pem" tabIndex={0} aria-label="Kubeconfig">{k.kubeconfig}</pre>
      </details>
    </section>
  );
}
