// Minimal strict DER reader for the few structures pki must look inside (certificates, CSRs, SPKI).
// Must never be lenient about lengths or bounds: it reads untrusted CSRs, so every read is bounds-checked.

export interface Tlv {
  tag: number;
  /** Offset of the tag byte in buf. */
  start: number;
  contentStart: number;
  end: number;
  buf: Buffer;
}

export class DerError extends Error {}

export function readTlv(buf: Buffer, offset: number, limit = buf.length): Tlv {
  if (offset + 2 > limit) throw new DerError('truncated DER');
  const tag = buf[offset]!;
  // High tag numbers never occur in what we read; refusing them keeps the parser small.
  if ((tag & 0x1f) === 0x1f) throw new DerError('unsupported high tag number');
  let len = buf[offset + 1]!;
  let p = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw new DerError('indefinite length is not DER');
    if (n > 4) throw new DerError('DER length too large');
    if (p + n > limit) throw new DerError('truncated DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i]!;
    if (buf[p] === 0 || len < 0x80) throw new DerError('non-minimal DER length');
    p += n;
  }
  if (p + len > limit) throw new DerError('DER content runs past its container');
  return { tag, start: offset, contentStart: p, end: p + len, buf };
}

/** The buffer must hold exactly one element: trailing bytes would let two parsers disagree. */
export function readOnly(buf: Buffer, expectTag?: number): Tlv {
  const t = readTlv(buf, 0);
  if (t.end !== buf.length) throw new DerError('trailing bytes after DER element');
  if (expectTag !== undefined) expect(t, expectTag);
  return t;
}

export function expect(t: Tlv, tag: number): Tlv {
  if (t.tag !== tag) throw new DerError(`expected tag 0x${tag.toString(16)}, found 0x${t.tag.toString(16)}`);
  return t;
}

export function children(t: Tlv): Tlv[] {
  if ((t.tag & 0x20) === 0) throw new DerError('primitive element has no children');
  const out: Tlv[] = [];
  for (let p = t.contentStart; p < t.end;) {
    const c = readTlv(t.buf, p, t.end);
    out.push(c);
    p = c.end;
  }
  return out;
}

export const content = (t: Tlv): Buffer => t.buf.subarray(t.contentStart, t.end);
export const raw = (t: Tlv): Buffer => t.buf.subarray(t.start, t.end);

/**
 * Longer than any OID pki reads (a UUID-based 2.25.* one is 19 bytes). Arcs are BigInts, so a 48 KB OID (a CSR's
 * signature algorithm, say) made one arc of ~336,000 bits shifted 48,000 times: ~220 ms, found by npm run fuzz.
 */
export const MAX_OID_BYTES = 128;

export function decodeOid(t: Tlv): string {
  expect(t, 0x06);
  const b = content(t);
  if (b.length === 0 || b[b.length - 1]! & 0x80) throw new DerError('bad OID');
  if (b.length > MAX_OID_BYTES) throw new DerError(`OID longer than ${MAX_OID_BYTES} bytes`);
  const arcs: bigint[] = [];
  let v = 0n;
  for (let i = 0; i < b.length; i++) {
    if (v === 0n && b[i] === 0x80) throw new DerError('non-minimal OID arc');
    v = (v << 7n) | BigInt(b[i]! & 0x7f);
    if ((b[i]! & 0x80) === 0) { arcs.push(v); v = 0n; }
  }
  const first = arcs[0]!;
  const head = first < 80n ? [first / 40n, first % 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].join('.');
}

export function decodeBoolean(t: Tlv): boolean {
  const b = content(expect(t, 0x01));
  if (b.length !== 1 || (b[0] !== 0 && b[0] !== 0xff)) throw new DerError('bad BOOLEAN');
  return b[0] === 0xff;
}

/** BIT STRING content without the unused-bits octet; pass allowUnused for named-bit strings. */
export function decodeBitString(t: Tlv, allowUnused = false): { bytes: Buffer; unused: number } {
  const b = content(expect(t, 0x03));
  if (b.length === 0 || b[0]! > 7 || (!allowUnused && b[0] !== 0) || (b.length === 1 && b[0] !== 0)) {
    throw new DerError('bad BIT STRING');
  }
  return { bytes: b.subarray(1), unused: b[0]! };
}

export function decodeTime(t: Tlv): Date {
  const s = content(t).toString('latin1');
  let m: RegExpExecArray | null;
  let year: number;
  if (t.tag === 0x17 && (m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s))) {
    const yy = Number(m[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (t.tag === 0x18 && (m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s))) {
    year = Number(m[1]);
  } else {
    throw new DerError('bad certificate time');
  }
  const d = new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
  d.setUTCFullYear(year); // Date.UTC maps years 0-99 to 19xx
  if (d.getUTCMonth() !== Number(m[2]) - 1 || d.getUTCDate() !== Number(m[3])) throw new DerError('bad certificate time');
  return d;
}
