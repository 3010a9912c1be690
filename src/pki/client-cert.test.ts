// Client certificate issuance checked with real tools: openssl x509/verify and Node's X509Certificate.
// Must never assert on our own encoder's view of the certificate alone.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { createClientCa, importClientCa } from './ca.ts';
import { issueClientCertificate, loadCa, type CaMaterial, type IssuedCert, type LoadedCa } from './client-cert.ts';
import { parseCsr } from './csr.ts';
import { generateKeyPair, type KeyAlgorithm, type KeyPair } from './keys.ts';
import { randomSerial } from './x509.ts';
import { DAY, extensionValue, openssl, opensslKey, opensslSelfSigned, read, scratch } from './testkit.ts';

const s = scratch();
const now = new Date();
const window = { notBefore: new Date(now.getTime() - 60_000), notAfter: new Date(now.getTime() + DAY) };

async function generatedCa(alg: KeyAlgorithm): Promise<CaMaterial> {
  return createClientCa({ commonName: `generated ${alg}`, algorithm: alg, notBefore: new Date(now.getTime() - DAY), notAfter: new Date(now.getTime() + 365 * DAY) });
}

function importedCa(kind: 'rsa-pkcs1' | 'ec-sec1' | 'ec-p384-pkcs8', profile: 'ca' | 'noski' = 'ca'): CaMaterial {
  const key = opensslKey(s, kind, `${kind}-${profile}.key`);
  const cert = opensslSelfSigned(s, key, { name: `imported-${kind}-${profile}`, profile });
  return importClientCa(read(cert), read(key), new Date());
}

let n = 0;
/** Everything the brief asks to observe about one issued leaf. */
function checkLeaf(ca: LoadedCa, cert: IssuedCert, key: KeyPair, cn: string, orgs: string[]): string {
  const caPath = s.file(`ca-${++n}.pem`, ca.material.certPem);
  const leafPath = s.file(`leaf-${n}.pem`, cert.certPem);
  const text = openssl(['x509', '-in', leafPath, '-text', '-noout']);
  assert.match(text, new RegExp(`Subject: CN = ${cn}${orgs.map((o) => `, O = ${o}`).join('')}\\n`));
  assert.equal(extensionValue(text, 'X509v3 Extended Key Usage'), 'TLS Web Client Authentication');
  assert.equal(extensionValue(text, 'X509v3 Basic Constraints: critical'), 'CA:FALSE');
  assert.match(text, /Version: 3 \(0x2\)/);
  assert.equal(openssl(['verify', '-purpose', 'sslclient', '-CAfile', caPath, leafPath], { allowFail: true }).trim(), `${leafPath}: OK`);

  const x = new crypto.X509Certificate(cert.certPem);
  assert.equal(x.verify(new crypto.X509Certificate(ca.material.certPem).publicKey), true);
  assert.equal(x.fingerprint256.replaceAll(':', '').toLowerCase(), cert.fingerprintSha256);
  assert.match(cert.fingerprintSha256, /^[0-9a-f]{64}$/);
  assert.equal(x.serialNumber.toLowerCase(), cert.serialHex);
  assert.equal(x.checkPrivateKey(crypto.createPrivateKey(key.privateKeyPem)), true);
  assert.equal(x.ca, false);
  assert.equal(new Date(x.validTo).getTime(), cert.notAfter.getTime());
  return text;
}

const CAS: Array<[string, () => Promise<CaMaterial> | CaMaterial]> = [
  ['generated EC P-256', () => generatedCa('ec-p256')],
  ['generated RSA-2048', () => generatedCa('rsa-2048')],
  ['imported RSA (PKCS#1 key)', () => importedCa('rsa-pkcs1')],
  ['imported EC (SEC1 key)', () => importedCa('ec-sec1')],
  ['imported EC P-384 (PKCS#8 key)', () => importedCa('ec-p384-pkcs8')],
  ['imported EC CA without subjectKeyIdentifier', () => importedCa('ec-sec1', 'noski')],
];

for (const [name, make] of CAS) {
  test(`issues verifiable client certs from a ${name} CA`, async () => {
    const ca = loadCa(await make());
    const orgs = ['system:authenticated', 'dev-team', 'ops'];
    const k1 = generateKeyPair('ec-p256');
    const c1 = issueClientCertificate({ ca, publicKeyDer: k1.publicKeyDer, commonName: 'alice@example.com', organizations: orgs, ...window });
    const text = checkLeaf(ca, c1, k1, 'alice@example.com', orgs);
    assert.equal(extensionValue(text, 'X509v3 Key Usage: critical'), 'Digital Signature');

    const k2 = generateKeyPair('rsa-2048');
    const c2 = issueClientCertificate({ ca, publicKeyDer: k2.publicKeyDer, commonName: 'bob', organizations: [], ...window });
    const text2 = checkLeaf(ca, c2, k2, 'bob', []);
    assert.equal(extensionValue(text2, 'X509v3 Key Usage: critical'), 'Digital Signature, Key Encipherment');

    for (const c of [c1, c2]) {
      assert.match(c.serialHex, /^[0-9a-f]+$/);
      assert.ok(c.serialHex.length <= 32 && BigInt(`0x${c.serialHex}`) > 0n);
    }
    assert.notEqual(c1.serialHex, c2.serialHex);
    // Leaf AKI must point at the CA's key ID so chain builders (Go, OpenSSL) pick the right issuer.
    assert.equal(new crypto.X509Certificate(c1.certPem).issuer, new crypto.X509Certificate(ca.material.certPem).subject);
    assert.match(text, new RegExp(ca.subjectKeyId.toString('hex').toUpperCase().match(/../g)!.join(':')));
  });
}

test('a CSR-based cert carries our CN/O, never the CSR subject or SANs', async () => {
  const keyPath = s.file('attacker.key');
  const csrPath = s.file('attacker.csr');
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyPath,
    '-subj', '/CN=attacker/O=system:masters', '-addext', 'subjectAltName=DNS:evil.example', '-out', csrPath]);
  const ca = loadCa(await generatedCa('ec-p256'));
  const { publicKeyDer, algorithm } = parseCsr(read(csrPath));
  assert.equal(algorithm, 'ec');
  const cert = issueClientCertificate({ ca, publicKeyDer, commonName: 'alice', organizations: ['dev'], ...window });
  const text = checkLeaf(ca, cert, { algorithm: 'ec-p256', privateKeyPem: read(keyPath), publicKeyDer }, 'alice', ['dev']);
  assert.doesNotMatch(text, /attacker|system:masters|evil\.example|Subject Alternative Name/);
});

test('validity straddling the UTCTime/GeneralizedTime switch verifies with openssl', async () => {
  const ca = loadCa(await createClientCa({ commonName: 'long CA', algorithm: 'ec-p256', notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2060-01-01T00:00:00Z') }));
  const key = generateKeyPair('ec-p256');
  const cert = issueClientCertificate({
    ca, publicKeyDer: key.publicKeyDer, commonName: 'boundary', organizations: [],
    notBefore: new Date('2049-12-31T23:59:59.900Z'), notAfter: new Date('2051-06-01T12:00:00Z'),
  });
  assert.equal(cert.notBefore.toISOString(), '2049-12-31T23:59:59.000Z');
  const caPath = s.file('long-ca.pem', ca.material.certPem);
  const leafPath = s.file('boundary.pem', cert.certPem);
  const asn1 = openssl(['asn1parse', '-in', leafPath]);
  assert.match(asn1, /UTCTIME\s+:491231235959Z/);
  assert.match(asn1, /GENERALIZEDTIME\s+:20510601120000Z/);
  const text = openssl(['x509', '-in', leafPath, '-noout', '-dates']);
  assert.match(text, /notAfter=Jun  1 12:00:00 2051 GMT/);
  const at = String(Math.floor(Date.parse('2050-06-01T00:00:00Z') / 1000));
  assert.equal(openssl(['verify', '-attime', at, '-purpose', 'sslclient', '-CAfile', caPath, leafPath], { allowFail: true }).trim(), `${leafPath}: OK`);
  assert.equal(new Date(new crypto.X509Certificate(cert.certPem).validTo).toISOString(), '2051-06-01T12:00:00.000Z');
});

test('rejects bad names, windows, serials and keys with the right codes', async () => {
  const ca = loadCa(await generatedCa('ec-p256'));
  const publicKeyDer = generateKeyPair('ec-p256').publicKeyDer;
  const base = { ca, publicKeyDer, commonName: 'ok', organizations: ['g'], ...window };
  const code = (code: string) => (e: unknown) => (e as { code?: string }).code === code;
  assert.throws(() => issueClientCertificate({ ...base, commonName: '' }), code('VALIDATION_FAILED'));
  assert.throws(() => issueClientCertificate({ ...base, commonName: 'x'.repeat(65) }), code('VALIDATION_FAILED'));
  assert.doesNotThrow(() => issueClientCertificate({ ...base, commonName: 'x'.repeat(64) }));
  assert.throws(() => issueClientCertificate({ ...base, organizations: ['ok', ''] }), code('VALIDATION_FAILED'));
  assert.throws(() => issueClientCertificate({ ...base, organizations: ['y'.repeat(65)] }), code('VALIDATION_FAILED'));
  assert.throws(() => issueClientCertificate({ ...base, notAfter: base.notBefore }), code('VALIDATION_FAILED'));
  assert.throws(() => issueClientCertificate({ ...base, notAfter: new Date(NaN) }), code('VALIDATION_FAILED'));
  assert.throws(() => issueClientCertificate({ ...base, serial: Buffer.alloc(16) }), code('VALIDATION_FAILED'));
  const fixed = issueClientCertificate({ ...base, serial: Buffer.from('00ff01', 'hex') });
  assert.equal(fixed.serialHex, 'ff01');
  assert.equal(new crypto.X509Certificate(fixed.certPem).serialNumber.toLowerCase(), 'ff01');

  assert.throws(() => issueClientCertificate({ ...base, publicKeyDer: Buffer.from('not a key') }), code('CSR_INVALID'));
  assert.throws(() => issueClientCertificate({ ...base, publicKeyDer: Buffer.concat([publicKeyDer, Buffer.from([0])]) }), code('CSR_INVALID'));
  for (const kind of ['rsa-1024', 'ec-p521', 'ed25519'] as const) {
    const spki = crypto.createPublicKey(read(opensslKey(s, kind, `${kind}.key`))).export({ type: 'spki', format: 'der' });
    assert.throws(() => issueClientCertificate({ ...base, publicKeyDer: spki }), code('CSR_INVALID'), kind);
  }
});

test('loadCa refuses a key that does not belong to the certificate', async () => {
  const a = await generatedCa('ec-p256');
  const b = await generatedCa('ec-p256');
  assert.throws(() => loadCa({ ...a, keyPem: b.keyPem }), (e: unknown) => (e as { code?: string }).code === 'CA_INVALID');
});

test('timing note: µs per issueClientCertificate (EC CA), printed not asserted', async () => {
  const ca = loadCa(await generatedCa('ec-p256'));
  const N = 2000;
  const keys = Array.from({ length: N }, () => generateKeyPair('ec-p256').publicKeyDer);
  // Copies have never been vetted, so they pay for OpenSSL's createPublicKey the way an unknown SPKI would.
  const fresh = keys.map((k) => Buffer.from(k));
  for (const k of keys.slice(0, 200)) issueClientCertificate({ ca, publicKeyDer: k, commonName: 'warm', organizations: [], ...window });
  for (const [label, list] of [['generated/CSR-vetted key', keys], ['unvetted SPKI', fresh]] as const) {
    const t0 = process.hrtime.bigint();
    for (const k of list) issueClientCertificate({ ca, publicKeyDer: k, commonName: 'bench', organizations: ['g1', 'g2'], ...window });
    const us = Number(process.hrtime.bigint() - t0) / N / 1000;
    console.log(`issueClientCertificate, EC CA, ${label}: ${us.toFixed(1)} µs/cert over ${N}`);
  }
});

test('serials lead with the time, so they sort by issuance, and carry 80 random bits', () => {
  const t = Date.parse('2026-11-24T01:00:00Z');
  const a = randomSerial(t);
  const b = randomSerial(t);
  const later = randomSerial(t + 1);
  assert.equal(a.length, 16);
  assert.equal(a[0]! & 0x80, 0, 'positive without a pad byte');
  assert.equal(a.readUIntBE(0, 6), t);
  assert.notDeepEqual(a.subarray(6), b.subarray(6), 'same millisecond, different random part');
  assert.ok(Buffer.compare(later, a) > 0 && Buffer.compare(later, b) > 0);
  // The random part is not the pool's zeroed leftovers.
  const tails = new Set(Array.from({ length: 1000 }, () => randomSerial(t).subarray(6).toString('hex')));
  assert.equal(tails.size, 1000);
});
