// A quick check that every bench table still runs (tiny counts, about 30 seconds); exits non-zero on any
// failure. Run with `node --import tsx bench/smoke.ts`; it is not part of `npm test`.

import { runBench } from './lib/bench.ts';
import { pacedReport, pacedRuns } from './lib/load.ts';
import { pinSelf } from './lib/proc.ts';

const started = Date.now();
const log = (s: string) => process.stderr.write(`# ${s}\n`);
log(pinSelf());
try {
  const { summary, failures } = await runBench({
    runMs: 300, warmupMs: 100, prewarmRequests: 20, pacedRunMs: 300, concurrencies: [1, 16], csrConcurrencies: [4], csrCount: 8, floorMs: 200, tryCfssl: true,
    credentials: 3000, principals: 100, clusters: 3, webhookConcurrencies: [4], inventoryRequests: 50, revocations: 2,
  }, {
    scaleDir: null, skipScale: false, startupRounds: 1, log,
    print: (s) => {
      console.log(s);
      if (s.startsWith('Table 2.')) console.log(pacedReport('Table 2b. Paced runs of Table 2: the tail beside the generator and the server\'s CPU'));
    },
  });
  console.log(summary);
  // The paced rows must have run on their schedule and been timed (bench/lib/load.ts, runPaced).
  if (pacedRuns.length === 0) failures.push('no paced webhook run was recorded');
  for (const { path, result } of pacedRuns) {
    if (!result.paced || result.requests === 0 || !(result.p99us > 0)) failures.push(`paced run ${path}: nothing measured`);
  }
  const seconds = (Date.now() - started) / 1000;
  if (failures.length) {
    console.error(`bench smoke FAILED:\n${failures.map((f) => `  - ${f}`).join('\n')}`);
    process.exit(1);
  }
  console.log(`bench smoke ok in ${seconds.toFixed(1)} s`);
  process.exit(0);
} catch (e) {
  console.error(`bench smoke FAILED: ${(e as Error).stack ?? e}`);
  process.exit(1);
}
