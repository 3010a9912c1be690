// The command line of a bench script: `opt('--name')` is the value after a flag, `has('--flag')` whether it was
// given; `--help` (or -h) prints the script's leading `//` comment lines and exits.

import fs from 'node:fs';

export function scriptArgs(scriptUrl: string): { args: string[]; opt(name: string): string | undefined; has(name: string): boolean } {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    console.log(fs.readFileSync(new URL(scriptUrl), 'utf8').split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n'));
    process.exit(0);
  }
  return {
    args,
    opt: (name) => {
      const i = args.indexOf(name);
      return i >= 0 ? args[i + 1] : undefined;
    },
    has: (name) => args.includes(name),
  };
}
