// Identifiers and secrets: time-ordered IDs (so keyset paging follows creation order) and random secrets.
// The only place core draws randomness; tests may inject their own Ids.

import type { Ids } from './ports.ts';
import { randomBytesPooled } from './random-pool.ts';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lowercase

function base32(bytes: Buffer, chars: number): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out.slice(0, chars);
}

export function randomIds(now: () => number = Date.now): Ids {
  let lastMs = 0;
  let counter = 0;
  return {
    id(prefix) {
      const ms = now();
      // Within one millisecond a counter keeps IDs increasing, so paging never skips a row.
      counter = ms === lastMs ? counter + 1 : 0;
      lastMs = ms;
      const time = Buffer.alloc(8);
      time.writeBigUInt64BE(BigInt(ms) * 1024n + BigInt(counter & 1023));
      return `${prefix}_${base32(time.subarray(1), 12)}${base32(randomBytesPooled(10), 14)}`;
    },
    secret(bytes) {
      return randomBytesPooled(bytes).toString('base64url');
    },
  };
}
