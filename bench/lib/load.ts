// A small keep-alive load generator (wire.ts: pre-encoded requests, minimal parsing). Two modes:
//   closed loop: N workers, each on its own connection, send the next request when the previous reply
//     has come (req/s and CPU per request at a given concurrency);
//   paced (`rate`): an open-loop schedule, request i planned at start + i/rate, sent on any idle
//     connection of a pool of N (see runPaced for how it is timed).
// Latencies come from process.hrtime.bigint(), server CPU from /proc/<pid>/stat around the measured run.
// makeAgent/send (node:https) remain for the few setup calls that are not measured.

import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import { CLK_TCK, LOAD_CPU, SERVER_CPU, TASKSET, cpuMicros } from './proc.ts';
import { WireConnection, encodeRequest, type WireReply } from './wire.ts';

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

/** What a paced run saw besides the latencies: how well the schedule was kept, and who waited for a CPU. */
/** One scrape of a kubecred server's /metrics: a sample's value by name (NaN when absent). */
export async function scrapeMetrics(target: Target): Promise<(name: string) => number> {
  const agent = makeAgent(target, 1);
  try {
    const body = (await send(target, agent, { method: 'GET', path: '/metrics' })).body;
    return (name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(body)?.[1] ?? NaN);
  } finally {
    agent.destroy();
  }
}

export interface PacedStats {
  /** Requests per second asked for. */
  rate: number;
  /** Connections in the pool (the most requests in flight at once). */
  connections: number;
  /** Most requests in flight at once during the measured window. */
  maxInFlight: number;
  /** Requests that found every connection busy and waited for one (timed from their planned moment). */
  queued: number;
  /** The scheduler's own lateness (a timer firing after the planned send), p99 and max, µs. */
  lateP99us: number;
  lateMaxUs: number;
  /** Generator stalls: the scheduler woke more than STALL_MS after a planned send (descheduled, GC). */
  stalls: number;
  stallMs: number;
  /** Schedule slots that fell inside those stalls and were skipped, not sent late as a burst. */
  skipped: number;
  /** Replies read while the generator was overdue: their latency may include a generator stall. */
  readLate: number;
  p999us: number;
  maxUs: number;
  /** The server's main thread: time it was runnable but waited for its CPU, and times it was scheduled (/proc/<pid>/schedstat). */
  serverWaitMs: number;
  serverRuns: number;
  /** The same for the generator's main thread. */
  genWaitMs: number;
  /** CPU time other processes used on the server's core, and on the generator's, during the window (/proc/stat; NaN unpinned). */
  serverCpuOthersMs: number;
  genCpuOthersMs: number;
  /** The generator's scheduling priority during the run. */
  genNice: string;
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
  /** Paced runs only. */
  paced?: PacedStats;
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
  /** Closed loop: workers, each with its own connection. Paced: connections in the pool. */
  concurrency: number;
  durationMs: number;
  warmupMs?: number;
  /** Total requests per second to pace at (an open-loop schedule); absent: as fast as replies come. */
  rate?: number;
  /** The i-th request (i counts across all workers). */
  call: (i: number) => Call;
  /** Throws when a reply is wrong; its return value is ignored. */
  check?: (r: Reply) => void;
}

/** Every paced run of this process, in order, for a report after the tables (bench/run.ts). */
export const pacedRuns: Array<{ path: string; result: LoadResult }> = [];

/**
 * A scheduler wake-up this much later than a planned send is a stall of the generator itself. Node's
 * timers are whole milliseconds and this VM's wake-ups are ~1 ms late at p99 (an idle C sleeper measures
 * the same), so lateness up to ~2 ms is ordinary; the requests due meanwhile go out together, a burst no
 * bigger than independent (Poisson) callers make at the same rate. Beyond this, slots are skipped.
 */
export const STALL_MS = 5;
/** A paced phase that cannot finish its last replies this long after its end fails them. */
const DRAIN_MS = 10_000;

/** Latencies in µs, in a typed array that grows by doubling (no boxed numbers: less GC in the generator). */
class Samples {
  #a = new Float64Array(1 << 16);
  n = 0;
  push(v: number): void {
    if (this.n === this.#a.length) {
      const b = new Float64Array(this.#a.length * 2);
      b.set(this.#a);
      this.#a = b;
    }
    this.#a[this.n++] = v;
  }
  sorted(): Float64Array {
    return this.#a.slice(0, this.n).sort();
  }
}

/** [run time, run-queue wait] of one thread in ns, and how many times it ran; null where /proc has no schedstat. */
function schedstat(pid: number): [number, number, number] | null {
  try {
    const f = fs.readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(' ').map(Number);
    return f.length >= 3 && f.every(Number.isFinite) ? [f[0]!, f[1]!, f[2]!] : null;
  } catch {
    return null;
  }
}

/** Busy time of one CPU (everything but idle and iowait), ms, from /proc/stat. */
function coreBusyMs(cpu: string): number | null {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`cpu${cpu} `));
  if (!line) return null;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + (f[7] ?? 0);
  return (busy * 1000) / CLK_TCK;
}

interface Snapshot {
  srvWait: number | null; srvRuns: number | null; genWait: number | null;
  srvCoreBusyMs: number | null; srvCpuMs: number | null; genCoreBusyMs: number | null; genCpuMs: number | null;
}

/** Who had the CPUs: run-queue waits of the server's and the generator's main threads, and each pinned core's busy time beside theirs. */
function snapshot(pid: number | undefined): Snapshot {
  const srv = pid ? schedstat(pid) : null;
  const gen = schedstat(process.pid);
  const u = process.cpuUsage();
  return {
    srvWait: srv?.[1] ?? null, srvRuns: srv?.[2] ?? null, genWait: gen?.[1] ?? null,
    srvCoreBusyMs: TASKSET && pid ? coreBusyMs(SERVER_CPU) : null, srvCpuMs: pid ? cpuMicros(pid) / 1000 : null,
    genCoreBusyMs: TASKSET ? coreBusyMs(LOAD_CPU) : null, genCpuMs: (u.user + u.system) / 1000,
  };
}

/** Raises this thread's priority (nice -20; root only) while `fn` runs, so the generator's own waits for its CPU stay out of the latencies. */
async function boosted<T>(fn: (nice: string) => Promise<T>): Promise<T> {
  let before: number | null = null;
  let nice: string;
  try {
    before = os.getPriority(0);
    os.setPriority(0, -20);
    nice = '-20';
  } catch {
    nice = before === null ? 'unknown' : `${before} (raising it was not permitted)`;
    before = null;
  }
  try {
    return await fn(nice);
  } finally {
    if (before !== null) {
      try {
        os.setPriority(0, before);
      } catch {
        // Lowering a priority is always permitted; nothing to do if even that fails.
      }
    }
  }
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const url = new URL(o.target.url);
  const host = url.host;
  // Callers often return the same Call objects again and again (encode each once), or fresh objects with
  // the same few contents (e.g. `{ ...call, path }`): those are found by their text, so the generator
  // neither re-encodes every request nor keeps every fresh object alive (old-space growth means
  // mark-compact pauses in the generator, which show up as the server's latency).
  const byCall = new Map<Call, Buffer>();
  const byText = new Map<string, Buffer>();
  const bytesOf = (c: Call) => {
    let b = byCall.get(c);
    if (b) return b;
    const key = `${c.method} ${c.path}\n${c.headers ? JSON.stringify(c.headers) : ''}\n${c.body ?? ''}`;
    b = byText.get(key);
    if (!b) {
      b = encodeRequest(host, c.method, c.path, c.headers, c.body);
      if (byText.size < 16_384) byText.set(key, b);
      // A Call seen for the first time by its text may be one of a fixed set: remember it too.
      if (byCall.size < 16_384) byCall.set(c, b);
    }
    return b;
  };
  const conns = Array.from({ length: o.concurrency }, () => new WireConnection(url, o.target.ca));
  let seq = 0;
  let errors = 0;
  let firstError: string | undefined;
  /** Throws when the reply is not a good one. */
  const verify = (raw: WireReply) => {
    if (raw.status >= 200 && raw.status < 300 && !o.check) return;
    const r = { status: raw.status, body: raw.body.toString('utf8') };
    if (r.status < 200 || r.status >= 300) throw new Error(`HTTP ${r.status}: ${r.body.slice(0, 300)}`);
    o.check!(r);
  };
  const measure = async (phase: (ms: number, record: Samples | null) => Promise<void>, extra?: (seconds: number, sorted: Float64Array) => PacedStats) => {
    if (o.warmupMs) await phase(o.warmupMs, null);
    const samples = new Samples();
    const cpu0 = o.pid ? cpuMicros(o.pid) : NaN;
    const gen0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await phase(o.durationMs, samples);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu1 = o.pid ? cpuMicros(o.pid) : NaN;
    const gen = process.cpuUsage(gen0);
    const sorted = samples.sorted();
    const result: LoadResult = {
      requests: samples.n, errors, firstError, seconds,
      rps: samples.n / seconds,
      p50us: percentile(sorted, 50), p99us: percentile(sorted, 99),
      cpuPerReqUs: (cpu1 - cpu0) / Math.max(1, samples.n),
      genCpuPct: ((gen.user + gen.system) / 1e6 / seconds) * 100,
    };
    if (extra) result.paced = extra(seconds, sorted);
    return result;
  };
  try {
    await Promise.all(conns.map((c) => c.ready()));
    if (!o.rate) return await measure(closedPhase);
    return await boosted((nice) => runPaced(nice));
  } finally {
    for (const c of conns) c.close();
  }

  /** Closed loop: each worker sends its next request when its previous reply has come. */
  async function closedPhase(ms: number, record: Samples | null): Promise<void> {
    const end = process.hrtime.bigint() + BigInt(Math.round(ms * 1e6));
    const worker = async (conn: WireConnection) => {
      for (;;) {
        const t0 = process.hrtime.bigint();
        if (t0 >= end) break;
        try {
          const raw = await conn.request(bytesOf(o.call(seq++)));
          verify(raw);
          record?.push(Number(raw.at - t0) / 1e3);
        } catch (e) {
          firstError ??= (e as Error).message;
          if (!record) throw e;
          errors++;
          if (/connection closed|ECONN|EPIPE/.test((e as Error).message)) break;
        }
      }
    };
    await Promise.all(conns.map(worker));
  }

  /**
   * Paced, the way a constant-throughput generator (wrk2) must be, without its per-connection queues:
   * - request i is planned at start + i/rate (one schedule for the whole run) and goes out at once on
   *   any idle connection of the pool, as kube-apiserver's HTTP client does (it opens or reuses a
   *   connection per request in flight; it never holds a request behind a busy one while others idle);
   * - a request that finds every connection busy (the server is behind) waits for the first free one
   *   and is timed from its planned moment: the wait is the server's (no coordinated omission);
   * - one sent on time is timed from its real send: the scheduler wakes on a 1 ms timer, so requests go
   *   out up to ~1-2 ms after their planned moment, a few at a time (like independent clients' requests);
   *   that lateness is the generator's, not the server's;
   * - when the generator itself stalls (the scheduler wakes more than STALL_MS late: descheduled by a
   *   neighbour, its own GC), the slots it missed are skipped and counted, not sent late as a burst the
   *   server would then be blamed for; the req/s column shows the rate actually sent;
   * - replies are timed in the socket's data callback (wire.ts), and the generator runs at nice -20 when
   *   allowed, so that its own waits for a CPU do not count as the server's latency; replies read while
   *   the generator was overdue anyway are counted (readLate) and keep their measured latency.
   */
  async function runPaced(nice: string): Promise<LoadResult> {
    const intervalNs = 1e9 / o.rate!;
    const stallNs = STALL_MS * 1e6;
    let queued = 0;
    let maxInFlight = 0;
    let stalls = 0;
    let stallNs_ = 0;
    let skipped = 0;
    let readLate = 0;
    let late = new Samples();
    const phase = (ms: number, record: Samples | null) => new Promise<void>((resolve, reject) => {
      // Times as Numbers of ns since `origin` (exact to well below a µs for hours).
      const origin = process.hrtime.bigint();
      const now = () => Number(process.hrtime.bigint() - origin);
      const endNs = ms * 1e6;
      let slot = 0;
      const plannedAt = (k: number) => k * intervalNs;
      const idle: WireConnection[] = conns.filter((c) => !c.closed);
      const waiting: number[] = []; // planned times (ns) of requests with no free connection yet
      let inFlight = 0;
      let timer: NodeJS.Timeout | null = null;
      let finished = false;
      let drainTimer: NodeJS.Timeout | null = null;
      if (record) late = new Samples();
      const finish = (e?: Error) => {
        if (finished) return;
        finished = true;
        if (timer) clearTimeout(timer);
        if (drainTimer) clearTimeout(drainTimer);
        if (e) reject(e);
        else resolve();
      };
      const maybeDone = () => {
        if (plannedAt(slot) >= endNs && inFlight === 0 && waiting.length === 0) finish();
      };
      const fail = (e: Error) => {
        firstError ??= e.message;
        if (!record) return finish(e);
        errors++;
      };
      const fire = (conn: WireConnection, t0: number) => {
        inFlight++;
        if (record && inFlight > maxInFlight) maxInFlight = inFlight;
        const sentAt = t0 < 0 ? now() : t0;
        conn.send(bytesOf(o.call(seq++)), (err, raw) => {
          inFlight--;
          if (err) {
            fail(err);
            if (conn.closed) {
              if (!conns.some((c) => !c.closed)) return finish(new Error(`every connection failed: ${err.message}`));
            } else {
              idle.push(conn);
            }
          } else {
            const at = Number(raw!.at - origin);
            // Overdue: the scheduler should have woken for the next slot a stall ago and has not yet.
            if (record && at > plannedAt(slot) + stallNs && plannedAt(slot) < endNs) readLate++;
            try {
              verify(raw!);
              record?.push((at - sentAt) / 1e3);
            } catch (e) {
              fail(e as Error);
            }
            idle.push(conn);
          }
          if (waiting.length && idle.length) fire(idle.pop()!, waiting.shift()!);
          maybeDone();
        });
      };
      const tick = () => {
        timer = null;
        if (finished) return;
        const t = now();
        const due = plannedAt(slot);
        if (due < endNs) {
          const lateBy = t - due;
          if (lateBy > stallNs) {
            // The generator was not running when it should have sent: skip what it missed, keep the rate.
            const missed = Math.floor(lateBy / intervalNs);
            stalls += record ? 1 : 0;
            stallNs_ += record ? lateBy : 0;
            skipped += record ? missed : 0;
            slot += missed;
          }
          if (record) late.push(Math.max(0, lateBy) / 1e3);
          while (plannedAt(slot) <= t && plannedAt(slot) < endNs) {
            const planned = plannedAt(slot++);
            const conn = idle.pop();
            if (conn) fire(conn, -1);
            else {
              if (record) queued++;
              waiting.push(planned);
            }
          }
        }
        if (plannedAt(slot) < endNs) {
          timer = setTimeout(tick, Math.max(0, (plannedAt(slot) - now()) / 1e6));
        } else {
          maybeDone();
          drainTimer ??= setTimeout(() => {
            const e = new Error(`paced run: ${inFlight + waiting.length} requests still unanswered ${DRAIN_MS} ms after the last was planned`);
            firstError ??= e.message;
            if (!record) return finish(e);
            errors += inFlight + waiting.length;
            finish();
          }, DRAIN_MS);
        }
      };
      tick();
    });
    let before: Snapshot | null = null;
    let after: Snapshot | null = null;
    const result = await measure(async (ms, record) => {
      if (record) before = snapshot(o.pid);
      await phase(ms, record);
      if (record) after = snapshot(o.pid);
    }, (_seconds, sorted) => {
      const lateSorted = late.sorted();
      const b = before!;
      const a = after!;
      const diff = (x: number | null, y: number | null) => (x === null || y === null ? NaN : y - x);
      return {
        rate: o.rate!, connections: o.concurrency, maxInFlight, queued,
        lateP99us: percentile(lateSorted, 99), lateMaxUs: lateSorted.length ? lateSorted[lateSorted.length - 1]! : NaN,
        stalls, stallMs: stallNs_ / 1e6, skipped, readLate,
        p999us: percentile(sorted, 99.9), maxUs: sorted.length ? sorted[sorted.length - 1]! : NaN,
        serverWaitMs: diff(b.srvWait, a.srvWait) / 1e6,
        serverRuns: diff(b.srvRuns, a.srvRuns),
        genWaitMs: diff(b.genWait, a.genWait) / 1e6,
        serverCpuOthersMs: Math.max(0, diff(b.srvCoreBusyMs, a.srvCoreBusyMs) - diff(b.srvCpuMs, a.srvCpuMs)),
        genCpuOthersMs: Math.max(0, diff(b.genCoreBusyMs, a.genCoreBusyMs) - diff(b.genCpuMs, a.genCpuMs)),
        genNice: nice,
      };
    });
    pacedRuns.push({ path: o.call(0).path, result });
    return result;
  }
}

/** A paced run's row label from its request path: the webhook, or the bare reference route. */
export const pacedLabel = (p: string) => (p === '/authorize' ? 'bare Fastify paced (reference)' : p.startsWith('/kube/clusters/') ? 'kubecred SAR paced' : p);

/**
 * The paced runs recorded since `from`, as a table: the latency tail beside what the generator and the
 * server's CPU did meanwhile (bench/run.ts prints it after Table 2).
 */
export function pacedReport(title: string, from = 0, label: (path: string) => string = pacedLabel): string {
  const runs = pacedRuns.slice(from).filter((r) => r.result.paced);
  const f = (n: number, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : '-');
  const msf = (us: number) => f(us / 1000, 2);
  const head = ['row', 'asked/s', 'sent/s', 'conns (most busy)', 'p50 / p99 / p99.9 / max ms', 'waited for a conn', 'gen late p99 / max ms', 'gen stalls (slots skipped)', 'read late',
    'server waited for CPU', `others on CPU ${SERVER_CPU}`, 'gen waited for CPU', `others on CPU ${LOAD_CPU}`];
  const pct = (ms: number, seconds: number) => `${f(ms)} ms (${f(ms / 10 / seconds, 1)} %)`;
  const rows = runs.map(({ path, result: r }) => {
    const p = r.paced!;
    return [
      label(path), f(p.rate), f(r.rps), `${p.connections} (${p.maxInFlight})`, [r.p50us, r.p99us, p.p999us, p.maxUs].map(msf).join(' / '),
      f(p.queued), `${msf(p.lateP99us)} / ${msf(p.lateMaxUs)}`, `${f(p.stalls)} (${f(p.skipped)})`, f(p.readLate),
      pct(p.serverWaitMs, r.seconds), pct(p.serverCpuOthersMs, r.seconds), pct(p.genWaitMs, r.seconds), pct(p.genCpuOthersMs, r.seconds),
    ];
  });
  const cells = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  const nice = [...new Set(runs.map((r) => r.result.paced!.genNice))].join(', ');
  return [
    title, line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line),
    `  open-loop schedule (request i planned at i/rate), sent on any idle connection of the pool; timed from the real send, or from the planned moment when every connection was busy ("waited for a conn")`,
    `  gen late: how long after a planned send the generator's 1 ms timer woke; over ${STALL_MS} ms is a generator stall: its slots are skipped, not sent as a burst; "read late": replies read during such a stall (latency kept as measured)`,
    `  waited for CPU: time the server's (generator's) main thread was runnable but not running (/proc/<pid>/schedstat run delay), because of other processes on its core ("others on CPU n",`,
    `  /proc/stat) or, when those are idle, because the hypervisor had not given the vCPU back (steal, which this guest's /proc/stat does not report); generator nice ${nice}`,
  ].join('\n') + '\n';
}
