// Valid seed material made by openssl for the pki targets: CSRs (EC P-256/P-384, RSA 2048 with SHA-256/512, with SANs and
// extensions), client CAs with their keys in each PEM flavour, a leaf and a chain. Made once per process, in a temp dir.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Seeds {
  csrs: string[];
  cas: { certPem: string; keyPem: string }[];
  /** Certificates that are not CAs (a leaf), and a two-certificate bundle. */
  others: string[];
  /** Every seed's DER, for splicing. */
  ders: Buffer[];
}

let made: Seeds | undefined;

const openssl = (dir: string, args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });

export function pemDer(pem: string): Buffer {
  const body = /-----BEGIN [A-Z ]+-----([\s\S]*?)-----END/.exec(pem)?.[1] ?? '';
  return Buffer.from(body.replace(/\s+/g, ''), 'base64');
}

export function seeds(): Seeds {
  if (made) return made;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubecred-fuzz-seeds-'));
  try {
    const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8');
    openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-out', 'ec256.key']);
    openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384', '-out', 'ec384.key']);
    openssl(dir, ['genrsa', '-traditional', '-out', 'rsa2048.key', '2048']);
    const csr = (key: string, out: string, extra: string[]) =>
      openssl(dir, ['req', '-new', '-key', key, '-subj', '/CN=alice/O=dev/O=system:masters', ...extra, '-out', out]);
    csr('ec256.key', 'ec256.csr', ['-addext', 'subjectAltName=DNS:a.example,IP:10.0.0.1,email:a@example.com']);
    csr('ec384.key', 'ec384.csr', ['-sha384']);
    csr('rsa2048.key', 'rsa2048.csr', ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=keyCertSign']);
    csr('rsa2048.key', 'rsa-sha512.csr', ['-sha512']); // one RSA key only: generating a second costs seconds
    const ca = (key: string, out: string) => openssl(dir, ['req', '-x509', '-new', '-key', key, '-subj', `/CN=fuzz ${out}`, '-days', '36500',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', out]);
    ca('ec256.key', 'ca-ec.crt');
    ca('rsa2048.key', 'ca-rsa.crt');
    ca('ec384.key', 'ca-ec384.crt');
    openssl(dir, ['x509', '-req', '-in', 'rsa-sha512.csr', '-CA', 'ca-ec.crt', '-CAkey', 'ec256.key', '-days', '3650', '-out', 'leaf.crt']);
    const csrs = ['ec256.csr', 'ec384.csr', 'rsa2048.csr', 'rsa-sha512.csr'].map(read);
    const cas = [
      { certPem: read('ca-ec.crt'), keyPem: read('ec256.key') },
      { certPem: read('ca-rsa.crt'), keyPem: read('rsa2048.key') },
      { certPem: read('ca-ec384.crt'), keyPem: read('ec384.key') },
    ];
    const others = [read('leaf.crt'), read('leaf.crt') + read('ca-ec.crt')];
    const ders = [...csrs, ...cas.flatMap((c) => [c.certPem, c.keyPem.slice(c.keyPem.indexOf('-----BEGIN EC PRIVATE') >= 0 ? c.keyPem.indexOf('-----BEGIN EC PRIVATE') : 0)]), others[0]!].map(pemDer);
    made = { csrs, cas, others, ders };
    return made;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** PEM text around DER, with the usual 64-column lines. */
export function toPem(der: Buffer, label: string): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}
