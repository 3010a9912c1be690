import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { aesGcmSealer } from './sealer.ts';

test('sealed secrets open with the same key and associated data', () => {
  const s = aesGcmSealer(crypto.randomBytes(32));
  const sealed = s.seal('-----BEGIN PRIVATE KEY-----', 'row:1');
  assert.ok(!sealed.includes('PRIVATE KEY'));
  assert.equal(s.open(sealed, 'row:1').toString(), '-----BEGIN PRIVATE KEY-----');
});

test('a flipped bit, another row or another key fails to open, never decrypts silently', () => {
  const s = aesGcmSealer(crypto.randomBytes(32));
  const sealed = s.seal('secret', 'row:1');
  const raw = Buffer.from(sealed.slice(3), 'base64');
  raw[raw.length - 1] ^= 1;
  assert.throws(() => s.open(`v1:${raw.toString('base64')}`, 'row:1'));
  assert.throws(() => s.open(sealed, 'row:2'));
  assert.throws(() => aesGcmSealer(crypto.randomBytes(32)).open(sealed, 'row:1'));
});
