// Raw HTTPS calls for tests that must send what no well-behaved client would (malformed JSON,
// wrong types, oversized bodies), trusting the server's self-signed certificate.

import fs from 'node:fs';
import https from 'node:https';
import http from 'node:http';

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
