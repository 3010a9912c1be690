// A typed HTTP client of kubecred's native API, used by the CLI and by tests.
// It speaks HTTPS with a given CA (the self-signed server certificate) and never logs the token.

import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';

export interface ClientOptions {
  server: string;
  token?: string;
  caPem?: string;
  insecureSkipTlsVerify?: boolean;
  /** One deadline for a whole request: connecting, the TLS handshake, the answer and its body (default 30 s). */
  timeoutMs?: number;
  /** Called once per client when a request has had no answer for `slowAfterMs` (default 5 s), for a progress line. */
  onSlow?: (origin: string, timeoutMs: number) => void;
  /** Called when `all` stopped at its maximum with more items left, so a list never looks complete when it is not. */
  onTruncated?: (shown: number) => void;
  slowAfterMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_SLOW_AFTER_MS = 5_000;

/** An error answer from the server, with its stable code and request ID. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly requestId: string | null, readonly details?: Record<string, unknown>) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The server could not be reached at all. */
export class ConnectionError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'ConnectionError';
  }
}

export interface Page<T> { items: T[]; next: string | null }

export class NativeClient {
  private readonly base: URL;
  private readonly agent: http.Agent | https.Agent;
  private saidSlow = false;

  /** Who this client acts as, without its secret: a digest of its token ('' without one), e.g. to key caches by. */
  identity(): string {
    return this.opts.token ? createHash('sha256').update(this.opts.token).digest('hex').slice(0, 32) : '';
  }

  constructor(private readonly opts: ClientOptions) {
    try {
      this.base = new URL(opts.server);
    } catch {
      throw new ConnectionError(`server address ${JSON.stringify(opts.server)} is not a URL; use e.g. https://127.0.0.1:7443`);
    }
    this.agent = this.base.protocol === 'https:'
      ? new https.Agent({ keepAlive: true, ca: opts.caPem, rejectUnauthorized: !opts.insecureSkipTlsVerify })
      : new http.Agent({ keepAlive: true });
  }

  close(): void {
    this.agent.destroy();
  }

  async request<T>(method: string, path: string, body?: unknown, query?: Record<string, string | number | undefined>): Promise<T> {
    const url = new URL(path, this.base);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
    const lib = url.protocol === 'https:' ? https : http;
    const { status, text, requestId } = await new Promise<{ status: number; text: string; requestId: string | null }>((resolve, reject) => {
      // What has happened so far decides what a timeout means: nobody there, or something there that is not kubecred.
      let stage: 'connecting' | 'connected' | 'answering' = 'connecting';
      const timeoutMs = this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      const slowAfterMs = this.opts.slowAfterMs ?? DEFAULT_SLOW_AFTER_MS;
      // One deadline for everything, so a silent peer costs timeoutMs once, not a handshake timeout and then a request one.
      let req: http.ClientRequest | undefined;
      const deadline = setTimeout(() => {
        fail(new ConnectionError(timeoutMessage(this.base.origin, stage, timeoutMs)));
        req?.destroy();
      }, timeoutMs);
      const slow = slowAfterMs < timeoutMs ? setTimeout(() => this.sayingSlow(timeoutMs), slowAfterMs) : undefined;
      const settle = () => {
        clearTimeout(deadline);
        clearTimeout(slow);
      };
      const fail = (e: Error) => {
        settle();
        reject(e);
      };
      try {
        req = lib.request(url, { method, headers, agent: this.agent }, (res) => {
          stage = 'answering';
          clearTimeout(slow);
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            settle();
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), requestId: (res.headers['x-request-id'] as string) ?? null });
          });
          res.on('error', (e) => fail(this.connectionError(e)));
        });
      } catch (e) {
        // Thrown before any I/O (a header value with a line break, say): no timer may outlive it.
        const code = (e as NodeJS.ErrnoException).code;
        fail(new Error(`the request could not be sent (${code ?? (e as Error).message}): a value that cannot go in an HTTP header, such as a token with a line break in it; check --token or KUBECRED_TOKEN`));
        return;
      }
      req.on('socket', (s) => {
        // A kept-alive socket was connected by an earlier request that kubecred answered.
        if (!s.connecting) stage = 'connected';
        else s.once('connect', () => { if (stage === 'connecting') stage = 'connected'; });
      });
      req.on('error', (e: NodeJS.ErrnoException) => fail(this.connectionError(e)));
      if (payload) req.write(payload);
      req.end();
    });
    const type = text.length > 0 ? safeJson(text) : undefined;
    if (status >= 400) {
      const e = (type ?? {}) as { code?: string; message?: string; requestId?: string; details?: Record<string, unknown> };
      throw new ApiError(status, e.code ?? `HTTP_${status}`, e.message ?? (text.slice(0, 200) || `HTTP ${status}`), e.requestId ?? requestId, e.details);
    }
    return (type ?? text) as T;
  }

  /** Once per client: a command making several slow requests says so once. */
  private sayingSlow(timeoutMs: number): void {
    if (this.saidSlow) return;
    this.saidSlow = true;
    this.opts.onSlow?.(this.base.origin, timeoutMs);
  }

  /** A failure to talk to the server, with a hint about what to do next. */
  private connectionError(e: NodeJS.ErrnoException): ConnectionError {
    return new ConnectionError(`cannot reach ${this.base.origin}: ${e.code ?? e.message}${connectionHint(e, this.base, this.opts.caPem !== undefined)}`, e);
  }

  get<T>(path: string, query?: Record<string, string | number | undefined>) { return this.request<T>('GET', path, undefined, query); }
  post<T>(path: string, body?: unknown) { return this.request<T>('POST', path, body ?? {}); }
  put<T>(path: string, body?: unknown) { return this.request<T>('PUT', path, body ?? {}); }
  patch<T>(path: string, body?: unknown) { return this.request<T>('PATCH', path, body ?? {}); }
  delete<T>(path: string) { return this.request<T>('DELETE', path); }

  /**
   * Follows `next` cursors until the end, or until `max` items; pages (at most 500, the server's cap) ask only for what
   * is still wanted. `onPage` sees each page whole, with what it says beside its items.
   */
  async all<T>(path: string, query: Record<string, string | number | undefined> = {}, max = 10_000, onPage?: (page: Page<T> & Record<string, unknown>) => void): Promise<T[]> {
    const out: T[] = [];
    let cursor: string | undefined;
    while (out.length < max) {
      const page = await this.get<Page<T> & Record<string, unknown>>(path, { ...query, limit: Math.min(max - out.length, 500), cursor });
      onPage?.(page);
      out.push(...page.items);
      cursor = page.next ?? undefined;
      if (!cursor) break;
    }
    if (out.length > max || (out.length === max && cursor)) this.opts.onTruncated?.(max);
    // A server that answers more than asked must not make --limit lie.
    return out.slice(0, max);
  }
}

function timeoutMessage(origin: string, stage: 'connecting' | 'connected' | 'answering', ms: number): string {
  const after = `${Math.round(ms / 100) / 10} s`;
  if (stage === 'connecting') return `cannot reach ${origin}: no connection after ${after} (is \`kubecred serve\` running there, and is that address reachable from here?)`;
  if (stage === 'connected') {
    return `${origin} accepted the connection but did not answer as a kubecred server within ${after}: check the port in --server (or KUBECRED_SERVER), and whether a proxy or firewall there holds connections open`;
  }
  return `${origin} began to answer but did not finish within ${after}; try again, and check the server's logs`;
}

/** What to do about a failed connection; TLS failures differ by whether a CA was given and what the certificate covers. */
function connectionHint(e: NodeJS.ErrnoException & { cert?: { subjectaltname?: string } }, base: URL, caGiven: boolean): string {
  // A TLS server meeting plain HTTP drops the connection: that is what http:// to `kubecred serve` looks like.
  if (base.protocol === 'http:' && (e.code === 'ECONNRESET' || /socket hang up/.test(e.message))) {
    return ` (if \`kubecred serve\` runs there, it speaks https:// unless started with --insecure-http: try https://${base.host})`;
  }
  if (e.code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const names = e.cert?.subjectaltname?.replace(/DNS:|IP Address:/g, '');
    const host = base.hostname.replace(/^\[|\]$/g, '');
    return ` (TLS: the server's certificate does not cover ${host}${names ? `; it covers ${names}: use one of those in --server,` : ';'} or serve a certificate for ${host} with \`kubecred serve --tls-cert/--tls-key\`)`;
  }
  if (/certificate|self.signed|CERT/i.test(e.code ?? e.message)) {
    return caGiven
      ? " (TLS: the --ca-file given is not the server's certificate or the CA that signed it; give the right one, e.g. <data-dir>/tls/server.crt)"
      : ' (TLS: pass --ca-file with the server certificate, e.g. <data-dir>/tls/server.crt)';
  }
  return ' (is `kubecred serve` running there?)';
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export const enc = encodeURIComponent;
