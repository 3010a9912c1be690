// A test API front doing what kube-apiserver does for kubecred's enforcement: x509 user info (CN, O,
// X509SHA256 credential ID), webhook calls built from the files `kubecred cluster kube-config` wrote
// (AuthorizationConfiguration + webhook kubeconfig), its "unauthorized" cache TTL, and a 403 Status on deny.

import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import type tls from 'node:tls';
import YAML from 'yaml';
import { createSelfSignedServerCert } from '../../src/pki/ca.ts';

const durationMs = (d: string) => {
  const m = /^(\d+)(ms|s|m)$/.exec(d);
  if (!m) throw new Error(`bad duration ${d}`);
  return Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000);
};

export interface AuthorizingFront { url: string; caPem: string; webhookCalls: number; configure(configDir: string): void; close(): Promise<void> }

interface Authn { server: string; token: string; ca?: string; ttl: number }
interface Loaded { wh: any; cluster: any; user: any; webhookCa?: string; ttl: number; authn: Authn | null }

function loadConfig(configDir: string): Loaded & { clientCa: string } {
  const authz = YAML.parse(fs.readFileSync(path.join(configDir, 'authorization-config.yaml'), 'utf8'));
  const wh = authz.authorizers.find((a: { type: string }) => a.type === 'Webhook').webhook;
  // kube-apiserver reads the kubeconfig path from the config; the test maps it into configDir.
  const kc = YAML.parse(fs.readFileSync(path.join(configDir, path.basename(wh.connectionInfo.kubeConfigFile)), 'utf8'));
  const ctx = kc.contexts.find((c: { name: string }) => c.name === kc['current-context']).context;
  const cluster = kc.clusters.find((c: { name: string }) => c.name === ctx.cluster).cluster;
  const user = kc.users.find((u: { name: string }) => u.name === ctx.user).user;
  const webhookCa = cluster['certificate-authority-data'] ? Buffer.from(cluster['certificate-authority-data'], 'base64').toString() : undefined;
  const ttl = durationMs(wh.unauthorizedTTL);
  const clientCa = fs.readFileSync(path.join(configDir, 'client-ca.crt'), 'utf8');
  // Token clusters: the TokenReview webhook, with the cache TTL from the flags file, as kube-apiserver would.
  let authn: Authn | null = null;
  const flags = fs.readFileSync(path.join(configDir, 'kube-apiserver-flags.txt'), 'utf8');
  const authnFile = /--authentication-token-webhook-config-file=(\S+)/.exec(flags)?.[1];
  if (authnFile) {
    const akc = YAML.parse(fs.readFileSync(path.join(configDir, path.basename(authnFile)), 'utf8'));
    const ca = akc.clusters[0].cluster['certificate-authority-data'];
    authn = {
      server: akc.clusters[0].cluster.server, token: akc.users[0].user.token, ca: ca ? Buffer.from(ca, 'base64').toString() : undefined,
      ttl: durationMs(/--authentication-token-webhook-cache-ttl=(\S+)/.exec(flags)![1]),
    };
  }
  return { wh, cluster, user, webhookCa, ttl, clientCa, authn };
}

/** Listens at once (so the cluster can be registered with its URL); configure() loads the files later. */
export async function startAuthorizingFront(): Promise<AuthorizingFront> {
  let cfg: Loaded | null = null;
  const cache = new Map<string, { until: number; denied: boolean; reason?: string }>();
  const { certPem, keyPem } = createSelfSignedServerCert(['127.0.0.1'], new Date(), 30);
  const state = { webhookCalls: 0 };

  async function review(spec: Record<string, unknown>): Promise<{ denied: boolean; reason?: string }> {
    const { wh, cluster, user, webhookCa, ttl } = cfg!;
    const key = JSON.stringify(spec);
    const hit = cache.get(key);
    if (hit && hit.until > Date.now()) return hit;
    state.webhookCalls += 1;
    const body = JSON.stringify({ apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', metadata: {}, spec });
    const res = await fetchJson(cluster.server, body, user.token, webhookCa, durationMs(wh.timeout));
    if (res.status !== 200) throw new Error(`webhook answered ${res.status}`); // failurePolicy Deny -> HTTP 500
    const s = res.json.status ?? {};
    if (s.allowed === true) throw new Error('kubecred must never answer allowed:true');
    const verdict = { denied: s.denied === true, reason: s.reason as string | undefined };
    cache.set(key, { ...verdict, until: Date.now() + ttl });
    return verdict;
  }

  const tokenCache = new Map<string, { until: number; user: { username: string; groups: string[]; extra: Record<string, string[]> } | null }>();
  async function tokenReview(token: string) {
    const authn = cfg!.authn!;
    const hit = tokenCache.get(token);
    if (hit && hit.until > Date.now()) return hit.user;
    const body = JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: ['https://kubernetes.default.svc'] } });
    const res = await fetchJson(authn.server, body, authn.token, authn.ca, 3000);
    if (res.status !== 200) throw new Error(`token webhook answered ${res.status}`);
    const st = res.json.status;
    // A returned audience list must include the apiserver's own; none means the apiserver's own.
    const audienceOk = !st?.audiences || st.audiences.includes('https://kubernetes.default.svc');
    const user = st?.authenticated && audienceOk ? st.user : null;
    tokenCache.set(token, { until: Date.now() + authn.ttl, user });
    return user;
  }

  const server = https.createServer({ cert: certPem, key: keyPem, requestCert: true, rejectUnauthorized: false }, async (req, res) => {
    const sock = req.socket as tls.TLSSocket;
    const send = (code: number, obj: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(obj));
    };
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (bearer && cfg?.authn) {
      const u = await tokenReview(bearer).catch(() => null);
      if (!u) return send(401, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
      return send(200, { user: { name: u.username, groups: u.groups, extra: u.extra } });
    }
    if (!sock.authorized) return send(401, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
    const peer = sock.getPeerCertificate();
    const o = peer.subject.O;
    const groups = [...(Array.isArray(o) ? o : o ? [o] : []), 'system:authenticated'];
    const name = peer.subject.CN as string;
    const extra = { 'authentication.kubernetes.io/credential-id': [`X509SHA256=${crypto.createHash('sha256').update(peer.raw).digest('hex')}`] };
    const spec = { nonResourceAttributes: { path: req.url, verb: 'get' }, user: name, groups, extra };
    const matches = !name.startsWith('system:');
    try {
      const verdict = matches ? await review(spec) : { denied: false };
      if (verdict.denied) {
        return send(403, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `forbidden: User "${name}" cannot get path "${req.url}": ${verdict.reason}`, reason: 'Forbidden', details: {}, code: 403 });
      }
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      return res.end(`Internal Server Error: "${req.url}": ${(e as Error).message}`);
    }
    const url = (req.url ?? '').split('?')[0];
    // Just enough of the API for `kubectl get pods`: discovery, then a pod list naming the caller.
    if (url === '/api') return send(200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
    if (url === '/apis') return send(200, { kind: 'APIGroupList', apiVersion: 'v1', groups: [] });
    if (url === '/api/v1') return send(200, { kind: 'APIResourceList', groupVersion: 'v1', resources: [{ name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['get', 'list'], shortNames: ['po'] }] });
    if (/^\/api\/v1\/namespaces\/[^/]+\/pods$/.test(url)) {
      return send(200, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: [{ kind: 'Pod', apiVersion: 'v1', metadata: { name: `pod-of-${name}`, namespace: 'default', creationTimestamp: '2026-01-01T00:00:00Z' }, spec: { containers: [{ name: 'c', image: 'x' }] }, status: { phase: 'Running' } }] });
    }
    send(200, { user: { name, groups } });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `https://127.0.0.1:${(server.address() as { port: number }).port}`,
    caPem: certPem,
    get webhookCalls() { return state.webhookCalls; },
    configure(configDir) {
      const loaded = loadConfig(configDir);
      cfg = loaded;
      server.setSecureContext({ cert: certPem, key: keyPem, ca: loaded.clientCa });
    },
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

function fetchJson(url: string, body: string, token: string, ca: string | undefined, timeout: number): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: 'POST', ca, timeout, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } }, (res) => {
      let data = '';
      res.on('data', (d) => (data += d));
      res.on('end', () => {
        try { resolve({ status: res.statusCode ?? 0, json: JSON.parse(data) }); } catch (e) { reject(e); }
      });
    });
    req.on('timeout', () => req.destroy(new Error('webhook timeout')));
    req.on('error', reject);
    req.end(body);
  });
}
