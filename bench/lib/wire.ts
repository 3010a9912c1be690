// A minimal HTTP/1.1 keep-alive client over one TLS (or TCP) socket, for the load generator: requests
// are pre-encoded bytes, responses are parsed just enough (status, Content-Length or chunked body), so
// the generator spends little CPU per request and times each one in microseconds. Bench use only.
//
// A reply is timed when its last byte is parsed, in the 'data' callback itself (`WireReply.at`), not
// when a promise continuation gets to run later: the generator's own scheduling must not be counted
// as the server's latency.

import net from 'node:net';
import tls from 'node:tls';

export interface WireReply {
  status: number;
  body: Buffer;
  /** process.hrtime.bigint() when the reply was complete. */
  at: bigint;
  /** The status line and headers, as received (latin1). */
  head: string;
}

const CRLF2 = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);

export function encodeRequest(host: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Buffer {
  const b = body === undefined ? null : Buffer.from(body);
  let head = `${method} ${path} HTTP/1.1\r\nhost: ${host}\r\nconnection: keep-alive\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  if (b) {
    if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) head += 'content-type: application/json\r\n';
    head += `content-length: ${b.length}\r\n`;
  }
  head += '\r\n';
  return b ? Buffer.concat([Buffer.from(head), b]) : Buffer.from(head);
}

type Done = (err: Error | null, reply: WireReply | null) => void;

/** One connection; one request in flight at a time (no pipelining). */
export class WireConnection {
  #socket: net.Socket;
  #buf: Buffer = EMPTY;
  #pending: Done | null = null;
  #ready: Promise<void>;
  #closed: Error | null = null;

  constructor(url: URL, ca?: string) {
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    this.#socket = url.protocol === 'https:'
      ? tls.connect({ host: url.hostname, port, ca, servername: net.isIP(url.hostname) ? undefined : url.hostname })
      : net.connect({ host: url.hostname, port });
    this.#socket.setNoDelay(true);
    this.#ready = new Promise((resolve, reject) => {
      this.#socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => resolve());
      this.#socket.once('error', reject);
    });
    // Nobody may be waiting on #ready when the connection fails (a pool connected ahead of time).
    this.#ready.catch(() => {});
    this.#socket.on('data', (d: Buffer) => this.#onData(d));
    const fail = (e: Error) => {
      this.#closed ??= e;
      const p = this.#pending;
      this.#pending = null;
      p?.(e, null);
    };
    this.#socket.on('error', fail);
    this.#socket.on('close', () => fail(new Error('connection closed')));
  }

  /** Resolves once the TLS (or TCP) handshake is done. */
  ready(): Promise<void> {
    return this.#ready;
  }

  get closed(): Error | null {
    return this.#closed;
  }

  /** Writes a request at once; `done` gets its reply (or the connection's failure). The connection must be ready and idle. */
  send(bytes: Buffer, done: Done): void {
    if (this.#closed) return done(this.#closed, null);
    if (this.#pending) return done(new Error('WireConnection: a request is already in flight'), null);
    this.#pending = done;
    this.#socket.write(bytes);
  }

  async request(bytes: Buffer): Promise<WireReply> {
    await this.#ready;
    return new Promise((resolve, reject) => this.send(bytes, (e, r) => (e ? reject(e) : resolve(r!))));
  }

  #onData(d: Buffer): void {
    const at = process.hrtime.bigint();
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, d]) : d;
    const end = this.#buf.indexOf(CRLF2);
    if (end < 0 || !this.#pending) return;
    const head = this.#buf.toString('latin1', 0, end);
    const status = Number(head.slice(9, 12));
    const start = end + 4;
    const len = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    let body: Buffer;
    let rest: number;
    if (len) {
      const n = Number(len[1]);
      if (this.#buf.length < start + n) return;
      body = this.#buf.subarray(start, start + n);
      rest = start + n;
    } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      const parts: Buffer[] = [];
      let p = start;
      for (;;) {
        const eol = this.#buf.indexOf('\r\n', p);
        if (eol < 0) return;
        const size = parseInt(this.#buf.toString('latin1', p, eol), 16);
        if (this.#buf.length < eol + 2 + size + 2) return;
        if (size === 0) {
          rest = eol + 4;
          break;
        }
        parts.push(this.#buf.subarray(eol + 2, eol + 2 + size));
        p = eol + 2 + size + 2;
      }
      body = Buffer.concat(parts);
    } else {
      body = EMPTY;
      rest = start;
    }
    const p = this.#pending;
    this.#pending = null;
    this.#buf = rest < this.#buf.length ? this.#buf.subarray(rest) : EMPTY;
    p(null, { status, body, at, head });
  }

  close(): void {
    this.#socket.destroy();
  }
}
