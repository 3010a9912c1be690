// The Alibaba Cloud error shapes: ROA `{code, message, requestId}` for ACK, RPC `{RequestId, HostId, Code,
// Message}` for ASM, each core code mapped once. Never put a secret, a stack or an internal cause in an answer.

import type { FastifyReply, FastifyRequest } from 'fastify';
import { isKubecredError, type ErrorCode } from '../../core/errors.ts';
import type { Metrics } from '../metrics.ts';
import { toWireError } from '../native/native-errors.ts';
import { logFailure, noteFailure } from '../request-context.ts';

export type ApiStyle = 'roa' | 'rpc';

/** A refusal that only exists on this surface (signatures, dates, nonces, vendor parameters). */
export class AliyunError extends Error {
  /** Set for refusals of the caller's credentials or signature (whatever the status), which the denied counter counts. */
  refusesCaller = false;
  constructor(readonly vendorCode: string, readonly status: number, message: string) {
    super(message);
    this.name = 'AliyunError';
  }
}

export const missingParameter = (name: string) =>
  new AliyunError('MissingParameter', 400, `The input parameter "${name}" that is mandatory for processing this request is not supplied.`);
export const invalidParameter = (name: string, why: string) =>
  new AliyunError('InvalidParameter', 400, `The specified parameter "${name}" is not valid: ${why}`);

/**
 * Core names its own fields (`hours`): a refusal of one is said with the parameter the caller sent
 * (`expire_hour`), in the vendor's InvalidParameter form. Core's message starts with its field name.
 */
export async function asParameter<T>(name: string, coreField: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (isKubecredError(e) && e.code === 'VALIDATION_FAILED' && e.details?.field === coreField) {
      throw invalidParameter(name, e.message.startsWith(`${coreField} `) ? e.message.slice(coreField.length + 1) : e.message);
    }
    throw e;
  }
}

/**
 * RPC requests are served at "/" only; everything else on this surface is ROA. The route matched decides when there
 * is one: the router ends a path at "#" too, so "/#x" reached the RPC route and was answered in the ROA shape (found
 * by npm run fuzz). The URL decides only for errors raised before routing.
 */
/** The path as the router reads it: up to "?" or "#". */
const pathOf = (url: string): string => url.split(/[?#]/)[0]!;

export const styleOf = (req: FastifyRequest): ApiStyle => {
  const route = req.routeOptions?.url;
  if (route !== undefined) return route === '/' ? 'rpc' : 'roa';
  return pathOf(req.url) === '/' ? 'rpc' : 'roa';
};

/** The vendor action a request asked for, kept so a denial can name it the way the vendor does. */
const vendorActions = new WeakMap<FastifyRequest, string>();
export const noteVendorAction = (req: FastifyRequest, action: string) => vendorActions.set(req, action);

/** `core`: kubecred's own code for it (logged); `code`: the vendor's, answered. */
interface Mapped { core: ErrorCode; code: string; status: number; message: string; denied?: 'ImplicitDeny' | 'ExplicitDeny' }

/** A refusal only this surface makes, in kubecred's terms: of the caller's key or signature, an unknown action, or bad input. */
const coreCodeOf = (err: AliyunError): ErrorCode => (err.refusesCaller ? 'UNAUTHENTICATED' : err.status === 404 ? 'NOT_FOUND' : 'VALIDATION_FAILED');

function notFoundCode(style: ApiStyle, kind: unknown): string {
  if (kind === 'cluster') return style === 'rpc' ? 'ServiceMesh.NotFound' : 'ErrorClusterNotFound';
  if (kind === 'principal') return 'ErrorUserNotFound';
  return 'ResourceNotFound';
}

const simple: Partial<Record<ErrorCode, { code: string; status: number }>> = {
  VALIDATION_FAILED: { code: 'InvalidParameter', status: 400 },
  CSR_INVALID: { code: 'InvalidParameter', status: 400 },
  CA_INVALID: { code: 'InvalidParameter', status: 400 },
  ENDPOINT_UNAVAILABLE: { code: 'InvalidParameter.PrivateIpAddress', status: 400 },
  FORBIDDEN_GROUP: { code: 'InvalidParameter', status: 400 },
  UNAUTHENTICATED: { code: 'InvalidAccessKeyId.NotFound', status: 404 },
  // Alibaba has no 405: a known path with another method is "api not found, check your url and method".
  METHOD_NOT_ALLOWED: { code: 'InvalidAction.NotFound', status: 404 },
  CONFLICT: { code: 'Conflict', status: 409 },
  PAYLOAD_TOO_LARGE: { code: 'RequestTooLarge', status: 413 },
  UNSUPPORTED_MEDIA_TYPE: { code: 'UnsupportedMediaType', status: 415 },
  RATE_LIMITED: { code: 'Throttling.User', status: 429 },
  UNAVAILABLE: { code: 'ServiceUnavailable', status: 503 },
  INTERNAL: { code: 'InternalError', status: 500 },
};

function map(err: unknown, style: ApiStyle, req: FastifyRequest): Mapped {
  if (err instanceof AliyunError) return { core: coreCodeOf(err), code: err.vendorCode, status: err.status, message: err.message };
  if (isKubecredError(err)) {
    if (err.code === 'NOT_FOUND') return { core: err.code, code: notFoundCode(style, err.details?.kind), status: 404, message: err.message };
    if (err.code === 'ACCESS_DENIED' || err.code === 'ROOT_ONLY') {
      const denied = /explicitly denied/.test(err.message) ? 'ExplicitDeny' : 'ImplicitDeny';
      return { core: err.code, code: 'Forbidden.RAM', status: 403, message: `User not authorized to operate on the specified resource: ${err.message}`, denied };
    }
  }
  const w = toWireError(err, req);
  const m = simple[w.code] ?? { code: 'InternalError', status: 500 };
  return { core: w.code, ...m, message: m.status >= 500 ? 'The request processing has failed due to some unknown error; quote the request ID.' : w.message };
}

/**
 * Whether an unmatched request was meant for the Alibaba surface: signed the Alibaba way, or on ACK's paths or
 * ASM's "/". Its 404 then comes in the vendor's shape, which the SDKs read, not kubecred's native one.
 */
export function isAliyunRequest(req: FastifyRequest): boolean {
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && /^(?:acs |ACS3-)/.test(auth)) return true;
  if (req.headers['x-acs-version'] !== undefined || req.headers['x-acs-action'] !== undefined) return true;
  const path = pathOf(req.url);
  return path === '/' || /^\/(?:k8s|cluster|users|api\/v2\/k8s)\//.test(path) || /[?&]AccessKeyId=/.test(req.url);
}

/** The 404 for an Alibaba-style request no route serves. */
export function aliyunNotFound(req: FastifyRequest, reply: FastifyReply) {
  const err = new AliyunError('InvalidAction.NotFound', 404, `Specified api is not found, please check your url and method: kubecred serves no ${req.method} ${pathOf(req.url)}. It serves ACK's kubeconfig operations and ASM's DescribeServiceMeshKubeconfig and RevokeKubeconfig (POST /); see docs/aliyun.md.`);
  return aliyunErrorHandler(null)(err, req, reply);
}

export function aliyunErrorHandler(metrics: Metrics | null) {
  return (err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const style = styleOf(req);
    const m = map(err, style, req);
    noteFailure(req, m.core, m.code);
    if (m.status >= 500) {
      logFailure(req, err);
    } else if (m.status === 401 || m.status === 403 || (err instanceof AliyunError && err.refusesCaller)) {
      metrics?.denied.inc({ code: m.code });
    }
    const action = vendorActions.get(req);
    const denial = m.denied && {
      AuthAction: action ?? null, AuthPrincipalType: 'SubUser', AuthPrincipalDisplayName: req.actor?.principal.name ?? null,
      NoPermissionType: m.denied, PolicyType: 'AccountLevelIdentityBasedPolicy',
    };
    reply.status(m.status).header('x-acs-request-id', req.id);
    if (style === 'rpc') {
      return reply.send({
        RequestId: req.id, HostId: req.headers.host ?? 'servicemesh.aliyuncs.com', Code: m.code, Message: m.message,
        Recommend: `https://api.aliyun.com/troubleshoot?q=${encodeURIComponent(m.code)}`, ...(denial ? { AccessDeniedDetail: denial } : {}),
      });
    }
    return reply.send({ code: m.code, message: m.message, requestId: req.id, ...(denial ? { accessDeniedDetail: denial } : {}) });
  };
}
