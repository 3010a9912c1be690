// /v1/principals: users and roles with their groups, their tokens, access keys and attached policies.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { actorOf } from '../request-context.ts';
import type { NativeDeps } from './native-plugin.ts';
import {
  AttachBody, CreatePrincipalBody, CreateTokenBody, errorResponses, heldPageOf, ID_MAX_LENGTH, IdParam, NewAccessKey, NewToken, pageOf, pagedQuery, PrincipalShown,
  pageRequest, Revoked, UpdatePrincipalBody,
} from './schemas.ts';

export const principalRoutes = (deps: NativeDeps): FastifyPluginAsyncTypebox => async (app) => {
  const { authority, metrics } = deps;
  const tags = ['principals'];

  app.get('/whoami', {
    schema: { tags, summary: 'The principal behind your token', response: { 200: Type.Object({ accountId: Type.String(), principal: Type.Ref('Principal') }), ...errorResponses } },
  }, async (req) => {
    const actor = actorOf(req);
    return { accountId: actor.accountId, principal: await authority.principals.get(actor, actor.principal.id) };
  });

  app.post('/principals', {
    schema: { tags, summary: 'Create a user or role', body: CreatePrincipalBody, response: { 201: Type.Ref('Principal'), ...errorResponses } },
  }, async (req, reply) => reply.status(201).send(await authority.principals.create(actorOf(req), req.body)));

  app.get('/principals', {
    schema: { tags, summary: 'List principals', querystring: pagedQuery(), response: { 200: pageOf(Type.Ref('Principal')), ...errorResponses } },
  }, async (req) => authority.principals.list(actorOf(req), pageRequest(req.query)));

  app.get('/principals/:id', {
    schema: { tags, summary: 'Show a principal (by ID or name; a deleted one by its ID, with deletedAt)', params: IdParam, response: { 200: PrincipalShown, ...errorResponses } },
  }, async (req) => {
    const actor = actorOf(req);
    const p = await authority.principals.get(actor, req.params.id);
    return { ...p, mayDelete: await authority.principals.mayDelete(actor, p) };
  });

  app.patch('/principals/:id', {
    schema: { tags, summary: "Change a principal's Kubernetes groups (applies to kubeconfigs issued afterwards)", params: IdParam, body: UpdatePrincipalBody, response: { 200: Type.Ref('Principal'), ...errorResponses } },
  }, async (req) => authority.principals.update(actorOf(req), req.params.id, req.body));

  app.delete('/principals/:id', {
    schema: { tags, summary: 'Delete a principal, revoking its kubeconfigs, tokens and access keys', params: IdParam, response: { 200: Type.Object({ revoked: Type.Integer({ description: 'Kubeconfigs revoked' }), tokensRevoked: Type.Integer(), accessKeysRevoked: Type.Integer() }), ...errorResponses } },
  }, async (req) => {
    const res = await authority.principals.delete(actorOf(req), req.params.id);
    metrics.revoked.inc(res.revoked);
    return res;
  });

  app.post('/principals/:id/tokens', {
    schema: { tags, summary: 'Create a bearer token (shown once)', params: IdParam, body: Type.Optional(CreateTokenBody), response: { 201: NewToken, ...errorResponses } },
  }, async (req, reply) => reply.status(201).send(await authority.principals.createToken(actorOf(req), req.params.id, req.body ?? {})));

  app.post('/principals/:id/access-keys', {
    schema: { tags, summary: 'Create an access key pair for the vendor surfaces (secret shown once)', params: IdParam, body: Type.Optional(Type.Object({}, { additionalProperties: false, description: 'Nothing to give: an empty object, or no body' })), response: { 201: NewAccessKey, ...errorResponses } },
  }, async (req, reply) => reply.status(201).send(await authority.principals.createAccessKey(actorOf(req), req.params.id)));

  app.get('/principals/:id/tokens', {
    schema: { tags, summary: "List a principal's bearer tokens (never their secrets); a deleted principal's by its ID", params: IdParam, querystring: pagedQuery(), response: { 200: heldPageOf(Type.Ref('Token')), ...errorResponses } },
  }, async (req) => authority.principals.listTokens(actorOf(req), req.params.id, pageRequest(req.query)));

  app.delete('/principals/:id/tokens/:tokenId', {
    schema: { tags, summary: 'Revoke a bearer token now (its console sessions end too)', params: Type.Object({ id: IdParam.properties.id, tokenId: Type.String({ minLength: 1, maxLength: ID_MAX_LENGTH }) }), response: { 200: Revoked, ...errorResponses } },
  }, async (req) => authority.principals.revokeToken(actorOf(req), req.params.id, req.params.tokenId));

  app.get('/principals/:id/access-keys', {
    schema: { tags, summary: "List a principal's access keys (never their secrets); a deleted principal's by its ID", params: IdParam, querystring: pagedQuery(), response: { 200: heldPageOf(Type.Ref('AccessKey')), ...errorResponses } },
  }, async (req) => authority.principals.listAccessKeys(actorOf(req), req.params.id, pageRequest(req.query)));

  app.delete('/principals/:id/access-keys/:accessKeyId', {
    schema: { tags, summary: 'Revoke an access key now (the vendor surfaces refuse its signatures)', params: Type.Object({ id: IdParam.properties.id, accessKeyId: Type.String({ minLength: 1, maxLength: ID_MAX_LENGTH }) }), response: { 200: Revoked, ...errorResponses } },
  }, async (req) => authority.principals.revokeAccessKey(actorOf(req), req.params.id, req.params.accessKeyId));

  app.get('/principals/:id/policies', {
    schema: { tags, summary: "Policies attached to a principal (a deleted principal's by its ID: those it held, which grant it nothing now)", params: IdParam, response: { 200: Type.Object({ items: Type.Array(Type.Ref('Policy')), principalDeletedAt: Type.Optional(Type.String({ format: 'date-time', description: 'Present when the principal was deleted' })) }), ...errorResponses } },
  }, async (req) => authority.policies.forPrincipal(actorOf(req), req.params.id));

  app.post('/principals/:id/policies', {
    schema: { tags, summary: 'Attach a policy', params: IdParam, body: AttachBody, response: { 200: Type.Object({ attached: Type.Boolean() }), ...errorResponses } },
  }, async (req) => authority.policies.attach(actorOf(req), req.body.policy, req.params.id));

  app.delete('/principals/:id/policies/:policy', {
    schema: { tags, summary: 'Detach a policy', params: Type.Object({ id: Type.String({ maxLength: 128 }), policy: Type.String({ maxLength: 128 }) }), response: { 200: Type.Object({ detached: Type.Boolean() }), ...errorResponses } },
  }, async (req) => authority.policies.detach(actorOf(req), req.params.policy, req.params.id));
};
