// The template fast path against two references: `openssl x509 -req` signing the same key with the same
// serial, subject, validity and extensions, and the generic DER builder. Every TBSCertificate byte must match.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { createClientCa, importClientCa } from './ca.ts';
import { issueClientCertificate, issueClientCertificateGeneric, loadCa, type CaMaterial, type IssuedCert, type LoadedCa } from './client-cert.ts';
import { children, raw, readOnly } from './der-read.ts';
import { parseCsr } from './csr.ts';
import { generateKeyPair } from './keys.ts';
import { DAY, openssl, opensslKey, opensslSelfSigned, read, scratch } from './testkit.ts';

const s = scratch();
const now = new Date();

const tbsOf = (certDer: Buffer) => Buffer.from(raw(children(readOnly(certDer, 0x30))[0]!));
const sigAlgOf = (certDer: Buffer) => Buffer.from(raw(children(readOnly(certDer, 0x30))[1]!));

const EXT = `[ec]
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
basicConstraints = critical,CA:FALSE
authorityKeyIdentifier = keyid
subjectKeyIdentifier = hash
[rsa]
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
basicConstraints = critical,CA:FALSE
authorityKeyIdentifier = keyid
subjectKeyIdentifier = hash
`;

let n = 0;

interface Case {
  ca: LoadedCa;
  caKeyPath: string;
  /** A private key file for the subject (openssl needs it for the CSR it signs). */
  subjectKeyPath: string;
  family: 'ec' | 'rsa';
  commonName: string;
  organizations: string[];
  serialHex: string;
}

/** openssl signs a CSR for the subject key; kubecred then issues for the same key, serial, names and dates. */
function compare(c: Case): { reference: Buffer; fast: IssuedCert; generic: IssuedCert } {
  const i = ++n;
  const caPath = s.file(`ca-${i}.pem`, c.ca.material.certPem);
  const csrPath = s.file(`req-${i}.csr`);
  // `x509 -req` copies the CSR's subject; `req -utf8` encodes it as UTF8String, as kubecred does.
  const subj = `/CN=${c.commonName}${c.organizations.map((o) => `/O=${o}`).join('')}`;
  openssl(['req', '-new', '-utf8', '-key', c.subjectKeyPath, '-subj', subj, '-out', csrPath]);
  const refPath = s.file(`ref-${i}.pem`);
  openssl(['x509', '-req', '-in', csrPath, '-CA', caPath, '-CAkey', c.caKeyPath, '-set_serial', `0x${c.serialHex}`, '-days', '2',
    '-extfile', s.file('ext.cnf', EXT), '-extensions', c.family, '-out', refPath]);
  const refX = new crypto.X509Certificate(read(refPath));
  const { publicKeyDer } = parseCsr(read(csrPath));
  const req = {
    ca: c.ca, publicKeyDer, commonName: c.commonName, organizations: c.organizations, serial: Buffer.from(c.serialHex, 'hex'),
    notBefore: new Date(refX.validFrom), notAfter: new Date(refX.validTo),
  };
  return { reference: refX.raw, fast: issueClientCertificate(req), generic: issueClientCertificateGeneric(req) };
}

function checkSame(label: string, caPem: string, r: { reference: Buffer; fast: IssuedCert; generic: IssuedCert }): void {
  assert.ok(tbsOf(r.fast.certDer).equals(tbsOf(r.reference)), `${label}: template TBSCertificate equals openssl's`);
  assert.ok(tbsOf(r.generic.certDer).equals(tbsOf(r.reference)), `${label}: generic TBSCertificate equals openssl's`);
  assert.ok(sigAlgOf(r.fast.certDer).equals(sigAlgOf(r.reference)), `${label}: signatureAlgorithm`);

  // The same through the tools' eyes: openssl's text dump without the signature, and Node's X509Certificate.
  const i = ++n;
  const caPath = s.file(`ca-${i}.pem`, caPem);
  const files = [r.reference, r.fast.certDer, r.generic.certDer].map((d, j) => s.file(`cmp-${i}-${j}.der`, d));
  const texts = files.map((f) => openssl(['x509', '-inform', 'DER', '-in', f, '-noout', '-text', '-certopt', 'no_sigdump']));
  assert.equal(texts[1], texts[0], `${label}: openssl x509 -text of the template cert`);
  assert.equal(texts[2], texts[0], `${label}: openssl x509 -text of the generic cert`);
  for (const [j, d] of [r.fast.certDer, r.generic.certDer].entries()) {
    const pem = s.file(`cmp-${i}-${j}.pem`, new crypto.X509Certificate(d).toString());
    assert.equal(openssl(['verify', '-purpose', 'sslclient', '-CAfile', caPath, pem], { allowFail: true }).trim(), `${pem}: OK`, label);
  }
  const caX = new crypto.X509Certificate(caPem);
  const [ref, fast, generic] = [r.reference, r.fast.certDer, r.generic.certDer].map((d) => new crypto.X509Certificate(d));
  for (const [name, x] of [['template', fast!], ['generic', generic!]] as const) {
    for (const field of ['subject', 'issuer', 'serialNumber', 'validFrom', 'validTo', 'ca', 'subjectAltName', 'infoAccess'] as const) {
      assert.deepEqual(x[field], ref![field], `${label}: ${name} ${field}`);
    }
    assert.deepEqual(x.keyUsage, ref!.keyUsage, `${label}: ${name} extKeyUsage`);
    assert.ok(x.publicKey.export({ type: 'spki', format: 'der' }).equals(ref!.publicKey.export({ type: 'spki', format: 'der' })), `${label}: ${name} key`);
    assert.equal(x.verify(caX.publicKey), true, `${label}: ${name} signature`);
    assert.equal(x.checkIssued(caX), true, `${label}: ${name} issued by the CA`);
  }
  assert.equal(fast!.fingerprint256.replaceAll(':', '').toLowerCase(), r.fast.fingerprintSha256);
  assert.equal(fast!.serialNumber.toLowerCase(), r.fast.serialHex);
}

async function generatedCa(alg: 'ec-p256' | 'rsa-2048'): Promise<{ ca: LoadedCa; keyPath: string }> {
  const m = await createClientCa({ commonName: `template ${alg}`, algorithm: alg, notBefore: new Date(now.getTime() - DAY), notAfter: new Date(now.getTime() + 365 * DAY) });
  return { ca: loadCa(m), keyPath: s.file(`gen-${alg}-${++n}.key`, m.keyPem) };
}

function importedCa(kind: 'rsa-pkcs1' | 'ec-sec1' | 'ec-p384-pkcs8'): { ca: LoadedCa; keyPath: string } {
  const keyPath = opensslKey(s, kind, `imp-${kind}.key`);
  const m: CaMaterial = importClientCa(read(opensslSelfSigned(s, keyPath, { name: `template-${kind}`, profile: 'ca' })), read(keyPath), new Date());
  return { ca: loadCa(m), keyPath };
}

const SUBJECTS: Array<{ family: 'ec' | 'rsa'; key: () => string }> = [
  { family: 'ec', key: () => s.file(`fast-${++n}.key`, generateKeyPair('ec-p256').privateKeyPem) },
  { family: 'ec', key: () => opensslKey(s, 'ec-p384-pkcs8', `p384-${++n}.key`) },
  { family: 'rsa', key: () => s.file(`rsa-${++n}.key`, generateKeyPair('rsa-2048').privateKeyPem) },
];

const CAS: Array<[string, () => Promise<{ ca: LoadedCa; keyPath: string }> | { ca: LoadedCa; keyPath: string }]> = [
  ['generated EC P-256', () => generatedCa('ec-p256')],
  ['generated RSA-2048', () => generatedCa('rsa-2048')],
  ['imported EC (SEC1 key)', () => importedCa('ec-sec1')],
  ['imported EC P-384', () => importedCa('ec-p384-pkcs8')],
  ['imported RSA (PKCS#1 key)', () => importedCa('rsa-pkcs1')],
];

const NAMES: Array<{ cn: string; orgs: string[] }> = [
  { cn: 'usr_0t42c0d4y000pvgxfds5hagv3d', orgs: [] },
  { cn: 'alice@example.com', orgs: ['dev'] },
  { cn: 'bob', orgs: ['system:authenticated', 'dev-team', 'ops'] },
  { cn: 'José Ñandú 日本', orgs: ['équipe', 'x'.repeat(64)] },
];

const SERIALS = ['01', '7f' + 'ab'.repeat(15), '80' + '00'.repeat(15), '00ff01', '1234567890abcdef1234567890abcdef12345678'];

for (const [caName, makeCa] of CAS) {
  test(`template certs equal openssl's and the generic builder's, byte for byte: ${caName} CA`, async () => {
    const { ca, keyPath } = await makeCa();
    let k = 0;
    for (const [si, subject] of SUBJECTS.entries()) {
      const subjectKeyPath = subject.key();
      // Two names per key keeps the openssl round trips few; across the keys every name is covered.
      for (const name of [NAMES[(2 * si) % NAMES.length]!, NAMES[(2 * si + 1) % NAMES.length]!]) {
        const serialHex = SERIALS[k++ % SERIALS.length]!;
        const label = `${caName} CA, ${subject.family} key, CN=${name.cn}, ${name.orgs.length} O, serial ${serialHex}`;
        checkSame(label, ca.material.certPem, compare({ ca, caKeyPath: keyPath, subjectKeyPath, family: subject.family, commonName: name.cn, organizations: name.orgs, serialHex }));
      }
    }
  });
}

test('template and generic builders agree on validity encodings around 2050 and on every serial form', async () => {
  const m = await createClientCa({ commonName: 'long CA', algorithm: 'ec-p256', notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2099-01-01T00:00:00Z') });
  const ca = loadCa(m);
  const key = generateKeyPair('ec-p256');
  const windows: Array<[string, string]> = [
    ['2026-01-01T00:00:00Z', '2026-01-01T00:15:00Z'],
    ['2049-12-31T23:59:59.900Z', '2051-06-01T12:00:00Z'],
    ['2050-01-01T00:00:00Z', '2098-12-31T23:59:59Z'],
    ['1999-12-31T23:59:59Z', '2000-01-01T00:00:00Z'],
  ];
  for (const [nb, na] of windows) {
    for (const serialHex of [...SERIALS, undefined]) {
      const serial = serialHex === undefined ? crypto.randomBytes(16) : Buffer.from(serialHex, 'hex');
      if (serial[0]! >= 0x80 && serial.length === 20) continue;
      const req = { ca, publicKeyDer: key.publicKeyDer, commonName: 'edge', organizations: ['a', 'b'], serial, notBefore: new Date(nb), notAfter: new Date(na) };
      const fast = issueClientCertificate(req);
      const generic = issueClientCertificateGeneric(req);
      assert.ok(tbsOf(fast.certDer).equals(tbsOf(generic.certDer)), `${nb}..${na} serial ${serialHex}`);
      assert.equal(fast.serialHex, generic.serialHex);
      assert.equal(new crypto.X509Certificate(fast.certDer).verify(new crypto.X509Certificate(m.certPem).publicKey), true);
    }
  }
});

test('the template keeps a principal subject per name, never mixing two principals', async () => {
  const { ca } = await generatedCa('ec-p256');
  const key = generateKeyPair('ec-p256');
  const base = { ca, publicKeyDer: key.publicKeyDer, notBefore: now, notAfter: new Date(now.getTime() + DAY) };
  // Names whose parts run together: the cache key must keep them apart.
  const pairs: Array<[string, string[]]> = [['a', ['b']], ['ab', []], ['a', ['b', 'c']], ['a', ['bc']], ['ab', ['c']]];
  for (const [cn, orgs] of pairs) {
    const x = new crypto.X509Certificate(issueClientCertificate({ ...base, commonName: cn, organizations: orgs }).certDer);
    assert.equal(x.subject, [`CN=${cn}`, ...orgs.map((o) => `O=${o}`)].join('\n'));
  }
  for (let i = 0; i < 50; i++) {
    const cn = `user-${i % 7}`;
    const orgs = Array.from({ length: i % 3 }, (_, j) => `g${j}`);
    const x = new crypto.X509Certificate(issueClientCertificate({ ...base, commonName: cn, organizations: orgs }).certDer);
    assert.equal(x.subject, [`CN=${cn}`, ...orgs.map((o) => `O=${o}`)].join('\n'));
  }
});
