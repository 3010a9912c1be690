import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { aesGcmSealer, masterKeyId, UnknownMasterKey } from './sealer.ts';

test('sealed secrets open with the same key and associated data', () => {
  const s = aesGcmSealer(crypto.randomBytes(32));
  const sealed = s.seal('-----BEGIN PRIVATE KEY-----', 'row:1');
  assert.ok(!sealed.includes('PRIVATE KEY'));
  assert.equal(s.open(sealed, 'row:1').toString(), '-----BEGIN PRIVATE KEY-----');
});

test('a flipped bit, another row or another key fails to open, never decrypts silently', () => {
  const s = aesGcmSealer(crypto.randomBytes(32));
  const sealed = s.seal('secret', 'row:1');
  const [v, id, body] = sealed.split(':');
  const raw = Buffer.from(body!, 'base64');
  raw[raw.length - 1] ^= 1;
  assert.throws(() => s.open(`${v}:${id}:${raw.toString('base64')}`, 'row:1'));
  assert.throws(() => s.open(sealed, 'row:2'));
  assert.throws(() => aesGcmSealer(crypto.randomBytes(32)).open(sealed, 'row:1'));
});

test('a keyring seals under its current key, names it, and opens what any of its keys sealed', () => {
  const [k1, k2] = [crypto.randomBytes(32), crypto.randomBytes(32)];
  const old = aesGcmSealer(k1);
  const rotating = aesGcmSealer(k2, [k1]);
  assert.equal(rotating.currentKeyId, masterKeyId(k2));
  assert.deepEqual(rotating.keyIds, [masterKeyId(k2), masterKeyId(k1)]);
  assert.match(masterKeyId(k1), /^[0-9a-f]{16}$/);

  const underOld = old.seal('ca key', 'row:1');
  assert.ok(underOld.startsWith(`v2:${masterKeyId(k1)}:`));
  assert.deepEqual(rotating.openWithId(underOld, 'row:1'), { plaintext: Buffer.from('ca key'), keyId: masterKeyId(k1) });
  const underNew = rotating.seal('ca key', 'row:1');
  assert.ok(underNew.startsWith(`v2:${masterKeyId(k2)}:`), 'only the current key seals');
  // A server that holds the old key alone is told which key it lacks.
  assert.throws(() => old.open(underNew, 'row:1'), (e: Error) => e instanceof UnknownMasterKey && e.message.includes(masterKeyId(k2)) && e.message.includes(masterKeyId(k1)));
  // The key ID in a value is not trusted: another key under its name still fails authentication.
  const forged = underNew.replace(masterKeyId(k2), masterKeyId(k1));
  assert.throws(() => rotating.open(forged, 'row:1'));
});

test('values sealed before key IDs (v1) open with whichever key of the ring sealed them', () => {
  const [k1, k2] = [crypto.randomBytes(32), crypto.randomBytes(32)];
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', k1, iv);
  cipher.setAAD(Buffer.from('row:1'));
  const ct = Buffer.concat([cipher.update('legacy'), cipher.final()]);
  const v1 = `v1:${Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64')}`;
  assert.deepEqual(aesGcmSealer(k2, [k1]).openWithId(v1, 'row:1'), { plaintext: Buffer.from('legacy'), keyId: masterKeyId(k1) });
  assert.throws(() => aesGcmSealer(k2).open(v1, 'row:1'), /does not open with any master key/);
  assert.throws(() => aesGcmSealer(k1).open('v3:abc', 'row:1'), /unknown format/);
});
