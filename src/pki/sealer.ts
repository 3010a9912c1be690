// AES-256-GCM sealing of secrets at rest (client CA keys, default kubeconfig keys, access key secrets).
// The associated data binds each ciphertext to its row: a sealed value copied elsewhere will not open.
//
// A server holds a keyring: the current master key, which seals, and during a rotation the keys it replaces,
// which only open. Each sealed value names the key that sealed it (`v2:<key id>:…`), so a value is opened by
// that key alone and a rotation can tell what is left to re-seal. Values from before key IDs (`v1:…`) are
// tried against every key of the ring.

import crypto from 'node:crypto';
import type { Sealer } from '../core/ports.ts';

const V1 = 'v1';
const V2 = 'v2';
const ID_LABEL = 'kubecred master key id v1';

/** A key's public name: 16 hex digits of an HMAC under the key itself (it says nothing of the key). */
export function masterKeyId(key: Buffer): string {
  return crypto.createHmac('sha256', key).update(ID_LABEL).digest('hex').slice(0, 16);
}

export class UnknownMasterKey extends Error {}

/** `current` seals and opens; `others` (keys being rotated out) only open. */
export function aesGcmSealer(current: Buffer, others: Buffer[] = []): Sealer {
  const ring = new Map<string, Buffer>();
  for (const k of [current, ...others]) {
    if (k.length !== 32) throw new Error('a master key must be 32 bytes');
    const id = masterKeyId(k);
    if (!ring.has(id)) ring.set(id, Buffer.from(k));
  }
  const currentId = masterKeyId(current);
  const currentKey = ring.get(currentId)!;

  const decrypt = (key: Buffer, raw: Buffer, aad: string): Buffer => {
    const decipher = crypto.createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(aad));
    decipher.setAuthTag(raw.subarray(12, 28));
    // A flipped bit or a wrong key makes final() throw: never a silent wrong plaintext.
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
  };

  /** The plaintext and the ID of the key that opened it. */
  const openWithId = (sealed: string, aad: string): { plaintext: Buffer; keyId: string } => {
    const parts = sealed.split(':');
    if (parts[0] === V2 && parts.length === 3 && parts[2]) {
      const key = ring.get(parts[1]!);
      if (!key) throw new UnknownMasterKey(`sealed under master key ${parts[1]}, which this server does not hold (it holds ${[...ring.keys()].join(', ')})`);
      return { plaintext: decrypt(key, Buffer.from(parts[2], 'base64'), aad), keyId: parts[1]! };
    }
    if (parts[0] === V1 && parts.length === 2 && parts[1]) {
      const raw = Buffer.from(parts[1], 'base64');
      for (const [keyId, key] of ring) {
        try {
          return { plaintext: decrypt(key, raw, aad), keyId };
        } catch {
          // the next key of the ring
        }
      }
      throw new Error('sealed value does not open with any master key this server holds');
    }
    throw new Error('sealed value has an unknown format');
  };

  return {
    currentKeyId: currentId,
    keyIds: [...ring.keys()],
    seal(plaintext, aad) {
      const iv = crypto.randomBytes(12);
      const cipher = crypto.createCipheriv('aes-256-gcm', currentKey, iv);
      cipher.setAAD(Buffer.from(aad));
      const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      return `${V2}:${currentId}:${Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64')}`;
    },
    open: (sealed, aad) => openWithId(sealed, aad).plaintext,
    openWithId,
  };
}
