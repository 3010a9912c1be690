// A typed HTTP client of kubecred's native API, used by the CLI and by tests.
// It speaks HTTPS with a given CA (the self-signed server certificate) and never logs the token.

import http from 'node:http';
import https from 'node:https';

export interface ClientOptions {
  server: string;
  token?: string;
  caPem?: string;
  insecureSkipTlsVerify?: boolean;
  timeoutMs?: number;
}

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
      const req = lib.request(url, { method, headers, agent: this.agent, timeout: this.opts.timeoutMs ?? 30_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), requestId: (res.headers['x-request-id'] as string) ?? null }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (e: NodeJS.ErrnoException) => {
        const hint = /certificate|self.signed|CERT/i.test(e.code ?? e.message)
          ? ' (TLS: pass --ca-file with the server certificate, e.g. <data-dir>/tls/server.crt)'
          : ' (is `kubecred serve` running there?)';
        reject(new ConnectionError(`cannot reach ${this.base.origin}: ${e.code ?? e.message}${hint}`, e));
      });
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

  get<T>(path: string, query?: Record<string, string | number | undefined>) { return this.request<T>('GET', path, undefined, query); }
  post<T>(path: string, body?: unknown) { return this.request<T>('POST', path, body ?? {}); }
  put<T>(path: string, body?: unknown) { return this.request<T>('PUT', path, body ?? {}); }
  patch<T>(path: string, body?: unknown) { return this.request<T>('PATCH', path, body ?? {}); }
  delete<T>(path: string) { return this.request<T>('DELETE', path); }

  /** Follows `next` cursors until the end, or until `max` items; pages (at most 500, the server's cap) ask only for what is still wanted. */
  async all<T>(path: string, query: Record<string, string | number | undefined> = {}, max = 10_000): Promise<T[]> {
    const out: T[] = [];
    let cursor: string | undefined;
    while (out.length < max) {
      const page = await this.get<Page<T>>(path, { ...query, limit: Math.min(max - out.length, 500), cursor });
      out.push(...page.items);
      cursor = page.next ?? undefined;
      if (!cursor) break;
    }
    // A server that answers more than asked must not make --limit lie.
    return out.slice(0, max);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export const enc = encodeURIComponent;
