// Key pair generation for kubecred-issued client keys and generated CAs.
// Must never export keys as JWK (it hangs Node 20.20.2 here) nor re-export a KeyObject on the hot path.

import crypto from 'node:crypto';
import { markVetted } from './x509.ts';

export type KeyAlgorithm = 'ec-p256' | 'rsa-2048';

export interface KeyPair {
  algorithm: KeyAlgorithm;
  /** PKCS#8 PEM. */
  privateKeyPem: string;
  /** SPKI DER. */
  publicKeyDer: Buffer;
}

export function generateKeyPair(alg: KeyAlgorithm): KeyPair {
  // Asking generateKeyPairSync for encoded output avoids a separate KeyObject.export per key.
  if (alg === 'ec-p256') {
    const { publicKey, privateKey } = crypto.generateKeyPairSync('ec', {
      namedCurve: 'prime256v1',
      publicKeyEncoding: { type: 'spki', format: 'der' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    markVetted(publicKey, 'ec');
    return { algorithm: alg, privateKeyPem: privateKey, publicKeyDer: publicKey };
  }
  if (alg === 'rsa-2048') {
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
