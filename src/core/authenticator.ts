// Turning a presented bearer token into an authenticated principal. Every failure looks the same to
// the caller (no hint whether the token ID exists), and the secret is compared in constant time.

import { accessKeySecretAad, hashSecret, parseToken, secretsEqual } from './api-credentials.ts';
import { KubecredError } from './errors.ts';
import type { Principal } from './model.ts';
import type { Clock, Sealer } from './ports.ts';
import type { Store } from './store-port.ts';

const unauthenticated = () => new KubecredError('UNAUTHENTICATED', 'the bearer token is missing, malformed, expired or revoked; create a new one with `kubecred token create` or ask your account root');

export function makeAuthenticator(deps: { store: Pick<Store, 'tokens' | 'principals' | 'accessKeys'>; clock: Clock; sealer: Sealer }) {
  return {
    /**
     * The principal behind an access key ID, with the secret the vendor surfaces need to recompute a
     * signature. Callers must compare signatures in constant time and say nothing about which part failed.
     */
    async accessKey(accessKeyId: string): Promise<{ accountId: string; principal: Principal; secret: string } | null> {
      if (!/^[A-Za-z0-9]{8,64}$/.test(accessKeyId)) return null;
      const key = await deps.store.accessKeys.get(accessKeyId);
      if (!key || key.revokedAt) return null;
      const principal = await deps.store.principals.get(key.accountId, key.principalId);
      if (!principal) return null;
      const secret = deps.sealer.open(key.secretSealed, accessKeySecretAad(key.id)).toString('utf8');
      return { accountId: key.accountId, principal, secret };
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
