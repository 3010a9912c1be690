// `npm run fuzz -- [--target NAME[,NAME]] [--seconds N] [--count N] [--seed S] [--replay B64]`: fuzzes
// kubecred's parsers in-process and its API surfaces over HTTP against a real `kubecred serve`, prints a table
// per target and a minimized base64 reproducer per finding, and exits 1 on any finding. See docs/fuzzing.md.
//   --target NAME    one or more targets, comma-separated (default: all); --list names them
//   --seconds N      per target (default 60); --count N runs N inputs per target instead
//   --seed S         PRNG seed (default: from the clock; printed, so a run can be repeated)
//   --replay B64     run one reproducer (base64, or @file holding it) against the one --target and say what it does
//   --json FILE      also write the results as JSON (what test/fuzz.test.ts reads)
//   --no-timing      record times but never report a slow input (for the test suite's smoke run)
//   --one-process    run the targets in one worker process instead of one each (starts faster; a crash ends the rest)
//   --findings-dir D where long reproducers are written (default: .fuzz-findings/ in this checkout, ignored by git)
// Each target runs in its own process, so an input that aborts Node (a native assertion) is reported as a crash
// with the input that was running, instead of taking the whole run down.

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { check, fuzz, recordInflightTo, type Stats, type Target } from './engine.ts';
import { table, fmt } from '../lib/table.ts';
import { allTargets } from './targets.ts';
import { scriptArgs } from '../lib/args.ts';

const { args, opt } = scriptArgs(import.meta.url);
const targets = allTargets();
if (args.includes('--list')) {
  for (const t of targets) console.log(`${t.name.padEnd(12)} ${t.covers}`);
  process.exit(0);
}
const targetOf = (n: string) => targets.find((t) => t.name === n) ?? (() => { throw new Error(`--target: no target ${n}; --list names them`); })();
const chosen = (opt('--target')?.split(',') ?? targets.map((t) => t.name)).map(targetOf);
const seed = opt('--seed') !== undefined ? Number(opt('--seed')) >>> 0 : Date.now() >>> 0;
const count = opt('--count') !== undefined ? Number(opt('--count')) : undefined;
const seconds = count !== undefined ? undefined : Number(opt('--seconds') ?? 60);
const FINDINGS_DIR = path.resolve(opt('--findings-dir') ?? fileURLToPath(new URL('../../.fuzz-findings/', import.meta.url)));
const log = (s: string) => process.stderr.write(`# ${s}\n`);

async function withTarget<T>(t: Target<unknown>, run: () => Promise<T>): Promise<T> {
  await t.setup?.();
  try {
    return await run();
  } finally {
    await t.teardown?.();
  }
}

/** Worker: the targets in this process, one after the other; results go to a file the supervisor reads. */
async function worker(names: string[], out: string, inflightFile: string): Promise<void> {
  const all: Stats[] = [];
  for (const name of names) {
    const t = targetOf(name);
    // Which target the in-flight input belongs to, should the process die on it.
    fs.writeFileSync(`${inflightFile}.target`, name);
    recordInflightTo(inflightFile);
    all.push(await withTarget(t, () => fuzz(t, { seed, seconds, count, timing: !args.includes('--no-timing'), progress: log })));
    fs.writeFileSync(out, JSON.stringify(all));
  }
}

/**
 * Supervisor: the targets in a worker process (one per target by default, all in one with --one-process, which
 * starts faster); a worker that dies leaves its in-flight input, reported as a crash of the target it was running.
 */
async function supervise(group: Target<unknown>[]): Promise<Stats[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubecred-fuzz-'));
  const out = path.join(dir, 'stats.json');
  const inflightFile = path.join(dir, 'inflight');
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--worker', group.map((t) => t.name).join(','), '--out', out,
    '--inflight', inflightFile, '--seed', String(seed), ...(count !== undefined ? ['--count', String(count)] : ['--seconds', String(seconds)]),
    ...(args.includes('--no-timing') ? ['--no-timing'] : [])], { stdio: ['ignore', 'inherit', 'inherit'] });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
  try {
    const done = fs.existsSync(out) ? JSON.parse(fs.readFileSync(out, 'utf8')) as Stats[] : [];
    if (code === 0 && done.length === group.length) return done;
    const input = fs.existsSync(inflightFile) ? fs.readFileSync(inflightFile) : Buffer.alloc(0);
    const target = fs.existsSync(`${inflightFile}.target`) ? fs.readFileSync(`${inflightFile}.target`, 'utf8') : group[0]!.name;
    return [...done, {
      target, inputs: 0, seconds: (Date.now() - started) / 1000, maxMs: 0, p99Ms: 0, over10: 0,
      // A signal (SIGABRT from a native assertion, SIGSEGV) is the product's; an exit code is the harness's own error, printed above.
      findings: [{ key: 'crash', kind: signal ? 'crash' : 'worker-error', message: `the fuzzing process ${signal ? `died (${signal})` : `exited with code ${code}`} while running this input (or just after it)`, count: 1, reproducer: input.toString('base64'), minimizedFrom: input.length }],
    }];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function report(results: Stats[]): void {
  console.log(table(`Fuzzing (seed ${seed})`, ['target', 'seconds', 'inputs', 'inputs/s', 'findings', 'max ms', 'p99 ms', '>10 ms'],
    results.map((r) => [r.target, fmt(r.seconds), fmt(r.inputs), fmt(r.inputs / Math.max(r.seconds, 0.001)), r.findings.length, fmt(r.maxMs, 2), fmt(r.p99Ms, 2), fmt(r.over10)]),
    ['findings: distinct kinds; >10 ms: inputs whose first run took longer (in-process targets: a finding only if the fastest of four runs did too)']));
  for (const r of results) {
    for (const f of r.findings) {
      console.log(`FINDING [${r.target}] ${f.kind} (x${f.count}): ${f.message}`);
      const bytes = Buffer.from(f.reproducer, 'base64').length;
      // Long reproducers go to a file (--replay @file reads it); short ones are printed whole.
      let arg = f.reproducer;
      if (arg.length > 600) {
        fs.mkdirSync(FINDINGS_DIR, { recursive: true });
        const file = path.join(FINDINGS_DIR, `${r.target}-${crypto.createHash('sha256').update(f.reproducer).digest('hex').slice(0, 12)}.b64`);
        fs.writeFileSync(file, `${f.reproducer}\n`);
        console.log(`  reproducer: ${bytes} bytes (minimized from ${f.minimizedFrom}), base64 in ${file}; starts ${f.reproducer.slice(0, 100)}...`);
        arg = `@${file}`;
      } else {
        console.log(`  reproducer: ${bytes} bytes (minimized from ${f.minimizedFrom}): ${f.reproducer}`);
      }
      console.log(`  npm run fuzz -- --target ${r.target} --replay ${arg}\n`);
    }
  }
}

const replay = opt('--replay');
if (opt('--worker') !== undefined) {
  await worker(opt('--worker')!.split(','), opt('--out')!, opt('--inflight')!);
} else if (replay !== undefined) {
  if (chosen.length !== 1) throw new Error('--replay needs exactly one --target');
  const t = chosen[0]!;
  const b64 = replay.startsWith('@') ? fs.readFileSync(replay.slice(1), 'utf8').trim() : replay;
  const r = await withTarget(t, () => check(t, t.decode(Buffer.from(b64, 'base64'))));
  console.log(r.finding ? `FINDING ${r.finding.kind}: ${r.finding.message}` : 'no finding', `(${r.ms.toFixed(2)} ms)`);
  process.exitCode = r.finding ? 1 : 0;
} else {
  log(`seed ${seed}; ${seconds !== undefined ? `${seconds} s` : `${count} inputs`} per target: ${chosen.map((t) => t.name).join(', ')}`);
  const results: Stats[] = [];
  for (const group of args.includes('--one-process') ? [chosen] : chosen.map((t) => [t])) {
    for (const r of await supervise(group)) {
      results.push(r);
      log(`${r.target}: ${r.inputs} inputs in ${r.seconds.toFixed(0)} s, ${r.findings.length} distinct findings`);
    }
  }
  report(results);
  if (opt('--json')) fs.writeFileSync(opt('--json')!, JSON.stringify({ seed, results }, null, 2));
  process.exitCode = results.some((r) => r.findings.length) ? 1 : 0;
}
