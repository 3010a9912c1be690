// CSPRNG bytes for IDs, request IDs and certificate serials, drawn from a pooled buffer. Each
// crypto.randomBytes call costs ~6-20 µs under OpenSSL 3.0, plus a job object and a fresh ArrayBuffer
// that every scavenge must then process; one randomFillSync per 4 KB costs about the same once.

import crypto from 'node:crypto';

const POOL = Buffer.alloc(4096);
let at = POOL.length;

/** `n` (at most 256) fresh random bytes, copied out; the pool's copy is wiped so no bytes are handed out twice. */
export function randomBytesPooled(n: number): Buffer {
  if (n > 256) return crypto.randomBytes(n);
  if (at + n > POOL.length) {
    crypto.randomFillSync(POOL);
    at = 0;
  }
  const out = Buffer.from(POOL.subarray(at, at + n));
  POOL.fill(0, at, at + n);
  at += n;
  return out;
}
