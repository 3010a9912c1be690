// The two CCE cluster-certificate operations: clustercert (a kubeconfig with the validity asked for) and
// clustercertrevoke (by userId or agencyId). Wire translation only: every rule and decision is core's.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Actions, type ActionDef } from '../../core/actions.ts';
import type { Authority } from '../../core/authority.ts';
import { absentClusterTargets, clusterTarget } from '../../core/authorizer.ts';
import { invalid, isKubecredError, KubecredError, shownValue } from '../../core/errors.ts';
import { findCluster, findPrincipal } from '../../core/lookup.ts';
import type { Metrics } from '../metrics.ts';
import { nestsDeeperThan, tooDeepMessage } from '../json-depth.ts';
import { actorOf } from '../request-context.ts';
import { parseRfc3339 } from '../rfc3339.ts';
import { projectRegionOf } from './cce-auth.ts';
import { cceKubeconfig } from './cce-kubeconfig.ts';
import type { Actor } from '../../core/actor.ts';
import type { Cluster } from '../../core/model.ts';

type Params = { project_id: string; cluster_id: string };
const DAY_MS = 24 * 3600 * 1000;
/** CCE's `duration: -1` means "the longest CCE allows", which is also core's longest explicit validity. */
const MAX_DAYS = 1827;

/**
 * The Content-Types CCE's documents list for these operations. The body is JSON whichever is sent
 * (application/x-pem-file is on CCE's list; callers that copied it send the same JSON body).
 */
const BODY_TYPES = new Set(['application/json', 'application/x-pem-file']);

/** The body as a JSON object. */
function jsonBody(req: FastifyRequest): Record<string, unknown> {
  const type = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (!BODY_TYPES.has(type)) throw new KubecredError('UNSUPPORTED_MEDIA_TYPE', 'send the body as JSON with Content-Type: application/json');
  const raw = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
  if (raw.trim() === '') throw invalid('the body is empty; send a JSON object');
  if (nestsDeeperThan(raw)) throw invalid(tooDeepMessage);
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    throw invalid('the body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('the body must be a JSON object');
  return body as Record<string, unknown>;
}

/**
 * The path's cluster, which must be in the path's project's region: a CCE project is one region's. Not found (or in
 * another region) only for a caller allowed `action` on whatever cluster it could be; others are refused as for one
 * they may not act on, so that they learn neither whether it exists nor its region.
 */
async function projectCluster(authority: Authority, req: FastifyRequest<{ Params: Params }>, actor: Actor, action: ActionDef): Promise<Cluster> {
  const { cluster_id: id, project_id: project } = req.params;
  const absent = (e: unknown) => authority.authorizer.absent(actor, action, absentClusterTargets(actor.accountId, id, 'kubernetes'), e);
  const cluster = await findCluster(authority.store, actor.accountId, id, 'kubernetes').catch(absent);
  const region = projectRegionOf(req);
  if (region !== undefined && cluster.region !== region) {
    return absent(new KubecredError('NOT_FOUND', `cluster ${JSON.stringify(id)} is in region ${cluster.region}, and project ${project} is registered for ${region}; call it through a project of its region (kubecred project list)`, { details: { kind: 'cluster', id } }));
  }
  return cluster;
}

// CCE writes expire_at the way Go prints a time ("2025-01-01 16:00:00 +0000 UTC"); RFC 3339 is accepted too.
// Either way the date must exist: 2027-02-30 is refused, not rolled over into March.
function parseExpireAt(v: unknown): Date {
  const bad = () => invalid('expire_at must be a time like "2025-01-01 16:00:00 +0000 UTC" or "2025-01-01T16:00:00Z"', { field: 'expire_at' });
  if (typeof v !== 'string' || v.length > 64) throw bad();
  const go = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) ([+-]\d{2})(\d{2})(?: [A-Z]{3,5})?$/.exec(v);
  const d = parseRfc3339(go ? `${go[1]}T${go[2]}${go[3]}:${go[4]}` : v);
  if (!d) throw bad();
  return d;
}

/** The certificate's end from `duration` (days) or `expire_at`; expire_at wins when both are given, as in CCE. */
function notAfterOf(body: Record<string, unknown>, now: Date): { notAfter: Date; field: string } {
  if (body.expire_at !== undefined && body.expire_at !== null) return { notAfter: parseExpireAt(body.expire_at), field: 'expire_at' };
  const d = body.duration;
  if (d === undefined || d === null) throw invalid('give "duration" (days: -1, or 1 to 1827) or "expire_at"', { field: 'duration' });
  if (typeof d !== 'number' || !Number.isInteger(d) || !(d === -1 || (d >= 1 && d <= MAX_DAYS))) {
    throw invalid(`duration must be -1 (the maximum, ${MAX_DAYS} days) or a whole number of days from 1 to ${MAX_DAYS}; got ${shownValue(d)}`, { field: 'duration' });
  }
  return { notAfter: new Date(now.getTime() + (d === -1 ? MAX_DAYS : d) * DAY_MS), field: 'duration' };
}

// Core names its own field; say it with the name the caller sent.
function renameField<T>(field: string, run: () => Promise<T>): Promise<T> {
  return run().catch((e: unknown) => {
    if (isKubecredError(e) && e.code === 'VALIDATION_FAILED' && e.details?.field === 'notAfter') {
      throw invalid(e.message.replace(/^notAfter/, field === 'expire_at' ? 'expire_at' : 'the validity asked for'), { ...e.details, field });
    }
    throw e;
  });
}

function principalOf(body: Record<string, unknown>): { field: 'userId' | 'agencyId'; value: string } {
  const { userId, agencyId } = body;
  const given = [userId, agencyId].filter((v) => v !== undefined && v !== null);
  if (given.length !== 1) throw invalid('give exactly one of "userId" or "agencyId"', { field: given.length ? 'agencyId' : 'userId' });
  const field = userId !== undefined && userId !== null ? 'userId' : 'agencyId';
  const v = body[field];
  if (typeof v !== 'string' || v.length === 0 || v.length > 128) throw invalid(`${field} must be a non-empty string (the CN of the certificate)`, { field });
  // Agencies are kubecred roles and users are users: a swapped field is a mistake worth naming.
  if (field === 'userId' && v.startsWith('rol_')) throw invalid(`${v} is an agency (a kubecred role); send it as "agencyId"`, { field });
  if (field === 'agencyId' && v.startsWith('usr_')) throw invalid(`${v} is a user; send it as "userId"`, { field });
  return { field, value: v };
}

export function cceRoutes(app: FastifyInstance, deps: { authority: Authority; metrics: Metrics }): void {
  const { authority, metrics } = deps;

  // Not part of the native API's OpenAPI document; docs/huaweicloud.md describes these.
  const hidden = { schema: { hide: true } };

  app.post<{ Params: Params }>('/projects/:project_id/clusters/:cluster_id/clustercert', hidden, async (req, reply) => {
    const actor = actorOf(req);
    const { notAfter, field } = notAfterOf(jsonBody(req), authority.clock.now());
    const cluster = await projectCluster(authority, req, actor, Actions.GetKubeconfig);
    const issued = await renameField(field, () => authority.credentials.getKubeconfig(actor, {
      clusterId: cluster.id, endpoint: cluster.privateEndpoint ? 'private' : 'public', notAfter,
    }));
    metrics.issued.inc({ kind: issued.credential.kind });
    // CCE puts the control plane's port ID here; kubecred has none, and the credential ID lets the
    // caller find this certificate in the inventory.
    reply.header('Port-ID', issued.credential.id);
    return cceKubeconfig(cluster, issued);
  });

  app.post<{ Params: Params }>('/projects/:project_id/clusters/:cluster_id/clustercertrevoke', hidden, async (req) => {
    const actor = actorOf(req);
    const { field, value } = principalOf(jsonBody(req));
    // A name is looked up like an ID, and must name the same kind of principal its field does. A deleted user's or
    // agency's ID is found too: the document's second way to the ID is the deleteUser/deleteAgency event.
    // The cluster first: whether the principal exists is for a caller allowed to revoke others' kubeconfigs on it.
    const own = value === actor.principal.id || value === actor.principal.name;
    const cluster = await projectCluster(authority, req, actor, own ? Actions.RevokeKubeconfig : Actions.RevokeUserKubeconfig);
    const onCluster = clusterTarget(actor.accountId, cluster);
    const principal = await findPrincipal(authority.store, actor.accountId, value, { includeDeleted: true })
      .catch((e) => authority.authorizer.absent(actor, Actions.RevokeUserKubeconfig, onCluster, e));
    if ((field === 'userId') !== (principal.kind === 'user')) {
      await authority.authorizer.check(actor, principal.id === actor.principal.id ? Actions.RevokeKubeconfig : Actions.RevokeUserKubeconfig, onCluster);
      throw invalid(`${value} is ${principal.kind === 'user' ? 'a user; send it as "userId"' : 'an agency (a kubecred role); send it as "agencyId"'}`, { field });
    }
    const revoked = await authority.credentials.revoke(actor, { clusterId: cluster.id, clusterKind: 'kubernetes', principalId: principal.id, reason: 'revoked through the CCE clustercertrevoke API' });
    metrics.revoked.inc(revoked.length);
    return {};
  });
}
