// The references a bare Fastify server gives (HTTPS with kubecred's own certificate, no logger, no auth,
// nothing stored): for webhook decisions, a POST route that parses the JSON body and returns a constant
// SubjectAccessReview; for issuance, a POST route that makes what a temporary kubeconfig carries (a fresh
// EC P-256 key and a client certificate from kubecred's own template and signer) and returns it. The
// second is a lower bound for any issuer in Node on this machine: HTTPS plus the key and the certificate.

import fs from 'node:fs';
import Fastify from 'fastify';
import { createClientCa } from '../../src/pki/ca.ts';
import { issueClientCertificate, loadCa } from '../../src/pki/client-cert.ts';
import { generateKeyPair } from '../../src/pki/keys.ts';

const [certFile, keyFile] = process.argv.slice(2);
const app = Fastify({ logger: false, https: { cert: fs.readFileSync(certFile!), key: fs.readFileSync(keyFile!) } });
const constant = { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', status: { allowed: false } };
app.post('/authorize', async () => constant);

const start = new Date();
const ca = loadCa(await createClientCa({ commonName: 'bare issuer CA', algorithm: 'ec-p256', notBefore: start, notAfter: new Date(start.getTime() + 86400e3) }));
app.post('/issue', async () => {
  const key = generateKeyPair('ec-p256');
  const now = new Date();
  const cert = issueClientCertificate({ ca, publicKeyDer: key.publicKeyDer, commonName: 'bench-user', organizations: ['dev'], notBefore: now, notAfter: new Date(now.getTime() + 15 * 60e3) });
  return { certificate: cert.certPem, privateKey: key.privateKeyPem };
});

const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stderr.write(`serving on ${address}\n`);
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => void app.close().then(() => process.exit(0)));
