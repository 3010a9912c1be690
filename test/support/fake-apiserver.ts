// A stand-in for kube-apiserver's x509 authentication, for kubectl to talk to: TLS that requires a
// client certificate chaining to the cluster's client CA, answering with the user it saw.

import https from 'node:https';
import type tls from 'node:tls';
import { createSelfSignedServerCert } from '../../src/pki/ca.ts';

export interface FakeApiserver { url: string; caPem: string; setClientCa(pem: string): void; close(): Promise<void> }

export async function startFakeApiserver(): Promise<FakeApiserver> {
  const { certPem, keyPem } = createSelfSignedServerCert(['127.0.0.1', 'localhost'], new Date(), 30);
  const server = https.createServer({ cert: certPem, key: keyPem, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const sock = req.socket as tls.TLSSocket;
    if (!sock.authorized) {
      res.writeHead(401, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 }));
    }
    const peer = sock.getPeerCertificate();
    const o = peer.subject.O;
    const user = { name: peer.subject.CN, groups: Array.isArray(o) ? o : o ? [o] : [] };
    res.writeHead(200, { 'content-type': 'application/json' });
    if (req.url?.startsWith('/version')) return res.end(JSON.stringify({ major: '1', minor: '32', gitVersion: 'v1.32.0' }));
    res.end(JSON.stringify({ user }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `https://127.0.0.1:${port}`,
    caPem: certPem,
    setClientCa: (pem) => server.setSecureContext({ cert: certPem, key: keyPem, ca: pem }),
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
