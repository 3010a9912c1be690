// The shapes of kubecred's own API credentials: bearer tokens (`kc1.<id>.<secret>`, stored as a hash)
// and access key pairs (secret sealed). Secrets are compared in constant time and never logged.

import crypto from 'node:crypto';

export const TOKEN_PREFIX = 'kc1';
export const TOKEN_SECRET_BYTES = 32;

export const hashSecret = (secret: string) => crypto.createHash('sha256').update(secret).digest('hex');

export function formatToken(tokenId: string, secret: string): string {
  return `${TOKEN_PREFIX}.${tokenId}.${secret}`;
}

/**
 * Any of kubecred's secret-bearing strings (an API token kc1, a webhook token kcw1, a token kubeconfig's kct1), as
 * `<prefix>.<ID>.<secret>`: the ID part, so that a whole token pasted where its ID belongs is used by its ID and
 * the secret goes no further (into a URL, a log line, an error message).
 */
const PASTED_SECRET = /^(?:kc1|kcw1|kct1)\.([a-z]{3}_[a-z0-9]{26})\.[A-Za-z0-9_-]+$/;
export const idOfPastedSecret = (value: string): string => PASTED_SECRET.exec(value)?.[1] ?? value;

/** A URL with any such secret cut out, for logs. */
export const withoutPastedSecrets = (url: string): string => url.replace(/\b(kc1|kcw1|kct1)\.([a-z]{3}_[a-z0-9]{26})\.[A-Za-z0-9_-]+/g, '$1.$2.[redacted]');

export function parseToken(token: string): { tokenId: string; secret: string } | null {
  if (token.length > 200) return null;
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== TOKEN_PREFIX || !/^tok_[a-z0-9]{26}$/.test(parts[1]) || !/^[A-Za-z0-9_-]{43}$/.test(parts[2])) return null;
  return { tokenId: parts[1], secret: parts[2] };
}

/** Constant time whatever the inputs, including different lengths. */
export function secretsEqual(a: string, b: string): boolean {
  const ha = crypto.createHash('sha256').update(a).digest();
  const hb = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(ha, hb);
}

const AK_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** Access key IDs look like the vendors' (`KC` + 22 characters): SDKs and tools treat them as opaque. */
export function newAccessKeyId(): string {
  const bytes = crypto.randomBytes(22);
  let s = 'KC';
  for (const b of bytes) s += AK_ALPHABET[b & 31];
  return s;
}

export const accessKeySecretAad = (accessKeyId: string) => `access-key:${accessKeyId}:secret`;
