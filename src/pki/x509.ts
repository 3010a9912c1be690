// Shared X.509 plumbing for pki: key policy, TBSCertificate assembly, signing, and a small certificate reader.
// Must never sign with anything but SHA-256 nor accept keys outside EC P-256/P-384 and RSA 2048-8192.

import crypto from 'node:crypto';
import type { CaAlgorithm } from '../core/model.ts';
import { randomBytesPooled } from '../core/random-pool.ts';
import * as der from './der.ts';
import { children, content, DerError, decodeBitString, decodeBoolean, decodeOid, decodeTime, expect, raw, readOnly, type Tlv } from './der-read.ts';

export const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectKeyId: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  extKeyUsage: '2.5.29.37',
  authorityKeyId: '2.5.29.35',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  ecdsaSha256: '1.2.840.10045.4.3.2',
  sha256WithRsa: '1.2.840.113549.1.1.11',
} as const;

export const KU = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 } as const;

export type KeyFamily = 'ec' | 'rsa';

/** Returns the family, or a sentence saying why the key is refused (callers pick the error code). */
export function keyPolicy(key: crypto.KeyObject): KeyFamily | string {
  const d = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec') {
    if (d.namedCurve === 'prime256v1' || d.namedCurve === 'secp384r1') return 'ec';
    return `EC curve ${d.namedCurve ?? 'unknown'} is not supported; use P-256 or P-384`;
  }
  if (key.asymmetricKeyType === 'rsa') {
    const bits = d.modulusLength ?? 0;
    if (bits < 2048) return `RSA key of ${bits} bits is too small; use at least 2048 bits`;
    // A private operation grows with the cube of the size: a CA of 16,384 bits made each issuance cost ~1 s.
    if (bits > MAX_RSA_BITS) return `RSA key of ${bits} bits is too large; use at most ${MAX_RSA_BITS} bits (4096 is plenty, EC P-256 is cheapest)`;
    return 'rsa';
  }
  return `key type ${key.asymmetricKeyType ?? 'unknown'} is not supported; use EC P-256/P-384 or RSA 2048-${MAX_RSA_BITS}`;
}

/** The largest RSA modulus kubecred takes, for a CA key or a requester's key. */
export const MAX_RSA_BITS = 8192;

/** What a key is, as shown to people: 'ec-p256', 'ec-p384' or 'rsa-<bits>'. Only for keys keyPolicy accepted. */
export function keyLabel(key: crypto.KeyObject): CaAlgorithm {
  const d = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec') return d.namedCurve === 'secp384r1' ? 'ec-p384' : 'ec-p256';
  return `rsa-${d.modulusLength ?? 0}`;
}

export interface SpkiInfo { key: crypto.KeyObject; family: KeyFamily; keyBits: Buffer }

// createPublicKey costs ~115 µs under OpenSSL 3.0, as much as the rest of issuing. Keys we generated, or that
// parseCsr already vetted, are remembered by Buffer identity; the byte copy catches a caller mutating the buffer.
const vetted = new WeakMap<Buffer, { bytes: Buffer; family: KeyFamily }>();

export function markVetted(spkiDer: Buffer, family: KeyFamily): void {
  vetted.set(spkiDer, { bytes: Buffer.from(spkiDer), family });
}

/** The i-th element, or a DerError naming what is missing (never an undefined read further on). */
function nth(list: Tlv[], i: number, what: string): Tlv {
  const t = list[i];
  if (!t) throw new DerError(`${what} is missing`);
  return t;
}

function spkiKeyBits(spkiDer: Buffer): Buffer {
  const parts = children(readOnly(spkiDer, 0x30));
  if (parts.length !== 2) throw new DerError('SubjectPublicKeyInfo must have two parts');
  expect(parts[0]!, 0x30);
  return decodeBitString(parts[1]!).bytes;
}

/** The checks of inspectSpki, skipping OpenSSL for a buffer already vetted and unchanged since. */
export function vetSpki(spkiDer: Buffer): { family: KeyFamily; keyBits: Buffer } | string {
  const known = vetted.get(spkiDer);
  if (known && known.bytes.equals(spkiDer)) return { family: known.family, keyBits: spkiKeyBits(spkiDer) };
  const info = inspectSpki(spkiDer);
  if (typeof info !== 'string') markVetted(spkiDer, info.family);
  return info;
}

/**
 * The SubjectPublicKeyInfo every client writes for a P-256 or P-384 key: these exact bytes, then the uncompressed
 * point (0x04, x, y). OpenSSL 3.0 decodes SPKI DER through its generic decoder chain: import, curve check and the
 * CSR's signature check cost ~195-215 µs here, against ~130-145 µs when the key is given as JWK coordinates (OpenSSL
 * still checks that the point is on the curve). Any other encoding (compressed points, explicit parameters) takes
 * the generic path.
 */
const NAMED_EC_SPKI = [
  { prefix: Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'), crv: 'P-256', size: 32 },
  { prefix: Buffer.from('3076301006072a8648ce3d020106052b81040022036200', 'hex'), crv: 'P-384', size: 48 },
];

function namedEcKey(spkiDer: Buffer): crypto.KeyObject | null {
  for (const { prefix, crv, size } of NAMED_EC_SPKI) {
    const at = prefix.length + 1;
    if (spkiDer.length !== at + 2 * size || spkiDer[prefix.length] !== 0x04 || !spkiDer.subarray(0, prefix.length).equals(prefix)) continue;
    const x = spkiDer.toString('base64url', at, at + size);
    const y = spkiDer.toString('base64url', at + size, at + 2 * size);
    return crypto.createPublicKey({ key: { kty: 'EC', crv, x, y }, format: 'jwk' });
  }
  return null;
}

const RSA_KEY_OIDS = new Set(['1.2.840.113549.1.1.1', '1.2.840.113549.1.1.10']);
/** 2^32 - 1: every RSA key in use has 65537 (or 3); Go refuses exponents over 2^31 - 1. */
const MAX_RSA_EXPONENT_BYTES = 4;

/**
 * Why an RSA key's public exponent is refused, read from the SPKI bytes before Node sees the key, or null (not RSA,
 * or a usual exponent). Node converts the exponent for asymmetricKeyDetails in time quadratic in its length: a 22 KB
 * exponent in a CSR cost ~85 ms there (found by npm run fuzz). Throws DerError on malformed input.
 */
export function rsaExponentProblem(spkiDer: Buffer): string | null {
  const [alg, bits] = children(readOnly(spkiDer, 0x30));
  if (!alg || !bits || !RSA_KEY_OIDS.has(decodeOid(nth(children(expect(alg, 0x30)), 0, 'algorithm')))) return null;
  const e = content(expect(nth(children(readOnly(decodeBitString(bits).bytes, 0x30)), 1, 'publicExponent'), 0x02));
  let i = 0;
  while (i < e.length - 1 && e[i] === 0) i++;
  return e.length - i > MAX_RSA_EXPONENT_BYTES ? `an RSA public exponent of ${(e.length - i) * 8} bits is not supported; use 65537` : null;
}

/** Parses SPKI DER both with OpenSSL (to trust the key) and ourselves (to get the key bits for key IDs). */
export function inspectSpki(spkiDer: Buffer): SpkiInfo | string {
  let keyBits: Buffer;
  let key: crypto.KeyObject;
  try {
    keyBits = spkiKeyBits(spkiDer);
    const ec = namedEcKey(spkiDer);
    // A named P-256/P-384 key needs no policy check beyond its curve, which its bytes already named.
    if (ec) return { key: ec, family: 'ec', keyBits };
    const rsa = rsaExponentProblem(spkiDer);
    if (rsa) return rsa;
    key = crypto.createPublicKey({ key: spkiDer, format: 'der', type: 'spki' });
  } catch {
    return 'the public key is not a valid SubjectPublicKeyInfo';
  }
  const family = keyPolicy(key);
  if (family !== 'ec' && family !== 'rsa') return family;
  // A P-256/P-384 key in any other form (a compressed point, explicit curve parameters): OpenSSL takes it, Go (and so
  // kubectl and kube-apiserver) does not, and the certificate would carry the key as the request wrote it.
  if (family === 'ec') return 'the EC public key must name its curve (P-256 or P-384) and be an uncompressed point, the only form Go (kubectl, kube-apiserver) reads: make it without -conv_form compressed or -param_enc explicit';
  return { key, family, keyBits };
}

/** RFC 5280 4.2.1.2 method 1; also what OpenSSL and Go put in subjectKeyIdentifier. */
export const keyIdOf = (keyBits: Buffer): Buffer => crypto.createHash('sha1').update(keyBits).digest();

/**
 * A new certificate serial, 16 bytes: the time in milliseconds (6 bytes), then 80 bits from the CSPRNG (more
 * than the 64 the CA/Browser Forum asks of public CAs). Time first, so serials mostly increase and the
 * store's unique serial index is appended to at its right edge rather than at a random leaf per issuance
 * (one page per group commit instead of one per certificate). Positive without a pad byte until the year 6429.
 */
export function randomSerial(nowMs = Date.now()): Buffer {
  const b = Buffer.alloc(16);
  b.writeUIntBE(nowMs, 0, 6);
  randomBytesPooled(10).copy(b, 6);
  b[0]! &= 0x7f;
  return b;
}

/** Serial as printed by OpenSSL and Node (no leading zero octets), lowercased. */
export function serialHex(serial: Buffer): string {
  let i = 0;
  while (i < serial.length - 1 && serial[i] === 0) i++;
  return serial.subarray(i).toString('hex');
}

export function buildName(commonName: string, organizations: string[] = []): Buffer {
  const rdn = (type: string, value: string) => der.set(der.sequence(der.oid(type), der.utf8String(value)));
  return der.sequence(rdn(OID.commonName, commonName), ...organizations.map((o) => rdn(OID.organization, o)));
}

export function extension(oid: string, critical: boolean, value: Buffer): Buffer {
  // DER omits a BOOLEAN equal to its DEFAULT, so non-critical carries no flag at all.
  return critical
    ? der.sequence(der.oid(oid), der.boolean(true), der.octetString(value))
    : der.sequence(der.oid(oid), der.octetString(value));
}

export const keyUsageExt = (bits: number[]) => extension(OID.keyUsage, true, der.namedBits(bits));
export const extKeyUsageExt = (...oids: string[]) => extension(OID.extKeyUsage, false, der.sequence(...oids.map(der.oid)));
export const basicConstraintsExt = (ca: boolean) =>
  extension(OID.basicConstraints, true, ca ? der.sequence(der.boolean(true)) : der.sequence());
export const subjectKeyIdExt = (id: Buffer) => extension(OID.subjectKeyId, false, der.octetString(id));
export const authorityKeyIdExt = (id: Buffer) => extension(OID.authorityKeyId, false, der.sequence(der.implicit(0, id)));

export function signatureAlgorithmId(family: KeyFamily): Buffer {
  // RFC 5758: ECDSA AlgorithmIdentifiers carry no parameters; RFC 4055: RSA PKCS#1 v1.5 ones carry NULL.
  return family === 'ec' ? der.sequence(der.oid(OID.ecdsaSha256)) : der.sequence(der.oid(OID.sha256WithRsa), der.NULL);
}

export interface TbsFields {
  serial: Buffer;
  signerFamily: KeyFamily;
  issuerDer: Buffer;
  notBefore: Date;
  notAfter: Date;
  subjectDer: Buffer;
  spkiDer: Buffer;
  extensions: Buffer[];
}

/** Builds, signs and wraps a v3 certificate; returns the full Certificate DER. */
export function signCertificate(f: TbsFields, signer: crypto.KeyObject): Buffer {
  const algId = signatureAlgorithmId(f.signerFamily);
  const tbs = der.sequence(
    der.explicit(0, der.integerFromNumber(2)),
    der.integerFromBytes(f.serial),
    algId,
    f.issuerDer,
    der.sequence(der.time(f.notBefore), der.time(f.notAfter)),
    f.subjectDer,
    f.spkiDer,
    der.explicit(3, der.sequence(...f.extensions)),
  );
  // Default DSA encoding for EC is DER (r,s) SEQUENCE, which is what X.509 wants.
  const sig = crypto.sign('sha256', tbs, signer);
  return der.sequence(tbs, algId, der.bitString(sig));
}

export interface ParsedCert {
  subjectDer: Buffer;
  spkiDer: Buffer;
  keyBits: Buffer;
  notBefore: Date;
  notAfter: Date;
  extensions: Map<string, { critical: boolean; value: Buffer }>;
}

/**
 * Reads the parts of a certificate pki decides on; throws DerError on anything malformed, a missing part included
 * (a certificate cut short threw TypeError on an undefined element: found by npm run fuzz).
 */
export function parseCertificate(certDer: Buffer): ParsedCert {
  const tbs = nth(children(readOnly(certDer, 0x30)), 0, 'TBSCertificate');
  const f = children(expect(tbs, 0x30));
  let i = nth(f, 0, 'serial number').tag === 0xa0 ? 1 : 0; // version is optional (v1)
  i += 2; // serial, signature
  const validity = children(expect(nth(f, i + 1, 'validity'), 0x30));
  const subject = expect(nth(f, i + 2, 'subject'), 0x30);
  const spki = expect(nth(f, i + 3, 'subjectPublicKeyInfo'), 0x30);
  const extensions = new Map<string, { critical: boolean; value: Buffer }>();
  const extWrap = f.slice(i + 4).find((t: Tlv) => t.tag === 0xa3);
  if (extWrap) {
    for (const e of children(expect(nth(children(extWrap), 0, 'extensions'), 0x30))) {
      const parts = children(expect(e, 0x30));
      if (parts.length !== 2 && parts.length !== 3) throw new DerError('an extension must have two or three parts');
      const critical = parts.length === 3 ? decodeBoolean(parts[1]!) : false;
      extensions.set(decodeOid(parts[0]!), { critical, value: content(expect(parts[parts.length - 1]!, 0x04)) });
    }
  }
  return {
    subjectDer: Buffer.from(raw(subject)),
    spkiDer: Buffer.from(raw(spki)),
    keyBits: Buffer.from(decodeBitString(nth(children(spki), 1, 'subjectPublicKey')).bytes),
    notBefore: decodeTime(nth(validity, 0, 'notBefore')),
    notAfter: decodeTime(nth(validity, 1, 'notAfter')),
    extensions,
  };
}

/** basicConstraints cA flag; false when the extension is absent. */
export function isCa(p: ParsedCert): boolean {
  const bc = p.extensions.get(OID.basicConstraints);
  if (!bc) return false;
  const parts = children(readOnly(bc.value, 0x30));
  return parts.length > 0 && parts[0]!.tag === 0x01 && decodeBoolean(parts[0]!);
}

/** keyUsage bit set, or null when the extension is absent (absent means unrestricted). */
export function hasKeyUsage(p: ParsedCert, bit: number): boolean | null {
  const ku = p.extensions.get(OID.keyUsage);
  if (!ku) return null;
  const { bytes } = decodeBitString(readOnly(ku.value, 0x03), true);
  return (bit >> 3) < bytes.length && (bytes[bit >> 3]! & (0x80 >> (bit & 7))) !== 0;
}

export function subjectKeyIdOf(p: ParsedCert): Buffer | null {
  const ski = p.extensions.get(OID.subjectKeyId);
  return ski ? Buffer.from(content(readOnly(ski.value, 0x04))) : null;
}
