// The console's only way to the server: fetch against the native API. The browser sends the HttpOnly
// session cookie; changes also carry the CSRF token, which lives in memory only (never in web storage).

import type { Page } from './types.ts';

/** An answer that is not a success, with the server's code, message and request ID. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId: string | null,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

let csrfToken: string | null = null;
let sessionEnded: (() => void) | null = null;

export const setCsrfToken = (token: string | null) => { csrfToken = token; };
/** Called when a call made inside a session answers 401: the session expired or was revoked meanwhile. */
export const onSessionEnded = (fn: (() => void) | null) => { sessionEnded = fn; };

const SESSION_PATHS = ['/v1/sessions', '/v1/sessions/current'];

export async function api<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin', cache: 'no-store' });
  } catch {
    throw new ApiError(0, 'NETWORK', 'the browser could not reach the kubecred server: check your connection and that the server is running', null);
  }
  const text = await res.text();
  let json: any;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
  if (!res.ok) {
    const err = new ApiError(res.status, json?.code ?? `HTTP_${res.status}`, json?.message ?? `the server answered HTTP ${res.status}`, json?.requestId ?? res.headers.get('x-request-id'), json?.details);
    if (res.status === 401 && !SESSION_PATHS.includes(path)) sessionEnded?.();
    throw err;
  }
  return json as T;
}

/** `?a=1&b=2`, leaving out empty values. */
export function query(params: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** Every page of a list, up to `max` items (the console shows inventories, not archives). */
export async function all<T>(path: string, params: Record<string, string | undefined> = {}, max = 5000): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  do {
    const page: Page<T> = await api<Page<T>>('GET', path + query({ ...params, limit: 500, cursor }));
    out.push(...page.items);
    cursor = page.next;
  } while (cursor && out.length < max);
  return out;
}

export const enc = encodeURIComponent;
