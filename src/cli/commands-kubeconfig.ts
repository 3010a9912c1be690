// Client commands for kubeconfigs and their inventory: get, credential list/show, revoke,
// validity, and the audit trail.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import YAML from 'yaml';
import { enc } from '../client/native-client.ts';
import { CREDENTIAL_KINDS } from '../core/model.ts';
import { CUSTOM_VALIDITY_HOURS, TEMPORARY_MINUTES } from '../core/validity-rules.ts';
import { idOfPastedSecret } from '../core/api-credentials.ts';
import { parseCsr } from '../pki/csr.ts';
import { replacePrivateFile } from './private-files.ts';
import { UsageError } from './exit-codes.ts';
import { readFlagFile } from './flag-files.ts';
import { outputOption, print } from './output.ts';
import { withClient } from './run-action.ts';
import { allowsInsecureHttp, chosenConfigPath, resolveTarget, statIfThere } from './client-config.ts';
import { cacheFile, defaultCacheDir, execKubeconfig, runExecPlugin } from './exec-plugin.ts';

/**
 * The kubecred the exec kubeconfig runs: this one, by its real path. `npx kubecred` runs it through a link in npm's
 * cache, which npm may clean at any time; the link's target is the install itself.
 */
function installedEntry(): string {
  const entry = path.resolve(process.argv[1]);
  try {
    return fs.realpathSync(entry);
  } catch {
    return entry;
  }
}

const MINUTES_RANGE = `${TEMPORARY_MINUTES.min} to ${TEMPORARY_MINUTES.max}`;
const CRED_COLS = ['id', 'clusterId', 'principalId', 'kind', 'status', 'current', 'notAfter', 'issuedBy', 'serial'];

export function intOption(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v)) throw new UsageError(`${flag} must be a whole number (got ${v})`);
  return Number(v);
}

/**
 * A whole number in the server's range, checked here: the server's refusal would name its body field and schema
 * (`body/expiresInDays must be ...`), not the flag.
 */
export function rangeOption(v: string, flag: string, range: { min: number; max: number }, unit: string): number {
  if (!/^-?\d+$/.test(v) || Number(v) < range.min || Number(v) > range.max) {
    throw new UsageError(`${flag} must be a whole number of ${unit} from ${range.min} to ${range.max} (got ${v})`);
  }
  return Number(v);
}

/** The server's range for temporary credentials: checked here, so a kubeconfig is never written whose plugin always fails. */
function minutesOption(v: string, flag: string): number {
  return rangeOption(v, flag, TEMPORARY_MINUTES, 'minutes');
}

function limitOption(v: string): number {
  const n = intOption(v, '--limit')!;
  if (n < 1) throw new UsageError(`--limit must be at least 1 (got ${v})`);
  return n;
}

/** Checked here: the server's answer would name its query parameter or body field and schema, not the flag. */
export function oneOf(v: string | undefined, flag: string, allowed: readonly string[]): void {
  if (v !== undefined && !allowed.includes(v)) throw new UsageError(`${flag} must be ${allowed.slice(0, -1).join(', ')} or ${allowed.at(-1)} (got ${v})`);
}

/** Writes a file holding credentials (private-files.ts), with a readable error if the write fails. */
function writePrivateFile(file: string, content: string, flag: string): void {
  try {
    replacePrivateFile(file, content);
  } catch (e) {
    throw new Error(`cannot write ${flag} ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); run the command again with a file you can write`);
  }
}

/**
 * Before anything is issued: a file that could not be written would leave a credential minted and its key lost. A
 * missing directory whose parent exists is created 0700, as kubectl creates ~/.kube on a machine where it never ran.
 */
export function checkWritableDir(file: string | undefined, flag: string): void {
  if (file === undefined) return;
  // `-o json` here is --out, not --output: a file named json would hold the kubeconfig and its key.
  if (['json', 'yaml', 'table'].includes(file)) throw new UsageError(`${flag} ${file} would write the kubeconfig to a file named ${file}; -o is --out here (a file): give a path, or use --output ${file} for the format`);
  const dir = path.dirname(path.resolve(file));
  const there = statIfThere(dir);
  if (there && !there.isDirectory()) throw new UsageError(`cannot write ${flag} ${file}: ${dir} is not a directory`);
  if (!there) {
    // One level only: a typo deeper in the path is an error, not a tree of new directories.
    if (!statIfThere(path.dirname(dir))?.isDirectory()) throw new UsageError(`cannot write ${flag} ${file}: there is no directory ${dir}`);
    try {
      fs.mkdirSync(dir, { mode: 0o700 });
    } catch (e) {
      throw new UsageError(`cannot write ${flag} ${file}: there is no directory ${dir}, and it could not be created (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); give a path in a directory you can write`);
    }
    process.stderr.write(`created directory ${dir} (mode 0700) for ${flag}\n`);
  }
  if (statIfThere(file)?.isDirectory()) {
    throw new UsageError(`cannot write ${flag} ${file}: it is a directory; give a file path such as ${path.join(file, 'kubeconfig')}`);
  }
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    throw new UsageError(`cannot write ${flag} ${file}: the directory ${dir} is not writable by you; give a path you can write`);
  }
}

/**
 * --exec writes a kubeconfig that holds no credential: its plugin fetches a short-lived certificate each time one
 * is due. A temporary kubeconfig or a CSR-signed certificate has no place in it, so those flags are refused rather
 * than silently dropped; --exec-minutes is what sets each certificate's validity.
 */
function checkExecFlags(o: { temporary?: string; csr?: string; certOut?: string; key?: string }): void {
  const given = [o.temporary !== undefined && '--temporary', o.csr !== undefined && '--csr', o.certOut !== undefined && '--cert-out', o.key !== undefined && '--key'].filter(Boolean);
  if (given.length === 0) return;
  throw new UsageError(`--exec cannot be combined with ${given.join(' or ')}: it writes a kubeconfig whose exec plugin fetches a short-lived certificate (a token on token clusters) whenever kubectl needs one; set each certificate's validity with --exec-minutes (${MINUTES_RANGE}), or leave out --exec for a temporary (--temporary) or CSR-signed (--csr) kubeconfig`);
}

/** The signed certificate (no key): 0644 like any certificate, with a readable error if the write fails. */
function writeCertificate(file: string, pem: string): void {
  try {
    fs.writeFileSync(file, pem, { mode: 0o644 });
  } catch (e) {
    throw new Error(`cannot write --cert-out ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); run the command again with a file you can write`);
  }
}

/**
 * --key with --csr: the key file must hold the CSR's private key (checked before anything is issued: a certificate
 * for one key and a kubeconfig naming another would fail only at kubectl's first call). Its absolute path.
 */
function checkKeyMatchesCsr(keyFile: string, csrPem: string): string {
  let keyDer: Buffer;
  try {
    keyDer = crypto.createPublicKey(crypto.createPrivateKey(readFlagFile(keyFile, '--key'))).export({ type: 'spki', format: 'der' });
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`--key ${keyFile} holds no private key kubecred can read (PEM, unencrypted: kubectl reads it the same way)`);
  }
  let csrDer: Buffer;
  try {
    csrDer = parseCsr(csrPem).publicKeyDer;
  } catch {
    throw new UsageError('--csr holds no CSR kubecred can read (PEM "CERTIFICATE REQUEST")');
  }
  if (!keyDer.equals(csrDer)) throw new UsageError(`--key ${keyFile} is not the private key of the CSR in --csr; give the key the CSR was made with`);
  return path.resolve(keyFile);
}

/** The kubeconfig with its one user's client-key set to the key file, for kubectl to read. */
function withClientKeyFile(kubeconfig: string, keyFile: string): string {
  const doc = YAML.parse(kubeconfig) as { users: Array<{ user: Record<string, string> }> };
  doc.users[0].user['client-key'] = keyFile;
  return YAML.stringify(doc);
}

const userNameOf = (kubeconfig: string): string => (YAML.parse(kubeconfig) as { users: Array<{ name: string }> }).users[0]?.name ?? '<user>';

interface KubeconfigAnswer { kubeconfig: string; certificatePem: string; expiration: string; reused: boolean; credential: Record<string, unknown> }

export function registerKubeconfigCommands(program: Command): void {
  const kc = program.command('kubeconfig').description('get kubeconfigs');
  kc.command('get').description('get your kubeconfig for a cluster: the default one, a temporary one, or one for your own key (--csr)')
    .requiredOption('--cluster <cluster>', 'cluster ID or name')
    .option('--private', 'use the private API endpoint')
    .option('--temporary <minutes>', `a temporary kubeconfig valid ${MINUTES_RANGE} minutes`)
    .option('--csr <file>', 'sign this CSR (PEM); the private key never leaves your machine')
    .option('--principal <principal>', "another principal's kubeconfig (needs GetUserKubeconfig)")
    .option('-o, --out <file>', 'write the kubeconfig to this file (mode 0600) instead of stdout')
    .option('--cert-out <file>', 'with --csr: also write the signed certificate here')
    .option('--key <file>', "with --csr: the CSR's private key file; the kubeconfig names it (client-key, by absolute path) so kubectl can use it as written")
    .option('--exec', 'write a kubeconfig that runs `kubecred credential exec` for short-lived certificates (tokens on token clusters) instead of holding one')
    .option('--exec-minutes <minutes>', `with --exec: validity of each short-lived certificate (${MINUTES_RANGE}; default ${TEMPORARY_MINUTES.min})`)
    .option('--output <format>', 'with --out: the format of the summary printed (table, json or yaml; default table)')
    .addHelpText('after', `
With --exec, the kubeconfig's plugin gets this command's --server, --ca-file, --config (as an absolute
path) and --insecure-skip-tls-verify, but never a token: it reads the kubecred token from KUBECRED_TOKEN
or the config file (\`kubecred login\`), so a --token given here is not written into the kubeconfig.`)
    .action(withClient(async (client, o, format) => {
      // Without --out the kubeconfig itself is printed: a format asked for would silently not apply.
      if (o.output !== undefined && !o.out) throw new UsageError(`--output ${o.output} formats the summary printed when the kubeconfig goes to a file; add --out <file>, or leave --output out to print the kubeconfig (YAML)`);
      checkWritableDir(o.out, '--out');
      checkWritableDir(o.certOut, '--cert-out');
      if (!o.exec && o.execMinutes !== undefined) {
        throw new UsageError('--exec-minutes sets the validity of the certificates an --exec kubeconfig fetches; add --exec, or for a temporary kubeconfig use --temporary <minutes>');
      }
      if (o.exec) {
        checkExecFlags(o);
        const minutes = minutesOption(o.execMinutes ?? String(TEMPORARY_MINUTES.min), '--exec-minutes');
        const c = await client.get<{ id: string; name: string; publicEndpoint: string | null; privateEndpoint: string | null; serverCaPem: string | null }>(`/v1/clusters/${enc(o.cluster)}`);
        const server = o.private ? c.privateEndpoint : c.publicEndpoint;
        if (!server) throw new UsageError(`cluster ${c.name} has no ${o.private ? 'private' : 'public'} endpoint`);
        const target = resolveTarget(o);
        const config = chosenConfigPath(o);
        const args = ['credential', 'exec', '--cluster', c.id, '--minutes', String(minutes), '--server', target.server!,
          ...(target.caFile ? ['--ca-file', path.resolve(target.caFile)] : []), ...(o.principal ? ['--principal', o.principal] : []),
          // kubectl runs the plugin from anywhere, so a relative --config would point elsewhere.
          ...(config ? ['--config', path.resolve(config)] : []), ...(o.insecureSkipTlsVerify ? ['--insecure-skip-tls-verify'] : []),
          ...(allowsInsecureHttp(o) ? ['--allow-insecure-http'] : [])];
        // The plugin keeps refusing once it has seen its credential revoked; getting the kubeconfig again is
        // how a user who should still have access says so, so forget what it cached for this cluster.
        for (const cluster of new Set([c.id, o.cluster])) fs.rmSync(cacheFile(defaultCacheDir(), target.server!, cluster, o.principal, client.identity()), { force: true });
        const text = execKubeconfig({ clusterName: c.name, server, caPem: c.serverCaPem, command: process.execPath, args: [installedEntry(), ...args] });
        if (o.token) process.stderr.write('note: --token is not written into the kubeconfig; the plugin reads KUBECRED_TOKEN or the config file (`kubecred login`)\n');
        if (!o.out) return void process.stdout.write(text);
        writePrivateFile(o.out, text, '--out');
        return print({ file: o.out, cluster: c.id, mode: 'exec', certificateMinutes: minutes }, format);
      }
      if (o.key !== undefined && o.csr === undefined) throw new UsageError('--key names the private key of the CSR given with --csr; without --csr kubecred generates the key and puts it in the kubeconfig');
      const csr = o.csr ? readFlagFile(o.csr, '--csr') : undefined;
      const keyFile = o.key === undefined ? undefined : checkKeyMatchesCsr(o.key, csr!);
      const body = {
        endpoint: o.private ? 'private' : 'public',
        temporaryMinutes: o.temporary === undefined ? undefined : minutesOption(o.temporary, '--temporary'),
        csr,
        principalId: o.principal,
      };
      const res = await client.post<KubeconfigAnswer>(`/v1/clusters/${enc(o.cluster)}/kubeconfig`, body);
      if (o.certOut) writeCertificate(o.certOut, res.certificatePem);
      const kubeconfig = keyFile ? withClientKeyFile(res.kubeconfig, keyFile) : res.kubeconfig;
      if (csr && !keyFile) {
        process.stderr.write(`note: the kubeconfig holds no private key (a CSR's key stays with you): add --key <your key file> next time, or run kubectl config set-credentials ${userNameOf(res.kubeconfig)} --client-key=<your key file> --embed-certs${o.out ? ` --kubeconfig ${o.out}` : ''}\n`);
      }
      if (!o.out) return void process.stdout.write(kubeconfig);
      writePrivateFile(o.out, kubeconfig, '--out');
      print({ file: o.out, credential: res.credential.id, kind: res.credential.kind, expiration: res.expiration, reused: res.reused }, format);
    }));

  const cred = program.command('credential').description('the inventory of issued kubeconfigs, and the kubectl exec plugin');
  cred.command('exec').description('exec credential plugin for kubectl (client.authentication.k8s.io/v1): prints a short-lived certificate (a token on token clusters), cached until shortly before expiry')
    .requiredOption('--cluster <cluster>', 'cluster ID or name')
    .option('--minutes <minutes>', `validity of each certificate (${MINUTES_RANGE})`, String(TEMPORARY_MINUTES.min))
    .option('--principal <principal>', "another principal's credential (needs GetUserKubeconfig)")
    .option('--cache-dir <dir>', 'where certificates are cached (0600 files)')
    .action(withClient(async (client, o) => {
      const { server } = resolveTarget(o);
      process.stdout.write(await runExecPlugin(client, { server: server!, cluster: o.cluster, principal: o.principal, minutes: minutesOption(o.minutes, '--minutes'), cacheDir: o.cacheDir ?? defaultCacheDir() }) + '\n');
    }));
  outputOption(cred.command('list').description('list issued kubeconfigs, newest first')
    .option('--cluster <cluster>', 'on this cluster')
    .option('--principal <principal>', 'of this principal')
    .option('--issued-by <principal>', "issued by this principal, for itself or others (a deleted one's by its ID)")
    .option('--state <state>', 'active, revoked, superseded or expired')
    .option('--kind <kind>', `${CREDENTIAL_KINDS.slice(0, -1).join(', ')} or ${CREDENTIAL_KINDS.at(-1)}`)
    .option('--limit <n>', 'at most this many', '500'))
    .action(withClient(async (client, o, format) => {
      oneOf(o.state, '--state', ['active', 'revoked', 'superseded', 'expired']);
      oneOf(o.kind, '--kind', CREDENTIAL_KINDS);
      const items = await client.all('/v1/credentials', { cluster: o.cluster, principal: o.principal, issuedBy: o.issuedBy, status: o.state, kind: o.kind }, limitOption(o.limit));
      print(items, format, CRED_COLS);
    }));
  outputOption(cred.command('show <id>').description('show one credential, with its certificate'))
    .action(withClient(async (client, _o, format, id: string) => print(await client.get(`/v1/credentials/${enc(id)}`), format)));
  outputOption(cred.command('revoke <id>').description("revoke one credential (crd_...); the holder's other kubeconfigs stay valid (`kubecred revoke` ends them all)")
    .option('--reason <text>', 'why, for the audit trail'))
    .action(withClient(async (client, o, format, pasted: string) => {
      const id = idOfPastedSecret(pasted);
      const res = await client.post<{ revoked: boolean; credential: Record<string, unknown> }>(`/v1/credentials/${enc(id)}/revoke`, { reason: o.reason });
      if (format !== 'table') return print(res, format);
      process.stdout.write(res.revoked ? `revoked credential ${id}\n` : `credential ${id} was already ${String(res.credential.status)}; nothing changed\n`);
      print([res.credential], format, CRED_COLS);
    }));

  outputOption(program.command('revoke').description("revoke every active kubeconfig of a principal on a cluster (and reset its custom validity)")
    .requiredOption('--cluster <cluster>', 'cluster ID or name')
    .option('--principal <principal>', 'whose (default: yours)')
    .option('--reason <text>', 'why, for the audit trail'))
    .action(withClient(async (client, o, format) => {
      const res = await client.post<{ revoked: unknown[] }>(`/v1/clusters/${enc(o.cluster)}/revocations`, { principalId: o.principal, reason: o.reason });
      if (format === 'table') process.stdout.write(`revoked ${res.revoked.length} credential(s)\n`);
      if (res.revoked.length > 0 || format !== 'table') print(format === 'table' ? res.revoked : res, format, CRED_COLS);
    }));

  const validity = program.command('validity').description("custom validity of a principal's default kubeconfig (root only)");
  outputOption(validity.command('set').description('set the validity in hours (1 to 876000); supersedes the current default kubeconfig')
    .requiredOption('--cluster <cluster>', 'cluster ID or name')
    .requiredOption('--principal <principal>', 'principal ID or name')
    .requiredOption('--hours <hours>', 'validity in hours'))
    .action(withClient(async (client, o, format) => {
      const hours = rangeOption(o.hours, '--hours', CUSTOM_VALIDITY_HOURS, 'hours');
      const res = await client.put<{ superseded: unknown[] }>(`/v1/clusters/${enc(o.cluster)}/validity/${enc(o.principal)}`, { hours });
      if (format === 'table') process.stdout.write(`validity set to ${hours} h; superseded ${res.superseded.length} default kubeconfig(s)\n`);
      else print(res, format);
    }));
  outputOption(validity.command('show').description('show the custom validity (none: the 3-year default)')
    .requiredOption('--cluster <cluster>', 'cluster ID or name')
    .requiredOption('--principal <principal>', 'principal ID or name'))
    .action(withClient(async (client, o, format) => print(await client.get(`/v1/clusters/${enc(o.cluster)}/validity/${enc(o.principal)}`), format)));

  const audit = program.command('audit').description('the audit trail');
  outputOption(audit.command('list').description('audit events, newest first')
    .option('--action <action>', 'e.g. IssueKubeconfig, RevokeKubeconfig, kubecred:GetKubeconfig')
    .option('--actor <principal>', 'by this principal (ID or name)')
    .option('--resource <id>', 'about this object ID')
    .option('--outcome <outcome>', 'success, denied or failure')
    .option('--since <time>', 'RFC 3339')
    .option('--until <time>', 'RFC 3339')
    .option('--limit <n>', 'at most this many', '100'))
    .action(withClient(async (client, o, format) => {
      oneOf(o.outcome, '--outcome', ['success', 'denied', 'failure']);
      const items = await client.all('/v1/audit', { action: o.action, actor: o.actor, resource: o.resource, outcome: o.outcome, since: o.since, until: o.until }, limitOption(o.limit));
      print(items, format, ['at', 'action', 'outcome', 'actorId', 'resourceType', 'resourceId', 'requestId']);
    }));
}
