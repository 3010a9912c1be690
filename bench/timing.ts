// `npm run bench:timing`: does a refused credential take measurably longer or shorter depending on how it
// is wrong? RELIABILITY.md class 3. A real server pinned to CPU 0, this generator on CPU 1, one keep-alive
// connection, one request at a time, every class of every surface interleaved in random order; each
// request timed by the server (its access log's responseTime: first byte received to response finished)
// and by the client (round trip). A Welch t per pair; |t| < 4.5 means the two could not be told apart.
// A measurement, never a test: it prints, it does not fail. Flags:
//   --n N           requests per class (default 5,000)
//   --warmup N      unmeasured requests first (default 3,000)
//   --only S        bearer, aliyun or huawei (default all three)

import crypto from 'node:crypto';
import fs from 'node:fs';
import { acs3Signature, acs3StringToSign } from '../src/api/aliyun/signature-compute.ts';
import { sha256Hex, sign, stringToSign } from '../src/api/huaweicloud/cce-signature.ts';
import { pinSelf, startKubecred, type Kubecred } from './lib/proc.ts';
import { fmt, table } from './lib/table.ts';
import { compare, T_THRESHOLD } from './lib/welch.ts';
import { encodeRequest, WireConnection } from './lib/wire.ts';
import { scriptArgs } from './lib/args.ts';

const { args, opt } = scriptArgs(import.meta.url);
const N = Number(opt('--n') ?? 5000);
const WARMUP = Number(opt('--warmup') ?? 3000);
const SURFACES = (opt('--only') ?? 'bearer,aliyun,huawei').split(',') as Surface[];

type Surface = 'bearer' | 'aliyun' | 'huawei';
/**
 * How the presented secret or signature is wrong. `unknown-id`: one of a few well-formed IDs nobody was given,
 * with a random secret: whoever tests whether an ID exists presents it again and again, as the known one is.
 */
type Wrong = 'first-byte' | 'last-byte' | 'random' | 'unknown-id';
const CLASSES: Wrong[] = ['first-byte', 'last-byte', 'random', 'unknown-id'];
const PAIRS: Array<[Wrong, Wrong, string]> = [
  ['first-byte', 'last-byte', 'bad first byte vs bad last byte'],
  ['first-byte', 'random', 'bad first byte vs random'],
  ['last-byte', 'random', 'bad last byte vs random'],
  ['unknown-id', 'random', 'unknown ID vs known ID, bad secret'],
];

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const AK_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const randomOf = (alphabet: string, n: number) => [...crypto.randomBytes(n)].map((b) => alphabet[b % alphabet.length]).join('');
/** `s` with the character at `at` replaced by another of the same alphabet. */
const alter = (s: string, at: number, alphabet: string) => {
  const i = at < 0 ? s.length + at : at;
  const next = alphabet[(alphabet.indexOf(s[i]!) + 1 + crypto.randomInt(alphabet.length - 1)) % alphabet.length]!;
  return s.slice(0, i) + next + s.slice(i + 1);
};
/** A hex digest with its first or last byte changed, or a random one. */
const wrongHex = (good: string, w: Wrong): string => {
  if (w === 'first-byte') return alter(good, 0, '0123456789abcdef');
  if (w === 'last-byte') return alter(good, -1, '0123456789abcdef');
  return crypto.randomBytes(good.length / 2).toString('hex');
};

interface Keys { host: string; token: string; akId: string; akSecret: string }

const UNKNOWN_TOKEN_IDS = Array.from({ length: 8 }, () => `tok_${randomOf('0123456789abcdefghjkmnpqrstvwxyz', 26)}`);
const UNKNOWN_KEY_IDS = Array.from({ length: 8 }, () => `KC${randomOf(AK_ALPHABET, 22)}`);
const pick = <T>(xs: T[]) => xs[crypto.randomInt(xs.length)]!;

function bearerRequest(k: Keys, w: Wrong): Buffer {
  const [, id, secret] = k.token.split('.') as [string, string, string];
  const presented = w === 'unknown-id' ? `kc1.${pick(UNKNOWN_TOKEN_IDS)}.${randomOf(B64URL, 43)}`
    : `kc1.${id}.${w === 'random' ? randomOf(B64URL, 43) : alter(secret, w === 'first-byte' ? 0 : -1, B64URL)}`;
  return encodeRequest(k.host, 'GET', '/v1/clusters', { authorization: `Bearer ${presented}` });
}

const EMPTY_SHA256 = crypto.createHash('sha256').update('').digest('hex');

/** An ACK DescribeClusterUserKubeconfig signed with ACS3-HMAC-SHA256; `w` null signs it correctly. */
function aliyunRequest(k: Keys, w: Wrong | null): Buffer {
  const path = '/k8s/c-timing/user_config';
  const headers: Record<string, string> = {
    'x-acs-action': 'DescribeClusterUserKubeconfig', 'x-acs-version': '2015-12-15',
    'x-acs-date': new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'), 'x-acs-signature-nonce': crypto.randomBytes(16).toString('hex'),
    'x-acs-content-sha256': EMPTY_SHA256,
  };
  const signedHeaders = ['host', ...Object.keys(headers)].sort();
  const keyId = w === 'unknown-id' ? pick(UNKNOWN_KEY_IDS) : k.akId;
  const good = acs3Signature(acs3StringToSign({ method: 'GET', rawPath: path, query: new URLSearchParams(), headers: { ...headers, host: k.host }, signedHeaders, contentSha256: EMPTY_SHA256 }), k.akSecret).toString('hex');
  const sig = w === null ? good : wrongHex(good, w);
  return encodeRequest(k.host, 'GET', path, { ...headers, accept: 'application/json', authorization: `ACS3-HMAC-SHA256 Credential=${keyId},SignedHeaders=${signedHeaders.join(';')},Signature=${sig}` });
}

const sdkDate = () => new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');

/** A CCE clustercert request signed with SDK-HMAC-SHA256; `w` null signs it correctly. */
function huaweiRequest(k: Keys, w: Wrong | null): Buffer {
  const path = '/api/v3/projects/p-timing/clusters/c-timing/clustercert';
  const body = '{"duration":1}';
  const headers = { 'content-type': 'application/json', 'x-sdk-date': sdkDate() };
  const signedHeaders = ['content-type', 'host', 'x-sdk-date'];
  const keyId = w === 'unknown-id' ? pick(UNKNOWN_KEY_IDS) : k.akId;
  const good = sign(k.akSecret, stringToSign({ method: 'POST', rawUrl: path, headers: { ...headers, host: k.host }, signedHeaders, payloadHash: sha256Hex(body), sdkDate: headers['x-sdk-date'] }));
  const sig = w === null ? good : wrongHex(good, w);
  return encodeRequest(k.host, 'POST', path, { ...headers, authorization: `SDK-HMAC-SHA256 Access=${keyId}, SignedHeaders=${signedHeaders.join(';')}, Signature=${sig}` }, body);
}

const build = (k: Keys, s: Surface, w: Wrong) => (s === 'bearer' ? bearerRequest(k, w) : s === 'aliyun' ? aliyunRequest(k, w) : huaweiRequest(k, w));

/** Every access-log line's responseTime (ms), by request ID, as the server writes them. */
function serverTimes(kc: Kubecred): Map<string, number> {
  const times = new Map<string, number>();
  let rest = '';
  kc.child.stdout!.on('data', (d: Buffer) => {
    const lines = (rest + d.toString()).split('\n');
    rest = lines.pop()!;
    for (const l of lines) {
      if (!l.includes('"request completed"')) continue;
      const j = JSON.parse(l) as { requestId?: string; responseTime?: number };
      if (j.requestId && typeof j.responseTime === 'number') times.set(j.requestId, j.responseTime);
    }
  });
  return times;
}

const requestIdOf = (head: string) => /\r\nx-request-id:\s*(\S+)/i.exec(head)?.[1];

function shuffled<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = crypto.randomInt(i + 1);
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

/** A correct signature must get past authentication (to a not-found), or the wrong ones prove nothing. */
async function checkSigners(conn: WireConnection, k: Keys): Promise<void> {
  for (const [s, req] of [['aliyun', aliyunRequest(k, null)], ['huawei', huaweiRequest(k, null)]] as const) {
    if (!SURFACES.includes(s)) continue;
    const r = await conn.request(req);
    if (r.status === 400 || r.status === 401 || r.status === 403) throw new Error(`${s}: a correctly signed request was refused (${r.status} ${r.body.toString().slice(0, 300)})`);
  }
}

const log = (s: string) => process.stderr.write(`# ${s}\n`);
const pinning = pinSelf();
const load = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`node ${process.version}; ${pinning}; ${N.toLocaleString('en-US')} requests per class after ${WARMUP.toLocaleString('en-US')} unmeasured; load average at start ${load()}\n`);

const kc = await startKubecred();
try {
  const field = (label: string) => new RegExp(`${label}:\\s+(\\S+)`).exec(kc.output())?.[1] ?? '';
  const url = new URL(kc.url);
  const k: Keys = { host: url.host, token: kc.rootToken, akId: field('access key id'), akSecret: field('access key secret') };
  const times = serverTimes(kc);
  const conn = new WireConnection(url, kc.caPem);
  await conn.ready();
  await checkSigners(conn, k);

  const plan = (per: number) => shuffled(SURFACES.flatMap((s) => CLASSES.flatMap((w) => Array.from({ length: per }, () => ({ s, w })))));
  const expected: Record<Surface, number[]> = { bearer: [401], aliyun: [400, 404], huawei: [401] };
  const warm = plan(Math.ceil(WARMUP / (SURFACES.length * CLASSES.length)));
  for (const { s, w } of warm) await conn.request(build(k, s, w));
  log(`warm-up done (${warm.length} requests); measuring ${(N * SURFACES.length * CLASSES.length).toLocaleString('en-US')}`);

  const samples = plan(N).map(({ s, w }) => ({ s, w, rtt: 0, id: '' }));
  const unexpected = new Map<string, number>();
  const t0 = Date.now();
  for (const x of samples) {
    const bytes = build(k, x.s, x.w);
    const sent = process.hrtime.bigint();
    const r = await conn.request(bytes);
    x.rtt = Number(r.at - sent) / 1000;
    x.id = requestIdOf(r.head) ?? '';
    if (!expected[x.s].includes(r.status)) unexpected.set(`${x.s} ${x.w} ${r.status}`, (unexpected.get(`${x.s} ${x.w} ${r.status}`) ?? 0) + 1);
  }
  const seconds = (Date.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 1000));
  conn.close();
  const missing = samples.filter((x) => !times.has(x.id)).length;

  for (const s of SURFACES) {
    const of = (w: Wrong, which: 'server' | 'client') => samples.filter((x) => x.s === s && x.w === w && (which === 'client' || times.has(x.id)))
      .map((x) => (which === 'server' ? times.get(x.id)! * 1000 : x.rtt));
    const rows = PAIRS.map(([a, b, label]) => {
      const sv = compare(of(a, 'server'), of(b, 'server'));
      const cl = compare(of(a, 'client'), of(b, 'client'));
      const ok = Math.abs(sv.t) < T_THRESHOLD && Math.abs(sv.tCropped) < T_THRESHOLD;
      return [label, `${sv.a.n}/${sv.b.n}`, fmt(sv.a.mean, 1), fmt(sv.b.mean, 1), fmt(sv.t, 2), fmt(sv.croppedA.mean - sv.croppedB.mean, 2), fmt(sv.tCropped, 2), fmt(cl.t, 2), ok ? 'yes' : 'NO'];
    });
    const title = { bearer: 'bearer token (GET /v1/clusters, known token ID unless "unknown ID")', aliyun: 'Alibaba ACS3-HMAC-SHA256 (GET /k8s/{id}/user_config)', huawei: 'Huawei SDK-HMAC-SHA256 (POST .../clustercert)' }[s];
    console.log(table(`Timing: ${title}`, ['pair (a vs b)', 'n a/b', 'server mean a µs', 'mean b µs', 'Welch t', 'Δ mean ≤p90 µs', 't ≤p90', 'client t', `|t| < ${T_THRESHOLD}`], rows));
  }
  console.log(`${samples.length.toLocaleString('en-US')} requests in ${fmt(seconds, 1)} s; ${missing} without a server time; load average at end ${load()}`);
  console.log('server time: the access log\'s responseTime (Fastify, from the request\'s arrival to the response\'s end); "≤p90": both samples cropped at their pooled 90th percentile; client t: the round trip, uncropped; the verdict uses the two server t columns');
  if (unexpected.size) console.log(`unexpected statuses: ${[...unexpected].map(([k2, v]) => `${k2} ×${v}`).join(', ')}`);
} finally {
  await kc.stop();
  fs.rmSync(kc.dataDir, { recursive: true, force: true });
}
