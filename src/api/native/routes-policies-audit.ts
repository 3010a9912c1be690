// /v1/policies and /v1/audit: policy documents, and the append-only audit trail with filters.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { invalid } from '../../core/errors.ts';
import { actorOf } from '../request-context.ts';
import type { NativeDeps } from './native-plugin.ts';
import { CreatePolicyBody, errorResponses, pageOf, PageQuery, pageRequest } from './schemas.ts';

const AuditQuery = Type.Object({
  ...PageQuery,
  action: Type.Optional(Type.String({ maxLength: 128 })),
  actor: Type.Optional(Type.String({ maxLength: 128 })),
  resource: Type.Optional(Type.String({ maxLength: 128 })),
  outcome: Type.Optional(Type.Union([Type.Literal('success'), Type.Literal('denied'), Type.Literal('failure')])),
  since: Type.Optional(Type.String({ maxLength: 40, description: 'RFC 3339 time' })),
  until: Type.Optional(Type.String({ maxLength: 40, description: 'RFC 3339 time' })),
});

function time(v: string | undefined, field: string): Date | undefined {
  if (v === undefined) return undefined;
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw invalid(`${field} must be an RFC 3339 time such as 2026-01-31T12:00:00Z`, { field });
  return d;
}

export const policyAuditRoutes = (deps: NativeDeps): FastifyPluginAsyncTypebox => async (app) => {
  const { authority } = deps;

  app.post('/policies', {
    schema: { tags: ['policies'], summary: 'Create a policy document', body: CreatePolicyBody, response: { 201: Type.Ref('Policy'), ...errorResponses } },
  }, async (req, reply) => reply.status(201).send(await authority.policies.create(actorOf(req), req.body)));

  app.get('/policies', {
    schema: { tags: ['policies'], summary: 'List policies', querystring: Type.Object(PageQuery), response: { 200: pageOf(Type.Ref('Policy')), ...errorResponses } },
  }, async (req) => authority.policies.list(actorOf(req), pageRequest(req.query)));

  app.get('/audit', {
    schema: { tags: ['audit'], summary: 'Audit events, newest first', querystring: AuditQuery, response: { 200: pageOf(Type.Ref('AuditEvent')), ...errorResponses } },
  }, async (req) => {
    const q = req.query;
    const res = await authority.audit.list(actorOf(req), {
      action: q.action, actorId: q.actor, resourceId: q.resource, outcome: q.outcome,
      since: time(q.since, 'since'), until: time(q.until, 'until'),
    }, pageRequest(q));
    return { items: res.items.map((e) => ({ ...e, at: e.at.toISOString() })), next: res.next };
  });
};
