// Child processes for the bench: CPU pinning with taskset, server CPU time from /proc/<pid>/stat,
// free ports, and starting `kubecred serve` on 127.0.0.1 with a fresh data directory.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const BIN = path.join(ROOT, 'bin', 'kubecred.js');

function has(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const TASKSET = has('taskset') && os.cpus().length >= 2;
export const SERVER_CPU = '0';
export const LOAD_CPU = '1';
export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Pins this process (every thread) to the load generator's CPU. */
export function pinSelf(): string {
  if (!TASKSET) return 'not pinned (taskset missing or fewer than 2 CPUs)';
  execFileSync('taskset', ['-a', '-cp', LOAD_CPU, String(process.pid)], { stdio: 'ignore' });
  return `servers on CPU ${SERVER_CPU}, load generator on CPU ${LOAD_CPU} (taskset)`;
}

/** Spawns a command pinned to the server CPU; taskset execs, so the pid is the command's own. */
export function spawnPinned(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): ChildProcess {
  const [file, argv] = TASKSET ? ['taskset', ['-c', SERVER_CPU, cmd, ...args]] : [cmd, args];
  return spawn(file, argv, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** utime+stime of a process (all threads), in microseconds. */
export function cpuMicros(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1e6) / CLK_TCK;
}

export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface Child {
  pid: number;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

export function wrap(child: ChildProcess): Child {
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return {
    pid: child.pid!,
    child,
    output: () => out,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    }),
  };
}

/** Waits until `pattern` appears in the child's output; returns the match. */
export function waitFor(c: Child, pattern: RegExp, ms = 30_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = pattern.exec(c.output());
      if (m) {
        clearInterval(iv);
        clearTimeout(timer);
        resolve(m);
      }
    };
    const iv = setInterval(check, 20);
    const timer = setTimeout(() => {
      clearInterval(iv);
      reject(new Error(`timed out waiting for ${pattern}:\n${c.output().slice(-2000)}`));
    }, ms);
    c.child.once('exit', (code) => {
      clearInterval(iv);
      clearTimeout(timer);
      reject(new Error(`process exited with ${code} before ${pattern}:\n${c.output().slice(-2000)}`));
    });
    check();
  });
}

export interface Kubecred extends Child {
  url: string;
  dataDir: string;
  caPem: string;
  rootToken: string;
  rootPrincipalId: string;
  startMs: number;
}

export interface StartOptions {
  /** An existing data directory (e.g. the bulk-loaded one); a fresh one when absent. */
  dataDir?: string;
  /** Extra flags for node itself, e.g. ['--cpu-prof', '--cpu-prof-dir=/tmp/p']. */
  nodeArgs?: string[];
  /** Extra flags for `kubecred serve`, e.g. ['--log-level', 'warn']. */
  serveArgs?: string[];
  /** Root token and principal of an existing data directory (a fresh one prints them). */
  rootToken?: string;
  rootPrincipalId?: string;
}

export async function startKubecred(o: StartOptions = {}): Promise<Kubecred> {
  const dataDir = o.dataDir ?? tempDir('kubecred-bench-');
  const t0 = process.hrtime.bigint();
  const c = wrap(spawnPinned(process.execPath, [...(o.nodeArgs ?? []), BIN, 'serve', '--data-dir', dataDir, '--host', '127.0.0.1', '--port', '0', ...(o.serveArgs ?? [])], {
    env: { ...process.env, KUBECRED_MASTER_KEY: undefined },
  }));
  const m = await waitFor(c, /serving on (\S+)/);
  const startMs = Number(process.hrtime.bigint() - t0) / 1e6;
  // stderr is a pipe, not a terminal: a first start writes the secrets to a 0600 file in the data directory.
  const secretsFile = path.join(dataDir, 'first-start-secrets.txt');
  const bootstrap = fs.existsSync(secretsFile) ? fs.readFileSync(secretsFile, 'utf8') : c.output();
  const field = (label: string) => new RegExp(`${label}:\\s+(\\S+)`).exec(bootstrap)?.[1] ?? '';
  return {
    ...c,
    url: m[1]!,
    dataDir,
    caPem: fs.readFileSync(path.join(dataDir, 'tls', 'server.crt'), 'utf8'),
    rootToken: field('root token') || o.rootToken || '',
    rootPrincipalId: field('root principal') || o.rootPrincipalId || '',
    startMs,
  };
}

export interface BareFastify extends Child {
  target: { url: string; ca: string };
}

/** The bare Fastify references (bare-fastify.ts), pinned like the servers, on kubecred's TLS certificate. */
export async function startBareFastify(kc: Pick<Kubecred, 'dataDir' | 'caPem'>): Promise<BareFastify> {
  const tls = path.join(kc.dataDir, 'tls');
  // The durable route's ring file, in a directory of its own beside kubecred's fresh ones (the same disk).
  const ringDir = tempDir('kubecred-bare-');
  const child = wrap(spawnPinned(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'bare-fastify.ts'), path.join(tls, 'server.crt'), path.join(tls, 'server.key'), path.join(ringDir, 'ring')]));
  const bare = { ...child, stop: () => child.stop().finally(() => fs.rmSync(ringDir, { recursive: true, force: true })) };
  try {
    return { ...bare, target: { url: (await waitFor(bare, /serving on (\S+)/))[1]!, ca: kc.caPem } };
  } catch (e) {
    await bare.stop();
    throw e;
  }
}
