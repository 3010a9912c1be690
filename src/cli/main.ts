// The `kubecred` command line: the server commands and a thin client of the native API.
// Parsing and printing only; every decision is the server's.

import { CommanderError } from 'commander';
import { Exit } from './exit-codes.ts';
import { program } from './program.ts';
import { reportError } from './run-action.ts';

// A reader that stops early (`kubecred ... | head`) closes the pipe: end quietly, as other Unix tools do.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

// `kubecred help cluster create`: commander's help command reads one level only and showed `cluster`'s help.
const argv = process.argv[2] === 'help' && process.argv.length > 4 ? [...process.argv.slice(0, 2), ...process.argv.slice(3), '--help'] : process.argv;

try {
  await program.parseAsync(argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exitCode = e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0 ? Exit.OK : Exit.USAGE;
  } else {
    reportError(e);
  }
}
