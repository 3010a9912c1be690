// The `kubecred` command line as one commander program: every command, its flags and help. main.ts parses argv with
// it; scripts/cli-reference.ts writes docs/cli.md from it. Parsing and printing only; every decision is the server's.

import path from 'node:path';
import { Command } from 'commander';
import { databaseUrlHasPassword, loadDataDirConfig, loadServerConfig } from '../config/server-config.ts';
import { FIRST_START_FILE } from '../config/data-dir.ts';
import { checkConfigTarget, clientFor, configPath, configSource, loginTarget, writeFileConfig, type GlobalFlags } from './client-config.ts';
import { registerDatabaseCommands } from './commands-database.ts';
import { registerKubeconfigCommands } from './commands-kubeconfig.ts';
import { registerMasterKeyCommands } from './commands-master-key.ts';
import { registerProjectCommands } from './commands-projects.ts';
import { registerResourceCommands } from './commands-resources.ts';
import { checkName } from '../core/input-rules.ts';
import { Exit, exitCodeFor, UsageError } from './exit-codes.ts';
import { outputOption, parseFormat, print, say } from './output.ts';
import { reportError } from './run-action.ts';
import type { BootstrapResult } from '../core/bootstrap.ts';
import { createAccountInDataDir, recoverRootTokenInDataDir, prepareDataDir, printBootstrap, startServer } from './serve.ts';
import { serverOptions, storageOptions } from './server-options.ts';
import { promptToken, readTokenFromStdin } from './token-input.ts';
import { VERSION } from './version.ts';

export const program = new Command('kubecred')
  .description('Self-hostable kubeconfig authority: per-person, expiring, revocable kubeconfigs for your own clusters')
  .version(VERSION)
  .option('--server <url>', 'kubecred server (env KUBECRED_SERVER)')
  .option('--token <token>', 'bearer token (prefer env KUBECRED_TOKEN or `kubecred login --token-stdin`: ps and shell history show argv)')
  .option('--ca-file <file>', "CA to trust for the server's certificate (env KUBECRED_CA_FILE)")
  .option('--insecure-skip-tls-verify', "don't verify the server's certificate (testing only)")
  .option('--allow-insecure-http', 'allow an http:// server or webhook URL on another machine: tokens and keys cross the network in clear (env KUBECRED_ALLOW_INSECURE_HTTP=1; loopback needs no flag)')
  .option('--config <file>', 'client config file (env KUBECRED_CONFIG; default ~/.config/kubecred/config.json)')
  .addHelpText('after', `
Exit codes: 0 ok, 1 unexpected error, 2 usage, 3 not authenticated or not allowed, 4 not found,
5 conflict, 6 input refused by the server, 7 server unreachable, 8 server error.

A request to the server gets 30 s in all (connecting, TLS, the answer); after 5 s without an answer a line on
stderr says the command is still waiting. KUBECRED_TIMEOUT_MS sets that limit in milliseconds.`)
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

serverOptions(program.command('serve').description('start the server; initializes the data directory on first start'))
  .option('--outage-grace <seconds>', 'while the database cannot be reached at all, how long /readyz stays ready with the webhooks deciding from memory (env KUBECRED_OUTAGE_GRACE_SECONDS; default 300; docs/ha.md)')
  .option('--console-idle-minutes <minutes>', 'a web console session unused this long ends (1-720; env KUBECRED_CONSOLE_IDLE_MINUTES; default 30; docs/console.md)')
  .option('--audit-retention-days <days>', 'delete audit events older than this many days, every 10 minutes, each deletion itself audited (1-36500; env KUBECRED_AUDIT_RETENTION_DAYS; default: keep forever; docs/reliability.md)')
  .option('--credential-retention-days <days>', 'delete credentials that ended longer ago than this many days from the inventory (never a current default kubeconfig; 1-36500; env KUBECRED_CREDENTIAL_RETENTION_DAYS; default: keep forever; docs/reliability.md)')
  .option('--max-connections <n>', 'connections held at once, from everyone; more are closed at once (env KUBECRED_MAX_CONNECTIONS; default: the open-file limit less 256, see docs/reliability.md)')
  .option('--max-connections-per-address <n>', 'connections held at once from one address, 0 for no cap (env KUBECRED_MAX_CONNECTIONS_PER_ADDRESS; default 512, or 0 with --trust-proxy: a proxy carries everyone\'s)')
  .option('--metrics-from <addresses>', 'who may read /metrics: "any", or addresses and CIDRs, comma-separated ("loopback" is 127.0.0.0/8 and ::1); others get 403 (env KUBECRED_METRICS_FROM; default loopback)')
  .action(async (o) => {
    try {
      const config = loadServerConfig(o);
      // Not refused (it works, and a unit file may have had it for years), but said: argv is readable by every user.
      if (o.database && databaseUrlHasPassword(o.database)) {
        say('warning: --database carries a password, which every user of this machine can read (ps, /proc/<pid>/cmdline) for as long as the server runs; give the URL in KUBECRED_DATABASE_URL instead (or the password in PGPASSWORD)');
      }
      // A person at a terminal sees the secrets; a log (journald, a pod's) gets a 0600 file's name instead.
      const secretsFile = process.stderr.isTTY ? undefined : path.join(config.dataDir, FIRST_START_FILE);
      const server = await startServer(config, { onBootstrap: (b) => printBootstrap(b, `initialized ${config.dataDir}`, process.stderr, secretsFile) });
      say(`serving on ${server.url}${server.caFile ? ` (TLS certificate: ${server.caFile})` : ''}`);
      let closing = false;
      const stop = (signal: string) => {
        if (closing) return;
        closing = true;
        say(`${signal}, finishing requests in flight`);
        const force = setTimeout(() => process.exit(1), 10_000);
        force.unref();
        server.close().then(() => process.exit(0), () => process.exit(1));
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    } catch (e) {
      process.stderr.write(`error: ${(e as Error).message}\n`);
      process.exitCode = exitCodeFor(e);
    }
  });

outputOption(storageOptions(program.command('init').description('initialize the data directory (master key, database, first account) without serving')))
  .action(async (o) => {
    try {
      const config = loadDataDirConfig(o);
      const format = parseFormat(o.output);
      const { store, bootstrap } = await prepareDataDir(config);
      await store.close();
      if (!bootstrap) {
        say(`${config.dataDir} is already initialized; nothing to do`);
        return;
      }
      if (format === 'table') printBootstrap(bootstrap, `initialized ${config.dataDir}`, process.stdout);
      else print(bootstrap, format);
    } catch (e) {
      reportError(e);
    }
  });

const account = program.command('account').description('tenants (run on the server machine, against its data directory)');
outputOption(storageOptions(account.command('create <name>').description('create another account with its own root, printing its secrets once')))
  .action(async (name: string, o) => {
    try {
      const config = loadDataDirConfig(o);
      const format = parseFormat(o.output);
      checkAccountName(name);
      // A data directory not yet initialized gets its first account too. Its secrets are printed before anything can
      // fail: at once as a table; in JSON or YAML, one document, so on stderr if the new account then fails.
      let first: (BootstrapResult & { name: string; initialized: string }) | null = null;
      const firstAccount = (b: BootstrapResult) => {
        first = { initialized: config.dataDir, name: 'default', ...b };
        if (format === 'table') printBootstrap(b, `initialized ${config.dataDir} (its first account, "default")`, process.stdout);
      };
      let created: BootstrapResult;
      try {
        created = await createAccountInDataDir(config, name, firstAccount);
      } catch (e) {
        if (first && format !== 'table') print(first, format, undefined, process.stderr);
        throw e;
      }
      if (format === 'table') printBootstrap(created, `created account ${name}`, process.stdout);
      else print(first ? { name, ...created, firstAccount: first } : { name, ...created }, format);
    } catch (e) {
      reportError(e);
    }
  });

outputOption(storageOptions(account.command('root-token [name]').description("issue a new bearer token for an account's root (default: the first account, \"default\"), printed once: the way back in when the root's tokens are lost; run where the data directory is")))
  .action(async (name: string | undefined, o) => {
    try {
      const config = loadDataDirConfig(o);
      const format = parseFormat(o.output);
      const r = await recoverRootTokenInDataDir(config, name ?? 'default');
      if (format === 'table') {
        process.stdout.write([`kubecred: a new token for the root of account ${name ?? 'default'} (${r.accountId})`, `  root principal:    ${r.rootPrincipalId}`, `  root token:        ${r.rootToken}`,
          'Save it now: kubecred keeps only a hash. The root\'s other tokens keep working; list them with `kubecred token list` and revoke the lost ones.', ''].join('\n'));
      } else print({ name: name ?? 'default', ...r }, format);
    } catch (e) {
      reportError(e);
    }
  });

/** Checked before the data directory is touched (core checks it again): a bad name is a usage error, not a refusal. */
function checkAccountName(name: string): void {
  try {
    checkName(name, 'the account name');
  } catch (e) {
    throw new UsageError(`${(e as Error).message} (got ${JSON.stringify(name)})`);
  }
}

program.command('login').description('check the server address, token and CA with the server, then save them for later commands (file mode 0600)')
  .option('--token-stdin', 'read the token from standard input (a file, a password manager), not from the command line')
  .addHelpText('after', `
The server and CA come from --server and --ca-file or KUBECRED_SERVER and KUBECRED_CA_FILE. The token comes from
--token-stdin, KUBECRED_TOKEN, or, at a terminal, a prompt that does not echo it; --token works too, but puts the
token where ps and the shell's history show it. E.g.
  kubecred login --server https://127.0.0.1:7443 --ca-file ~/.kubecred/tls/server.crt --token-stdin < token-file
  kubecred login --server https://127.0.0.1:7443 --ca-file ~/.kubecred/tls/server.crt     (asks for the token)
Nothing is saved unless the server accepts the token (exit 3 if it does not, 7 if it cannot be reached).`)
  .action(async (o: { tokenStdin?: boolean }, cmd: Command) => {
    const g = cmd.optsWithGlobals() as GlobalFlags;
    const given = loginTarget(g);
    if (!given.server) throw new UsageError('give --server (or KUBECRED_SERVER), and --ca-file for a self-signed server certificate');
    if (o.tokenStdin && g.token) throw new UsageError('give the token one way: --token-stdin or --token, not both');
    const file = configPath(g);
    const source = configSource(g);
    // The path first: a file that can never be written should not wait for a token typed nor a round trip to say so.
    checkConfigTarget(file, source);
    const token = o.tokenStdin ? await readTokenFromStdin()
      : given.token ?? (process.stdin.isTTY ? await promptToken(`token for ${given.server}: `) : undefined);
    if (!token) throw new UsageError('no token given: pipe it to --token-stdin, set KUBECRED_TOKEN, or run login at a terminal to be asked for it');
    // Later commands run from other directories: a relative CA path would point elsewhere there.
    const saved = { server: given.server, token, caFile: given.caFile && path.resolve(given.caFile) };
    const who = await whoamiWith(saved, g);
    writeFileConfig(file, saved, source);
    process.stdout.write(`saved to ${file} (signed in as ${who.principal.name}, ${who.principal.id}, in account ${who.accountId})\n`);
    // Not saved: every later command would otherwise skip verification without anyone having asked again.
    if (g.insecureSkipTlsVerify) say('--insecure-skip-tls-verify is not saved; give it again to later commands that need it');
  });

/** Asks the server who the token is, so `login` saves only what works: a bad token is exit 3, no answer exit 7. */
async function whoamiWith(target: { server: string; token: string; caFile?: string }, g: GlobalFlags): Promise<{ accountId: string; principal: { id: string; name: string } }> {
  const client = clientFor(target, g);
  try {
    return await client.get('/v1/whoami');
  } finally {
    client.close();
  }
}

registerResourceCommands(program);
registerKubeconfigCommands(program);
registerProjectCommands(program);
registerDatabaseCommands(program);
registerMasterKeyCommands(program);
