// Key pair generation for kubecred-issued client keys and generated CAs.
// Must never export keys as JWK (it hangs Node 20.20.2 here) nor re-export a KeyObject on the hot path.

import crypto from 'node:crypto';
import { derToPem } from './fingerprint.ts';
import { markVetted } from './x509.ts';

export type KeyAlgorithm = 'ec-p256' | 'rsa-2048';

export interface KeyPair {
  algorithm: KeyAlgorithm;
  /** PKCS#8 PEM. */
  privateKeyPem: string;
  /** SPKI DER. */
  publicKeyDer: Buffer;
}

// The fixed DER around a P-256 key: SPKI is SEQUENCE { AlgorithmIdentifier { id-ecPublicKey, prime256v1 },
// BIT STRING point }, and PKCS#8 wraps the RFC 5915 ECPrivateKey { 1, d, [1] point } exactly as OpenSSL writes it.
const P256_ALG_ID = Buffer.from('301306072a8648ce3d020106082a8648ce3d030107', 'hex');
const SPKI_PREFIX = Buffer.concat([Buffer.from('3059', 'hex'), P256_ALG_ID, Buffer.from('034200', 'hex')]);
const PKCS8_PREFIX = Buffer.concat([Buffer.from('308187020100', 'hex'), P256_ALG_ID, Buffer.from('046d306b0201010420', 'hex')]);
const PKCS8_MIDDLE = Buffer.from('a144034200', 'hex');

/** SPKI DER of an uncompressed P-256 point (0x04 || X || Y). */
export function p256Spki(point: Buffer): Buffer {
  if (point.length !== 65 || point[0] !== 0x04) throw new RangeError('expected an uncompressed P-256 point');
  return Buffer.concat([SPKI_PREFIX, point], 91);
}

/** PKCS#8 DER of a P-256 private scalar (left-padded to 32 bytes) with its public point. */
export function p256Pkcs8(scalar: Buffer, point: Buffer): Buffer {
  if (scalar.length === 0 || scalar.length > 32) throw new RangeError('a P-256 private key is at most 32 bytes');
  if (point.length !== 65 || point[0] !== 0x04) throw new RangeError('expected an uncompressed P-256 point');
  const out = Buffer.alloc(138);
  PKCS8_PREFIX.copy(out, 0);
  scalar.copy(out, 36 + 32 - scalar.length); // ECDH drops leading zero octets; RFC 5915 wants exactly 32
  PKCS8_MIDDLE.copy(out, 68);
  point.copy(out, 73);
  return out;
}

// createECDH + writing the DER ourselves costs ~20 µs per key here, against ~220 µs for generateKeyPairSync
// with encoded output (OpenSSL 3.0's encoders dominate). One ECDH object is reused: generateKeys() draws a
// fresh scalar from OpenSSL's CSPRNG each call, and this runs synchronously, so no two callers share a key.
let ecdh: crypto.ECDH | null = null;

function generateP256(): KeyPair {
  ecdh ??= crypto.createECDH('prime256v1');
  ecdh.generateKeys();
  const point = ecdh.getPublicKey();
  const scalar = ecdh.getPrivateKey();
  const pkcs8 = p256Pkcs8(scalar, point);
  scalar.fill(0);
  const publicKeyDer = p256Spki(point);
  markVetted(publicKeyDer, 'ec');
  const privateKeyPem = derToPem(pkcs8, 'PRIVATE KEY');
  pkcs8.fill(0);
  return { algorithm: 'ec-p256', privateKeyPem, publicKeyDer };
}

export function generateKeyPair(alg: KeyAlgorithm): KeyPair {
  if (alg === 'ec-p256') return generateP256();
  if (alg === 'rsa-2048') {
    // Asking generateKeyPairSync for encoded output avoids a separate KeyObject.export per key.
    const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicExponent: 0x10001,
      publicKeyEncoding: { type: 'spki', format: 'der' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    markVetted(publicKey, 'rsa');
    return { algorithm: alg, privateKeyPem: privateKey, publicKeyDer: publicKey };
  }
  throw new RangeError(`unknown key algorithm ${String(alg)}`);
}
