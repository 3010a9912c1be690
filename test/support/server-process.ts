// Starts `kubecred serve` as a real child process on a free loopback port, with a fresh data
// directory, and reads its first-start secrets and address. Tests stop it with stop().

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { after } from 'node:test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const BIN = path.join(ROOT, 'bin', 'kubecred.js');

export interface ServerProcess {
  url: string;
  dataDir: string;
  caFile: string;
  rootToken: string;
  accessKeyId: string;
  accessKeySecret: string;
  accountId: string;
  rootPrincipalId: string;
  logs(): string;
  stderr(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  child: ChildProcess;
}

export function tempDir(prefix = 'kubecred-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** `anyPort: false` leaves out `--port 0`, so the environment (or the default) chooses the port. */
export async function startServerProcess(opts: { dataDir?: string; args?: string[]; env?: NodeJS.ProcessEnv; previous?: ServerProcess; anyPort?: boolean } = {}): Promise<ServerProcess> {
  const dataDir = opts.dataDir ?? tempDir();
  const child = spawn(process.execPath, [BIN, 'serve', '--data-dir', dataDir, ...(opts.anyPort === false ? [] : ['--port', '0']), ...(opts.args ?? [])], {
    env: { ...process.env, KUBECRED_MASTER_KEY: undefined, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 30 s:\n${err}\n${out}`)), 30_000);
    const check = () => {
      const m = /serving on (\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stderr!.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${err}\n${out}`));
    });
  });
  // stderr is a pipe here, not a terminal: a first start writes the secrets to a 0600 file and names it instead.
  const secretsFile = path.join(dataDir, 'first-start-secrets.txt');
  const bootstrap = fs.statSync(secretsFile, { throwIfNoEntry: false })?.isFile() ? fs.readFileSync(secretsFile, 'utf8') : err;
  const field = (label: string) => new RegExp(`${label}:\\s+(\\S+)`).exec(bootstrap)?.[1];
  const prev = opts.previous;
  return {
    url, dataDir, child,
    caFile: path.join(dataDir, 'tls', 'server.crt'),
    rootToken: field('root token') ?? prev?.rootToken ?? '',
    accessKeyId: field('access key id') ?? prev?.accessKeyId ?? '',
    accessKeySecret: field('access key secret') ?? prev?.accessKeySecret ?? '',
    accountId: field('account') ?? prev?.accountId ?? '',
    rootPrincipalId: field('root principal') ?? prev?.rootPrincipalId ?? '',
    logs: () => out,
    stderr: () => err,
    stop: (signal = 'SIGTERM') => new Promise((resolve) => {
      // Already gone (a signal leaves exitCode null and sets signalCode): 'exit' will not fire again.
      if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
      child.once('exit', (code) => resolve(code));
      child.kill(signal);
    }),
  };
}

/** The JSON log lines on a server's stdout whose msg matches, once there is one (stdout is read asynchronously; 5 s at most). */
export async function logLinesMatching(srv: Pick<ServerProcess, 'logs'>, msg: RegExp): Promise<Record<string, any>[]> {
  const matching = () => srv.logs().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).filter((l) => msg.test(l.msg));
  for (let i = 0; i < 50 && matching().length === 0; i++) await new Promise((r) => setTimeout(r, 100));
  return matching();
}

/**
 * `kubecred serve` that must fail at start, on a fresh data directory unless `args` names another (the last
 * --data-dir wins): killed after 20 s, so a start-up that hangs shows as a signal, not a stuck test.
 */
export function serveExpectingFailure(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string; ms: number; signal: string | null }> {
  const start = Date.now();
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, 'serve', '--data-dir', tempDir(), '--log-level', 'silent', ...args], { env: { ...process.env, KUBECRED_MASTER_KEY: undefined, ...env }, timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, signal: error?.signal ?? null, stdout, stderr, ms: Date.now() - start });
    });
  });
}

/** `startServerProcess` for a test file whose servers are all stopped when the file's tests are done. */
export function serversStoppedAfterAll(): (opts?: Parameters<typeof startServerProcess>[0]) => Promise<ServerProcess> {
  const servers: ServerProcess[] = [];
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });
  return async (opts) => {
    const s = await startServerProcess(opts);
    servers.push(s);
    return s;
  };
}
