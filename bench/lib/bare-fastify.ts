// The references a bare Fastify server gives (HTTPS with kubecred's own certificate, no logger, no auth,
// nothing stored): for webhook decisions, a POST route that parses the JSON body and returns a constant
// SubjectAccessReview; for issuance, a POST route that makes what a temporary kubeconfig carries (a fresh
// EC P-256 key and a client certificate from kubecred's own template and signer) and returns it. The
// second is a lower bound for any issuer in Node on this machine: HTTPS plus the key and the certificate.
// A third route, /issue-durable, does the same and then makes the certificate durable the cheapest way an
// issuer can here before it answers: it writes the certificate into a preallocated file (overwriting in a
// ring, as a WAL does, so no sync has to change the file's size) and answers once an fdatasync begun after
// that write has completed, on libuv's thread pool, one sync shared by every request that wrote before it
// began (group commit). No database, no index, no audit record: the cheapest durable issuer measured here (one
// fdatasync per request, in parallel, was no faster at concurrency 2 and slower at 16; a synchronous fdatasync on
// the event loop cost ~12 % less CPU at concurrency 1 for the same req/s, and would stall every other request).

import fs from 'node:fs';
import Fastify from 'fastify';
import { createClientCa } from '../../src/pki/ca.ts';
import { issueClientCertificate, loadCa } from '../../src/pki/client-cert.ts';
import { generateKeyPair } from '../../src/pki/keys.ts';

const [certFile, keyFile, ringFile] = process.argv.slice(2);
const app = Fastify({ logger: false, https: { cert: fs.readFileSync(certFile!), key: fs.readFileSync(keyFile!) } });
const constant = { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', status: { allowed: false } };
app.post('/authorize', async () => constant);

const start = new Date();
const ca = loadCa(await createClientCa({ commonName: 'bare issuer CA', algorithm: 'ec-p256', notBefore: start, notAfter: new Date(start.getTime() + 86400e3) }));
/** What a temporary kubeconfig carries: a fresh key and a 15-minute certificate from the template. */
const mint = () => {
  const key = generateKeyPair('ec-p256');
  const now = new Date();
  const cert = issueClientCertificate({ ca, publicKeyDer: key.publicKeyDer, commonName: 'bench-user', organizations: ['dev'], notBefore: now, notAfter: new Date(now.getTime() + 15 * 60e3) });
  return { key, cert };
};
app.post('/issue', async () => {
  const { key, cert } = mint();
  return { certificate: cert.certPem, privateKey: key.privateKeyPem };
});

const RING = 8 << 20;
const ring = fs.openSync(ringFile!, 'w+', 0o600);
fs.writeSync(ring, Buffer.alloc(RING));
fs.fsyncSync(ring);
let offset = 0;
let syncing = false;
let waiting: Array<() => void> = [];
const sync = (): void => {
  syncing = true;
  const batch = waiting;
  waiting = [];
  fs.fdatasync(ring, (e) => {
    if (e) throw e;
    syncing = false;
    for (const done of batch) done();
    if (waiting.length) sync();
  });
};
app.post('/issue-durable', async () => {
  const { key, cert } = mint();
  if (offset + cert.certDer.length > RING) offset = 0;
  offset += fs.writeSync(ring, cert.certDer, 0, cert.certDer.length, offset);
  await new Promise<void>((resolve) => {
    waiting.push(resolve);
    if (!syncing) sync();
  });
  return { certificate: cert.certPem, privateKey: key.privateKeyPem };
});

const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stderr.write(`serving on ${address}\n`);
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => void app.close().then(() => process.exit(0)));
