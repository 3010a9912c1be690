// Summarizes a V8 .cpuprofile (from `node --cpu-prof`): self time by function and inclusive time by
// function, so `bench/profile.ts` can say where a request's CPU goes without a browser.

import fs from 'node:fs';

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

export interface Line { key: string; us: number; pct: number }
export interface Summary { totalUs: number; self: Line[]; inclusive: Line[]; byArea: Line[] }

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const src = url.search(/\/(src|bench)\//);
  if (src >= 0) return url.slice(src + 1);
  return url.replace(/^node:/, 'node:');
}

/** What part of the system a frame belongs to: a package, a src/ folder, node internals, or V8. */
function areaOf(n: Node): string {
  const { url, functionName } = n.callFrame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const src = /\/(src\/[a-z]+)\//.exec(url);
  if (src) return src[1]!;
  if (url.startsWith('node:internal')) return 'node:internal';
  return url.startsWith('node:') ? url : shortUrl(url);
}

/** `window`: only samples taken between these CLOCK_MONOTONIC times (µs, as process.hrtime in any process). */
export function summarize(file: string, top = 25, window?: { fromUs: number; toUs: number }): Summary {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map<number, Node>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const keyOf = (n: Node) => `${n.callFrame.functionName || '(anonymous)'} ${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  const area = new Map<string, number>();
  let total = 0;
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    const dt = p.timeDeltas[i + 1] ?? 0; // a sample's time is the delta to the next one
    if (window && (t < window.fromUs || t > window.toUs)) continue;
    const n = byId.get(p.samples[i]!)!;
    if (n.callFrame.functionName === '(idle)') continue;
    total += dt;
    const k = keyOf(n);
    self.set(k, (self.get(k) ?? 0) + dt);
    const a = areaOf(n);
    area.set(a, (area.get(a) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = n.id; id !== undefined; id = parent.get(id)) {
      const kk = keyOf(byId.get(id)!);
      if (seen.has(kk)) continue;
      seen.add(kk);
      incl.set(kk, (incl.get(kk) ?? 0) + dt);
    }
  }
  const lines = (m: Map<string, number>, n: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n)
    .map(([key, us]) => ({ key, us, pct: (100 * us) / Math.max(1, total) }));
  return { totalUs: total, self: lines(self, top), inclusive: lines(incl, top * 2), byArea: lines(area, top) };
}

export function render(s: Summary, perRequests?: number): string {
  const per = (us: number) => (perRequests ? `${(us / perRequests).toFixed(1).padStart(8)} µs/req` : '');
  const block = (title: string, ls: Line[]) => [title, ...ls.map((l) => `${l.pct.toFixed(1).padStart(5)}% ${per(l.us)}  ${l.key}`)].join('\n');
  return [
    `profiled CPU (non-idle): ${(s.totalUs / 1000).toFixed(0)} ms${perRequests ? ` over ${perRequests} requests = ${(s.totalUs / perRequests).toFixed(0)} µs/req` : ''}`,
    block('-- self time by area', s.byArea),
    block('-- self time by function', s.self),
    block('-- inclusive time by function', s.inclusive),
  ].join('\n');
}
