// A path that exists but is not served with the method asked: 405 with Allow (RFC 9110 15.5.6), not a 404 saying
// there is no such path. The router is asked, so the answer follows the routes as registered; nothing is listed here.

import http from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { KubecredError } from '../core/errors.ts';

/** The path as the router reads it: up to "?" or "#". */
const pathOf = (url: string): string => url.split(/[?#]/)[0]!;

/**
 * The methods that serve a URL, in http.METHODS order (a GET route brings its HEAD). None for a path that is not valid
 * percent-encoding: the router answers such a path with its bad-URL handler under every method, which is no route.
 * A method without any route costs the router one lookup, so asking for each is cheap.
 */
export function methodsServing(app: FastifyInstance, url: string): string[] {
  try {
    decodeURIComponent(pathOf(url));
  } catch {
    return [];
  }
  return http.METHODS.filter((method) => app.findRoute({ method: method as 'GET', url }) !== null);
}

/** The refusal, for the error handler of the surface asked; `details.allow` becomes the Allow header. */
export function methodNotAllowed(req: FastifyRequest, allow: readonly string[]): KubecredError {
  return new KubecredError('METHOD_NOT_ALLOWED', `${pathOf(req.url)} takes ${allow.join(', ')}, not ${req.method}`, { details: { allow: [...allow] } });
}

/** The Allow header's value for a METHOD_NOT_ALLOWED (RFC 9110 requires one on every 405): its details' list. */
export function allowHeaderOf(err: { code: string; details?: Record<string, unknown> }): string | undefined {
  const allow = err.code === 'METHOD_NOT_ALLOWED' ? err.details?.allow : undefined;
  return Array.isArray(allow) && allow.length > 0 ? allow.join(', ') : undefined;
}
