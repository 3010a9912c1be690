// /v1/sessions: the web console signs in by exchanging a bearer token for a session cookie, learns
// who it is (and its CSRF token) after a reload, and signs out. Decisions live in core/console-sessions.ts.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Authority } from '../../core/authority.ts';
import type { SessionCaller } from '../../core/console-sessions.ts';
import { principalView } from '../../core/views.ts';
import { errorResponses } from '../native/schemas.ts';
import { clearSessionCookie, csrfHeaderOf, readSessionCookie, refuseCrossSite, setSessionCookie } from './session-cookie.ts';

const Session = Type.Object({
  accountId: Type.String(),
  principal: Type.Ref('Principal'),
  tokenId: Type.String({ description: 'The API token the session was opened with (it ends when that token is revoked)' }),
  expiresAt: Type.String({ format: 'date-time', description: 'When the session ends, however much it is used' }),
  idleExpiresAt: Type.String({ format: 'date-time', description: 'When it ends if unused until then (each use moves it; the server notes uses at most once a minute)' }),
  csrfToken: Type.String({ description: 'Send it as X-CSRF-Token with every change made with the session cookie' }),
});

const SignInBody = Type.Object({
  token: Type.String({ minLength: 1, maxLength: 200, description: 'A kubecred API token: kc1.<id>.<secret>' }),
}, { additionalProperties: false });

const view = (c: SessionCaller) => ({ accountId: c.accountId, principal: principalView(c.principal), tokenId: c.tokenId, expiresAt: c.expiresAt.toISOString(), idleExpiresAt: c.idleExpiresAt.toISOString(), csrfToken: c.csrfToken });

export const sessionRoutes = (authority: Authority): FastifyPluginAsyncTypebox => async (app) => {
  const sessions = authority.consoleSessions;
  const tags = ['console'];
  const facts = (req: { id: string; ip?: string }) => ({ requestId: req.id, sourceIp: req.ip ?? null });

  app.addHook('onRequest', async (req, reply) => {
    reply.header('cache-control', 'no-store');
    refuseCrossSite(req);
  });

  // A sign-in carries one token (at most 200 characters), a sign-out nothing: no need to read a megabyte before
  // anyone is authenticated.
  const SESSION_BODY_LIMIT = 4096;

  app.post('/v1/sessions', {
    bodyLimit: SESSION_BODY_LIMIT,
    schema: {
      tags, security: [], summary: 'Web console sign-in: exchange an API token for an HttpOnly, SameSite=Strict session cookie (12 h at most; ends when unused for 30 minutes, or serve\'s --console-idle-minutes)',
      description: 'After 20 failed sign-ins from one address within 10 minutes, answers 429 RATE_LIMITED with Retry-After until the window ends. A failed sign-in naming a known token is audited (ConsoleSignIn, denied) in its account.',
      body: SignInBody, response: { 201: Session, ...errorResponses, 429: Type.Ref('Error') },
    },
  }, async (req, reply) => {
    const opened = await sessions.open(req.body.token, facts(req));
    setSessionCookie(req, reply, opened.cookie, opened.expiresAt, authority.clock.now());
    return reply.status(201).send(view(opened));
  });

  app.get('/v1/sessions/current', {
    schema: { tags, security: [], summary: 'The console session behind the cookie: who, until when, and its CSRF token', response: { 200: Session, ...errorResponses } },
  }, async (req) => view(await sessions.check(readSessionCookie(req), { change: false })));

  app.delete('/v1/sessions/current', {
    bodyLimit: SESSION_BODY_LIMIT,
    schema: { tags, security: [], summary: 'Web console sign-out (needs X-CSRF-Token); the cookie stops working at once', response: { 200: Type.Object({ signedOut: Type.Boolean() }), ...errorResponses } },
  }, async (req, reply) => {
    // The browser forgets the cookie whatever happens next; the server ends the session only on proof.
    clearSessionCookie(req, reply);
    await sessions.close(readSessionCookie(req), csrfHeaderOf(req), facts(req));
    return { signedOut: true };
  });
};
