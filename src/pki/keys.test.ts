// Generated P-256 keys, whose DER kubecred writes itself, against OpenSSL's own encodings of the same keys.
// Must never rely on our writer's view alone: OpenSSL parses and re-encodes every sample here.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { pemToDer } from './fingerprint.ts';
import { generateKeyPair, p256Pkcs8 } from './keys.ts';
import { openssl, scratch } from './testkit.ts';

const s = scratch();

test('generated P-256 keys: PKCS#8 and SPKI bytes equal what OpenSSL writes for the same key', () => {
  let shortScalars = 0;
  // ~1 key in 256 has a scalar whose top byte is zero, which ECDH returns shortened: 3,000 keys meet several.
  for (let i = 0; i < 3000; i++) {
    const pair = generateKeyPair('ec-p256');
    const der = pemToDer(pair.privateKeyPem, 'PRIVATE KEY');
    const key = crypto.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    assert.equal(key.asymmetricKeyType, 'ec');
    assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.ok(key.export({ type: 'pkcs8', format: 'der' }).equals(der), `PKCS#8 re-encoding differs for key ${i}`);
    assert.ok(crypto.createPublicKey(key).export({ type: 'spki', format: 'der' }).equals(pair.publicKeyDer), `SPKI differs for key ${i}`);
    if (der[36] === 0) shortScalars++;
  }
  assert.ok(shortScalars > 0, 'the sample covered scalars with a leading zero byte');
});

test('a generated key signs and verifies, and openssl reads both halves', () => {
  const pair = generateKeyPair('ec-p256');
  const data = Buffer.from('kubecred');
  const sig = crypto.sign('sha256', data, pair.privateKeyPem);
  assert.equal(crypto.verify('sha256', data, crypto.createPublicKey({ key: pair.publicKeyDer, format: 'der', type: 'spki' }), sig), true);
  const keyText = openssl(['pkey', '-in', s.file('k.pem', pair.privateKeyPem), '-noout', '-text']);
  assert.match(keyText, /Private-Key: \(256 bit/);
  assert.match(keyText, /NIST CURVE: P-256/);
  const pubText = openssl(['pkey', '-pubin', '-inform', 'DER', '-in', s.file('k.spki', pair.publicKeyDer), '-noout', '-text']);
  assert.match(pubText, /Public-Key: \(256 bit\)/);
  assert.equal(openssl(['pkey', '-in', s.file('k2.pem', pair.privateKeyPem), '-check', '-noout']).trim(), 'Key is valid');
});

test('every key is fresh, and the PKCS#8 writer refuses malformed input', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) seen.add(generateKeyPair('ec-p256').privateKeyPem);
  assert.equal(seen.size, 200);
  const point = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)]);
  assert.throws(() => p256Pkcs8(Buffer.alloc(33, 1), point), RangeError);
  assert.throws(() => p256Pkcs8(Buffer.alloc(0), point), RangeError);
  assert.throws(() => p256Pkcs8(Buffer.alloc(32, 1), point.subarray(1)), RangeError);
});

test('RSA-2048 keys still come from OpenSSL', () => {
  const pair = generateKeyPair('rsa-2048');
  const key = crypto.createPrivateKey(pair.privateKeyPem);
  assert.equal(key.asymmetricKeyDetails?.modulusLength, 2048);
  assert.ok(crypto.createPublicKey(key).export({ type: 'spki', format: 'der' }).equals(pair.publicKeyDer));
});
