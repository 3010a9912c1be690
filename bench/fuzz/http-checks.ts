// What every answer of the real server must satisfy, whatever was sent: no 5xx but a deliberate 503, an
// X-Request-Id, the error shape of the surface that answered, and no stack, SQL or secret in an error body.

import { Finding } from './engine.ts';
import { NoAnswer, type Res } from './http-client.ts';
import type { FuzzServer } from './fuzz-server.ts';
import type { Req } from './mutate-text.ts';

const REQUEST_ID = /^req_[0-9a-f]{24}$/;
const LEAKS: [RegExp, string][] = [
  [/\bat [\w.<>]+ \(\S+:\d+:\d+\)|\.ts:\d+:\d+|node:internal/, 'a stack trace'],
  [/\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|SQLITE_\w+|sqlite)\b/i, 'SQL'],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----|MII[A-Za-z0-9+/]{60}/, 'key material'],
];

type Shape = 'native' | 'rpc' | 'cce';

/** Which surface's error handler answers a URL: the router's own refusals included (server.ts surfaceOfUrl). */
function surfaceOf(r: Req, status: number): Shape {
  // Node's parser takes extra spaces around the method and URL, and the router ends the path at "?" or "#".
  const path = r.url.trim().split(/[?#]/)[0]!;
  const method = r.method.trim();
  if (path === '/api/v3' || path.startsWith('/api/v3/')) return 'cce';
  // "/" is ASM's RPC endpoint (GET and POST); the 404 for any other method there is in its shape too.
  if (path === '/' && (method === 'GET' || method === 'POST' || status === 404)) return 'rpc';
  return 'native';
}

const str = (v: unknown) => typeof v === 'string' && v.length > 0;

function shapeProblem(shape: Shape, body: Record<string, unknown>, requestId: string): string | null {
  switch (shape) {
    case 'native': return str(body.code) && str(body.message) && body.requestId === requestId ? null : 'not {code, message, requestId = X-Request-Id}';
    case 'rpc': return str(body.Code) && str(body.Message) && body.RequestId === requestId ? null : 'not {Code, Message, RequestId = X-Request-Id, HostId}';
    case 'cce': return str(body.error_code) && str(body.error_msg) ? null : 'not {error_code, error_msg, ...} (the request ID in X-Request-Id)';
  }
}

export function checkResponse(r: Req, res: Res, secrets: readonly string[]): void {
  const route = `${r.method} ${r.url.split('?')[0]!.replace(/(cls|usr|rol|pol|tok|crd|wht)_[a-z0-9]{26}/g, '$1_…').slice(0, 80)}`;
  const requestId = res.headers['x-request-id'] ?? '';
  if (!REQUEST_ID.test(requestId)) throw new Finding('no-request-id', `${route} answered ${res.status} without an X-Request-Id: ${res.body.toString('utf8').slice(0, 100)}`, false, `${res.status}`);
  if (res.status >= 500 && res.status !== 503) throw new Finding('5xx', `${route} answered ${res.status}: ${res.body.toString('utf8').slice(0, 200)}`, false, `${route.replace(/\/[^/]*$/, '')} ${res.status}`);
  if (res.status < 400 || r.method.trim() === 'HEAD') return;
  const text = res.body.toString('utf8');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Finding('error-shape', `${route} answered ${res.status} with a body that is not JSON: ${text.slice(0, 120)}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Finding('error-shape', `${route} answered ${res.status} with JSON that is not an object`);
  const b = body as Record<string, unknown>;
  if (res.status === 503 && !['UNAVAILABLE', 'ServiceUnavailable', 'CCE.01503001'].includes(String(b.code ?? b.Code ?? b.error_code))) {
    throw new Finding('5xx', `${route} answered 503 that is not the deliberate UNAVAILABLE: ${text.slice(0, 200)}`);
  }
  // Node's HTTP parser refusals are written before any route or surface exists: the native shape, then the socket closes.
  const parserRefusal = /close/i.test(res.headers.connection ?? '') && [400, 408, 431].includes(res.status) && shapeProblem('native', b, requestId) === null;
  const shape = surfaceOf(r, res.status);
  const problem = parserRefusal ? null : shapeProblem(shape, b, requestId);
  if (problem) throw new Finding('error-shape', `${route} answered ${res.status} in the wrong shape for the ${shape} surface: ${problem}: ${text.slice(0, 160)}`, false, `${shape} ${res.status} ${Object.keys(b).sort().join(',')}`);
  for (const [re, what] of LEAKS) if (re.test(text)) throw new Finding('leak', `${route} answered ${res.status} with ${what}: ${text.slice(0, 200)}`);
  for (const s of secrets) if (s && text.includes(s)) throw new Finding('leak', `${route} answered ${res.status} with a secret in its error`);
}

/**
 * Sends one request and checks the answer and the server process (crash, log lines). A connection closed without
 * an answer is retried once on a fresh connection: a server that answers 413 and closes while a large body is still
 * arriving resets the connection, which can throw the answer away on the client's side (TCP, not kubecred).
 */
export async function exchange(srv: FuzzServer, r: Req): Promise<Res> {
  srv.checkProcess();
  let res: Res | undefined;
  for (let attempt = 0; !res; attempt++) {
    try {
      res = await srv.client.send(r);
    } catch (e) {
      srv.client.close();
      await new Promise((resolve) => setTimeout(resolve, 50));
      srv.checkProcess();
      // A body its own Content-Length or Transfer-Encoding says is longer than what came before the end of the
      // stream: closing without an answer is all a server can do.
      if (e instanceof NoAnswer && e.ownFraming) return { status: 0, headers: {}, body: Buffer.alloc(0) };
      if (attempt === 0 && !(e instanceof NoAnswer && /within/.test(e.message))) continue;
      if (e instanceof NoAnswer) throw new Finding(/within/.test(e.message) ? 'hang' : 'no-answer', `${r.method} ${r.url.slice(0, 80)}: ${e.message}`);
      throw new Finding('no-answer', `${r.method} ${r.url.slice(0, 80)}: ${(e as Error).message}`);
    }
  }
  checkResponse(r, res, srv.secrets);
  srv.checkProcess();
  return res;
}
