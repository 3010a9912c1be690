// Runs the real `kubecred` CLI as a child process against a server, capturing output and exit code.

import fs from 'node:fs';
import { execFile } from 'node:child_process';
import { BIN, type ServerProcess } from './server-process.ts';

export interface CliResult { code: number; stdout: string; stderr: string }

/** `input`, when given, is written to the CLI's standard input, which is then closed. */
export function cli(server: Pick<ServerProcess, 'url' | 'caFile'> | null, token: string | null, args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string, input?: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, ...args], {
      env: {
        ...process.env,
        KUBECRED_SERVER: server?.url ?? '',
        KUBECRED_CA_FILE: server?.caFile ?? '',
        KUBECRED_TOKEN: token ?? '',
        KUBECRED_CONFIG: '/nonexistent/kubecred-config.json',
        ...env,
      },
      maxBuffer: 16 * 1024 * 1024,
      cwd,
    }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

/** Runs the CLI with `--output json` and parses stdout; fails loudly on a non-zero exit. */
export async function cliJson<T = any>(server: Pick<ServerProcess, 'url' | 'caFile'>, token: string, args: string[]): Promise<T> {
  const r = await cli(server, token, [...args, '--output', 'json']);
  if (r.code !== 0) throw new Error(`kubecred ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** Files in `dir` left by a write that failed: the CLI's temporary copies (*.tmp) hold a private key or a token. */
export const leftovers = (dir: string): string[] => fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'));
