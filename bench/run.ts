// `npm run bench`: pins itself and the servers, then prints issue 9's tables (issuance beside cfssl and
// the crypto floor; webhook beside a bare route; scale and revocation on a million credentials) and a
// summary against the targets. See docs/performance.md. Flags:
//   --credentials N     size of the scale store (default 1,000,000)
//   --scale-dir DIR     load the scale store into DIR and keep it, or reuse the one a previous run left there
//   --skip-scale        Table 1 only
//   --only webhook      Table 2 only (on the scale store; one start-up, no Tables 1, 3, 4)
//   --repeat N          with --only webhook: Table 2 N times on the same server, then the median of each row

import os from 'node:os';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { runBench } from './lib/bench.ts';
import { pacedLabel, pacedReport, pacedRuns, type LoadResult } from './lib/load.ts';
import { CLK_TCK, pinSelf, SERVER_CPU, startKubecred } from './lib/proc.ts';
import { scaleStore, webhookTable } from './lib/scale-suites.ts';
import type { Plan } from './lib/suites.ts';
import { fmt, table } from './lib/table.ts';
import { scriptArgs } from './lib/args.ts';

const { args, opt } = scriptArgs(import.meta.url);
const credentials = Number(opt('--credentials') ?? 1_000_000);
const only = opt('--only');
if (only !== undefined && only !== 'webhook') throw new Error(`--only: expected "webhook", got ${only}`);
const repeat = Math.max(1, Number(opt('--repeat') ?? 1));

const fullPlan: Plan = {
  runMs: 4000, warmupMs: 2000, prewarmRequests: 6000, pacedRunMs: 15000, concurrencies: [1, 2, 16], csrConcurrencies: [1, 16], csrCount: 300, floorMs: 2000, tryCfssl: true,
  credentials, principals: Math.max(100, Math.round(credentials / 100)), clusters: 10,
  webhookConcurrencies: [1, 16], inventoryRequests: 2000, revocations: 20,
};

const log = (s: string) => process.stderr.write(`# ${s}\n`);
let pacedFrom = 0;
/** The paced runs of each Table 2 printed, in order. */
const pacedByTable: Array<typeof pacedRuns> = [];
/** Prints a table; after Table 2, the paced runs it made, with what the generator and the server's CPU did meanwhile. */
const print = (s: string) => {
  console.log(s);
  if (s.startsWith('Table 2.')) {
    console.log(pacedReport('Table 2b. Paced runs of Table 2: the tail beside the generator and the server\'s CPU', pacedFrom));
    pacedByTable.push(pacedRuns.slice(pacedFrom));
    pacedFrom = pacedRuns.length;
  }
};
const cpuModel = /model name\s*:\s*(.+)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
const nproc = execFileSync('nproc', { encoding: 'utf8' }).trim();
const started = Date.now();
const pinning = pinSelf();
const load = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`machine: nproc ${nproc}, ${cpuModel}, node ${process.version}, CLK_TCK ${CLK_TCK}; ${pinning}; load average at start ${load()}`);
console.log(`each measured run: ${fullPlan.runMs / 1000} s after ${fullPlan.warmupMs / 1000} s warm-up (Table 1's servers first answer ${fullPlan.prewarmRequests.toLocaleString('en-US')} unmeasured requests); server CPU = utime+stime of all its threads from /proc/<pid>/stat\n`);

let failures: string[];
if (only === 'webhook') {
  failures = [];
  const scaleDir = opt('--scale-dir') ?? null;
  const { loaded } = await scaleStore(scaleDir, fullPlan, log, 10 + repeat * 3);
  const kc = await startKubecred({ dataDir: loaded.dataDir, rootToken: loaded.rootToken, rootPrincipalId: loaded.rootPrincipalId });
  log(`kubecred on the scale store: started in ${fmt(kc.startMs)} ms`);
  try {
    const runs: string[] = [];
    for (let i = 0; i < repeat; i++) {
      const wh = await webhookTable(kc, loaded, fullPlan, log, failures);
      if (repeat > 1) console.log(`run ${i + 1} of ${repeat}, load average ${load()}`);
      print(wh.text);
      runs.push(wh.text);
    }
    if (repeat > 1) console.log(medianTable(runs) + '\n' + pacedMedians());
  } finally {
    await kc.stop();
    if (!scaleDir) fs.rmSync(loaded.dataDir, { recursive: true, force: true });
  }
} else {
  const r = await runBench(fullPlan, {
    scaleDir: opt('--scale-dir') ?? null, skipScale: args.includes('--skip-scale'), startupRounds: 3, log, print,
  });
  console.log(r.summary);
  failures = r.failures;
}
console.log(`load average at the end ${load()}; bench took ${fmt((Date.now() - started) / 1000)} s`);
if (failures.length) {
  console.log(`FAILURES:\n${failures.map((f) => `  - ${f}`).join('\n')}`);
  process.exitCode = 1;
}

/**
 * A reused scale store ages: its "active, unexpired" samples (temporary credentials of 15 min to 3 days)
 * expire, and one expiring during a run turns "no opinion" into a deny, which the run counts as an error.
 * Keeps the samples still valid `minutes` from now.
 */
/** Medians, per paced row (matched by position), of what Table 2b showed for each of the repeated runs. */
function pacedMedians(): string {
  const med = (xs: number[]) => {
    const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
    return v.length ? v[Math.floor((v.length - 1) / 2)]! : NaN;
  };
  const positions = Math.max(0, ...pacedByTable.map((t) => t.length));
  const rows = Array.from({ length: positions }, (_, i) => {
    const runs = pacedByTable.map((t) => t[i]).filter((r) => r?.result.paced);
    const rs = runs.map((r) => r!.result);
    const m = (f: (r: LoadResult) => number, d = 2) => fmt(med(rs.map(f)), d);
    const pct = (f: (r: LoadResult) => number) => `${m((r) => f(r) / 10 / r.seconds, 1)} %`;
    return [pacedLabel(runs[0]!.path), rs.length, m((r) => r.paced!.rate, 0), m((r) => r.rps, 0), m((r) => r.p50us / 1000), m((r) => r.p99us / 1000), m((r) => r.paced!.p999us / 1000),
      m((r) => r.paced!.maxUs / 1000), m((r) => r.paced!.queued, 0), pct((r) => r.paced!.serverWaitMs), pct((r) => r.paced!.serverCpuOthersMs), pct((r) => r.paced!.genWaitMs)];
  });
  return table(`Table 2b, median of ${pacedByTable.length} runs`, ['row', 'runs', 'asked/s', 'sent/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'waited for a conn', 'server waited for CPU', `others on CPU ${SERVER_CPU}`, 'gen waited for CPU'], rows);
}

/** The median of every numeric cell of Table 2 across repeated runs, row by row (rows matched by position). */
function medianTable(texts: string[]): string {
  const parse = (t: string) => {
    const lines = t.split('\n');
    const head = lines[1]!;
    const rule = lines[2]!;
    // Column boundaries from the dashed rule under the header.
    const cols: Array<[number, number]> = [];
    for (const m of rule.matchAll(/-+/g)) cols.push([m.index!, m.index! + m[0].length]);
    // Rows start in column 0; notes are indented, except the "kubecred / bare" ratio rows.
    const rows = lines.slice(3).filter((l) => (l.trim() && !l.startsWith(' ')) || /^ {2}kubecred \/ bare/.test(l))
      .map((l) => cols.map(([a, b], i) => (i === 0 ? l.slice(a, cols[1]![0]).trimEnd() : l.slice(cols[i - 1]![1], b).trim())));
    return { head: cols.map(([a, b], i) => (i === 0 ? head.slice(a, cols[1]![0]).trim() : head.slice(cols[i - 1]![1], b).trim())), rows };
  };
  const parsed = texts.map(parse);
  const { head, rows } = parsed[0]!;
  const num = (s: string) => (s === '' || s === '-' ? NaN : Number(s.replace(/,/g, '')));
  const med = (xs: number[]) => {
    const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
    return v.length ? v[Math.floor((v.length - 1) / 2)]! : NaN;
  };
  const out = rows.map((r, ri) => r.map((cell, ci) => {
    if (ci === 0) return cell.replace(/paced at [\d,]+\/s/, 'paced');
    const xs = parsed.map((p) => num(p.rows[ri]?.[ci] ?? ''));
    if (!xs.some(Number.isFinite)) return cell;
    const digits = /\.\d+$/.exec(cell)?.[0].length ?? 1;
    return fmt(med(xs), Math.max(0, digits - 1));
  }));
  return table(`Table 2, median of ${texts.length} runs (each cell separately; paced rates differ per run)`, head, out);
}
