// Web console sessions: an API bearer token exchanged for a short-lived session secret (the cookie)
// and a CSRF secret derived from it. Knows nothing of HTTP; never stores a secret in clear.

import crypto from 'node:crypto';
import type { Actor } from './actor.ts';
import { hashSecret, parseToken, secretsEqual } from './api-credentials.ts';
import { makeAttemptLimiter } from './attempt-limiter.ts';
import type { AuditWriter } from './audit.ts';
import { makeAuthenticator } from './authenticator.ts';
import { KubecredError } from './errors.ts';
import type { Principal } from './model.ts';
import type { Clock, Ids, Sealer } from './ports.ts';
import type { Store } from './store-port.ts';

/** How long a console sign-in lasts at most (never longer than the API token it was opened with). */
export const SESSION_TTL_MS = 12 * 3600_000;
/** A session unused this long ends (a browser left open and walked away from); serve's --console-idle-minutes. */
export const SESSION_IDLE_MS = 30 * 60_000;
/**
 * How stale the stored last use may get: refreshing it on every request would make every read a write. A session
 * may so end up to this much before its idle limit, counted from its true last use.
 */
const TOUCH_EVERY_MS = 60_000;
const SECRET_BYTES = 32;
const COOKIE_SHAPE = /^(ses_[a-z0-9]{26})\.([A-Za-z0-9_-]{43})$/;
/**
 * Failed sign-ins allowed per source address in 10 minutes (in each server's memory): enough for typos and a team
 * behind one proxy. Once reached, sign-in from that address is refused without checking the token. Not per token ID:
 * IDs are not secret (lists and the audit log show them), so a limit on one would let anyone lock its holder out, and
 * a token's 256-bit secret cannot be guessed from any number of addresses anyway.
 */
export const SIGN_IN_LIMITS = {
  perSource: { failures: 20, windowMs: 10 * 60_000 },
};

/** Facts about the HTTP request that core records in the audit trail. */
export interface SessionRequest { requestId: string; sourceIp: string | null }

export interface SessionCaller {
  sessionId: string;
  accountId: string;
  principal: Principal;
  tokenId: string;
  expiresAt: Date;
  /** When it ends if unused until then (within a minute: the last use is stored at most once a minute); never after expiresAt. */
  idleExpiresAt: Date;
  /** The CSRF token the console must send with every change; derived from the cookie, so it survives a reload. */
  csrfToken: string;
}

export interface OpenedSession extends SessionCaller {
  /** The cookie value: `<session id>.<secret>`. Shown once, to the browser; only its hash is stored. */
  cookie: string;
}

const ended = () => new KubecredError('UNAUTHENTICATED', 'your console session has ended (signed out, expired, unused for too long, or its API token or principal was revoked); sign in again');
const csrfMissing = () => new KubecredError('ACCESS_DENIED', "this change came without the console's CSRF token (X-CSRF-Token header); reload the console and try again");

/** The CSRF token is an HMAC of the session secret: whoever cannot read the cookie cannot compute it. */
const csrfFor = (secret: string) => crypto.createHmac('sha256', secret).update('kubecred console csrf').digest('base64url');

type Deps = {
  store: Pick<Store, 'consoleSessions' | 'tokens' | 'principals' | 'accessKeys' | 'transaction' | 'audit'>;
  clock: Clock; ids: Ids; sealer: Sealer; audit: AuditWriter;
};

export function makeConsoleSessions(deps: Deps, limits: { ttlMs?: number; idleMs?: number } = {}) {
  const ttlMs = limits.ttlMs ?? SESSION_TTL_MS;
  const idleMs = limits.idleMs ?? SESSION_IDLE_MS;
  const idleEnd = (lastUsed: Date, expiresAt: Date) => new Date(Math.min(lastUsed.getTime() + idleMs, expiresAt.getTime()));
  const { store, clock, ids, audit } = deps;
  const authenticator = makeAuthenticator(deps);
  const bySource = makeAttemptLimiter(clock, SIGN_IN_LIMITS.perSource);
  const actorOf = (c: { accountId: string; principal: Principal }, req: SessionRequest): Actor =>
    ({ accountId: c.accountId, principal: c.principal, requestId: req.requestId, sourceIp: req.sourceIp, surface: 'console' });

  /** The live session a cookie names, or UNAUTHENTICATED; the same answer whatever part is wrong. */
  async function resolve(cookie: string | undefined): Promise<SessionCaller & { csrfHash: string }> {
    const m = cookie ? COOKIE_SHAPE.exec(cookie) : null;
    if (!m) throw ended();
    const [, id, secret] = m;
    const s = await store.consoleSessions.get(id);
    // Compare even when the ID is unknown, so timing does not tell which sessions exist.
    const ok = secretsEqual(hashSecret(secret), s?.secretHash ?? '0'.repeat(64));
    const now = clock.now().getTime();
    if (!s || !ok || s.revokedAt || s.expiresAt.getTime() <= now || s.lastUsedAt.getTime() + idleMs <= now) throw ended();
    // A session is only as alive as the token it was opened with, and the principal behind it.
    const token = await store.tokens.get(s.tokenId);
    if (!token || token.revokedAt || (token.expiresAt && token.expiresAt.getTime() <= now)) throw ended();
    const principal = await store.principals.get(s.accountId, s.principalId);
    if (!principal) throw ended();
    let lastUsed = s.lastUsedAt;
    if (now - lastUsed.getTime() >= TOUCH_EVERY_MS) {
      lastUsed = new Date(now);
      await store.consoleSessions.touch(s.id, lastUsed);
    }
    return {
      sessionId: s.id, accountId: s.accountId, principal, tokenId: s.tokenId, expiresAt: s.expiresAt, idleExpiresAt: idleEnd(lastUsed, s.expiresAt),
      csrfToken: csrfFor(secret), csrfHash: s.csrfHash,
    };
  }

  async function check(cookie: string | undefined, opts: { change: boolean; csrfToken?: string }): Promise<SessionCaller> {
    const { csrfHash, ...caller } = await resolve(cookie);
    if (opts.change && !secretsEqual(hashSecret(opts.csrfToken ?? ''), csrfHash)) throw csrfMissing();
    return caller;
  }

  /**
   * A failed sign-in that names a token kubecred knows goes to that token's account's trail (outcome denied), in its own
   * transaction: whoever holds the token's ID is trying its secret, or it was revoked or expired. An unknown ID has no
   * account to tell. The trail never gets what was presented.
   */
  async function auditFailedSignIn(tokenId: string, req: SessionRequest): Promise<void> {
    const token = await store.tokens.get(tokenId);
    if (!token) return;
    const now = clock.now().getTime();
    const why = token.revokedAt ? 'the token is revoked' : token.expiresAt && token.expiresAt.getTime() <= now ? 'the token has expired' : 'wrong secret, or its principal was deleted';
    await audit.record(store, null, token.accountId, {
      action: 'ConsoleSignIn', resourceType: 'principal', resourceId: token.principalId, outcome: 'denied',
      detail: { tokenId, reason: why, surface: 'console' },
    }, req).catch(() => undefined);
  }

  return {
    /** Signs in: checks the bearer token as the API would, and opens a session that acts as that token. */
    async open(bearerToken: string | undefined, req: SessionRequest): Promise<OpenedSession> {
      const tokenId = bearerToken ? parseToken(bearerToken)?.tokenId : undefined;
      const source = req.sourceIp ?? 'unknown';
      const wait = bySource.retryAfterSeconds(source);
      if (wait > 0) {
        throw new KubecredError('RATE_LIMITED', `too many failed sign-ins from this address; try again in ${wait} seconds`, { details: { retryAfterSeconds: wait } });
      }
      let who: Awaited<ReturnType<typeof authenticator.bearer>>;
      try {
        who = await authenticator.bearer(bearerToken);
      } catch (e) {
        if (!(e instanceof KubecredError && e.code === 'UNAUTHENTICATED')) throw e;
        bySource.failed(source);
        if (tokenId) await auditFailedSignIn(tokenId, req);
        throw e;
      }
      const token = await store.tokens.get(who.tokenId);
      const now = clock.now();
      let expiresAt = new Date(now.getTime() + ttlMs);
      if (token?.expiresAt && token.expiresAt < expiresAt) expiresAt = token.expiresAt;
      const id = ids.id('ses');
      const secret = ids.secret(SECRET_BYTES);
      const csrfToken = csrfFor(secret);
      await store.transaction(async (tx) => {
        await tx.consoleSessions.insert({
          id, secretHash: hashSecret(secret), accountId: who.accountId, principalId: who.principal.id, tokenId: who.tokenId,
          csrfHash: hashSecret(csrfToken), createdAt: now, expiresAt, revokedAt: null, lastUsedAt: now,
        });
        await audit.record(tx, actorOf(who, req), who.accountId, {
          action: 'ConsoleSignIn', resourceType: 'principal', resourceId: who.principal.id,
          detail: { sessionId: id, tokenId: who.tokenId, expiresAt: expiresAt.toISOString() },
        });
      });
      // Forgetting expired sessions at each sign-in keeps the table small without a timer.
      await store.consoleSessions.prune(now);
      return { cookie: `${id}.${secret}`, sessionId: id, accountId: who.accountId, principal: who.principal, tokenId: who.tokenId, expiresAt, idleExpiresAt: idleEnd(now, expiresAt), csrfToken };
    },

    /**
     * The caller behind a session cookie. For a change (`change: true`) the CSRF token must be presented
     * too: a cross-site page can make the browser send the cookie, but it cannot read the token.
     */
    check,

    /** Signs out: the session stops working at once, whatever copies of the cookie exist. */
    async close(cookie: string | undefined, csrfToken: string | undefined, req: SessionRequest): Promise<void> {
      const caller = await check(cookie, { change: true, csrfToken });
      await store.transaction(async (tx) => {
        await tx.consoleSessions.revoke(caller.sessionId, clock.now());
        await audit.record(tx, actorOf(caller, req), caller.accountId, {
          action: 'ConsoleSignOut', resourceType: 'principal', resourceId: caller.principal.id, detail: { sessionId: caller.sessionId },
        });
      });
    },
  };
}

export type ConsoleSessions = ReturnType<typeof makeConsoleSessions>;
