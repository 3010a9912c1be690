// Welch's t-test between two samples of latencies, as dudect uses it to look for a timing difference:
// on every sample, and again on each sample cropped at the pooled 90th percentile (the tail is the
// machine's noise far more than the server's work). Bench use only: no test asserts a timing.

export interface Summary { n: number; mean: number; variance: number }

export function summarize(xs: number[]): Summary {
  const n = xs.length;
  let mean = 0;
  for (const x of xs) mean += x;
  mean /= n || 1;
  let ss = 0;
  for (const x of xs) ss += (x - mean) ** 2;
  return { n, mean, variance: n > 1 ? ss / (n - 1) : NaN };
}

export function welchT(a: Summary, b: Summary): number {
  const se = Math.sqrt(a.variance / a.n + b.variance / b.n);
  return se > 0 ? (a.mean - b.mean) / se : 0;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((x, y) => x - y);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
}

export interface Comparison { a: Summary; b: Summary; t: number; croppedA: Summary; croppedB: Summary; tCropped: number }

/** t on the whole samples and on both cropped at the pooled 90th percentile. */
export function compare(a: number[], b: number[]): Comparison {
  const cut = percentile([...a, ...b], 90);
  const ca = summarize(a.filter((x) => x <= cut));
  const cb = summarize(b.filter((x) => x <= cut));
  const sa = summarize(a);
  const sb = summarize(b);
  return { a: sa, b: sb, t: welchT(sa, sb), croppedA: ca, croppedB: cb, tCropped: welchT(ca, cb) };
}

/** dudect's threshold: beyond it the two classes are told apart. */
export const T_THRESHOLD = 4.5;
