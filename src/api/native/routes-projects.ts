// /v1/projects: which vendor project IDs (Huawei Cloud CCE) belong to this account, and their region.
// Root only, enforced by core; this file only translates HTTP to the project service.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { actorOf } from '../request-context.ts';
import type { NativeDeps } from './native-plugin.ts';
import { errorResponses, Region } from './schemas.ts';

const Project = Type.Object({ vendor: Type.String(), projectId: Type.String(), region: Type.String(), createdAt: Type.String({ format: 'date-time' }) });
const AddProjectBody = Type.Object({
  projectId: Type.String({ minLength: 1, maxLength: 64, description: 'The vendor project ID as it appears in the vendor API paths' }),
  region: Region,
  vendor: Type.Optional(Type.Literal('huaweicloud', { description: 'Only huaweicloud uses project IDs today' })),
}, { additionalProperties: false });

export const projectRoutes = (deps: NativeDeps): FastifyPluginAsyncTypebox => async (app) => {
  const { authority } = deps;
  const tags = ['projects'];

  app.post('/projects', {
    schema: { tags, summary: 'Map a vendor project ID to this account (root only)', body: AddProjectBody, response: { 201: Project, ...errorResponses } },
  }, async (req, reply) => reply.status(201).send(await authority.projects.add(actorOf(req), { vendor: req.body.vendor ?? 'huaweicloud', projectId: req.body.projectId, region: req.body.region })));

  app.get('/projects', {
    schema: { tags, summary: "The account's vendor project IDs (root only)", response: { 200: Type.Object({ items: Type.Array(Project) }), ...errorResponses } },
  }, async (req) => ({ items: await authority.projects.list(actorOf(req)) }));

  app.delete('/projects/:projectId', {
    schema: {
      tags, summary: "Remove the account's mapping of a vendor project ID (root only); the vendor surface then answers 404 for it",
      params: Type.Object({ projectId: Type.String({ minLength: 1, maxLength: 64 }) }),
      querystring: Type.Object({ vendor: Type.Optional(Type.Literal('huaweicloud')) }, { additionalProperties: false }),
      response: { 200: Type.Object({ removed: Type.Boolean() }), ...errorResponses },
    },
  }, async (req) => authority.projects.remove(actorOf(req), { vendor: req.query.vendor ?? 'huaweicloud', projectId: req.params.projectId }));
};
