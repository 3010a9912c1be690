// Runs every table of `npm run bench` for a plan, printing each as it completes, and returns the
// summary against issue 9's targets. run.ts uses the full plan, smoke.ts a tiny one.

import fs from 'node:fs';
import { rssMb } from './proc.ts';
import { inventory, issuanceOnScale, revocationTable, scaleStore, startup, webhookTable } from './scale-suites.ts';
import { issuanceTable, setup, type Plan } from './suites.ts';
import { fmt, ms, table, type Cell } from './table.ts';

export interface BenchOptions {
  /** Keep the scale store here (or reuse the one found there). */
  scaleDir: string | null;
  skipScale: boolean;
  /** Start-up measurements per data directory. */
  startupRounds: number;
  log: (s: string) => void;
  print: (s: string) => void;
}

export async function runBench(plan: Plan, o: BenchOptions): Promise<{ summary: string; failures: string[] }> {
  const { log, print } = o;
  const failures: string[] = [];
  const summary: Cell[][] = [];
  const env = await setup(log);
  try {
    const { text, results } = await issuanceTable(env, plan, failures);
    print(text);
    for (const c of plan.concurrencies) {
      const k = results.kubecred.get(c);
      const f = results.cfssl.get(c);
      const b = results.bound.get(c);
      const d = results.durableBound.get(c);
      if (k && f) {
        const cpu = (r: { cpuPerReqUs: number }) => r.cpuPerReqUs / f.cpuPerReqUs;
        summary.push([`issuance CPU/request vs cfssl newcert, c=${c}`, '<= 0.33x', `${fmt(cpu(k), 2)}x (${fmt(k.cpuPerReqUs)} vs ${fmt(f.cpuPerReqUs)} µs)`, cpu(k) <= 1 / 3 ? 'met' : 'not met',
          b && d ? `${cpu(d) > 1 / 3 ? 'out of reach' : 'within reach'}: the durable bound is ${fmt(cpu(d), 2)}x (the bare issuer alone ${fmt(cpu(b), 2)}x)` : '-']);
        summary.push([`issuance req/s vs cfssl newcert, c=${c}`, '>= 1.5x', `${fmt(k.rps / f.rps, 2)}x (${fmt(k.rps)} vs ${fmt(f.rps)})`, k.rps / f.rps >= 1.5 ? 'met' : 'not met',
          d ? `${d.rps / f.rps < 1.5 ? 'out of reach' : 'within reach'}: the durable bound is ${fmt(d.rps / f.rps, 2)}x (${fmt(d.rps)}/s)` : '-']);
      }
    }
    const k1 = results.kubecred.get(1);
    const d1 = results.durableBound.get(1);
    if (k1) summary.push(['issuance p99 at concurrency 1', '< 3 ms', `${ms(k1.p99us)} ms`, k1.p99us < 3000 ? 'met' : 'not met',
      d1 ? `${d1.p99us >= 3000 ? 'out of reach' : 'within reach'}: the durable bound's p99 is ${ms(d1.p99us)} ms (the disk's fdatasync p99 ${ms(results.disk.p99us)} ms)` : '-']);
  } finally {
    await env.kc.stop();
    fs.rmSync(env.kc.dataDir, { recursive: true, force: true });
  }

  if (!o.skipScale) {
    const scaleDir = o.scaleDir;
    const { loaded } = await scaleStore(scaleDir, plan, log);
    const boot = await startup(loaded, o.startupRounds, log);
    const kc = boot.kc;
    try {
      const wh = await webhookTable(kc, loaded, plan, log, failures);
      print(wh.text);
      if (wh.results.peak && wh.results.bare) {
        const ratio = wh.results.peak.rps / wh.results.bare.rps;
        summary.push(['webhook req/s vs bare Fastify (best of each)', '>= 0.5x', `${fmt(ratio, 2)}x (${fmt(wh.results.peak.rps)} vs ${fmt(wh.results.bare.rps)})`, ratio >= 0.5 ? 'met' : 'not met']);
      }
      const bp = wh.results.barePaced;
      if (wh.results.paced) summary.push(['webhook p99 at half its peak', '< 2 ms', `${ms(wh.results.paced.p99us)} ms`, wh.results.paced.p99us < 2000 ? 'met' : 'not met',
        bp ? `${bp.p99us >= 2000 ? 'out of reach' : 'within reach'}: the bare route paced the same has ${ms(bp.p99us)} ms` : '-']);

      log('scale: issuance and inventory on the scale store');
      const onScale = await issuanceOnScale(kc, loaded, plan, log, failures);
      const inv = await inventory(kc, loaded, plan.inventoryRequests, failures);
      const rev = await revocationTable(kc, loaded, plan, failures);
      const rssEnd = rssMb(kc.pid);
      const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const c = loaded.counts;
      const scaleRows: Cell[][] = [
        ['start-up, spawn to "serving on" (median of 3)', `${fmt(med(boot.scaleMs))} ms`, '< 2,000', `runs: ${boot.scaleMs.map((x) => fmt(x)).join(', ')} ms; same with an empty data directory: ${boot.emptyMs.map((x) => fmt(x)).join(', ')} ms`],
        ['server RSS after start-up', `${fmt(boot.rssAfterStartMb)} MB`, '< 300', `idle, 6 s after "serving on"; its revocation index holds ${fmt(boot.index.credentials)} credentials (${fmt(boot.index.mb, 1)} MB of arrays)`],
        ['server RSS at the end', `${fmt(rssEnd)} MB`, '< 300', 'after the webhook, issuance and inventory runs'],
        ...inv.rows,
      ];
      print(table(`Table 3. Scale: ${fmt(c.credentials)} credentials (${fmt(loaded.now?.dbMb ?? c.dbMb)} MB of SQLite)`, ['', 'measured', 'target', 'notes'], scaleRows, [
        `store: ${fmt(c.principals)} principals, ${loaded.clusters.length} clusters, ${fmt(c.holders)} (cluster, principal) holders; credentials by kind ${Object.entries(c.byKind).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')};`,
        `by state ${Object.entries(c.byState).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}; ${fmt(c.activeUnexpired)} active and unexpired; ${fmt(c.auditEvents)} audit events (see docs/performance.md for the rows)`,
        'the revocation index holds the credentials that had not expired at start-up (kube-apiserver rejects expired certificates before any webhook)',
        ...(loaded.now ? [`reused store, as loaded above; now, after earlier runs' issuances and revocations: ${fmt(loaded.now.credentials)} credentials (${fmt(loaded.now.revoked)} revoked), ${fmt(loaded.now.auditEvents)} audit events; loaded as ${fmt(c.dbMb)} MB, now ${fmt(loaded.now.dbMb)} MB`] : []),
      ]));
      print(table('Table 3b. Issuance on the scale store (same run)', ['row', 'conc', 'requests', 'req/s', 'server CPU µs/req', 'server CPU %', 'p50 ms', 'p99 ms', 'gen CPU %'], [onScale]));
      print(rev.text);
      summary.push(['start-up with the scale store', '< 2,000 ms', `${fmt(med(boot.scaleMs))} ms (empty store: ${fmt(med(boot.emptyMs))} ms)`, med(boot.scaleMs) < 2000 ? 'met' : 'not met']);
      summary.push(['server RSS with the scale store', '< 300 MB', `${fmt(Math.max(boot.rssAfterStartMb, rssEnd))} MB`, Math.max(boot.rssAfterStartMb, rssEnd) < 300 ? 'met' : 'not met']);
      summary.push(['inventory page p99', '< 20 ms', `${ms(inv.result.p99us)} ms`, inv.result.p99us < 20_000 ? 'met' : 'not met']);
      summary.push(['revocation to first webhook deny', '-', `p50 ${ms(rev.result.p50us)} ms, max ${ms(rev.result.maxUs)} ms`, 'measured']);
    } finally {
      await kc.stop();
      if (!scaleDir) fs.rmSync(loaded.dataDir, { recursive: true, force: true });
    }
  }
  const notes = [
    'on this machine: whether the cheapest issuer (or webhook) measured in the same run reaches the target: the durable bound (HTTPS, key and certificate, synced to a',
    '  ring file before the answer, nothing else; Table 1), the bare route paced like kubecred; "within reach" does not mean kubecred reaches it',
  ];
  return { summary: table('Against issue 9\'s targets (this run)', ['target', 'goal', 'measured', 'status', 'on this machine'], summary.map((r) => (r.length < 5 ? [...r, '-'] : r)), notes), failures };
}
