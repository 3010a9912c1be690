// Writes docs/cli.md: every kubecred command's --help, from the program itself (src/cli/program.ts), so the
// reference cannot drift from the commands. `node --import tsx scripts/cli-reference.ts` rewrites it;
// test/cli-reference.test.ts fails when it is out of date.

import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { program } from '../src/cli/program.ts';

/** Wide enough for the longest flag descriptions to stay on one line or two, and the same on every machine. */
const WIDTH = 110;

function* commands(cmd: Command, trail: string[] = []): Generator<{ path: string[]; cmd: Command }> {
  yield { path: trail, cmd };
  for (const sub of cmd.commands) {
    if ((sub as unknown as { _hidden?: boolean })._hidden) continue;
    yield* commands(sub, [...trail, sub.name()]);
  }
}

export function cliReference(): string {
  const out = [
    '# Command-line reference',
    '',
    'Every `kubecred` command with its `--help`, generated from the program by `node --import tsx scripts/cli-reference.ts`',
    '(`test/cli-reference.test.ts` fails when this page is out of date). `kubecred help <command> [<subcommand>]` prints',
    'the same. The README walks through the commands in the order a team uses them.',
    '',
  ];
  const all = [...commands(program)];
  out.push('## Commands', '');
  for (const { path: p, cmd } of all.slice(1)) out.push(`${'  '.repeat(p.length - 1)}- [\`kubecred ${p.join(' ')}\`](#kubecred-${p.join('-')}): ${cmd.description().split('\n')[0]}`);
  out.push('');
  for (const { path: p, cmd } of all) {
    cmd.configureHelp({ helpWidth: WIDTH });
    out.push(`## kubecred${p.length ? ` ${p.join(' ')}` : ''}`, '', '```', cmd.helpInformation().trimEnd(), '```', '');
  }
  return out.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const file = path.resolve(import.meta.dirname, '..', 'docs', 'cli.md');
  fs.writeFileSync(file, cliReference());
  process.stdout.write(`wrote ${file}\n`);
}
