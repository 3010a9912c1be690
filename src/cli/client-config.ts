// Where the CLI finds its server, token and CA: flags, then KUBECRED_* environment, then the config
// file written by `kubecred login` (mode 0600, it holds a token). The only CLI module reading env.

import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { NativeClient } from '../client/native-client.ts';
import { replacePrivateFile } from './private-files.ts';
import { UsageError } from './exit-codes.ts';
import { say } from './output.ts';

export interface GlobalFlags {
  server?: string;
  token?: string;
  caFile?: string;
  insecureSkipTlsVerify?: boolean;
  allowInsecureHttp?: boolean;
  config?: string;
}

export interface FileConfig { server?: string; token?: string; caFile?: string }

/** The config file chosen by --config or KUBECRED_CONFIG, if any (not the default). */
export function chosenConfigPath(flags: GlobalFlags, env = process.env): string | undefined {
  return flags.config ?? env.KUBECRED_CONFIG;
}

export function configPath(flags: GlobalFlags, env = process.env): string {
  return chosenConfigPath(flags, env) ?? path.join(os.homedir(), '.config', 'kubecred', 'config.json');
}

export function readFileConfig(file: string): FileConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return {};
    throw new UsageError(`cannot read the config file ${file} (${code ?? (e as Error).message}); give --config a file written by \`kubecred login\``);
  }
  try {
    return JSON.parse(text) as FileConfig;
  } catch {
    throw new UsageError(`${file} is not valid JSON; fix it or run \`kubecred login\` again`);
  }
}

/** Which setting chose the config file, for messages: the flag, the environment variable, or the default. */
export function configSource(flags: GlobalFlags, env = process.env): string {
  if (flags.config !== undefined) return '--config';
  return env.KUBECRED_CONFIG !== undefined ? 'KUBECRED_CONFIG' : 'the default config file';
}

/**
 * Checked before anything else happens: the file must not be a directory, and the nearest part of its path that
 * exists must be a directory (mkdir would fail with ENOTDIR on a regular file there).
 */
export function checkConfigTarget(file: string, source: string): void {
  const abs = path.resolve(file);
  if (statIfThere(abs)?.isDirectory()) {
    throw new UsageError(`cannot write ${source} ${file}: it is a directory; give a file path such as ${path.join(file, 'config.json')}`);
  }
  for (let dir = path.dirname(abs); ; dir = path.dirname(dir)) {
    const st = statIfThere(dir);
    if (st) {
      if (!st.isDirectory()) throw new UsageError(`cannot write ${source} ${file}: ${dir} is a file, not a directory`);
      return;
    }
    if (dir === path.dirname(dir)) return;
  }
}

/** What is at `p`, or undefined when nothing is (ENOTDIR too: a path through a regular file leads nowhere). */
export function statIfThere(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
}

/** Written 0600 through a temporary file renamed into place; the temporary file (it holds the token) never stays behind. */
export function writeFileConfig(file: string, cfg: FileConfig, source = '--config'): void {
  checkConfigTarget(file, source);
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    replacePrivateFile(file, JSON.stringify(cfg, null, 2) + '\n');
  } catch (e) {
    throw new UsageError(`cannot write ${source} ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** The server address, token and CA file in force: flags, then environment, then the config file. */
export function resolveTarget(flags: GlobalFlags, env = process.env): { server?: string; token?: string; caFile?: string } {
  const file = readFileConfig(configPath(flags, env));
  // An empty variable (KUBECRED_TOKEN= in a script or a unit file) is unset, not a value that hides `kubecred login`'s.
  const set = (v: string | undefined) => (v === '' ? undefined : v);
  return {
    server: flags.server ?? set(env.KUBECRED_SERVER) ?? file.server,
    token: flags.token ?? set(env.KUBECRED_TOKEN) ?? file.token,
    caFile: flags.caFile ?? set(env.KUBECRED_CA_FILE) ?? file.caFile,
  };
}

/**
 * What `login` checks and saves: flags, then environment (KUBECRED_TOKEN keeps the token out of argv). Never the
 * config file, which is what login replaces.
 */
export function loginTarget(flags: GlobalFlags, env = process.env): { server?: string; token?: string; caFile?: string } {
  const set = (v: string | undefined) => (v === '' ? undefined : v);
  return { server: flags.server ?? set(env.KUBECRED_SERVER), token: flags.token ?? set(env.KUBECRED_TOKEN), caFile: flags.caFile ?? set(env.KUBECRED_CA_FILE) };
}

export function clientFrom(flags: GlobalFlags, env = process.env): NativeClient {
  const { server, token, caFile } = resolveTarget(flags, env);
  if (!server) throw new UsageError('no server given: pass --server https://HOST:7443, set KUBECRED_SERVER, or run `kubecred login`');
  if (!token) throw new UsageError('no token given: set KUBECRED_TOKEN, or run `kubecred login` (or pass --token, which ps and shell history show)');
  return clientFor({ server, token, caFile }, flags, env);
}

/** A client of exactly this server, token and CA file (`login` checks what it is about to save). */
export function clientFor(target: { server: string; token: string; caFile?: string }, flags: GlobalFlags, env = process.env): NativeClient {
  const { server, token, caFile } = target;
  // A malformed address is a mistake in what was typed, not a server that did not answer.
  let protocol: string | undefined;
  try {
    protocol = new URL(server).protocol;
  } catch { /* reported below */ }
  if (protocol !== 'https:' && protocol !== 'http:') {
    throw new UsageError(`server address ${JSON.stringify(server)} is not an http(s) URL: give --server (or KUBECRED_SERVER) like https://127.0.0.1:7443`);
  }
  checkCleartext(server, '--server (or KUBECRED_SERVER)', flags, env);
  return new NativeClient({
    server, token, caPem: caFile ? readCaFile(caFile) : undefined, insecureSkipTlsVerify: flags.insecureSkipTlsVerify === true,
    timeoutMs: timeoutFrom(env),
    onSlow: (origin, ms) => say(`no answer yet from ${origin}; waiting up to ${Math.round(ms / 100) / 10} s`),
    onTruncated: (shown) => say(`showing the first ${shown}; there are more (--limit shows more where the command has it)`),
  });
}

/** 127.0.0.0/8, ::1 and localhost: plain HTTP to these never leaves the machine. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host === '::1') return true;
  return net.isIPv4(host) && host.startsWith('127.');
}

/** Whether plain HTTP to another machine was asked for by name (--allow-insecure-http, KUBECRED_ALLOW_INSECURE_HTTP=1). */
export const allowsInsecureHttp = (flags: GlobalFlags, env = process.env): boolean =>
  flags.allowInsecureHttp === true || env.KUBECRED_ALLOW_INSECURE_HTTP === '1' || env.KUBECRED_ALLOW_INSECURE_HTTP === 'true';

/**
 * An http: URL to another machine carries API and webhook tokens out, and kubeconfig private keys back, in clear:
 * refused unless asked for by name. `what` names where the URL came from, for the message.
 */
export function checkCleartext(url: string, what: string, flags: GlobalFlags, env = process.env): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`${what} ${JSON.stringify(url)} is not a URL: give one like https://kubecred.example.com:7443`);
  }
  if (u.protocol !== 'http:' || isLoopbackHost(u.hostname) || allowsInsecureHttp(flags, env)) return;
  throw new UsageError(`${what} ${url} is plain http to another machine: tokens and private keys would cross the network in clear. Use https:// (kubecred serves TLS unless told not to; or put a TLS proxy in front of it), or, on a network you trust end to end, pass --allow-insecure-http (or set KUBECRED_ALLOW_INSECURE_HTTP=1)`);
}

/**
 * The CA file must hold a certificate that parses: otherwise every request would fail later with a TLS error that
 * points nowhere near the file.
 */
function readCaFile(caFile: string): string {
  let pem: string;
  try {
    pem = fs.readFileSync(caFile, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read --ca-file ${caFile} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!blocks) throw new UsageError(`--ca-file ${caFile} holds no PEM certificate (-----BEGIN CERTIFICATE-----): give the server's certificate or its CA, e.g. <data-dir>/tls/server.crt`);
  for (const b of blocks) {
    try {
      new crypto.X509Certificate(b);
    } catch {
      throw new UsageError(`--ca-file ${caFile} holds a certificate that cannot be parsed; give the server's certificate or its CA in PEM`);
    }
  }
  return pem;
}

/** KUBECRED_TIMEOUT_MS: how long one request may take in all (default 30 s); tests set it short. */
function timeoutFrom(env: NodeJS.ProcessEnv): number | undefined {
  const v = env.KUBECRED_TIMEOUT_MS;
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`KUBECRED_TIMEOUT_MS must be a whole number of milliseconds above zero (got ${v})`);
  return Number(v);
}
