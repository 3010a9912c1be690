// /v1/clusters: register, list, show and delete clusters, fetch a cluster's client CA, and its webhook tokens.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { actorOf } from '../request-context.ts';
import type { NativeDeps } from './native-plugin.ts';
import { CreateClusterBody, errorResponses, ID_MAX_LENGTH, IdParam, pageOf, pagedQuery, pageRequest, Revoked, WebhookToken } from './schemas.ts';

export const clusterRoutes = (deps: NativeDeps): FastifyPluginAsyncTypebox => async (app) => {
  const { authority, metrics } = deps;
  const tags = ['clusters'];

  app.post('/clusters', {
    schema: { tags, summary: 'Register a cluster with a generated or imported client CA', body: CreateClusterBody, response: { 201: Type.Ref('Cluster'), ...errorResponses } },
  }, async (req, reply) => {
    const b = req.body;
    const clientCa = b.clientCaCertPem || b.clientCaKeyPem
      ? { import: { certPem: b.clientCaCertPem ?? '', keyPem: b.clientCaKeyPem ?? '' } }
      : { generate: b.clientCaAlgorithm ?? 'ec-p256' as const };
    const view = await authority.clusters.create(actorOf(req), { ...b, clientCa });
    return reply.status(201).send(view);
  });

  app.get('/clusters', {
    schema: { tags, summary: 'List the clusters you may see', description: 'By ID. Only the clusters your policies allow kubecred:ListClusters on; a page with a `next` is full, and `next` goes on from the last cluster on the page.', querystring: pagedQuery(), response: { 200: pageOf(Type.Ref('Cluster')), ...errorResponses } },
  }, async (req) => authority.clusters.list(actorOf(req), pageRequest(req.query)));

  app.get('/clusters/:id', {
    schema: { tags, summary: 'Show a cluster', params: IdParam, response: { 200: Type.Ref('Cluster'), ...errorResponses } },
  }, async (req) => authority.clusters.get(actorOf(req), req.params.id));

  app.delete('/clusters/:id', {
    schema: { tags, summary: 'Delete a cluster, revoking every credential on it', params: IdParam, response: { 200: Type.Object({ revoked: Type.Integer() }), ...errorResponses } },
  }, async (req) => {
    const res = await authority.clusters.delete(actorOf(req), req.params.id);
    metrics.revoked.inc(res.revoked);
    return res;
  });

  app.get('/clusters/:id/client-ca.pem', {
    schema: { tags, summary: "The cluster's client CA certificate (for kube-apiserver --client-ca-file)", params: IdParam, produces: ['application/x-pem-file'], response: { 200: Type.String(), ...errorResponses } },
  }, async (req, reply) => {
    const c = await authority.clusters.get(actorOf(req), req.params.id);
    return reply.type('application/x-pem-file').send(c.clientCaPem);
  });

  app.post('/clusters/:id/webhook-tokens', {
    schema: { tags, summary: "A token for the cluster's kube-apiserver to present to kubecred's webhooks (shown once)", params: IdParam, response: { 201: Type.Object({ clusterId: Type.String(), id: Type.String({ description: 'The token ID, for listing and revoking it' }), token: Type.String({ description: 'Shown once; kubecred keeps only its hash' }) }), ...errorResponses } },
  }, async (req, reply) => reply.status(201).send(await authority.webhooks.createToken(actorOf(req), req.params.id)));

  app.get('/clusters/:id/webhook-tokens', {
    schema: { tags, summary: "List the cluster's webhook tokens (never their secrets)", params: IdParam, querystring: pagedQuery(), response: { 200: pageOf(WebhookToken), ...errorResponses } },
  }, async (req) => authority.webhooks.listTokens(actorOf(req), req.params.id, pageRequest(req.query)));

  app.delete('/clusters/:id/webhook-tokens/:tokenId', {
    schema: { tags, summary: "Revoke a webhook token (write the cluster's new webhook kubeconfig first: its kube-apiserver then meets its failurePolicy)", params: Type.Object({ id: IdParam.properties.id, tokenId: Type.String({ minLength: 1, maxLength: ID_MAX_LENGTH }) }), response: { 200: Revoked, ...errorResponses } },
  }, async (req) => authority.webhooks.revokeToken(actorOf(req), req.params.id, req.params.tokenId));
};
