// parseCsr against CSRs made by the openssl CLI: good ones parse, tampered or unsupported ones are refused.
// Must never rely on hand-made fixtures where openssl can produce the real thing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { MAX_PEM_BYTES, parseCsr } from './csr.ts';
import { derToPem, pemToDer } from './fingerprint.ts';
import { openssl, read, scratch } from './testkit.ts';
import { inspectSpki } from './x509.ts';

const s = scratch();
let n = 0;

function makeCsr(newkey: string[], extra: string[] = []): { csrPem: string; keyPath: string } {
  const keyPath = s.file(`csr-${++n}.key`);
  const csrPath = s.file(`csr-${n}.pem`);
  openssl(['req', '-new', ...newkey, '-nodes', '-keyout', keyPath, '-subj', '/CN=someone', ...extra, '-out', csrPath]);
  return { csrPem: read(csrPath), keyPath };
}

const isCsrInvalid = (e: unknown) => (e as { code?: string }).code === 'CSR_INVALID';

test('parses EC P-256, P-384 and RSA CSRs and returns the SPKI of the requester key', () => {
  const cases: Array<[string[], 'ec' | 'rsa']> = [
    [['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], 'ec'],
    [['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-sha384'], 'ec'],
    [['-newkey', 'rsa:2048'], 'rsa'],
    [['-newkey', 'rsa:3072', '-sha512'], 'rsa'],
  ];
  for (const [args, family] of cases) {
    const { csrPem, keyPath } = makeCsr(args);
    const got = parseCsr(csrPem);
    assert.equal(got.algorithm, family);
    const expected = crypto.createPublicKey(read(keyPath)).export({ type: 'spki', format: 'der' });
    assert.deepEqual(got.publicKeyDer, expected);
  }
});

test('rejects a CSR whose signature was tampered with', () => {
  const { csrPem } = makeCsr(['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']);
  const der = pemToDer(csrPem, 'CERTIFICATE REQUEST');
  const tampered = Buffer.from(der);
  tampered[tampered.length - 5]! ^= 0x01; // inside the ECDSA s value, at the end of the signature BIT STRING
  assert.throws(() => parseCsr(derToPem(tampered, 'CERTIFICATE REQUEST')), (e: unknown) => isCsrInvalid(e) && /signature/.test((e as Error).message));
  // A flip in the signed part (the subject) must fail the same way.
  const body = Buffer.from(der);
  const at = body.indexOf(Buffer.from('someone'));
  body[at]! ^= 0x20;
  assert.throws(() => parseCsr(derToPem(body, 'CERTIFICATE REQUEST')), isCsrInvalid);
});

test('rejects garbage, oversized input, wrong labels and multiple blocks', () => {
  const { csrPem } = makeCsr(['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']);
  const bad = [
    'hello',
    '',
    '-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n-----END CERTIFICATE REQUEST-----\n',
    '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n',
    derToPem(crypto.randomBytes(300), 'CERTIFICATE REQUEST'),
    csrPem.replace(/CERTIFICATE REQUEST/g, 'CERTIFICATE'),
    csrPem + csrPem,
    csrPem.slice(0, csrPem.length - 40),
    csrPem + ' '.repeat(MAX_PEM_BYTES),
    derToPem(Buffer.concat([pemToDer(csrPem, 'CERTIFICATE REQUEST'), Buffer.from([0])]), 'CERTIFICATE REQUEST'),
  ];
  for (const input of bad) assert.throws(() => parseCsr(input), isCsrInvalid, input.slice(0, 60));
  assert.throws(() => parseCsr(csrPem + ' '.repeat(MAX_PEM_BYTES)), /larger than 65536/);
});

test('rejects unsupported keys and weak signature hashes', () => {
  const cases = [
    ['-newkey', 'rsa:1024'],
    ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-521'],
    ['-newkey', 'ed25519'],
  ];
  for (const args of cases) assert.throws(() => parseCsr(makeCsr(args).csrPem), isCsrInvalid, args.join(' '));
  assert.throws(() => parseCsr(makeCsr(['-newkey', 'rsa:2048', '-sha1']).csrPem), /not supported/);
});

test('named-curve keys are read from their coordinates, other encodings by OpenSSL, and a point off the curve is refused', () => {
  for (const curve of ['P-256', 'P-384']) {
    const { csrPem } = makeCsr(['-newkey', 'ec', '-pkeyopt', `ec_paramgen_curve:${curve}`, ...(curve === 'P-384' ? ['-sha384'] : [])]);
    const { publicKeyDer } = parseCsr(csrPem);
    const fast = inspectSpki(publicKeyDer);
    assert.ok(typeof fast !== 'string');
    assert.ok(fast.key.equals(crypto.createPublicKey({ key: publicKeyDer, format: 'der', type: 'spki' })), `${curve}: the same key as OpenSSL's`);
    // The same prefix with a point that is not on the curve.
    const off = Buffer.from(publicKeyDer);
    off[off.length - 1]! ^= 0x01;
    assert.equal(inspectSpki(off), 'the public key is not a valid SubjectPublicKeyInfo');
  }
  // A compressed point, or explicit curve parameters, is valid SPKI that OpenSSL reads, but Go (kubectl,
  // kube-apiserver) does not: refused, saying how to make one it reads.
  const keyPath = s.file('compressed.key');
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', keyPath]);
  for (const [name, args] of [['compressed', ['-conv_form', 'compressed']], ['explicit', ['-param_enc', 'explicit']]] as const) {
    const spkiPath = s.file(`${name}.spki`);
    openssl(['ec', '-in', keyPath, ...args, '-pubout', '-outform', 'DER', '-out', spkiPath]);
    const spki = fs.readFileSync(spkiPath);
    assert.ok(crypto.createPublicKey({ key: spki, format: 'der', type: 'spki' }).equals(crypto.createPublicKey(read(keyPath))), `${name}: OpenSSL reads it`);
    assert.match(String(inspectSpki(spki)), /must name its curve \(P-256 or P-384\) and be an uncompressed point/, name);
  }
});

test('RSA keys are taken from 2048 to 8192 bits: a larger one (each private operation ~1 s at 16,384) is refused, saying so', () => {
  // A modulus needs no primes to be read as a public key: an odd number of the right length is enough here.
  const spkiOfBits = (bits: number) => {
    const n = crypto.randomBytes(bits / 8);
    n[0]! |= 0x80;
    n[n.length - 1]! |= 1;
    return crypto.createPublicKey({ key: { kty: 'RSA', n: n.toString('base64url'), e: 'AQAB' }, format: 'jwk' }).export({ type: 'spki', format: 'der' });
  };
  const at = (bits: number) => {
    const r = inspectSpki(spkiOfBits(bits));
    return typeof r === 'string' ? r : r.family;
  };
  assert.equal(at(2048), 'rsa');
  assert.equal(at(8192), 'rsa');
  assert.match(at(8200), /RSA key of 8200 bits is too large; use at most 8192 bits/);
  assert.match(at(16384), /too large/);
  assert.match(at(1024), /too small/);
});
