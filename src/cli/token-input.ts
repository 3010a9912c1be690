// Reading an API token without it passing through argv (visible in ps, kept in shell history): from standard
// input for scripts (`--token-stdin`), or typed at a terminal without echo. Never prints what it reads.

import { UsageError } from './exit-codes.ts';

/** All of standard input, trimmed: it must hold the token alone (a password manager's output, a file's content). */
export async function readTokenFromStdin(stdin: NodeJS.ReadStream = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  const token = Buffer.concat(chunks).toString('utf8').trim();
  if (token === '') throw new UsageError('--token-stdin: standard input was empty; pipe the token in, e.g. kubecred login --token-stdin < token-file');
  if (/\s/.test(token)) throw new UsageError('--token-stdin: standard input holds more than one word; give it the token alone');
  return token;
}

/**
 * Asks for the token at a terminal, echo off (raw mode: each key is read as typed and nothing is written back).
 * Enter ends it; Ctrl-C or Ctrl-D on an empty line gives up.
 */
export function promptToken(prompt: string, stdin: NodeJS.ReadStream = process.stdin, out: NodeJS.WriteStream = process.stderr): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const finish = (error?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      out.write('\n');
      if (error) reject(error);
      else resolve(text.trim());
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003' || (ch === '\u0004' && text === '')) return finish(new UsageError('no token given: login cancelled'));
        if (ch === '\u007f' || ch === '\b') text = text.slice(0, -1);
        else if (ch >= ' ') text += ch;
      }
    };
    // Echo off before the prompt shows: whatever is typed once it is visible must not be written back.
    stdin.setEncoding('utf8');
    stdin.setRawMode(true);
    out.write(prompt);
    stdin.on('data', onData);
    stdin.resume();
  });
}
