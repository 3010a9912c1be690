// Kubeconfigs and their inventory: issue (default, temporary, CSR), list, show, revoke (a holder's or one),
// revoke-and-reissue, custom validity.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { IssuedKubeconfig } from '../../core/credential-service.ts';
import { actorOf } from '../request-context.ts';
import type { NativeDeps } from './native-plugin.ts';
import {
  CredentialKindName, CredentialWithCert, errorResponses, IdParam, KubeconfigBody, KubeconfigResponse, KubeconfigSummary, pageOf, pagedQuery, pageRequest,
  RevokeBody, Validity, ValidityBody,
} from './schemas.ts';

const CredentialQuery = pagedQuery({
  cluster: Type.Optional(Type.String({ maxLength: 128, description: "A cluster's ID or name; a deleted cluster's by its ID (what was issued there stays listed, revoked)" })),
  principal: Type.Optional(Type.String({ maxLength: 128 })),
  issuedBy: Type.Optional(Type.String({ maxLength: 128, description: "Issued by this principal (ID or name; a deleted one's by its ID), for itself or for others" })),
  kind: Type.Optional(CredentialKindName),
  status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('revoked'), Type.Literal('superseded'), Type.Literal('expired')])),
});

export const credentialRoutes = (deps: NativeDeps): FastifyPluginAsyncTypebox => async (app) => {
  const { authority, metrics } = deps;
  const tags = ['kubeconfigs'];

  const answer = (k: IssuedKubeconfig) => {
    if (k.reused) metrics.reused.inc();
    else metrics.issued.inc({ kind: k.credential.kind });
    return { kubeconfig: k.kubeconfig, certificatePem: k.certificatePem, expiration: k.credential.notAfter, reused: k.reused, credential: k.credential };
  };

  app.post('/clusters/:id/kubeconfig', {
    schema: {
      tags, summary: 'Get a kubeconfig: the default one, a temporary one, or a certificate for your CSR',
      params: IdParam, body: Type.Optional(KubeconfigBody), response: { 200: KubeconfigResponse, ...errorResponses },
    },
  }, async (req) => {
    const b = req.body ?? {};
    return answer(await authority.credentials.getKubeconfig(actorOf(req), {
      clusterId: req.params.id, principalId: b.principalId, endpoint: b.endpoint ?? 'public', temporaryMinutes: b.temporaryMinutes, csrPem: b.csr,
    }));
  });

  app.post('/clusters/:id/revocations', {
    schema: { tags, summary: "Revoke every active kubeconfig of a principal on the cluster, and reset its custom validity", params: IdParam, body: Type.Optional(RevokeBody), response: { 200: Type.Object({ revoked: Type.Array(Type.Ref('Credential')) }), ...errorResponses } },
  }, async (req) => {
    const b = req.body ?? {};
    const revoked = await authority.credentials.revoke(actorOf(req), { clusterId: req.params.id, principalId: b.principalId, reason: b.reason });
    metrics.revoked.inc(revoked.length);
    return { revoked };
  });

  app.post('/clusters/:id/reissue', {
    schema: { tags, summary: 'Revoke and answer with a new default kubeconfig, in one transaction (needs the revoke and the get permissions; on a service mesh, for your own, the revoke alone)', params: IdParam, body: Type.Optional(Type.Object({ ...RevokeBody.properties, endpoint: KubeconfigBody.properties.endpoint }, { additionalProperties: false })), response: { 200: Type.Object({ ...KubeconfigResponse.properties, revoked: Type.Array(Type.Ref('Credential')) }), ...errorResponses } },
  }, async (req) => {
    const b = req.body ?? {};
    const res = await authority.credentials.revokeAndReissue(actorOf(req), { clusterId: req.params.id, principalId: b.principalId, reason: b.reason, endpoint: b.endpoint ?? 'public' });
    metrics.revoked.inc(res.revoked.length);
    return { ...answer(res), revoked: res.revoked };
  });

  const ValidityParams = Type.Object({ id: Type.String({ maxLength: 128 }), principal: Type.String({ maxLength: 128 }) });

  app.put('/clusters/:id/validity/:principal', {
    schema: { tags, summary: "Set a principal's default kubeconfig validity on the cluster (root only); supersedes the current one", params: ValidityParams, body: ValidityBody, response: { 200: Type.Object({ superseded: Type.Array(Type.Ref('Credential')) }), ...errorResponses } },
  }, async (req) => authority.credentials.setValidity(actorOf(req), { clusterId: req.params.id, principalId: req.params.principal, hours: req.body.hours }));

  app.get('/clusters/:id/validity/:principal', {
    schema: { tags, summary: "A principal's custom validity on the cluster (null hours: the 3-year default)", params: ValidityParams, response: { 200: Validity, ...errorResponses } },
  }, async (req) => authority.credentials.getValidity(actorOf(req), { clusterId: req.params.id, principalId: req.params.principal }));

  app.get('/credentials', {
    schema: { tags, summary: 'The inventory of issued kubeconfigs, newest first', querystring: CredentialQuery, response: { 200: pageOf(Type.Ref('Credential')), ...errorResponses } },
  }, async (req) => {
    const q = req.query;
    return authority.credentials.list(actorOf(req), { clusterId: q.cluster, principalId: q.principal, issuedBy: q.issuedBy, kind: q.kind, status: q.status }, pageRequest(q));
  });

  app.get('/clusters/:id/kubeconfig-summary', {
    schema: {
      tags, summary: "A cluster's kubeconfigs counted: per principal, how many are usable, expired or revoked and when they end; the active ones by time left (needs what listing the cluster's kubeconfigs needs)",
      params: IdParam, response: { 200: KubeconfigSummary, ...errorResponses },
    },
  }, async (req) => authority.kubeconfigSummary.summarize(actorOf(req), req.params.id));

  app.post('/credentials/:id/revoke', {
    schema: {
      tags, summary: "Revoke one credential; the holder's other kubeconfigs stay as they are, and so does a custom validity unless the one revoked is a default kubeconfig",
      params: IdParam, body: Type.Optional(Type.Object({ reason: RevokeBody.properties.reason }, { additionalProperties: false })),
      response: { 200: Type.Object({ revoked: Type.Boolean({ description: 'False when it was revoked already (nothing changed)' }), credential: Type.Ref('Credential') }), ...errorResponses },
    },
  }, async (req) => {
    const res = await authority.credentials.revokeOne(actorOf(req), { credentialId: req.params.id, reason: req.body?.reason });
    if (res.revoked) metrics.revoked.inc();
    return res;
  });

  app.get('/credentials/:id', {
    schema: { tags, summary: 'One issued credential, with its certificate', params: IdParam, response: { 200: CredentialWithCert, ...errorResponses } },
  }, async (req) => authority.credentials.get(actorOf(req), req.params.id));
};
