// Wrapping each command's action: build the client, run, print errors as one clear line with the
// request ID and a hint, and exit with a code that says what kind of failure it was.

import type { Command } from 'commander';
import { ApiError } from '../client/native-client.ts';
import type { NativeClient } from '../client/native-client.ts';
import { clientFrom, type GlobalFlags } from './client-config.ts';
import { exitCodeFor } from './exit-codes.ts';
import { parseFormat, type Format } from './output.ts';

const hints: Record<string, string> = {
  UNAUTHENTICATED: 'check --token / KUBECRED_TOKEN, or create a new token with `kubecred token create`',
  ACCESS_DENIED: "ask the account's root to attach a policy that allows it (`kubecred policy attach`)",
  ROOT_ONLY: "run it with the account root's token",
  NOT_FOUND: 'list what exists with the matching `list` command',
};

export function reportError(e: unknown): void {
  if (e instanceof ApiError) {
    const hint = hints[e.code] ? `\n  hint: ${hints[e.code]}` : '';
    process.stderr.write(`error: ${e.message} [${e.code}${e.requestId ? `, request ${e.requestId}` : ''}]${hint}\n`);
  } else {
    process.stderr.write(`error: ${(e as Error)?.message ?? String(e)}\n`);
  }
  process.exitCode = exitCodeFor(e);
}

/** Options of the whole program merged with the command's own. */
export function allOpts(cmd: Command): GlobalFlags & Record<string, unknown> {
  return cmd.optsWithGlobals();
}

export function withClient<A extends unknown[]>(fn: (client: NativeClient, opts: Record<string, any>, format: Format, ...args: A) => Promise<void>) {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const positional = args.slice(0, -2) as A;
    let client: NativeClient | undefined;
    try {
      const opts = allOpts(cmd);
      const format = parseFormat(opts.output as string | undefined);
      client = clientFrom(opts);
      await fn(client, opts, format, ...positional);
    } catch (e) {
      reportError(e);
    } finally {
      client?.close();
    }
  };
}
