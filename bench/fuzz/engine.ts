// The fuzzing loop shared by every target: seeded inputs, per-input timing, findings grouped by kind and
// minimized into a base64 reproducer. It knows nothing of kubecred; targets decide what is a finding.

import fs from 'node:fs';
import { Rng } from './rng.ts';

/** A violated property: the input crashed, hung, answered 5xx, threw an untyped error, or was too slow. */
export class Finding extends Error {
  /**
   * `group` says which findings are the same defect (default: the message with its numbers blanked); a crash
   * ends the target's run, as nothing after it means anything.
   */
  constructor(readonly kind: string, message: string, readonly fatal = false, readonly group?: string) {
    super(message);
    this.name = 'Finding';
  }
}

export interface Target<I> {
  name: string;
  /** One line: what the target feeds and to what. */
  covers: string;
  /** Per-input time above which an input is a finding (re-run thrice, the fastest counts); none for HTTP. */
  slowMs?: number;
  setup?(): Promise<void>;
  teardown?(): Promise<void>;
  generate(rng: Rng): I;
  /** Throws a Finding when the input breaks a property; anything else it throws is a finding too. */
  run(input: I): void | Promise<void>;
  encode(input: I): Buffer;
  decode(bytes: Buffer): I;
  /** Smaller variants of an input, tried in order while minimizing a finding. */
  shrink?(input: I): Iterable<I>;
}

export interface FindingReport { key: string; kind: string; message: string; count: number; reproducer: string; minimizedFrom: number }

export interface Stats {
  target: string;
  inputs: number;
  seconds: number;
  maxMs: number;
  p99Ms: number;
  over10: number;
  findings: FindingReport[];
}

const keyOf = (f: Finding) => `${f.kind}: ${f.group ?? f.message.split('\n')[0]!.replace(/\d+(\.\d+)?/g, 'N').slice(0, 160)}`;

/**
 * Where the input being run is written first: an input that aborts the process (a native assertion) leaves no
 * finding behind, only this file, which the supervisor (run.ts) turns into a "crash" finding.
 */
let inflight: number | undefined;
export function recordInflightTo(file: string): void {
  inflight = fs.openSync(file, 'w');
}

async function runOnce<I>(t: Target<I>, input: I): Promise<{ ms: number; finding: Finding | null }> {
  if (inflight !== undefined) {
    const bytes = t.encode(input);
    fs.ftruncateSync(inflight, 0);
    fs.writeSync(inflight, bytes, 0, bytes.length, 0);
  }
  const start = process.hrtime.bigint();
  let finding: Finding | null = null;
  try {
    const r = t.run(input);
    if (r) await r;
  } catch (e) {
    finding = e instanceof Finding ? e : new Finding('harness', `the target's check threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
  }
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, finding };
}

/** Runs an input; a slow one is run again, and only its fastest run decides (a GC pause or a busy neighbour is not a finding). */
export async function check<I>(t: Target<I>, input: I, timing = true): Promise<{ ms: number; finding: Finding | null }> {
  const first = await runOnce(t, input);
  if (first.finding || !timing || t.slowMs === undefined || first.ms <= t.slowMs) return first;
  let best = first.ms;
  for (let i = 0; i < 3 && best > t.slowMs; i++) {
    const again = await runOnce(t, input);
    if (again.finding) return again;
    best = Math.min(best, again.ms);
  }
  return { ms: first.ms, finding: best > t.slowMs ? new Finding('slow', `took ${best.toFixed(1)} ms at best (limit ${t.slowMs} ms)`) : null };
}

function* halves(bytes: Buffer): Iterable<Buffer> {
  for (let chunk = bytes.length >> 1; chunk >= 1; chunk >>= 1) {
    for (let at = 0; at + chunk <= bytes.length; at += chunk) yield Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + chunk)]);
  }
}

/** Greedy delta debugging over the target's shrinks (or the encoded bytes), keeping what still gives the same finding. */
async function minimize<I>(t: Target<I>, input: I, key: string, budgetMs: number, timing: boolean): Promise<I> {
  const deadline = Date.now() + budgetMs;
  let best = input;
  let improved = true;
  while (improved && Date.now() < deadline) {
    improved = false;
    const candidates = t.shrink ? t.shrink(best) : (function* () {
      for (const b of halves(t.encode(best))) {
        try { yield t.decode(b); } catch { /* not a decodable input */ }
      }
    })();
    for (const c of candidates) {
      if (Date.now() > deadline) break;
      const r = await check(t, c, timing);
      if (r.finding && keyOf(r.finding) === key && t.encode(c).length < t.encode(best).length) {
        best = c;
        improved = true;
        break;
      }
    }
  }
  return best;
}

export interface FuzzOptions {
  seed: number;
  seconds?: number;
  count?: number;
  minimizeMs?: number;
  /** false: time is recorded but never a finding (the test suite's smoke runs on machines too noisy to judge it). */
  timing?: boolean;
  progress?: (line: string) => void;
}

export async function fuzz<I>(t: Target<I>, o: FuzzOptions): Promise<Stats> {
  const rng = new Rng(o.seed);
  const found = new Map<string, { finding: Finding; input: I; count: number }>();
  let times = new Float64Array(1 << 16);
  let n = 0;
  let over10 = 0;
  const started = Date.now();
  const until = o.seconds !== undefined ? started + o.seconds * 1000 : Infinity;
  const limit = o.count ?? Infinity;
  let nextReport = started + 30_000;
  let fatal = false;
  while (n < limit && Date.now() < until && !fatal) {
    const input = t.generate(new Rng(rng.next()));
    const r = await check(t, input, o.timing ?? true);
    if (n === times.length) { const grown = new Float64Array(n * 2); grown.set(times); times = grown; }
    times[n++] = r.ms;
    if (r.ms > 10) over10++;
    if (r.finding) {
      const key = keyOf(r.finding);
      const seen = found.get(key);
      if (seen) seen.count++;
      else found.set(key, { finding: r.finding, input, count: 1 });
      fatal = r.finding.fatal || found.size >= 25;
    }
    if (o.progress && Date.now() > nextReport) {
      nextReport += 30_000;
      o.progress(`${t.name}: ${n} inputs, ${found.size} distinct findings, ${((Date.now() - started) / 1000).toFixed(0)} s`);
    }
  }
  const seconds = (Date.now() - started) / 1000;
  const sorted = times.slice(0, n).sort();
  const findings: FindingReport[] = [];
  for (const [key, f] of found) {
    const small = f.finding.fatal ? f.input : await minimize(t, f.input, key, o.minimizeMs ?? 20_000, o.timing ?? true);
    findings.push({ key, kind: f.finding.kind, message: f.finding.message, count: f.count, reproducer: t.encode(small).toString('base64'), minimizedFrom: t.encode(f.input).length });
  }
  return {
    target: t.name, inputs: n, seconds, findings, over10,
    maxMs: n ? sorted[n - 1]! : 0, p99Ms: n ? sorted[Math.min(n - 1, Math.floor(n * 0.99))]! : 0,
  };
}
