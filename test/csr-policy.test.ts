// RELIABILITY class 14, policy confusion in CSRs, through the API with openssl-made CSRs: whatever the CSR asks
// (O=system:masters, another principal's CN, SANs, CA:TRUE, serverAuth), the certificate carries only what
// kubecred decides, and its NotAfter stays within the validity policy. Group and name case variants too.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { cliJson } from './support/cli.ts';
import { rawRequest } from './support/http.ts';
import { startServerProcess, tempDir, type ServerProcess } from './support/server-process.ts';

let srv: ServerProcess;
let work: string;
let clusterId: string;
let alice: { id: string };

before(async () => {
  srv = await startServerProcess();
  work = tempDir('kubecred-csr-policy-');
  clusterId = (await cliJson(srv, srv.rootToken, ['cluster', 'create', 'prod', '--public-endpoint', 'https://192.0.2.50:6443'])).id;
  alice = await cliJson(srv, srv.rootToken, ['principal', 'create', 'alice', '--group', 'dev']);
});
after(async () => {
  await srv?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

const call = (method: string, p: string, body?: unknown) => rawRequest(srv, method, p, { token: srv.rootToken, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

/** A CSR asking for everything a client certificate must not carry. */
function greedyCsr(): string {
  const conf = path.join(work, 'greedy.cnf');
  fs.writeFileSync(conf, [
    '[req]', 'distinguished_name = dn', 'req_extensions = ext', 'prompt = no',
    '[dn]', `CN = ${srv.rootPrincipalId}`, 'O = system:masters',
    '[ext]', 'basicConstraints = critical,CA:TRUE', 'keyUsage = critical,keyCertSign,cRLSign,digitalSignature',
    'extendedKeyUsage = serverAuth,clientAuth', 'subjectAltName = DNS:kubernetes.default,IP:127.0.0.1,URI:spiffe://cluster/ns/kube-system,email:root@example.com',
    '',
  ].join('\n'));
  const key = path.join(work, 'greedy.key');
  const csr = path.join(work, 'greedy.csr');
  execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-config', conf], { stdio: 'pipe' });
  return fs.readFileSync(csr, 'utf8');
}

test('a CSR asking for system:masters, another CN, SANs, CA:TRUE and serverAuth gets none of them', async () => {
  const csr = greedyCsr();
  assert.match(execFileSync('openssl', ['req', '-noout', '-text'], { input: csr, encoding: 'utf8' }), /CA:TRUE[\s\S]*DNS:kubernetes.default/, 'the CSR really asks');
  const t0 = Date.now();
  const r = await call('POST', `/v1/clusters/${clusterId}/kubeconfig`, { principalId: alice.id, csr });
  assert.equal(r.status, 200, r.body);
  const cert = new crypto.X509Certificate(r.json.certificatePem);
  assert.equal(cert.subject, `CN=${alice.id}\nO=dev`, 'CN is the principal the kubeconfig is for, O its groups: nothing from the CSR');
  assert.equal(cert.subjectAltName, undefined, 'no SAN');
  assert.equal(cert.ca, false);
  assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2'], 'clientAuth only');
  const text = execFileSync('openssl', ['x509', '-noout', '-text'], { input: r.json.certificatePem, encoding: 'utf8' });
  assert.doesNotMatch(text, /CA:TRUE|Certificate Sign|CRL Sign|TLS Web Server|system:masters|kubernetes\.default|spiffe|127\.0\.0\.1/);
  // The default validity (3 years) bounds it: nothing in a CSR can ask for more.
  assert.ok(Date.parse(cert.validTo) <= t0 + 3 * 366 * 86400_000, cert.validTo);
  // The CSR's key is the certificate's: the requester keeps its private key, kubecred signs only the public half.
  const csrKey = crypto.createPublicKey(crypto.createPrivateKey(fs.readFileSync(path.join(work, 'greedy.key'))));
  assert.ok(cert.publicKey.export({ type: 'spki', format: 'der' }).equals(csrKey.export({ type: 'spki', format: 'der' })));
});

test('a CSR certificate\'s NotAfter stays within a temporary request and within a custom validity', async () => {
  const csr = greedyCsr();
  const t0 = Date.now();
  const temp = await call('POST', `/v1/clusters/${clusterId}/kubeconfig`, { principalId: alice.id, csr, temporaryMinutes: 15 });
  assert.equal(temp.status, 200, temp.body);
  assert.ok(Date.parse(new crypto.X509Certificate(temp.json.certificatePem).validTo) <= t0 + 16 * 60_000);
  for (const minutes of [4321, 10_000_000]) {
    assert.equal((await call('POST', `/v1/clusters/${clusterId}/kubeconfig`, { principalId: alice.id, csr, temporaryMinutes: minutes })).status, 400);
  }
  const set = await call('PUT', `/v1/clusters/${clusterId}/validity/${alice.id}`, { hours: 1 });
  assert.ok(set.status === 200 || set.status === 204, set.body);
  const capped = await call('POST', `/v1/clusters/${clusterId}/kubeconfig`, { principalId: alice.id, csr });
  assert.equal(capped.status, 200, capped.body);
  assert.ok(Date.parse(new crypto.X509Certificate(capped.json.certificatePem).validTo) <= t0 + 61 * 60_000, 'the custom validity bounds a CSR certificate too');
  assert.equal((await call('PUT', `/v1/clusters/${clusterId}/validity/${alice.id}`, { hours: 876001 })).status, 400);
});

test('system:masters is refused as a group in any spelling that means it; case variants are other groups, carried verbatim', async () => {
  for (const groups of [['system:masters'], ['dev', 'system:masters']]) {
    const r = await call('POST', '/v1/principals', { name: `m${groups.length}`, groups });
    assert.equal(r.json?.code, 'FORBIDDEN_GROUP', r.body);
  }
  for (const g of [' system:masters', 'system:masters ', 'system:masters\u0000', 'system:\u200bmasters']) {
    assert.equal((await call('POST', '/v1/principals', { name: 'padded', groups: [g] })).status, 400, JSON.stringify(g));
  }
  // Kubernetes compares group names exactly: "System:Masters" is not the privileged group, and it is issued as written.
  const bob = (await call('POST', '/v1/principals', { name: 'bob', groups: ['System:Masters'] })).json;
  assert.deepEqual(bob.groups, ['System:Masters']);
  const r = await call('POST', `/v1/clusters/${clusterId}/kubeconfig`, { principalId: bob.id, temporaryMinutes: 15 });
  assert.equal(new crypto.X509Certificate(r.json.certificatePem).subject, `CN=${bob.id}\nO=System:Masters`);
  // Other system: groups need the cluster's consent, whatever else the principal holds.
  const sys = (await call('POST', '/v1/principals', { name: 'nodey', groups: ['system:nodes'] })).json;
  const refused = await call('POST', `/v1/clusters/${clusterId}/kubeconfig`, { principalId: sys.id, temporaryMinutes: 15 });
  assert.equal(refused.json?.code, 'FORBIDDEN_GROUP', refused.body);
  // Names are lower-case only, so "Alice" can never be a second alice with its own policies and validity.
  assert.equal((await call('POST', '/v1/principals', { name: 'Alice' })).status, 400);
  assert.equal((await call('GET', '/v1/principals/ALICE')).status, 404);
});
