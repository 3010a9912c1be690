// The narrow interfaces core needs from the outside world: time, identifiers, sealing of secrets.
// Adapters implement them; core never reaches for Date.now(), Math.random() or a key file itself.

export interface Clock {
  now(): Date;
}

export interface Ids {
  /** A new time-ordered identifier with a readable prefix, e.g. `cls_01J...`. */
  id(prefix: string): string;
  /** `bytes` random bytes, base64url-encoded: for secrets. */
  secret(bytes: number): string;
}

/**
 * Authenticated encryption under the master key. `aad` binds a ciphertext to the row it belongs to.
 * During a rotation the sealer also holds the keys being replaced: they open, only the current one seals.
 */
export interface Sealer {
  seal(plaintext: string | Buffer, aad: string): string;
  open(sealed: string, aad: string): Buffer;
  /** Opens, and says which key of the ring did: what a rotation re-seals and counts. */
  openWithId(sealed: string, aad: string): { plaintext: Buffer; keyId: string };
  /** The ID of the key that seals (a name derived from the key, not the key). */
  readonly currentKeyId: string;
  /** Every key the sealer holds, the current one first. */
  readonly keyIds: readonly string[];
}

export const systemClock: Clock = { now: () => new Date() };
