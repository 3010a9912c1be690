// The console's session cookie and CSRF header on the wire, and authenticating a /v1 call by them.
// The cookie is HttpOnly, SameSite=Strict, Path=/, and Secure (with the __Host- prefix) over TLS.

import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ConsoleSessions, SessionCaller } from '../../core/console-sessions.ts';
import { KubecredError } from '../../core/errors.ts';

export const PLAIN_COOKIE = 'kubecred_session';
/** Over TLS: the __Host- prefix makes browsers refuse the cookie unless Secure, Path=/ and host-only. */
export const SECURE_COOKIE = '__Host-kubecred_session';
export const CSRF_HEADER = 'x-csrf-token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const overTls = (req: FastifyRequest) => req.protocol === 'https';
const cookieName = (req: FastifyRequest) => (overTls(req) ? SECURE_COOKIE : PLAIN_COOKIE);

/** The session cookie's value, if the request carries one. */
export function readSessionCookie(req: FastifyRequest): string | undefined {
  const header = req.headers.cookie;
  if (typeof header !== 'string') return undefined;
  const name = cookieName(req);
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function serialize(req: FastifyRequest, value: string, maxAgeSeconds: number): string {
  const attrs = [`${cookieName(req)}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${maxAgeSeconds}`];
  if (overTls(req)) attrs.push('Secure');
  return attrs.join('; ');
}

export function setSessionCookie(req: FastifyRequest, reply: FastifyReply, value: string, expiresAt: Date, now: Date): void {
  reply.header('set-cookie', serialize(req, value, Math.max(0, Math.round((expiresAt.getTime() - now.getTime()) / 1000))));
}

export function clearSessionCookie(req: FastifyRequest, reply: FastifyReply): void {
  reply.header('set-cookie', serialize(req, '', 0));
}

export const csrfHeaderOf = (req: FastifyRequest): string | undefined => {
  const v = req.headers[CSRF_HEADER];
  return typeof v === 'string' ? v : undefined;
};

/**
 * Browsers say where a request comes from (Sec-Fetch-Site). A cookie-authenticated call from another
 * site is refused whatever its method: SameSite=Strict already keeps the cookie off it, this is the second lock.
 */
export function refuseCrossSite(req: FastifyRequest): void {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    throw new KubecredError('ACCESS_DENIED', 'the console API answers only pages served by this kubecred server');
  }
}

/** Authenticates a /v1 call made with the console's cookie; changes also need the CSRF header. */
export async function consoleCaller(req: FastifyRequest, sessions: ConsoleSessions, cookie: string): Promise<SessionCaller> {
  refuseCrossSite(req);
  return sessions.check(cookie, { change: !SAFE_METHODS.has(req.method), csrfToken: csrfHeaderOf(req) });
}
