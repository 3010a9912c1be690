// A minimal HTTP/1.1 client over a plain socket: it sends exactly the bytes a fuzzed request holds (control
// characters, duplicated or conflicting framing headers), which Node's own client refuses to send.

import net from 'node:net';
import type { Req } from './mutate-text.ts';

export interface Res { status: number; headers: Record<string, string>; body: Buffer }

export class NoAnswer extends Error {
  constructor(message: string, readonly ownFraming = false) {
    super(message);
  }
}

const HEAD_END = Buffer.from('\r\n\r\n');

export class RawClient {
  #socket: net.Socket | null = null;
  #buf = Buffer.alloc(0);
  #closed = false;
  #wake: (() => void) | null = null;

  constructor(readonly host: string, readonly port: number, readonly timeoutMs = 10_000) {}

  /** The socket becomes the current one at once, so events of one replaced a moment ago never touch its state. */
  #connect(): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: this.host, port: this.port }, () => resolve(s));
      this.#socket = s;
      s.setNoDelay(true);
      this.#buf = Buffer.alloc(0);
      this.#closed = false;
      s.on('data', (d) => { if (this.#socket === s) { this.#buf = Buffer.concat([this.#buf, d]); this.#wake?.(); } });
      s.on('close', () => { if (this.#socket === s) { this.#closed = true; this.#socket = null; this.#wake?.(); } });
      s.on('error', (e) => { reject(e); if (this.#socket === s) { this.#closed = true; this.#wake?.(); } });
    });
  }

  /** Waits until `ready` says the buffer holds what it needs, or the socket closed, or the deadline passed. */
  async #until(ready: () => boolean, deadline: number): Promise<void> {
    while (!ready()) {
      if (this.#closed) return;
      const left = deadline - Date.now();
      if (left <= 0) throw new NoAnswer(`no complete answer within ${this.timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#wake = () => { clearTimeout(t); resolve(); };
      });
      this.#wake = null;
    }
  }

  close(): void {
    this.#socket?.destroy();
    this.#socket = null;
  }

  /**
   * Sends the request with a correct Content-Length, unless it brings its own framing headers: then on a fresh
   * connection that is closed afterwards, since a body framed wrongly on purpose would desynchronize the next request.
   */
  async send(r: Req): Promise<Res> {
    const ownFraming = r.headers.some(([n]) => /^(content-length|transfer-encoding)$/i.test(n.trim()));
    if (ownFraming) this.close();
    const socket = this.#socket ?? await this.#connect();
    this.#buf = Buffer.alloc(0);
    const lines = [`${r.method} ${r.url} HTTP/1.1`, ...r.headers.map(([n, v]) => `${n}: ${v}`)];
    if (!ownFraming && (r.body.length > 0 || ['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method))) lines.push(`content-length: ${r.body.length}`);
    socket.write(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8'), r.body]));
    // Framing of its own may announce more body than follows: end the stream so the server is not left waiting for it.
    if (ownFraming) socket.end();
    const deadline = Date.now() + this.timeoutMs;
    // Interim answers (100 Continue to an Expect header) come before the real one: skip them.
    const interim = () => /^HTTP\/1\.1 1\d\d /.test(this.#buf.toString('latin1', 0, 13)) && this.#buf.indexOf(HEAD_END) >= 0;
    for (;;) {
      await this.#until(() => this.#buf.indexOf(HEAD_END) >= 0, deadline);
      if (!interim()) break;
      this.#buf = this.#buf.subarray(this.#buf.indexOf(HEAD_END) + 4);
    }
    const end = this.#buf.indexOf(HEAD_END);
    if (end < 0) {
      this.close();
      throw new NoAnswer('the server closed the connection without answering', ownFraming);
    }
    const [statusLine, ...headerLines] = this.#buf.subarray(0, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0);
    const headers: Record<string, string> = {};
    for (const l of headerLines) {
      const c = l.indexOf(':');
      if (c > 0) headers[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim();
    }
    const start = end + 4;
    let body: Buffer;
    // Node's parser takes spaces around the method ("HEAD "): what it answered is a HEAD, with no body.
    if (r.method.trim() === 'HEAD' || status === 204 || status === 304) {
      body = Buffer.alloc(0);
      this.#buf = this.#buf.subarray(start);
    } else if (headers['content-length'] !== undefined) {
      const len = Number(headers['content-length']);
      await this.#until(() => this.#buf.length >= start + len, deadline);
      body = this.#buf.subarray(start, start + len);
    } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      await this.#until(() => this.#buf.indexOf(Buffer.from('\r\n0\r\n\r\n'), start - 2) >= 0, deadline);
      body = dechunk(this.#buf.subarray(start));
    } else {
      await this.#until(() => false, deadline).catch(() => undefined);
      body = this.#buf.subarray(start);
    }
    if (ownFraming || /close/i.test(headers.connection ?? '')) this.close();
    return { status, headers, body };
  }
}

function dechunk(b: Buffer): Buffer {
  const parts: Buffer[] = [];
  let p = 0;
  for (;;) {
    const eol = b.indexOf('\r\n', p);
    if (eol < 0) break;
    const size = parseInt(b.subarray(p, eol).toString('latin1'), 16);
    if (!size) break;
    parts.push(b.subarray(eol + 2, eol + 2 + size));
    p = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}
