// /v1/policies and /v1/audit: policy documents, and the append-only audit trail with filters.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AUDIT_SCAN_LIMIT } from '../../core/audit.ts';
import { invalid } from '../../core/errors.ts';
import { actorOf } from '../request-context.ts';
import { parseRfc3339 } from '../rfc3339.ts';
import type { NativeDeps } from './native-plugin.ts';
import { CreatePolicyBody, errorResponses, pageOf, pagedQuery, pageRequest, PolicyParam, UpdatePolicyBody } from './schemas.ts';

const AuditQuery = pagedQuery({
  action: Type.Optional(Type.String({ maxLength: 128 })),
  actor: Type.Optional(Type.String({ maxLength: 128 })),
  resource: Type.Optional(Type.String({ maxLength: 128 })),
  outcome: Type.Optional(Type.Union([Type.Literal('success'), Type.Literal('denied'), Type.Literal('failure')])),
  since: Type.Optional(Type.String({ maxLength: 40, description: 'RFC 3339 time' })),
  until: Type.Optional(Type.String({ maxLength: 40, description: 'RFC 3339 time' })),
});

/** An optional RFC 3339 filter bound. */
function time(v: string | undefined, field: string): Date | undefined {
  if (v === undefined) return undefined;
  const t = parseRfc3339(v);
  if (!t) throw invalid(`${field} must be an RFC 3339 date-time with Z or an offset, such as 2026-01-31T12:00:00Z or 2026-01-31T13:00:00+01:00; got ${JSON.stringify(v)}`, { field });
  return t;
}

export const policyAuditRoutes = (deps: NativeDeps): FastifyPluginAsyncTypebox => async (app) => {
  const { authority } = deps;

  app.post('/policies', {
    schema: { tags: ['policies'], summary: 'Create a policy document', body: CreatePolicyBody, response: { 201: Type.Ref('Policy'), ...errorResponses } },
  }, async (req, reply) => reply.status(201).send(await authority.policies.create(actorOf(req), req.body)));

  app.get('/policies', {
    schema: { tags: ['policies'], summary: 'List policies', querystring: pagedQuery(), response: { 200: pageOf(Type.Ref('Policy')), ...errorResponses } },
  }, async (req) => authority.policies.list(actorOf(req), pageRequest(req.query)));

  app.get('/policies/:policy', {
    schema: {
      tags: ['policies'], summary: 'A policy, by ID or name, with the principals it is attached to', params: PolicyParam,
      response: { 200: Type.Intersect([Type.Ref('Policy'), Type.Object({ attachedTo: Type.Array(Type.String(), { description: 'Living principals, by ID (at most 1,000)' }) })]), ...errorResponses },
    },
  }, async (req) => authority.policies.get(actorOf(req), req.params.policy));

  app.put('/policies/:policy', {
    schema: { tags: ['policies'], summary: "Replace a policy's document; it applies to every holder's next request", params: PolicyParam, body: UpdatePolicyBody, response: { 200: Type.Ref('Policy'), ...errorResponses } },
  }, async (req) => authority.policies.update(actorOf(req), req.params.policy, req.body));

  app.delete('/policies/:policy', {
    schema: { tags: ['policies'], summary: 'Delete a policy attached to nobody (409 names its holders)', params: PolicyParam, response: { 200: Type.Object({ deleted: Type.Boolean() }), ...errorResponses } },
  }, async (req) => authority.policies.delete(actorOf(req), req.params.policy));

  app.get('/audit', {
    schema: {
      tags: ['audit'], summary: 'Audit events, newest first',
      // The cap's number lives in core (AUDIT_SCAN_LIMIT); said here for whoever writes a client.
      description: `With a filter (action, actor, resource, outcome, since, until), one page examines at most ${AUDIT_SCAN_LIMIT.toLocaleString('en')} of the account's events, newest first from the cursor: a filter that matches little can answer fewer items than \`limit\`, even none, with a \`next\` that goes on from where the examination stopped. Keep following \`next\` until it is null; only then is the listing complete.`,
      querystring: AuditQuery, response: { 200: pageOf(Type.Ref('AuditEvent')), ...errorResponses },
    },
  }, async (req) => {
    const q = req.query;
    const [since, until] = [time(q.since, 'since'), time(q.until, 'until')];
    if (since && until && since.getTime() >= until.getTime()) throw invalid(`since (${q.since}) must be earlier than until (${q.until}): the window is empty`, { field: 'since' });
    const res = await authority.audit.list(actorOf(req), {
      action: q.action, actorId: q.actor, resourceId: q.resource, outcome: q.outcome, since, until,
    }, pageRequest(q));
    return { items: res.items.map((e) => ({ ...e, at: e.at.toISOString() })), next: res.next };
  });
};
