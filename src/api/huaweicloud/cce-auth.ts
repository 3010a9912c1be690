// Who is calling a CCE-style route: an X-Auth-Token (a kubecred bearer token) or an AK/SK request signed
// with SDK-HMAC-SHA256; then which account the path's project belongs to. Never reveals which part failed.

import crypto from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Actor } from '../../core/actor.ts';
import type { Authority } from '../../core/authority.ts';
import { KubecredError } from '../../core/errors.ts';
import type { Principal } from '../../core/model.ts';
import { EMPTY_BODY_SHA256, parseAuthorization, parseSdkDate, sha256Hex, sign, stringToSign } from './cce-signature.ts';

export const VENDOR = 'huaweicloud';
/** How far X-Sdk-Date may be from the server's clock, either way. */
export const CLOCK_SKEW_MS = 15 * 60 * 1000;

/**
 * The methods whose signed requests may arrive more than once: reads, which change nothing. Every other method
 * (POST, PUT, PATCH, DELETE, and any kubecred does not know) is accepted once per signature.
 */
export const REPLAYABLE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD']);

const unauthenticated = (why: string) => new KubecredError('UNAUTHENTICATED', `Incorrect IAM authentication information: ${why}`);
const header = (req: FastifyRequest, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
};

// Compared as fixed-length digests so the time taken says nothing about where the strings differ.
function sameSecret(a: string, b: string): boolean {
  const da = crypto.createHash('sha256').update(a).digest();
  const db = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(da, db);
}

async function bySignature(authority: Authority, req: FastifyRequest, authorization: string, rawBody: Buffer): Promise<{ accountId: string; principal: Principal }> {
  const parsed = parseAuthorization(authorization);
  if (!parsed) throw unauthenticated('the Authorization header is not "SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<names>, Signature=<hex>"');
  for (const required of ['host', 'x-sdk-date']) {
    if (!parsed.signedHeaders.includes(required)) throw unauthenticated(`SignedHeaders must include ${required}`);
  }
  const missing = parsed.signedHeaders.find((h) => header(req, h) === undefined);
  if (missing) throw unauthenticated(`the signed header ${missing} is not in the request`);
  const sdkDate = header(req, 'x-sdk-date')!;
  const at = parseSdkDate(sdkDate);
  if (!at) throw unauthenticated('X-Sdk-Date must be a UTC time like 20250101T000000Z');
  if (Math.abs(at.getTime() - authority.clock.now().getTime()) > CLOCK_SKEW_MS) {
    throw unauthenticated("X-Sdk-Date is more than 15 minutes away from the server's time; check the client's clock");
  }
  // Only a header the caller signed may replace the body hash, and an unsigned body is refused: it could be swapped.
  const declared = parsed.signedHeaders.includes('x-sdk-content-sha256') ? header(req, 'x-sdk-content-sha256') : undefined;
  const payloadHash = rawBody.length > 0 ? sha256Hex(rawBody) : EMPTY_BODY_SHA256;
  if (declared !== undefined && declared !== payloadHash) throw unauthenticated('X-Sdk-Content-Sha256 must be the SHA-256 of the body (UNSIGNED-PAYLOAD is not accepted)');

  const expected = (secret: string) => sign(secret, stringToSign({
    method: req.method, rawUrl: req.raw.url ?? req.url, headers: req.headers, signedHeaders: parsed.signedHeaders, payloadHash, sdkDate,
  }));
  // Recomputed with a stand-in secret for an unknown key, so the time taken does not tell which keys exist.
  const key = await authority.authenticator.verifyAccessKey(parsed.accessKeyId, (secret) => sameSecret(expected(secret), parsed.signature));
  if (!key.ok) {
    throw unauthenticated('the signature does not match, or the access key is unknown or disabled; check the AK/SK and that the body and signed headers are sent as signed');
  }
  // SDK-HMAC-SHA256 carries no nonce, so the signature is the request's one-time mark: a captured write cannot be
  // sent again while its X-Sdk-Date is acceptable. Claimed only once it verified (nobody can burn another caller's),
  // and kept in the store, so a restart (or another replica) does not reopen the window. A read is not claimed: two
  // identical reads signed in one second carry one signature, Huawei Cloud answers both, and a copy sent again
  // changes nothing (the method is signed, so it cannot be turned into a write). Alibaba's requests carry a real
  // nonce, claimed whatever the method (aliyun/request-auth.ts).
  if (!REPLAYABLE_METHODS.has(req.method)) {
    const fresh = await authority.claimOnce(`${VENDOR}:${parsed.accessKeyId}:${parsed.signature}`, new Date(at.getTime() + CLOCK_SKEW_MS));
    if (!fresh) {
      throw unauthenticated('this signed request was already received; sign every request anew (identical writes signed within the same second carry the same signature: send them a second apart)');
    }
  }
  const projectHeader = header(req, 'x-project-id');
  const projectParam = (req.params as { project_id?: string }).project_id;
  if (projectHeader !== undefined && projectParam !== undefined && projectHeader !== projectParam) {
    throw unauthenticated(`X-Project-Id ${JSON.stringify(projectHeader)} does not match the project in the path`);
  }
  return { accountId: key.accountId, principal: key.principal };
}

/** The region of the request's project, once authenticateCce has found it: a CCE project is one region's. */
const projectRegions = new WeakMap<FastifyRequest, string>();
export const projectRegionOf = (req: FastifyRequest): string | undefined => projectRegions.get(req);

/** Authenticates the request and checks that the path's project belongs to the caller's account. */
export async function authenticateCce(authority: Authority, req: FastifyRequest, rawBody: Buffer): Promise<Actor> {
  const token = header(req, 'x-auth-token');
  const authorization = header(req, 'authorization');
  let who: { accountId: string; principal: Principal };
  if (token !== undefined) who = await authority.authenticator.bearer(token.trim());
  else if (authorization !== undefined) who = await bySignature(authority, req, authorization, rawBody);
  else throw unauthenticated('send X-Auth-Token with a kubecred token, or sign the request with AK/SK (SDK-HMAC-SHA256)');

  const projectId = (req.params as { project_id?: string }).project_id;
  if (projectId !== undefined) {
    // Looked up in the caller's account only, once the caller is known: several accounts may map the same project ID,
    // and whether another does is none of this caller's business.
    const project = await authority.store.vendorProjects.get(VENDOR, who.accountId, projectId);
    if (!project) {
      throw new KubecredError('NOT_FOUND', `project ${JSON.stringify(projectId)} is not registered for your account; the account root maps it with \`kubecred project add ${projectId} --region <region>\``, { details: { kind: 'project' } });
    }
    projectRegions.set(req, project.region);
  }
  return { accountId: who.accountId, principal: who.principal, requestId: req.id, sourceIp: req.ip ?? null, surface: VENDOR };
}
