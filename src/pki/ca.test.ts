// CA creation/import and the self-signed server certificate, checked with openssl and a real TLS handshake.
// Must never accept an imported CA on our parser's word alone: openssl and Node must agree with the outcome.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { createClientCa, createSelfSignedServerCert, importClientCa } from './ca.ts';
import { DAY, extensionValue, openssl, opensslKey, opensslSelfSigned, read, scratch } from './testkit.ts';

const s = scratch();
const isCaInvalid = (pattern: RegExp) => (e: unknown) => (e as { code?: string }).code === 'CA_INVALID' && pattern.test((e as Error).message);

test('createClientCa makes a self-signed CA that openssl and Node accept', async () => {
  for (const algorithm of ['ec-p256', 'rsa-2048'] as const) {
    const now = Date.now();
    const m = await createClientCa({ commonName: 'kubecred client CA for prod', algorithm, notBefore: new Date(now - DAY), notAfter: new Date(now + 3650 * DAY) });
    assert.equal(m.algorithm, algorithm);
    assert.match(m.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    const path = s.file(`gen-${algorithm}.pem`, m.certPem);
    const text = openssl(['x509', '-in', path, '-text', '-noout']);
    assert.equal(extensionValue(text, 'X509v3 Basic Constraints: critical'), 'CA:TRUE');
    assert.equal(extensionValue(text, 'X509v3 Key Usage: critical'), 'Digital Signature, Certificate Sign, CRL Sign');
    assert.match(text, /X509v3 Subject Key Identifier/);
    assert.match(text, algorithm === 'ec-p256' ? /Signature Algorithm: ecdsa-with-SHA256/ : /Signature Algorithm: sha256WithRSAEncryption/);
    assert.equal(openssl(['verify', '-CAfile', path, path], { allowFail: true }).trim(), `${path}: OK`);
    const x = new crypto.X509Certificate(m.certPem);
    assert.equal(x.ca, true);
    assert.equal(x.checkPrivateKey(crypto.createPrivateKey(m.keyPem)), true);
    // Round trip: what we generate must pass our own import rules.
    assert.deepEqual(importClientCa(m.certPem, m.keyPem, new Date()).algorithm, algorithm);
  }
});

test('importClientCa accepts PKCS#1, SEC1 and PKCS#8 keys and normalises them to PKCS#8', () => {
  for (const kind of ['rsa-pkcs1', 'ec-sec1', 'ec-p384-pkcs8'] as const) {
    const keyPath = opensslKey(s, kind, `imp-${kind}.key`);
    const certPath = opensslSelfSigned(s, keyPath, { name: `imp-${kind}`, profile: 'ca' });
    const m = importClientCa(read(certPath), read(keyPath), new Date());
    assert.match(m.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.equal(m.algorithm, { 'rsa-pkcs1': 'rsa-2048', 'ec-sec1': 'ec-p256', 'ec-p384-pkcs8': 'ec-p384' }[kind]);
    assert.equal(new crypto.X509Certificate(m.certPem).checkPrivateKey(crypto.createPrivateKey(m.keyPem)), true);
    // openssl must read the normalised key as the same key.
    const pub1 = openssl(['pkey', '-in', s.file(`norm-${kind}.key`, m.keyPem), '-pubout']);
    const pub2 = openssl(['pkey', '-in', keyPath, '-pubout']);
    assert.equal(pub1, pub2);
  }
});

test('importClientCa rejects what it could not sign with, saying what to fix', () => {
  const ecKey = opensslKey(s, 'ec-sec1', 'rej-ec.key');
  const otherKey = opensslKey(s, 'ec-sec1', 'rej-other.key');
  const goodCa = read(opensslSelfSigned(s, ecKey, { name: 'rej-good', profile: 'ca' }));
  const leaf = read(opensslSelfSigned(s, ecKey, { name: 'rej-leaf', profile: 'leaf' }));
  const kuOnly = read(opensslSelfSigned(s, ecKey, { name: 'rej-ku', profile: 'kuonly' }));
  const shortCa = read(opensslSelfSigned(s, ecKey, { name: 'rej-short', profile: 'ca', days: 1 }));
  const encPath = s.file('rej-enc.key');
  openssl(['pkcs8', '-topk8', '-in', ecKey, '-out', encPath, '-passout', 'pass:secret']);
  const legacyEncPath = s.file('rej-legacy-enc.key');
  openssl(['ec', '-in', ecKey, '-out', legacyEncPath, '-aes256', '-passout', 'pass:secret']);
  const rsa1024 = opensslKey(s, 'rsa-1024', 'rej-1024.key');
  const p521 = opensslKey(s, 'ec-p521', 'rej-521.key');
  const now = new Date(); // after openssl stamped notBefore on the certificates above

  assert.throws(() => importClientCa('not a cert', read(ecKey), now), isCaInvalid(/cannot be parsed/));
  const lines = goodCa.split('\n');
  const truncated = [...lines.slice(0, 3), ...lines.slice(4)].join('\n'); // one base64 line missing
  assert.throws(() => importClientCa(truncated, read(ecKey), now), isCaInvalid(/cannot be parsed/));
  assert.throws(() => importClientCa(goodCa + goodCa, read(ecKey), now), isCaInvalid(/exactly one/));
  assert.throws(() => importClientCa(leaf, read(ecKey), now), isCaInvalid(/not a CA.*cA=TRUE/));
  assert.throws(() => importClientCa(kuOnly, read(ecKey), now), isCaInvalid(/keyCertSign/));
  const serverOnly = read(opensslSelfSigned(s, ecKey, { name: 'rej-eku', profile: 'serveronly' }));
  assert.throws(() => importClientCa(serverOnly, read(ecKey), now), isCaInvalid(/extendedKeyUsage \(1\.3\.6\.1\.5\.5\.7\.3\.1\) does not include clientAuth/));
  assert.throws(() => importClientCa(goodCa, read(otherKey), now), isCaInvalid(/does not match/));
  assert.throws(() => importClientCa(shortCa, read(ecKey), new Date(now.getTime() + 2 * DAY)), isCaInvalid(/expired/));
  assert.throws(() => importClientCa(goodCa, read(ecKey), new Date(now.getTime() - DAY)), isCaInvalid(/not valid before/));
  assert.throws(() => importClientCa(goodCa, read(encPath), now), isCaInvalid(/encrypted/));
  assert.throws(() => importClientCa(goodCa, read(legacyEncPath), now), isCaInvalid(/encrypted/));
  assert.throws(() => importClientCa(goodCa, 'garbage', now), isCaInvalid(/PRIVATE KEY/));
  const tooLarge = (field: string) => (e: unknown) => (e as { code?: string }).code === 'PAYLOAD_TOO_LARGE' && (e as { details?: { field?: string } }).details?.field === field;
  assert.throws(() => importClientCa(goodCa, read(ecKey) + ' '.repeat(64 * 1024), now), tooLarge('clientCaKeyPem'));
  assert.throws(() => importClientCa(' '.repeat(64 * 1024) + goodCa, read(ecKey), now), tooLarge('clientCaCertPem'));
  for (const weak of [rsa1024, p521]) {
    const cert = read(opensslSelfSigned(s, weak, { name: `rej-weak-${weak.length}`, profile: 'ca' }));
    assert.throws(() => importClientCa(cert, read(weak), new Date()), isCaInvalid(/not supported|too small/));
  }
  assert.doesNotThrow(() => importClientCa(goodCa, read(ecKey), now));
});

test('self-signed server cert: SANs, serverAuth, and a real TLS handshake to 127.0.0.1', async () => {
  const { certPem, keyPem } = createSelfSignedServerCert(['localhost', '127.0.0.1', '::1', 'kubecred.internal'], new Date(), 30);
  const text = openssl(['x509', '-in', s.file('server.pem', certPem), '-text', '-noout']);
  assert.equal(extensionValue(text, 'X509v3 Subject Alternative Name'), 'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:kubecred.internal');
  assert.equal(extensionValue(text, 'X509v3 Extended Key Usage'), 'TLS Web Server Authentication');
  assert.equal(extensionValue(text, 'X509v3 Basic Constraints: critical'), 'CA:FALSE');
  assert.match(text, /ASN1 OID: prime256v1/);

  const server = tls.createServer({ cert: certPem, key: keyPem }, (sock) => sock.end('hello over tls\n'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const port = (server.address() as AddressInfo).port;
    const got = await new Promise<string>((resolve, reject) => {
      const sock = tls.connect({ host: '127.0.0.1', port, ca: certPem }, () => {
        if (!sock.authorized) reject(sock.authorizationError);
      });
      let data = '';
      sock.on('data', (d) => { data += d; });
      sock.on('end', () => resolve(data));
      sock.on('error', reject);
    });
    assert.equal(got, 'hello over tls\n');
    // And a client that does not trust it must refuse.
    await assert.rejects(new Promise((resolve, reject) => {
      const sock = tls.connect({ host: '127.0.0.1', port }, () => resolve(sock.end()));
      sock.on('error', reject);
    }));
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
  assert.throws(() => createSelfSignedServerCert(['bad host!'], new Date(), 30), (e: unknown) => (e as { code?: string }).code === 'VALIDATION_FAILED');
});
