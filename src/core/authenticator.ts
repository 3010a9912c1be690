// Turning a presented bearer token into an authenticated principal. Every failure looks the same to
// the caller (no hint whether the token ID exists), and the secret is compared in constant time.

import { accessKeySecretAad, hashSecret, parseToken, secretsEqual } from './api-credentials.ts';
import { KubecredError } from './errors.ts';
import type { Principal } from './model.ts';
import type { Clock, Sealer } from './ports.ts';
import type { Store } from './store-port.ts';

const unauthenticated = () => new KubecredError('UNAUTHENTICATED', 'the bearer token is missing, malformed, expired or revoked; create a new one with `kubecred token create` or ask your account root');

const STAND_IN_AAD = 'access-key:stand-in:secret';
// As long as a real access key secret (22 random bytes, base64url); no key has it, and it is only used when no key is.
const STAND_IN_SECRET = 'kubecred-stand-in-secret-00000';

export function makeAuthenticator(deps: { store: Pick<Store, 'tokens' | 'principals' | 'accessKeys'>; clock: Clock; sealer: Sealer }) {
  // Sealed once, under the same sealer as real secrets, so opening it costs what opening one of them does.
  let standInSealed: string | undefined;
  const standIn = () => (standInSealed ??= deps.sealer.seal(STAND_IN_SECRET, STAND_IN_AAD));
  return {
    /**
     * The principal behind a request signed with an access key. `verify` recomputes the signature with the
     * key's secret and compares it in constant time. An unknown or revoked key costs what a known one does (a
     * stand-in sealed value is opened and `verify` runs on its secret) and the principal is read only once the
     * signature holds, so the time taken does not tell which key IDs exist (the Vault CVE-2025-6011 pattern).
     * `unknownKey` is for the Alibaba surface, whose wire contract names that case; callers say nothing more.
     */
    async verifyAccessKey(accessKeyId: string, verify: (secret: string) => boolean): Promise<
      { ok: true; accountId: string; principal: Principal } | { ok: false; unknownKey: boolean }
    > {
      if (!/^[A-Za-z0-9]{8,64}$/.test(accessKeyId)) return { ok: false, unknownKey: true };
      const key = await deps.store.accessKeys.get(accessKeyId);
      const usable = key && !key.revokedAt ? key : null;
      const secret = usable
        ? deps.sealer.open(usable.secretSealed, accessKeySecretAad(usable.id)).toString('utf8')
        : deps.sealer.open(standIn(), STAND_IN_AAD).toString('utf8');
      const signed = verify(secret);
      if (!usable) return { ok: false, unknownKey: true };
      if (!signed) return { ok: false, unknownKey: false };
      const principal = await deps.store.principals.get(usable.accountId, usable.principalId);
      if (!principal) return { ok: false, unknownKey: true };
      return { ok: true, accountId: usable.accountId, principal };
    },

    async bearer(token: string | undefined): Promise<{ accountId: string; principal: Principal; tokenId: string }> {
      const parsed = token ? parseToken(token) : null;
      if (!parsed) throw unauthenticated();
      const stored = await deps.store.tokens.get(parsed.tokenId);
      // Compare even when the ID is unknown, so timing does not tell which IDs exist.
      const ok = secretsEqual(hashSecret(parsed.secret), stored?.secretHash ?? '0'.repeat(64));
      const now = deps.clock.now().getTime();
      if (!stored || !ok || stored.revokedAt || (stored.expiresAt && stored.expiresAt.getTime() <= now)) throw unauthenticated();
      const principal = await deps.store.principals.get(stored.accountId, stored.principalId);
      if (!principal) throw unauthenticated();
      return { accountId: stored.accountId, principal, tokenId: stored.id };
    },
  };
}

export type Authenticator = ReturnType<typeof makeAuthenticator>;
