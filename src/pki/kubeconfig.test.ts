// renderKubeconfig output read back by kubectl itself.
// Must never judge the YAML only by parsing it ourselves.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderKubeconfig } from './kubeconfig.ts';
import { kubectl, scratch } from './testkit.ts';

const s = scratch();
const CERT = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIGHfake\n-----END PRIVATE KEY-----\n';
const CA = '-----BEGIN CERTIFICATE-----\nMIICafake\n-----END CERTIFICATE-----\n';
const b64 = (t: string) => Buffer.from(t).toString('base64');

function view(yamlText: string, name: string) {
  return JSON.parse(kubectl(['config', 'view', '--kubeconfig', s.file(name, yamlText), '--raw', '-o', 'json']));
}

test('kubectl reads the kubeconfig with server, user, context and data intact', () => {
  const text = renderKubeconfig({
    clusterName: 'prod-eu', server: 'https://10.0.0.1:6443', certificateAuthorityPem: CA,
    userName: 'alice@prod-eu', contextName: 'alice@prod-eu', clientCertificatePem: CERT, clientKeyPem: KEY,
  });
  const cfg = view(text, 'full.yaml');
  assert.equal(cfg['current-context'], 'alice@prod-eu');
  assert.equal(cfg.clusters[0].name, 'prod-eu');
  assert.equal(cfg.clusters[0].cluster.server, 'https://10.0.0.1:6443');
  assert.equal(cfg.clusters[0].cluster['certificate-authority-data'], b64(CA));
  assert.equal(cfg.users[0].name, 'alice@prod-eu');
  assert.equal(cfg.users[0].user['client-certificate-data'], b64(CERT));
  assert.equal(cfg.users[0].user['client-key-data'], b64(KEY));
  assert.deepEqual(cfg.contexts[0], { name: 'alice@prod-eu', context: { cluster: 'prod-eu', user: 'alice@prod-eu' } });
});

test('the CSR case omits client-key-data, and odd names survive YAML quoting', () => {
  const text = renderKubeconfig({
    clusterName: 'yes', server: 'https://k8s.example:443', userName: '#bob: "x"', contextName: 'on',
    clientCertificatePem: CERT,
  });
  assert.doesNotMatch(text, /client-key-data/);
  assert.doesNotMatch(text, /certificate-authority-data/);
  const cfg = view(text, 'csr.yaml');
  assert.equal(cfg.users[0].name, '#bob: "x"');
  assert.equal(cfg['current-context'], 'on');
  assert.equal(cfg.clusters[0].name, 'yes');
  assert.equal(cfg.users[0].user['client-key-data'], undefined);
  assert.equal(cfg.users[0].user['client-certificate-data'], b64(CERT));
});
