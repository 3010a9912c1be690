// Client commands for clusters, principals, tokens, access keys and policies.

import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { KUBE_MINOR, kubeConfigFiles } from './kube-config-files.ts';
import { idOfPastedSecret } from '../core/api-credentials.ts';
import { checkCleartext, isLoopbackHost, resolveTarget } from './client-config.ts';
import type { Command } from 'commander';
import { enc } from '../client/native-client.ts';
import { oneOf, rangeOption } from './commands-kubeconfig.ts';
import { UsageError } from './exit-codes.ts';
import { readFlagFile } from './flag-files.ts';
import { outputOption, print, say } from './output.ts';
import { withClient } from './run-action.ts';

/** The server's range for a token's lifetime (MAX_TOKEN_DAYS in core/principal-service.ts, the API schema's maximum). */
const TOKEN_DAYS = { min: 1, max: 3650 } as const;

const collect = (v: string, prev: string[] = []) => [...prev, v];

const CLUSTER_COLS = ['id', 'name', 'kind', 'region', 'publicEndpoint', 'privateEndpoint', 'clientCaSource'];
const PRINCIPAL_COLS = ['id', 'name', 'kind', 'groups', 'isRoot'];
const TOKEN_COLS = ['id', 'name', 'status', 'createdAt', 'createdBy', 'expiresAt', 'revokedAt'];
const ACCESS_KEY_COLS = ['accessKeyId', 'status', 'createdAt', 'createdBy', 'revokedAt'];

/** A duration as kube-apiserver's configuration takes it (10s, 500ms, 1m): above zero, and at most `maxMs`. */
function checkDuration(flag: string, v: string, maxMs?: number): void {
  const m = /^(\d+)(ms|s|m)$/.exec(v);
  const ms = m ? Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2] as 'ms' | 's' | 'm'] : NaN;
  if (!(ms > 0)) throw new UsageError(`${flag} must be a duration above zero like 10s, 500ms or 1m (got ${v})`);
  if (maxMs !== undefined && ms > maxMs) throw new UsageError(`${flag} must be at most ${maxMs / 1000}s, kube-apiserver's limit (got ${v})`);
}

/** `1.31`, `v1.31` or `1.31.4` -> 31; versions before webhooks could be asked for v1 reviews are refused. */
function kubeMinorOf(v: string): number {
  const m = /^v?1\.(\d{1,3})(\.\d+)?$/.exec(v);
  if (!m) throw new UsageError(`--kube-version must be a Kubernetes version like 1.31 (got ${v})`);
  const minor = Number(m[1]);
  if (minor < KUBE_MINOR.oldest) throw new UsageError(`--kube-version ${v}: kube-apiserver before 1.${KUBE_MINOR.oldest} cannot send kubecred the v1 reviews it reads; upgrade the control plane`);
  return minor;
}

/**
 * When the CA given for kubecred is kubecred's own certificate (the self-signed one `serve` makes covers only
 * loopback), kube-apiserver can only reach the webhook at a name that certificate covers: say so now, not in the
 * apiserver's log after every request failed.
 */
function checkServerCertCovers(caPem: string | null, url: string): void {
  const certs = caPem?.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (certs.length !== 1) return;
  let cert: crypto.X509Certificate;
  try {
    cert = new crypto.X509Certificate(certs[0]!);
  } catch {
    return;
  }
  // A CA carries no names of its own; a server's certificate does, and then it must cover the URL's host.
  if (!cert.subjectAltName) return;
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  const covered = net.isIP(host) ? cert.checkIP(host) !== undefined : cert.checkHost(host) !== undefined;
  if (!covered) {
    throw new UsageError(`kubecred's certificate is valid for ${cert.subjectAltName.replace(/DNS:|IP Address:/g, '')}, not ${host}: kube-apiserver could not reach ${url}. Serve a certificate for ${host} (kubecred serve --tls-cert/--tls-key) and pass its CA with --ca-file, or give a --webhook-url it covers`);
  }
}

export function registerResourceCommands(program: Command): void {
  const cluster = program.command('cluster').description('register and manage clusters');
  outputOption(cluster.command('create <name>').description('register a cluster; its client CA is generated unless --ca-cert/--ca-key import one')
    .option('--public-endpoint <url>', 'public API server address, https://HOST:PORT')
    .option('--private-endpoint <url>', 'private API server address, https://HOST:PORT')
    .option('--server-ca <file>', 'CA bundle (PEM) clients trust for the API server')
    .option('--region <region>', 'region name', 'default')
    .option('--kind <kind>', 'kubernetes or service-mesh', 'kubernetes')
    .option('--ca-algorithm <alg>', 'generated client CA key: ec-p256 or rsa-2048', 'ec-p256')
    .option('--ca-cert <file>', 'import the client CA: its certificate (PEM)')
    .option('--ca-key <file>', 'import the client CA: its private key (PEM)')
    .option('--allow-system-groups', 'allow system: groups (never system:masters) in certificates')
    .option('--token-kubeconfigs', "issue token kubeconfigs checked by kubecred's TokenReview webhook (when the cluster's CA key cannot be handed over)"))
    .action(withClient(async (client, o, format, name: string) => {
      if (!o.publicEndpoint && !o.privateEndpoint) throw new UsageError('give --public-endpoint, --private-endpoint or both');
      if (Boolean(o.caCert) !== Boolean(o.caKey)) throw new UsageError('importing a client CA needs both --ca-cert and --ca-key');
      oneOf(o.kind, '--kind', ['kubernetes', 'service-mesh']);
      oneOf(o.caAlgorithm, '--ca-algorithm', ['ec-p256', 'rsa-2048']);
      const body = {
        name, kind: o.kind, region: o.region, publicEndpoint: o.publicEndpoint, privateEndpoint: o.privateEndpoint,
        serverCaPem: o.serverCa ? readFlagFile(o.serverCa, '--server-ca') : undefined,
        ...(o.caCert ? { clientCaCertPem: readFlagFile(o.caCert, '--ca-cert'), clientCaKeyPem: readFlagFile(o.caKey, '--ca-key') } : { clientCaAlgorithm: o.caAlgorithm }),
        allowSystemGroups: o.allowSystemGroups ? true : undefined,
        credentialType: o.tokenKubeconfigs ? 'token' : undefined,
      };
      print(await client.post('/v1/clusters', body), format, format === 'table' ? CLUSTER_COLS : undefined);
    }));
  outputOption(cluster.command('list').description('list clusters'))
    .action(withClient(async (client, _o, format) => print(await client.all('/v1/clusters'), format, CLUSTER_COLS)));
  outputOption(cluster.command('show <cluster>').description('show a cluster (ID or name)'))
    .action(withClient(async (client, _o, format, id: string) => print(await client.get(`/v1/clusters/${enc(id)}`), format)));
  cluster.command('ca <cluster>').description("print the cluster's client CA certificate (for kube-apiserver --client-ca-file)")
    .action(withClient(async (client, _o, _f, id: string) => void process.stdout.write(await client.get<string>(`/v1/clusters/${enc(id)}/client-ca.pem`))));
  outputOption(cluster.command('delete <cluster>').description('delete a cluster and revoke every credential on it'))
    .action(withClient(async (client, _o, format, id: string) => print(await client.delete(`/v1/clusters/${enc(id)}`), format)));

  cluster.command('kube-config <cluster>').description('write the kube-apiserver files that make revocation take effect (authorization webhook, client CA, flags, notes)')
    .requiredOption('--out <dir>', 'directory to write the files to')
    .option('--webhook-url <url>', 'kubecred as kube-apiserver reaches it (default: --server)')
    .option('--install-dir <dir>', 'where the files will live on the control-plane nodes', '/etc/kubernetes/kubecred')
    .option('--unauthorized-ttl <duration>', "how long kube-apiserver caches kubecred's no-opinion: bounds revocation delay", '10s')
    .option('--failure-policy <policy>', 'Deny (fail closed) or NoOpinion (fail open) when kubecred is unreachable', 'Deny')
    .option('--timeout <duration>', 'webhook timeout', '3s')
    .option('--token-cache-ttl <duration>', 'token clusters: how long kube-apiserver caches a TokenReview answer (bounds revocation delay)', '10s')
    .option('--kube-version <version>', "the control plane's Kubernetes version, e.g. 1.31: before 1.32 the files use what it has (1.30-1.31: AuthorizationConfiguration v1beta1; older: the legacy flags)", '1.32')
    .action(withClient(async (client, o, _format, id: string) => {
      if (o.failurePolicy !== 'Deny' && o.failurePolicy !== 'NoOpinion') throw new UsageError('--failure-policy must be Deny or NoOpinion');
      const kubeMinor = kubeMinorOf(o.kubeVersion);
      if (kubeMinor < KUBE_MINOR.structuredConfig && o.failurePolicy !== 'NoOpinion') {
        throw new UsageError(`kube-apiserver ${o.kubeVersion} has no failure policy for webhooks: when kubecred is unreachable it lets RBAC decide (fail open). Pass --failure-policy NoOpinion to accept that, or write the files for 1.30 or newer`);
      }
      // kube-apiserver refuses an AuthorizationConfiguration whose timeout is not in (0, 30s], whose TTLs are not
      // above zero, or whose webhook kubeconfig path is not absolute: its control plane would not come up.
      checkDuration('--timeout', o.timeout, 30_000);
      checkDuration('--unauthorized-ttl', o.unauthorizedTtl);
      checkDuration('--token-cache-ttl', o.tokenCacheTtl);
      if (!path.posix.isAbsolute(o.installDir)) throw new UsageError(`--install-dir must be an absolute path on the control-plane nodes (got ${o.installDir}); kube-apiserver refuses a relative kubeConfigFile`);
      const { server, caFile } = resolveTarget(o);
      const webhookUrl = o.webhookUrl ?? server;
      // kube-apiserver would send the webhook token, which lets anyone ask kubecred about any credential, in clear.
      checkCleartext(webhookUrl, o.webhookUrl ? '--webhook-url' : '--server (the webhook URL by default)', o);
      const webhook = new URL(webhookUrl);
      const kubecredCaPem = caFile ? readFlagFile(caFile, '--ca-file') : null;
      if (webhook.protocol === 'https:') checkServerCertCovers(kubecredCaPem, webhookUrl);
      // Before a webhook token is minted: one minted for files that cannot be written would be lost.
      try {
        if (fs.statSync(o.out, { throwIfNoEntry: false })?.isDirectory() === false) throw Object.assign(new Error('a file is there'), { code: 'EEXIST' });
        fs.mkdirSync(o.out, { recursive: true, mode: 0o700 });
      } catch (e) {
        throw new UsageError(`cannot use --out ${o.out} as a directory (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); give a directory you can write`);
      }
      const c = await client.get<{ id: string; name: string; clientCaPem: string; credentialType: 'x509' | 'token' }>(`/v1/clusters/${enc(id)}`);
      const filesWith = (webhookToken: string) => kubeConfigFiles({
        clusterId: c.id, clusterName: c.name, kubecredUrl: webhookUrl,
        kubecredCaPem, webhookToken, clientCaPem: c.clientCaPem,
        installDir: o.installDir, unauthorizedTtl: o.unauthorizedTtl, failurePolicy: o.failurePolicy, timeout: o.timeout,
        credentialType: c.credentialType, tokenCacheTtl: o.tokenCacheTtl, kubeMinor,
      });
      // Every file can be written, checked before the token is minted: none is left behind by a write that fails.
      try {
        fs.accessSync(o.out, fs.constants.W_OK);
      } catch {
        throw new UsageError(`cannot write into --out ${o.out}: it is not writable by you; give a directory you can write`);
      }
      for (const name of Object.keys(filesWith(''))) {
        if (fs.statSync(path.join(o.out, name), { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`cannot write ${path.join(o.out, name)}: a directory is in the way; remove it or give another --out`);
      }
      const { token } = await client.post<{ token: string }>(`/v1/clusters/${enc(c.id)}/webhook-tokens`);
      const files = filesWith(token);
      for (const [name, f] of Object.entries(files)) {
        // Created anew: writing into an existing 0644 file would leave the webhook token readable until the chmod.
        const file = path.join(o.out, name);
        fs.rmSync(file, { force: true });
        fs.writeFileSync(file, f.content, { mode: f.mode, flag: 'wx' });
        fs.chmodSync(file, f.mode);
        process.stdout.write(`wrote ${file}\n`);
      }
      if (webhook.protocol === 'http:') {
        if (!isLoopbackHost(webhook.hostname)) say(`${webhookUrl} is plain http (--allow-insecure-http): kube-apiserver sends the webhook token to it in clear`);
      } else if (!kubecredCaPem) say(`no CA for kubecred's certificate was given (--ca-file); kube-apiserver will check ${webhookUrl} against its system roots`);
    }));

  outputOption(cluster.command('webhook-tokens <cluster>').description("list the tokens the cluster's kube-apiserver may present to kubecred's webhooks (never their secrets)"))
    .action(withClient(async (client, _o, format, id: string) => print(await client.all(`/v1/clusters/${enc(id)}/webhook-tokens`), format, ['id', 'status', 'createdAt', 'revokedAt'])));
  outputOption(cluster.command('revoke-webhook-token <cluster> <token-id>').description('revoke a webhook token (the ID is its middle part, wht_...); install the new webhook kubeconfig from kube-config first'))
    .action(withClient(async (client, _o, format, id: string, tokenId: string) => print(await client.delete(`/v1/clusters/${enc(id)}/webhook-tokens/${enc(idOfPastedSecret(tokenId))}`), format)));

  const principal = program.command('principal').description('users and roles, with their Kubernetes groups');
  outputOption(principal.command('create <name>').description('create a user or role')
    .option('--kind <kind>', 'user or role', 'user')
    .option('-g, --group <group>', 'Kubernetes group its certificates carry (repeatable)', collect, []))
    .action(withClient(async (client, o, format, name: string) => {
      oneOf(o.kind, '--kind', ['user', 'role']);
      print(await client.post('/v1/principals', { name, kind: o.kind, groups: o.group }), format, format === 'table' ? PRINCIPAL_COLS : undefined);
    }));
  outputOption(principal.command('list').description('list principals'))
    .action(withClient(async (client, _o, format) => print(await client.all('/v1/principals'), format, PRINCIPAL_COLS)));
  outputOption(principal.command('show <principal>').description('show a principal (ID or name; a deleted one by its ID, with when it was deleted)'))
    .action(withClient(async (client, _o, format, id: string) => print(await client.get(`/v1/principals/${enc(id)}`), format)));
  outputOption(principal.command('update <principal>').description("replace a principal's groups (applies to kubeconfigs issued afterwards)")
    .option('-g, --group <group>', 'Kubernetes group (repeatable; none clears them)', collect, []))
    .action(withClient(async (client, o, format, id: string) => print(await client.patch(`/v1/principals/${enc(id)}`, { groups: o.group }), format)));
  outputOption(principal.command('delete <principal>').description('delete a principal (someone leaving): revokes its kubeconfigs on every cluster, tokens, access keys and console sessions at once'))
    .action(withClient(async (client, _o, format, id: string) => print(await client.delete(`/v1/principals/${enc(id)}`), format)));

  const self = async (client: { get<T>(p: string): Promise<T> }, p?: string) => p ?? (await client.get<{ principal: { id: string } }>('/v1/whoami')).principal.id;

  /**
   * A deleted principal's listings (asked by its ID) are what it held: said on stderr, once, so that nobody takes
   * them for a living principal's, whatever the output format.
   */
  const noteDeleted = (principal: string | undefined) => {
    let said = false;
    return (page: Record<string, unknown>) => {
      if (said || typeof page.principalDeletedAt !== 'string') return;
      said = true;
      say(`principal ${principal} was deleted at ${page.principalDeletedAt}; this is what it held, for the record (nothing of it works now)`);
    };
  };

  outputOption(program.command('whoami').description('show the principal behind your token'))
    .action(withClient(async (client, _o, format) => {
      const w = await client.get<{ accountId: string; principal: Record<string, unknown> }>('/v1/whoami');
      print({ accountId: w.accountId, ...w.principal }, format);
    }));

  const token = program.command('token').description('bearer tokens for the native API');
  outputOption(token.command('create').description('create a bearer token (printed once)')
    .option('--principal <principal>', 'for this principal (default: yourself)')
    .option('--name <name>', 'a name to recognise it by')
    .option('--expires-in-days <days>', `expire after this many days (1 to ${TOKEN_DAYS.max}; default: never)`))
    .action(withClient(async (client, o, format) => {
      const days = o.expiresInDays === undefined ? undefined : rangeOption(o.expiresInDays, '--expires-in-days', TOKEN_DAYS, 'days');
      print(await client.post(`/v1/principals/${enc(await self(client, o.principal))}/tokens`, { name: o.name, expiresInDays: days }), format);
    }));
  outputOption(token.command('list').description("list a principal's tokens (never their secrets)")
    .option('--principal <principal>', "whose (default: yours; a deleted principal's by its ID)"))
    .action(withClient(async (client, o, format) => print(await client.all(`/v1/principals/${enc(await self(client, o.principal))}/tokens`, {}, undefined, noteDeleted(o.principal)), format, TOKEN_COLS)));
  outputOption(token.command('revoke <token-id>').description('revoke a token now; requests and console sessions using it are refused from then on')
    .option('--principal <principal>', 'whose (default: yours)'))
    .action(withClient(async (client, o, format, id: string) => print(await client.delete(`/v1/principals/${enc(await self(client, o.principal))}/tokens/${enc(idOfPastedSecret(id))}`), format)));

  const ak = program.command('accesskey').description('access key pairs, for the Alibaba Cloud and Huawei Cloud surfaces');
  outputOption(ak.command('create').description('create an access key pair (secret printed once)')
    .option('--principal <principal>', 'for this principal (default: yourself)'))
    .action(withClient(async (client, o, format) => print(await client.post(`/v1/principals/${enc(await self(client, o.principal))}/access-keys`), format)));
  outputOption(ak.command('list').description("list a principal's access keys (never their secrets)")
    .option('--principal <principal>', "whose (default: yours; a deleted principal's by its ID)"))
    .action(withClient(async (client, o, format) => print(await client.all(`/v1/principals/${enc(await self(client, o.principal))}/access-keys`, {}, undefined, noteDeleted(o.principal)), format, ACCESS_KEY_COLS)));
  outputOption(ak.command('revoke <access-key-id>').description('revoke an access key now; the vendor surfaces refuse its signatures from then on')
    .option('--principal <principal>', 'whose (default: yours)'))
    .action(withClient(async (client, o, format, id: string) => print(await client.delete(`/v1/principals/${enc(await self(client, o.principal))}/access-keys/${enc(id)}`), format)));

  const policy = program.command('policy').description('policy documents and their attachments');
  outputOption(documentOptions(policy.command('create <name>').description('create a policy from a JSON document'))
    .option('--description <text>', 'what it is for'))
    .action(withClient(async (client, o, format, name: string) => {
      const document = readDocument(o);
      print(await client.post('/v1/policies', { name, description: o.description, document }), format, format === 'table' ? ['id', 'name', 'description'] : undefined);
    }));
  outputOption(policy.command('show <policy>').description('show a policy (ID or name), its document and the principals it is attached to'))
    .action(withClient(async (client, _o, format, p: string) => print(await client.get(`/v1/policies/${enc(p)}`), format)));
  outputOption(documentOptions(policy.command('update <policy>').description("replace a policy's document; every principal it is attached to gets the new one on its next request"))
    .option('--description <text>', 'a new description (kept when absent)'))
    .action(withClient(async (client, o, format, p: string) => {
      const document = readDocument(o);
      print(await client.put(`/v1/policies/${enc(p)}`, { description: o.description, document }), format, format === 'table' ? ['id', 'name', 'description'] : undefined);
    }));
  outputOption(policy.command('delete <policy>').description('delete a policy attached to nobody (detach it first; the error names its holders)'))
    .action(withClient(async (client, _o, format, p: string) => print(await client.delete(`/v1/policies/${enc(p)}`), format)));
  outputOption(policy.command('list').description('list policies, or those attached to --principal')
    .option('--principal <principal>', "only those attached to this principal (a deleted one's by its ID)"))
    .action(withClient(async (client, o, format) => {
      let items: unknown[];
      if (o.principal) {
        const res = await client.get<{ items: unknown[]; principalDeletedAt?: string }>(`/v1/principals/${enc(o.principal)}/policies`);
        noteDeleted(o.principal)(res);
        items = res.items;
      } else items = await client.all('/v1/policies');
      print(items, format, ['id', 'name', 'description']);
    }));
  outputOption(policy.command('attach <policy>').description('attach a policy (ID or name) to a principal').requiredOption('--principal <principal>', 'the principal'))
    .action(withClient(async (client, o, format, p: string) => print(await client.post(`/v1/principals/${enc(o.principal)}/policies`, { policy: p }), format)));
  outputOption(policy.command('detach <policy>').description('detach a policy from a principal').requiredOption('--principal <principal>', 'the principal'))
    .action(withClient(async (client, o, format, p: string) => print(await client.delete(`/v1/principals/${enc(o.principal)}/policies/${enc(p)}`), format)));
}

const documentOptions = (cmd: Command) => cmd
  .option('-f, --file <file>', 'the policy document (JSON)')
  .option('--document <json>', 'the policy document inline');

function readDocument(o: { file?: string; document?: string }): unknown {
  const text = o.file ? readFlagFile(o.file, '--file') : o.document;
  if (!text) throw new UsageError('give the document with --file or --document');
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError('the policy document is not valid JSON');
  }
}
