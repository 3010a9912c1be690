// The `kubecred` command line: the server commands and a thin client of the native API.
// Parsing and printing only; every decision is the server's.

import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { loadServerConfig } from '../config/server-config.ts';
import { configPath, writeFileConfig, type GlobalFlags } from './client-config.ts';
import { registerDatabaseCommands } from './commands-database.ts';
import { registerKubeconfigCommands } from './commands-kubeconfig.ts';
import { registerProjectCommands } from './commands-projects.ts';
import { registerResourceCommands } from './commands-resources.ts';
import { Exit, exitCodeFor } from './exit-codes.ts';
import { outputOption, parseFormat, print, say } from './output.ts';
import { reportError } from './run-action.ts';
import { createAccountInDataDir, prepareDataDir, printBootstrap, startServer } from './serve.ts';
import { serverOptions } from './server-options.ts';
import { VERSION } from './version.ts';

// A reader that stops early (`kubecred ... | head`) closes the pipe: end quietly, as other Unix tools do.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

const program = new Command('kubecred')
  .description('Self-hostable kubeconfig authority: per-person, expiring, revocable kubeconfigs for your own clusters')
  .version(VERSION)
  .option('--server <url>', 'kubecred server (env KUBECRED_SERVER)')
  .option('--token <token>', 'bearer token (env KUBECRED_TOKEN)')
  .option('--ca-file <file>', "CA to trust for the server's certificate (env KUBECRED_CA_FILE)")
  .option('--insecure-skip-tls-verify', "don't verify the server's certificate (testing only)")
  .option('--config <file>', 'client config file (env KUBECRED_CONFIG; default ~/.config/kubecred/config.json)')
  .addHelpText('after', `
Exit codes: 0 ok, 1 unexpected error, 2 usage, 3 not authenticated or not allowed, 4 not found,
5 conflict, 6 input refused by the server, 7 server unreachable, 8 server error.`)
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

serverOptions(program.command('serve').description('start the server; initializes the data directory on first start'))
  .action(async (o) => {
    try {
      const config = loadServerConfig(o);
      const server = await startServer(config, { onBootstrap: (b) => printBootstrap(b, config.dataDir, process.stderr) });
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

outputOption(serverOptions(program.command('init').description('initialize the data directory (master key, database, first account) without serving')))
  .action(async (o) => {
    try {
      const config = loadServerConfig(o);
      const format = parseFormat(o.output);
      const { store, bootstrap } = await prepareDataDir(config);
      await store.close();
      if (!bootstrap) {
        say(`${config.dataDir} is already initialized; nothing to do`);
        return;
      }
      if (format === 'table') printBootstrap(bootstrap, config.dataDir, process.stdout);
      else print(bootstrap, format);
    } catch (e) {
      reportError(e);
    }
  });

const account = program.command('account').description('tenants (run on the server machine, against its data directory)');
outputOption(serverOptions(account.command('create <name>').description('create another account with its own root, printing its secrets once')))
  .action(async (name: string, o) => {
    try {
      const config = loadServerConfig(o);
      const format = parseFormat(o.output);
      const res = await createAccountInDataDir(config, name);
      if (format === 'table') printBootstrap(res, config.dataDir, process.stdout);
      else print(res, format);
    } catch (e) {
      reportError(e);
    }
  });

program.command('login').description('save the server address, token and CA for later commands (file mode 0600)')
  .addHelpText('after', '\nGive the global options --server, --token and --ca-file (see `kubecred --help`), e.g.\n  kubecred login --server https://127.0.0.1:7443 --token kc1.… --ca-file ~/.kubecred/tls/server.crt')
  .action((_o, cmd: Command) => {
    const g = cmd.optsWithGlobals() as GlobalFlags;
    if (!g.server || !g.token) {
      process.stderr.write('error: give --server and --token (and --ca-file for a self-signed server certificate)\n');
      process.exitCode = Exit.USAGE;
      return;
    }
    const file = configPath(g);
    // Later commands run from other directories: a relative CA path would point elsewhere there.
    writeFileConfig(file, { server: g.server, token: g.token, caFile: g.caFile && path.resolve(g.caFile) });
    process.stdout.write(`saved to ${file}\n`);
  });

registerResourceCommands(program);
registerKubeconfigCommands(program);
registerProjectCommands(program);
registerDatabaseCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exitCode = e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0 ? Exit.OK : Exit.USAGE;
  } else {
    reportError(e);
  }
}
