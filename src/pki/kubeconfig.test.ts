// renderKubeconfig output read back by kubectl itself.
// Must never judge the YAML only by parsing it ourselves.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderKubeconfig, renderKubeconfigGeneric } from './kubeconfig.ts';
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

test('the direct writer produces exactly the yaml library\'s text, and falls back to it for anything to escape', () => {
  const names = ['prod', 'alice@prod-eu', 'yes', 'on', '0x1', '#bob: "x"', 'a\\b', 'tab\there', 'José', '日本', ' lead', 'trail ', '',
    'x'.repeat(300), '- dash', '[flow]', '{map}', '*star', '&anchor', '!tag', '%pct', '@at', '`tick', "it's", 'a: b', 'a #b', '\u007f', '\u0085'];
  const servers = ['https://10.0.0.1:6443', 'https://[2001:db8::1]:6443', 'https://k8s.example:443/path?x=1&y=2'];
  const pems = [undefined, CA, '', 'not a pem "quoted"'];
  let n = 0;
  for (const name of names) {
    for (const [k, server] of servers.entries()) {
      const pem = pems[(n++) % pems.length];
      const inputs = [
        { clusterName: name || 'c', server, certificateAuthorityPem: pem, userName: `${name}@x`, contextName: name || 'ctx', clientCertificatePem: CERT, clientKeyPem: k ? KEY : undefined },
        { clusterName: 'c', server, userName: name || 'u', contextName: 'ctx', token: `kct1.${name}` },
      ];
      for (const input of inputs) assert.equal(renderKubeconfig(input), renderKubeconfigGeneric(input), JSON.stringify(input));
    }
  }
});
