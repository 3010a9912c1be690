// A quick check that every bench table still runs (tiny counts, under 30 s); exits non-zero on any
// failure. Run with `node --import tsx bench/smoke.ts`; it is not part of `npm test`.

import { pinSelf } from './lib/proc.ts';
import { runAll } from './lib/suites.ts';

const started = Date.now();
const log = (s: string) => process.stderr.write(`# ${s}\n`);
log(pinSelf());
try {
  const report = await runAll({
    runMs: 300, warmupMs: 50, concurrencies: [1, 16], csrConcurrency: 4, csrCount: 8, floorMs: 200,
    fillMs: 1000, webhookConcurrencies: [4], revocations: 2, tryCfssl: true,
  }, log);
  console.log(report.text);
  const seconds = (Date.now() - started) / 1000;
  if (seconds > 30) report.failures.push(`smoke took ${seconds.toFixed(1)} s (limit 30 s)`);
  if (report.failures.length) {
    console.error(`bench smoke FAILED:\n${report.failures.map((f) => `  - ${f}`).join('\n')}`);
    process.exit(1);
  }
  console.log(`bench smoke ok in ${seconds.toFixed(1)} s`);
  process.exit(0);
} catch (e) {
  console.error(`bench smoke FAILED: ${(e as Error).stack ?? e}`);
  process.exit(1);
}
