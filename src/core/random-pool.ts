// CSPRNG bytes for IDs, request IDs and certificate serials, drawn from a pooled buffer. Each
// crypto.randomBytes call costs ~6-20 µs under OpenSSL 3.0, plus a job object and a fresh ArrayBuffer
// that every scavenge must then process; one randomFillSync per 4 KB costs about the same once.

import crypto from 'node:crypto';

const POOL = Buffer.alloc(4096);
let at = POOL.length;

/** Where the next `n` bytes start, refilling the pool first when fewer are left. */
function take(n: number): number {
  if (at + n > POOL.length) {
    crypto.randomFillSync(POOL);
    at = 0;
  }
  const from = at;
  at += n;
  return from;
}

/** `n` (at most 256) fresh random bytes, copied out; the pool's copy is wiped so no bytes are handed out twice. */
export function randomBytesPooled(n: number): Buffer {
  if (n > 256) return crypto.randomBytes(n);
  const from = take(n);
  const out = Buffer.from(POOL.subarray(from, from + n));
  POOL.fill(0, from, from + n);
  return out;
}

/** `n` (at most 256) fresh random bytes as hex, with no Buffer made on the way (request IDs: one per request). */
export function randomHexPooled(n: number): string {
  if (n > 256) return crypto.randomBytes(n).toString('hex');
  const from = take(n);
  const out = POOL.toString('hex', from, from + n);
  POOL.fill(0, from, from + n);
  return out;
}
