// Minimal DER writer: just the ASN.1 types an X.509 certificate needs, encoded straight into Buffers.
// Must never emit non-canonical DER (BER lengths, redundant INTEGER zeros, unsorted SET OF): verifiers reject it.

const OID_CACHE = new Map<string, Buffer>();

function headerLength(n: number): number {
  if (n < 0x80) return 2;
  let bytes = 0;
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes++;
  return 2 + bytes;
}

/** One allocation per element: encoding speed matters on the issuing path. */
function encode(tag: number, parts: readonly Buffer[]): Buffer {
  let len = 0;
  for (const p of parts) len += p.length;
  const h = headerLength(len);
  const out = Buffer.allocUnsafe(h + len);
  out[0] = tag;
  if (h === 2) {
    out[1] = len;
  } else {
    out[1] = 0x80 | (h - 2);
    for (let i = h - 1, v = len; i >= 2; i--, v = Math.floor(v / 256)) out[i] = v & 0xff;
  }
  let p = h;
  for (const part of parts) { part.copy(out, p); p += part.length; }
  return out;
}

export function tlv(tag: number, content: Buffer): Buffer {
  return encode(tag, [content]);
}

export function sequence(...items: Buffer[]): Buffer {
  return encode(0x30, items);
}

/** SET OF: DER requires the encodings in ascending byte order, so sort rather than trust the caller. */
export function set(...items: Buffer[]): Buffer {
  return encode(0x31, items.length > 1 ? [...items].sort(Buffer.compare) : items);
}

/** Unsigned big-endian magnitude to INTEGER: drop redundant zeros, then add one back if the top bit would read as a sign. */
export function integerFromBytes(bytes: Buffer): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  let body = bytes.subarray(i);
  if (body.length === 0) body = Buffer.from([0]);
  if (body[0]! & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
  return tlv(0x02, body);
}

export function integerFromNumber(n: number): Buffer {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError('integerFromNumber takes a non-negative safe integer');
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return integerFromBytes(Buffer.from(bytes.length ? bytes : [0]));
}

export function oid(dotted: string): Buffer {
  const cached = OID_CACHE.get(dotted);
  if (cached) return cached;
  const arcs = dotted.split('.').map((s) => {
    if (!/^\d+$/.test(s)) throw new RangeError(`bad OID ${dotted}`);
    return BigInt(s);
  });
  if (arcs.length < 2 || arcs[0]! > 2n || (arcs[0]! < 2n && arcs[1]! > 39n)) throw new RangeError(`bad OID ${dotted}`);
  const out: number[] = [];
  const push = (arc: bigint) => {
    const chunk: number[] = [Number(arc & 0x7fn)];
    for (let v = arc >> 7n; v > 0n; v >>= 7n) chunk.unshift(Number(v & 0x7fn) | 0x80);
    out.push(...chunk);
  };
  push(arcs[0]! * 40n + arcs[1]!);
  for (const arc of arcs.slice(2)) push(arc);
  const encoded = tlv(0x06, Buffer.from(out));
  OID_CACHE.set(dotted, encoded);
  return encoded;
}

export function utf8String(s: string): Buffer {
  return tlv(0x0c, Buffer.from(s, 'utf8'));
}

export function printableString(s: string): Buffer {
  if (!/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(s)) throw new RangeError('not a PrintableString');
  return tlv(0x13, Buffer.from(s, 'latin1'));
}

export function ia5String(s: string): Buffer {
  if (!/^[\x00-\x7f]*$/.test(s)) throw new RangeError('not an IA5String');
  return tlv(0x16, Buffer.from(s, 'latin1'));
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; both in Z with whole seconds. */
export function time(d: Date): Buffer {
  const ms = d.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('invalid date');
  const y = d.getUTCFullYear();
  if (y < 1 || y > 9999) throw new RangeError('year out of range for X.509');
  const rest = pad(d.getUTCMonth() + 1, 2) + pad(d.getUTCDate(), 2) + pad(d.getUTCHours(), 2)
    + pad(d.getUTCMinutes(), 2) + pad(d.getUTCSeconds(), 2) + 'Z';
  if (y >= 1950 && y <= 2049) return tlv(0x17, Buffer.from(pad(y % 100, 2) + rest, 'latin1'));
  return tlv(0x18, Buffer.from(pad(y, 4) + rest, 'latin1'));
}

export function bitString(bytes: Buffer, unusedBits = 0): Buffer {
  if (unusedBits < 0 || unusedBits > 7 || (bytes.length === 0 && unusedBits !== 0)) throw new RangeError('bad unused bit count');
  return tlv(0x03, Buffer.concat([Buffer.from([unusedBits]), bytes]));
}

/** A named-bit BIT STRING (keyUsage): DER wants trailing zero bits trimmed and counted as unused. */
export function namedBits(bits: number[]): Buffer {
  if (bits.length === 0) return bitString(Buffer.alloc(0));
  const bytes = Buffer.alloc((Math.max(...bits) >> 3) + 1);
  for (const b of bits) bytes[b >> 3]! |= 0x80 >> (b & 7);
  const last = bytes[bytes.length - 1]!;
  let unused = 0;
  while (unused < 7 && (last & (1 << unused)) === 0) unused++;
  return bitString(bytes, unused);
}

export function octetString(bytes: Buffer): Buffer {
  return tlv(0x04, bytes);
}

export function boolean(v: boolean): Buffer {
  return Buffer.from([0x01, 0x01, v ? 0xff : 0x00]);
}

export const NULL = Buffer.from([0x05, 0x00]);

/** [n] EXPLICIT: wraps a whole encoding, so it is always constructed. */
export function explicit(tagNumber: number, ...inner: Buffer[]): Buffer {
  if (tagNumber < 0 || tagNumber > 30) throw new RangeError('tag number out of range');
  return encode(0xa0 | tagNumber, inner);
}

/** [n] IMPLICIT: replaces the tag of the content; constructed only if the underlying type was. */
export function implicit(tagNumber: number, content: Buffer, constructed = false): Buffer {
  if (tagNumber < 0 || tagNumber > 30) throw new RangeError('tag number out of range');
  return tlv((constructed ? 0xa0 : 0x80) | tagNumber, content);
}
