// A minimal HTTP/1.1 keep-alive client over one TLS (or TCP) socket, for the load generator: requests
// are pre-encoded bytes, responses are parsed just enough (status, Content-Length or chunked body), so
// the generator spends little CPU per request and times each one in microseconds. Bench use only.

import net from 'node:net';
import tls from 'node:tls';

export interface WireReply { status: number; body: Buffer }

const CRLF2 = Buffer.from('\r\n\r\n');

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

/** One connection; one request in flight at a time (no pipelining). */
export class WireConnection {
  #socket: net.Socket;
  #buf: Buffer = Buffer.alloc(0);
  #pending: { resolve: (r: WireReply) => void; reject: (e: Error) => void } | null = null;
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
    this.#socket.on('data', (d: Buffer) => this.#onData(d));
    const fail = (e: Error) => {
      this.#closed ??= e;
      const p = this.#pending;
      this.#pending = null;
      p?.reject(e);
    };
    this.#socket.on('error', fail);
    this.#socket.on('close', () => fail(new Error('connection closed')));
  }

  async request(bytes: Buffer): Promise<WireReply> {
    await this.#ready;
    if (this.#closed) throw this.#closed;
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.#socket.write(bytes);
    });
  }

  #onData(d: Buffer): void {
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
      body = Buffer.alloc(0);
      rest = start;
    }
    const p = this.#pending;
    this.#pending = null;
    this.#buf = this.#buf.subarray(rest);
    p.resolve({ status, body });
  }

  close(): void {
    this.#socket.destroy();
  }
}
