// Aligned text tables for the bench's output, plus the number formats every table shares.
// Numbers are right-aligned, labels left-aligned; a table is returned as one string.

export type Cell = string | number;

export function fmt(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return '-';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export const ms = (us: number) => fmt(us / 1000, 2);

export function table(title: string, head: string[], rows: Cell[][], notes: string[] = []): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  const out = [title, line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)];
  for (const n of notes) out.push(`  ${n}`);
  return out.join('\n') + '\n';
}
