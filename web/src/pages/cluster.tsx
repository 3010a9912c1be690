// One cluster: its endpoints and client CA, who holds kubeconfigs on it, when they expire, (for the
// account's root) custom validity, and its webhook tokens. Each view is a tab with its own address.

import { api, enc } from '../api.ts';
import { ErrorNotice } from '../errors.tsx';
import { useLoad } from '../hooks.ts';
import { Link } from '../router.tsx';
import type { Cluster, Session } from '../types.ts';
import { CopyButton, DownloadButton, Loading, PageTitle, Time } from '../ui.tsx';
import { ExpiryChart } from './expiry-chart.tsx';
import { KubeconfigStates } from './kubeconfig-states.tsx';
import { ValidityForm } from './validity.tsx';
import { WebhookTokens } from './webhook-tokens.tsx';

const TABS = [
  { key: 'overview', label: 'Overview', path: '' },
  { key: 'states', label: 'Kubeconfig states', path: '/states' },
  { key: 'expiry', label: 'Expiry chart', path: '/expiry' },
  { key: 'validity', label: 'Custom validity', path: '/validity', rootOnly: true },
  { key: 'webhook-tokens', label: 'Webhook tokens', path: '/webhook-tokens' },
];

export function ClusterPage(props: { id: string; tab: string; session: Session }) {
  const cluster = useLoad(() => api<Cluster>('GET', `/v1/clusters/${enc(props.id)}`), [props.id]);
  const c = cluster.data;
  const isRoot = props.session.principal.isRoot;
  const tab = TABS.find((t) => t.key === props.tab);

  if (cluster.loading && !c) return <Loading what="the cluster" />;
  if (!c) return <section><PageTitle sub={<Link href="/clusters">← All clusters</Link>}>Cluster</PageTitle><ErrorNotice error={cluster.error} onRetry={cluster.reload} /></section>;

  return (
    <section>
      <PageTitle sub={<><Link href="/clusters">← All clusters</Link> · <span class="mono">{c.id}</span></>}>{`Cluster ${c.name}`}</PageTitle>
      <nav class="tabs" aria-label="Cluster views">
        {/* Custom validity is the root's business: others do not get the tab (the server refuses them anyway). */}
        {TABS.filter((t) => !t.rootOnly || isRoot).map((t) => (
          <Link key={t.key} href={`/clusters/${c.id}${t.path}`} current={t.key === props.tab}>{t.label}</Link>
        ))}
      </nav>
      {!tab && <p>No such view. <Link href={`/clusters/${c.id}`}>Back to the overview</Link>.</p>}
      {tab?.key === 'overview' && <Overview cluster={c} />}
      {tab?.key === 'states' && <KubeconfigStates cluster={c} />}
      {tab?.key === 'expiry' && <ExpiryChart cluster={c} />}
      {tab?.key === 'validity' && <ValidityForm cluster={c} isRoot={isRoot} />}
      {tab?.key === 'webhook-tokens' && <WebhookTokens cluster={c} />}
    </section>
  );
}

function Overview(props: { cluster: Cluster }) {
  const c = props.cluster;
  return (
    <>
      <dl class="facts">
        <dt>Kind</dt><dd>{c.kind}</dd>
        <dt>Region</dt><dd>{c.region}</dd>
        <dt>Public endpoint</dt><dd class="mono">{c.publicEndpoint ?? <span class="muted">none</span>}</dd>
        <dt>Private endpoint</dt><dd class="mono">{c.privateEndpoint ?? <span class="muted">none</span>}</dd>
        <dt>Kubeconfigs carry</dt><dd>{c.credentialType === 'x509' ? 'client certificates' : 'bearer tokens (TokenReview webhook)'}</dd>
        <dt>Client CA</dt><dd>{c.clientCaSource}, {c.clientCaAlgorithm}</dd>
        <dt>API server CA</dt><dd>{c.serverCaPem ? 'set' : <span class="muted">not set (kubectl uses the system's trust)</span>}</dd>
        <dt>Registered</dt><dd><Time iso={c.createdAt} /></dd>
      </dl>
      <p><Link href={`/kubeconfig?cluster=${enc(c.id)}`} class="button primary">Get my kubeconfig for {c.name}</Link></p>
      <h2>Client CA certificate</h2>
      <p class="hint">Append it to kube-apiserver's <code>--client-ca-file</code> so the cluster trusts the certificates kubecred issues.</p>
      <div class="actions">
        <DownloadButton text={c.clientCaPem} filename={`${c.name}-client-ca.pem`} label="Download client CA" />
        <CopyButton text={c.clientCaPem} label="Copy client CA" />
      </div>
      <pre class="pem" tabIndex={0} aria-label="Client CA certificate">{c.clientCaPem}</pre>
    </>
  );
}
