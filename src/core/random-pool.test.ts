// The pooled CSPRNG: every draw is fresh bytes, across refills, as bytes or as hex.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytesPooled, randomHexPooled } from './random-pool.ts';

test('draws never repeat, across many refills of the pool, and have the asked length', () => {
  const seen = new Set<string>();
  // 3,000 draws of 10 and 12 bytes: about 16 refills of the 4 KB pool, with draws that straddle its end.
  for (let i = 0; i < 3000; i++) {
    const b = randomBytesPooled(10);
    assert.equal(b.length, 10);
    seen.add(b.toString('hex'));
    const h = randomHexPooled(12);
    assert.match(h, /^[0-9a-f]{24}$/);
    seen.add(h);
  }
  assert.equal(seen.size, 6000);
  assert.notEqual(randomBytesPooled(16).toString('hex'), '0'.repeat(32), 'not the wiped bytes of an earlier draw');
  assert.equal(randomBytesPooled(300).length, 300);
  assert.equal(randomHexPooled(300).length, 600);
});
