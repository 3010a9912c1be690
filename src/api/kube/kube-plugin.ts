// What kube-apiserver calls: the SubjectAccessReview authorization webhook (v1 and v1beta1) and the
// per-cluster CRL. Never answers allowed:true: a valid credential is left to RBAC.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Authority } from '../../core/authority.ts';
import { invalid } from '../../core/errors.ts';
import type { Cluster } from '../../core/model.ts';
import { CREDENTIAL_ID_KEY, type AccessQuestion } from '../../core/webhook-service.ts';
import type { Metrics } from '../metrics.ts';

const SAR_VERSIONS = new Set(['authorization.k8s.io/v1', 'authorization.k8s.io/v1beta1']);
/**
 * A review is read only once its caller is known to be the cluster's kube-apiserver (the token is checked on the
 * headers, before the body), and then up to this. kube-apiserver builds a review from one request's headers and URL
 * (at most 1 MiB: its MaxHeaderBytes), which a user controls through selectors and impersonated extra; the JSON of
 * a selector's raw text and its parsed requirements can be a few times that. Any refusal here would meet the
 * failurePolicy, and under NoOpinion a revoked user could pick it at will: no review kube-apiserver can send is
 * refused for its size.
 */
export const REVIEW_BODY_LIMIT = 16 * 1024 * 1024;

const bearer = (req: FastifyRequest) => {
  const h = req.headers.authorization;
  if (typeof h !== 'string' || h.length < 7 || h.charCodeAt(6) !== 32) return undefined;
  return h.startsWith('Bearer') || h.slice(0, 6).toLowerCase() === 'bearer' ? h.slice(7).trim() : undefined;
};

function isStringList(v: unknown): v is string[] {
  if (!Array.isArray(v)) return false;
  for (let i = 0; i < v.length; i++) if (typeof v[i] !== 'string') return false;
  return true;
}

/**
 * The "no opinion" answer of each review version, serialized once: kube-apiserver asks for every API
 * request it serves, and nearly every answer is this one.
 */
const NO_OPINION_JSON = new Map([...SAR_VERSIONS].map((v) => [v, JSON.stringify({ apiVersion: v, kind: 'SubjectAccessReview', status: { allowed: false } })]));
const JSON_UTF8 = 'application/json; charset=utf-8';

/** Reads the parts of a review kubecred decides on; anything malformed is refused, never allowed. */
export function parseSubjectAccessReview(body: unknown): { apiVersion: string; question: AccessQuestion } {
  const b = body as { apiVersion?: unknown; kind?: unknown; spec?: Record<string, unknown> } | null;
  if (!b || typeof b !== 'object' || Array.isArray(b)) throw invalid('the body must be a SubjectAccessReview object');
  if (b.kind !== 'SubjectAccessReview' || typeof b.apiVersion !== 'string' || !SAR_VERSIONS.has(b.apiVersion)) {
    throw invalid('expected kind SubjectAccessReview with apiVersion authorization.k8s.io/v1 or v1beta1');
  }
  const spec = b.spec;
  if (!spec || typeof spec !== 'object') throw invalid('spec is missing');
  if (typeof spec.user !== 'string') throw invalid('spec.user must be a string');
  // v1 names the list `groups`, v1beta1 `group`.
  const groups = spec.groups ?? spec.group ?? [];
  if (!isStringList(groups)) throw invalid('spec.groups must be a list of strings');
  const extra = (spec.extra ?? {}) as Record<string, unknown>;
  if (typeof extra !== 'object' || extra === null || Array.isArray(extra)) throw invalid('spec.extra must map strings to lists of strings');
  for (const k of Object.keys(extra)) if (!isStringList(extra[k])) throw invalid('spec.extra must map strings to lists of strings');
  return { apiVersion: b.apiVersion, question: { user: spec.user, groups, extra: extra as Record<string, string[]> } };
}

const TOKEN_REVIEW_VERSIONS = new Set(['authentication.k8s.io/v1', 'authentication.k8s.io/v1beta1']);

export function parseTokenReview(body: unknown): { apiVersion: string; token: string; audiences?: string[] } {
  const b = body as { apiVersion?: unknown; kind?: unknown; spec?: { token?: unknown; audiences?: unknown } } | null;
  if (!b || typeof b !== 'object' || Array.isArray(b)) throw invalid('the body must be a TokenReview object');
  if (b.kind !== 'TokenReview' || typeof b.apiVersion !== 'string' || !TOKEN_REVIEW_VERSIONS.has(b.apiVersion)) {
    throw invalid('expected kind TokenReview with apiVersion authentication.k8s.io/v1 or v1beta1');
  }
  if (!b.spec || typeof b.spec.token !== 'string') throw invalid('spec.token must be a string');
  if (b.spec.audiences !== undefined && !isStringList(b.spec.audiences)) throw invalid('spec.audiences must be a list of strings');
  return { apiVersion: b.apiVersion, token: b.spec.token, audiences: b.spec.audiences as string[] | undefined };
}

export async function kubePlugin(app: FastifyInstance, deps: { authority: Authority; metrics: Metrics }): Promise<void> {
  const { authority } = deps;
  const decisions = deps.metrics.webhookDecisions;

  /** The review's answer, once the caller is known to be this cluster's kube-apiserver. */
  const review = (req: FastifyRequest, reply: FastifyReply, cluster: Cluster) => {
    const { apiVersion, question } = parseSubjectAccessReview(req.body);
    const verdict = authority.webhooks.decide(cluster, question);
    if (!verdict.deny) {
      decisions.authorize.no_opinion++;
      reply.header('content-type', JSON_UTF8);
      return NO_OPINION_JSON.get(apiVersion)!;
    }
    decisions.authorize.deny++;
    req.log.info({ cluster: cluster.id, user: question.user, reason: verdict.reason }, 'webhook denied a kubecred credential');
    return { apiVersion, kind: 'SubjectAccessReview', status: { allowed: false, denied: true, reason: verdict.reason } };
  };

  /** The cluster whose kube-apiserver is calling, set by `callerFirst` before the body is read. */
  const callers = new WeakMap<FastifyRequest, Cluster>();
  const callerOf = (req: FastifyRequest): Cluster => callers.get(req)!;
  // Not async: a caller verified in the last second (every call but one a second) goes on without a promise.
  const callerFirst = (req: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void) => {
    const { id } = req.params as { id: string };
    const token = bearer(req);
    const known = authority.webhooks.knownCaller(id, token);
    if (known) {
      callers.set(req, known);
      return done();
    }
    authority.webhooks.authenticateCaller(id, token).then((cluster) => {
      callers.set(req, cluster);
      done();
    }, done);
  };

  app.post('/kube/clusters/:id/authorize', {
    bodyLimit: REVIEW_BODY_LIMIT,
    onRequest: callerFirst,
    // One call per Kubernetes API request: access-logged at debug; a denial is logged at info below.
    config: { accessLogLevel: 'debug' },
    schema: { tags: ['kubernetes'], summary: 'SubjectAccessReview webhook: denies revoked, superseded or expired kubecred credentials; no opinion otherwise', hide: false },
  }, (req, reply) => review(req, reply, callerOf(req)));

  app.post('/kube/clusters/:id/authenticate', {
    bodyLimit: REVIEW_BODY_LIMIT,
    onRequest: callerFirst,
    config: { accessLogLevel: 'debug' },
    schema: { tags: ['kubernetes'], summary: 'TokenReview webhook: authenticates active token kubeconfigs of the cluster' },
  }, async (req) => {
    const cluster = callerOf(req);
    const { apiVersion, token } = parseTokenReview(req.body);
    const user = await authority.webhooks.reviewToken(cluster, token);
    if (!user) {
      decisions.authenticate.unauthenticated++;
      return { apiVersion, kind: 'TokenReview', status: { authenticated: false } };
    }
    decisions.authenticate.authenticated++;
    return {
      apiVersion, kind: 'TokenReview',
      status: {
        authenticated: true,
        user: { username: user.username, uid: user.uid, groups: user.groups, extra: { [CREDENTIAL_ID_KEY]: [user.credentialId] } },
        // No audiences: kube-apiserver then takes its own (--api-audiences) as the token's, so a kubecred token is
        // good for kube-apiserver alone. Echoing the requested ones made it good for whatever audience a service
        // asked about through the TokenReview API.
      },
    };
  });

  app.get('/clusters/:id/crl', {
    schema: { tags: ['kubernetes'], summary: "CRL (DER) of the cluster's client CA: revoked and superseded kubecred certificates" },
  }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const der = await authority.crl.crlDer(id);
    return reply.type('application/pkix-crl').header('cache-control', 'max-age=300').send(der);
  });
}
