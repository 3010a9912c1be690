// Where the CLI finds its server, token and CA: flags, then KUBECRED_* environment, then the config
// file written by `kubecred login` (mode 0600, it holds a token). The only CLI module reading env.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NativeClient } from '../client/native-client.ts';
import { UsageError } from './exit-codes.ts';

export interface GlobalFlags {
  server?: string;
  token?: string;
  caFile?: string;
  insecureSkipTlsVerify?: boolean;
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
  if (!fs.existsSync(file)) return {};
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as FileConfig;
  } catch {
    throw new UsageError(`${file} is not valid JSON; fix it or run \`kubecred login\` again`);
  }
}

export function writeFileConfig(file: string, cfg: FileConfig): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(cfg, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** The server address, token and CA file in force: flags, then environment, then the config file. */
export function resolveTarget(flags: GlobalFlags, env = process.env): { server?: string; token?: string; caFile?: string } {
  const file = readFileConfig(configPath(flags, env));
  return {
    server: flags.server ?? env.KUBECRED_SERVER ?? file.server,
    token: flags.token ?? env.KUBECRED_TOKEN ?? file.token,
    caFile: flags.caFile ?? env.KUBECRED_CA_FILE ?? file.caFile,
  };
}

export function clientFrom(flags: GlobalFlags, env = process.env): NativeClient {
  const { server, token, caFile } = resolveTarget(flags, env);
  if (!server) throw new UsageError('no server given: pass --server https://HOST:7443, set KUBECRED_SERVER, or run `kubecred login`');
  if (!token) throw new UsageError('no token given: pass --token, set KUBECRED_TOKEN, or run `kubecred login`');
  // A malformed address is a mistake in what was typed, not a server that did not answer.
  let protocol: string | undefined;
  try {
    protocol = new URL(server).protocol;
  } catch { /* reported below */ }
  if (protocol !== 'https:' && protocol !== 'http:') {
    throw new UsageError(`server address ${JSON.stringify(server)} is not an http(s) URL: give --server (or KUBECRED_SERVER) like https://127.0.0.1:7443`);
  }
  let caPem: string | undefined;
  if (caFile) {
    try {
      caPem = fs.readFileSync(caFile, 'utf8');
    } catch {
      throw new UsageError(`cannot read --ca-file ${caFile}`);
    }
  }
  return new NativeClient({ server, token, caPem, insecureSkipTlsVerify: flags.insecureSkipTlsVerify === true });
}
