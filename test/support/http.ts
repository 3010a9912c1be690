// Raw HTTPS calls for tests that must send what no well-behaved client would (malformed JSON,
// wrong types, oversized bodies), trusting the server's self-signed certificate.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import tls from 'node:tls';

export interface RawResponse { status: number; headers: http.IncomingHttpHeaders; body: string; raw: Buffer; json: any }

export function rawRequest(server: { url: string; caFile: string }, method: string, path: string, opts: { token?: string; body?: string | Buffer; headers?: Record<string, string> } = {}): Promise<RawResponse> {
  const url = new URL(path, server.url);
  const ca = fs.readFileSync(server.caFile, 'utf8');
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
    const req = https.request(url, { method, headers, ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        const body = raw.toString('utf8');
        let json: any;
        try { json = JSON.parse(body); } catch { json = undefined; }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, raw, json });
      });
    });
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

/**
 * Sends bytes as they are, over TLS, for what no HTTP client will send (a control character in a header, both
 * Content-Length and Transfer-Encoding), and reads the answer until the server closes the connection.
 */
export function rawExchange(server: { url: string; caFile: string }, bytes: string): Promise<RawResponse> {
  const url = new URL(server.url);
  const ca = fs.readFileSync(server.caFile, 'utf8');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = tls.connect({ host: url.hostname, port: Number(url.port), ca }, () => socket.write(bytes));
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const raw = Buffer.concat(chunks);
      const text = raw.toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
      const headers: http.IncomingHttpHeaders = {};
      for (const l of lines) headers[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
      const body = text.slice(end + 4);
      let json: any;
      try { json = JSON.parse(body); } catch { json = undefined; }
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0), headers, body, raw, json });
    });
  });
}

/** A refusal in kubecred's error shape: the status, the stable code, a request ID also in X-Request-Id, and the message. */
export function assertCodedError(r: RawResponse, status: number, code: string, message?: RegExp): void {
  assert.equal(r.status, status, r.body);
  assert.equal(r.json?.code, code, r.body);
  assert.match(r.json.requestId, /^req_[0-9a-f]{24}$/);
  assert.equal(r.headers['x-request-id'], r.json.requestId);
  if (message) assert.match(r.json.message, message);
}
