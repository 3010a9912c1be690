// The reference for webhook decisions: a bare Fastify server (HTTPS with kubecred's own certificate,
// no logger) whose POST route parses the JSON body and returns a constant SubjectAccessReview.

import fs from 'node:fs';
import Fastify from 'fastify';

const [certFile, keyFile] = process.argv.slice(2);
const app = Fastify({ logger: false, https: { cert: fs.readFileSync(certFile!), key: fs.readFileSync(keyFile!) } });
const constant = { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', status: { allowed: false } };
app.post('/authorize', async () => constant);
const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stderr.write(`serving on ${address}\n`);
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => void app.close().then(() => process.exit(0)));
