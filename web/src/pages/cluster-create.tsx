// Registering a cluster: its endpoints, the CA bundle that clients trust for its API server, and a
// client CA that kubecred generates or that you import (certificate and key, sent once, kept sealed).

import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { ErrorNotice } from '../errors.tsx';
import { useAction } from '../hooks.ts';
import { Link, navigate } from '../router.tsx';
import type { Cluster } from '../types.ts';
import { PageTitle, PemField } from '../ui.tsx';

export function ClusterCreatePage() {
  const [f, setF] = useState({
    name: '', kind: 'kubernetes', region: '', publicEndpoint: '', privateEndpoint: '', serverCaPem: '',
    caMode: 'generate', clientCaAlgorithm: 'ec-p256', clientCaCertPem: '', clientCaKeyPem: '', credentialType: 'x509',
  });
  const set = (k: keyof typeof f) => (v: string) => setF({ ...f, [k]: v });
  const create = useAction(async () => {
    const body: Record<string, unknown> = { name: f.name.trim(), kind: f.kind, credentialType: f.credentialType };
    if (f.region.trim()) body.region = f.region.trim();
    if (f.publicEndpoint.trim()) body.publicEndpoint = f.publicEndpoint.trim();
    if (f.privateEndpoint.trim()) body.privateEndpoint = f.privateEndpoint.trim();
    if (f.serverCaPem.trim()) body.serverCaPem = f.serverCaPem.trim();
    if (f.caMode === 'import') {
      body.clientCaCertPem = f.clientCaCertPem.trim();
      body.clientCaKeyPem = f.clientCaKeyPem.trim();
    } else {
      body.clientCaAlgorithm = f.clientCaAlgorithm;
    }
    const c = await api<Cluster>('POST', '/v1/clusters', body);
    // The imported key is not kept in the page once the server has it.
    setF({ ...f, clientCaKeyPem: '' });
    navigate(`/clusters/${c.id}`);
  });

  return (
    <section>
      <PageTitle sub={<Link href="/clusters">← All clusters</Link>}>Register a cluster</PageTitle>
      <form class="form" onSubmit={(e) => { e.preventDefault(); void create.run(); }}>
        <div class="field">
          <label for="c-name">Name</label>
          <p class="hint" id="c-name-hint">Lowercase letters, digits and dashes, e.g. <code>prod-eu</code>.</p>
          <input id="c-name" required maxLength={63} aria-describedby="c-name-hint" value={f.name} onInput={(e) => set('name')(e.currentTarget.value)} />
        </div>
        <div class="row">
          <div class="field">
            <label for="c-kind">Kind</label>
            <select id="c-kind" value={f.kind} onChange={(e) => set('kind')(e.currentTarget.value)}>
              <option value="kubernetes">Kubernetes cluster</option>
              <option value="service-mesh">Service mesh</option>
            </select>
          </div>
          <div class="field">
            <label for="c-region">Region <span class="muted">(optional)</span></label>
            <input id="c-region" maxLength={63} value={f.region} onInput={(e) => set('region')(e.currentTarget.value)} />
          </div>
        </div>
        <fieldset>
          <legend>API server endpoints</legend>
          <p class="hint">At least one, each <code>https://host:port</code>. People pick which one goes in their kubeconfig.</p>
          <div class="field">
            <label for="c-public">Public endpoint</label>
            <input id="c-public" type="url" inputMode="url" placeholder="https://203.0.113.10:6443" value={f.publicEndpoint} onInput={(e) => set('publicEndpoint')(e.currentTarget.value)} />
          </div>
          <div class="field">
            <label for="c-private">Private endpoint</label>
            <input id="c-private" type="url" inputMode="url" placeholder="https://10.0.0.10:6443" value={f.privateEndpoint} onInput={(e) => set('privateEndpoint')(e.currentTarget.value)} />
          </div>
        </fieldset>
        <PemField id="c-server-ca" label="API server CA bundle (optional)" hint="What kubectl trusts for the API server's certificate, e.g. /etc/kubernetes/pki/ca.crt."
          value={f.serverCaPem} onInput={set('serverCaPem')} />
        <fieldset>
          <legend>Client CA (signs the certificates kubecred issues)</legend>
          <div class="choices">
            <label><input type="radio" name="ca-mode" value="generate" checked={f.caMode === 'generate'} onChange={() => set('caMode')('generate')} /> Generate a new one</label>
            <label><input type="radio" name="ca-mode" value="import" checked={f.caMode === 'import'} onChange={() => set('caMode')('import')} /> Import mine</label>
          </div>
          {f.caMode === 'generate' ? (
            <div class="field">
              <label for="c-alg">Key algorithm</label>
              <select id="c-alg" value={f.clientCaAlgorithm} onChange={(e) => set('clientCaAlgorithm')(e.currentTarget.value)}>
                <option value="ec-p256">EC P-256 (recommended)</option>
                <option value="rsa-2048">RSA 2048</option>
              </select>
              <p class="hint">Afterwards, append the CA certificate to kube-apiserver's <code>--client-ca-file</code>.</p>
            </div>
          ) : (
            <>
              <PemField id="c-ca-cert" label="CA certificate (PEM)" required value={f.clientCaCertPem} onInput={set('clientCaCertPem')} />
              <PemField id="c-ca-key" label="CA private key (PEM)" hint="Sent once over this connection and stored sealed under the server's master key."
                required value={f.clientCaKeyPem} onInput={set('clientCaKeyPem')} />
            </>
          )}
        </fieldset>
        <div class="field">
          <label for="c-type">Kubeconfigs carry</label>
          <select id="c-type" value={f.credentialType} onChange={(e) => set('credentialType')(e.currentTarget.value)}>
            <option value="x509">Client certificates</option>
            <option value="token">Bearer tokens (checked by the TokenReview webhook)</option>
          </select>
        </div>
        <ErrorNotice error={create.error} />
        <div class="actions">
          <button type="submit" class="primary" disabled={create.busy}>{create.busy ? 'Registering…' : 'Register cluster'}</button>
          <Link href="/clusters" class="button">Cancel</Link>
        </div>
      </form>
    </section>
  );
}
