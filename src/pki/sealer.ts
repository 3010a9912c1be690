// AES-256-GCM sealing of secrets at rest (client CA keys, default kubeconfig keys, access key secrets).
// The associated data binds each ciphertext to its row: a sealed value copied elsewhere will not open.

import crypto from 'node:crypto';
import type { Sealer } from '../core/ports.ts';

const VERSION = 'v1';

export function aesGcmSealer(masterKey: Buffer): Sealer {
  if (masterKey.length !== 32) throw new Error('the master key must be 32 bytes');
  const key = Buffer.from(masterKey);
  return {
    seal(plaintext, aad) {
      const iv = crypto.randomBytes(12);
      const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(aad));
      const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      return `${VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64')}`;
    },
    open(sealed, aad) {
      const [version, body] = sealed.split(':', 2);
      if (version !== VERSION || !body) throw new Error('sealed value has an unknown format');
      const raw = Buffer.from(body, 'base64');
      const decipher = crypto.createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
      decipher.setAAD(Buffer.from(aad));
      decipher.setAuthTag(raw.subarray(12, 28));
      // A flipped bit or a wrong key makes final() throw: never a silent wrong plaintext.
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
    },
  };
}
