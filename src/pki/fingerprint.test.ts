// PEM/DER helpers and fingerprints, checked against openssl's own conversions.
// Must never accept ambiguous PEM (two blocks, wrong label) where one block is expected.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { derToPem, pemToDer, sha256Hex } from './fingerprint.ts';
import { openssl, opensslKey, opensslSelfSigned, read, scratch } from './testkit.ts';

test('PEM round trip matches openssl, with 64-character lines', () => {
  const s = scratch();
  const certPath = opensslSelfSigned(s, opensslKey(s, 'ec-sec1', 'fp.key'), { name: 'fp', profile: 'ca' });
  const pem = read(certPath);
  const der = pemToDer(pem, 'CERTIFICATE');
  openssl(['x509', '-in', certPath, '-outform', 'DER', '-out', s.file('fp.der')]);
  assert.deepEqual(der, fs.readFileSync(s.file('fp.der')));
  assert.equal(derToPem(der, 'CERTIFICATE'), pem);
  const lines = derToPem(crypto.randomBytes(500), 'X').split('\n');
  assert.ok(lines.slice(1, -3).every((l) => l.length === 64));
  const fp = openssl(['x509', '-in', certPath, '-noout', '-fingerprint', '-sha256']).trim().split('=')[1]!;
  assert.equal(sha256Hex(der), fp.replaceAll(':', '').toLowerCase());
});

test('pemToDer wants exactly one block with the named label and valid base64', () => {
  const one = derToPem(Buffer.from([0x30, 0x00]), 'CERTIFICATE');
  assert.deepEqual(pemToDer(`junk before\n${one}junk after`, 'CERTIFICATE'), Buffer.from([0x30, 0x00]));
  assert.throws(() => pemToDer(one + one, 'CERTIFICATE'), /found 2 blocks/);
  assert.throws(() => pemToDer(one, 'PRIVATE KEY'), /found "CERTIFICATE"/);
  assert.throws(() => pemToDer('', 'CERTIFICATE'), /found 0 blocks/);
  assert.throws(() => pemToDer(one.replace('MAA', 'M*A'), 'CERTIFICATE'), /base64/);
  assert.throws(() => pemToDer(one.replace('-----END CERTIFICATE-----', ''), 'CERTIFICATE'));
  assert.throws(() => pemToDer('-----BEGIN X-----\nMAA=\n-----END Y-----\n', 'X'));
});
