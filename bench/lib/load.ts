// A small keep-alive load generator: N workers, each on its own connection (wire.ts: pre-encoded
// requests, minimal parsing), loop over requests for a fixed time, or pace them at a fixed total rate.
// Latencies come from process.hrtime.bigint(), server CPU from /proc/<pid>/stat around the measured run.
// makeAgent/send (node:https) remain for the few setup calls that are not measured.

import http from 'node:http';
import https from 'node:https';
import { cpuMicros } from './proc.ts';
import { WireConnection, encodeRequest } from './wire.ts';

export interface Target {
  url: string;
  /** PEM the client trusts (https only). */
  ca?: string;
}

export interface Call {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface Reply { status: number; body: string }

export function makeAgent(target: Target, sockets: number): http.Agent {
  return target.url.startsWith('https:')
    ? new https.Agent({ keepAlive: true, maxSockets: sockets, ca: target.ca })
    : new http.Agent({ keepAlive: true, maxSockets: sockets });
}

export function send(target: Target, agent: http.Agent, call: Call): Promise<Reply> {
  const url = new URL(call.path, target.url);
  const mod = url.protocol === 'https:' ? https : http;
  const headers: Record<string, string> = { ...call.headers };
  if (call.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    headers['content-length'] = String(Buffer.byteLength(call.body));
  }
  return new Promise((resolve, reject) => {
    const req = mod.request(url, { method: call.method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (call.body !== undefined) req.write(call.body);
    req.end();
  });
}

export interface LoadResult {
  requests: number;
  errors: number;
  firstError?: string;
  seconds: number;
  rps: number;
  p50us: number;
  p99us: number;
  /** Server CPU (utime+stime) per successful request, µs; NaN when no pid was given. */
  cpuPerReqUs: number;
  /** The load generator's own CPU use during the run, % of one core (near 100: the generator limits req/s). */
  genCpuPct: number;
}

export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export interface LoadOptions {
  target: Target;
  /** Server pid whose CPU time is read before and after (the measured window only). */
  pid?: number;
  concurrency: number;
  durationMs: number;
  warmupMs?: number;
  /** Total requests per second to pace at (spread over the workers); absent: as fast as replies come. */
  rate?: number;
  /** The i-th request (i counts across all workers). */
  call: (i: number) => Call;
  /** Throws when a reply is wrong; its return value is ignored. */
  check?: (r: Reply) => void;
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const url = new URL(o.target.url);
  const host = url.host;
  const encoded = new Map<Call, Buffer>();
  const bytesOf = (c: Call) => {
    // Callers often return the same Call objects again and again: encode each once.
    let b = encoded.get(c);
    if (!b) {
      b = encodeRequest(host, c.method, c.path, c.headers, c.body);
      if (encoded.size < 65_536) encoded.set(c, b);
    }
    return b;
  };
  const conns = Array.from({ length: o.concurrency }, () => new WireConnection(url, o.target.ca));
  let seq = 0;
  let errors = 0;
  let firstError: string | undefined;
  const latencies: number[] = [];
  const phase = async (ms: number, record: boolean) => {
    const start = process.hrtime.bigint();
    const end = start + BigInt(Math.round(ms * 1e6));
    // Paced: worker w sends at start + (w + k * workers) / rate. A request its connection could not send
    // on time, because the previous reply was late, is timed from its planned moment (the server made it
    // wait); one whose timer merely fired late is timed from when it was sent (the generator's lateness).
    const intervalNs = o.rate ? 1e9 / o.rate : 0;
    const worker = async (w: number, conn: WireConnection) => {
      let freeAt = start;
      for (let k = 0; ; k++) {
        let t0 = process.hrtime.bigint();
        if (intervalNs) {
          const planned = start + BigInt(Math.round((w + k * o.concurrency) * intervalNs));
          if (planned >= end) break;
          if (planned > t0) await new Promise((r) => setTimeout(r, Number(planned - t0) / 1e6));
          t0 = freeAt > planned ? planned : process.hrtime.bigint();
        } else if (t0 >= end) {
          break;
        }
        try {
          const raw = await conn.request(bytesOf(o.call(seq++)));
          const t1 = process.hrtime.bigint();
          freeAt = t1;
          const r = { status: raw.status, body: raw.body.toString('utf8') };
          if (r.status < 200 || r.status >= 300) throw new Error(`HTTP ${r.status}: ${r.body.slice(0, 300)}`);
          o.check?.(r);
          if (record) latencies.push(Number(t1 - t0) / 1e3);
        } catch (e) {
          if (record) errors++;
          firstError ??= (e as Error).message;
          if (!record) throw e;
          if (/connection closed|ECONN|EPIPE/.test((e as Error).message)) break;
        }
      }
    };
    await Promise.all(conns.map((c, w) => worker(w, c)));
  };
  try {
    if (o.warmupMs) await phase(o.warmupMs, false);
    const cpu0 = o.pid ? cpuMicros(o.pid) : NaN;
    const gen0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await phase(o.durationMs, true);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu1 = o.pid ? cpuMicros(o.pid) : NaN;
    const gen = process.cpuUsage(gen0);
    const sorted = Float64Array.from(latencies).sort();
    return {
      requests: latencies.length, errors, firstError, seconds,
      rps: latencies.length / seconds,
      p50us: percentile(sorted, 50), p99us: percentile(sorted, 99),
      cpuPerReqUs: (cpu1 - cpu0) / Math.max(1, latencies.length),
      genCpuPct: ((gen.user + gen.system) / 1e6 / seconds) * 100,
    };
  } finally {
    for (const c of conns) c.close();
  }
}
