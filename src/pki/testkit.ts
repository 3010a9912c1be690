// Test helpers for pki: a scratch directory and thin wrappers around the openssl and kubectl CLIs.
// Must never be imported by production code; it shells out and writes temp files.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';

export function scratch(): { dir: string; file: (name: string, text?: string | Buffer) => string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubecred-pki-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return {
    dir,
    file(name, text) {
      const p = path.join(dir, name);
      if (text !== undefined) fs.writeFileSync(p, text);
      return p;
    },
  };
}

/** Runs openssl; returns stdout+stderr together because `verify` reports on either depending on outcome. */
export function openssl(args: string[], opts: { allowFail?: boolean } = {}): string {
  try {
    return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    if (opts.allowFail) return `${err.stdout ?? ''}${err.stderr ?? ''}`;
    throw new Error(`openssl ${args.join(' ')} failed: ${err.stderr ?? String(e)}`);
  }
}

export function kubectl(args: string[]): string {
  return execFileSync('/usr/bin/kubectl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export const read = (p: string) => fs.readFileSync(p, 'utf8');

/** The single line of values that follows an extension heading in `openssl x509 -text`. */
export function extensionValue(text: string, heading: string): string | undefined {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => l.includes(heading));
  return i < 0 ? undefined : lines[i + 1]?.trim();
}

export const DAY = 86_400_000;

const REQ_CONFIG = `[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[noski]
basicConstraints = critical,CA:TRUE
subjectKeyIdentifier = none
authorityKeyIdentifier = none
[leaf]
basicConstraints = critical,CA:FALSE
[kuonly]
basicConstraints = critical,CA:TRUE
keyUsage = critical,digitalSignature
[serveronly]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
extendedKeyUsage = serverAuth
[kubeadm]
basicConstraints = critical,CA:TRUE
keyUsage = critical,digitalSignature,keyEncipherment,keyCertSign
`;

export type OpensslKey = 'rsa-pkcs1' | 'ec-sec1' | 'ec-p384-pkcs8' | 'rsa-1024' | 'ec-p521' | 'ed25519';

export function opensslKey(s: ReturnType<typeof scratch>, kind: OpensslKey, name: string): string {
  const out = s.file(name);
  switch (kind) {
    case 'rsa-pkcs1': openssl(['genrsa', '-traditional', '-out', out, '2048']); break;
    case 'rsa-1024': openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', out]); break;
    case 'ec-sec1': openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-out', out]); break;
    case 'ec-p384-pkcs8': openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384', '-out', out]); break;
    case 'ec-p521': openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-521', '-out', out]); break;
    case 'ed25519': openssl(['genpkey', '-algorithm', 'ED25519', '-out', out]); break;
  }
  return out;
}

/** A self-signed certificate made by openssl req, with one of the extension profiles above. */
export function opensslSelfSigned(s: ReturnType<typeof scratch>, keyPath: string, opts: {
  name: string; profile: 'ca' | 'noski' | 'leaf' | 'kuonly' | 'serveronly' | 'kubeadm'; days?: number;
}): string {
  const config = s.file('req.cnf', REQ_CONFIG);
  const out = s.file(`${opts.name}.pem`);
  openssl(['req', '-x509', '-new', '-config', config, '-key', keyPath, '-subj', `/CN=${opts.name}/O=kubecred tests`,
    '-days', String(opts.days ?? 30), '-extensions', opts.profile, '-out', out]);
  return out;
}
