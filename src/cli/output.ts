// Printing results as a table (for people), JSON or YAML (for scripts). Secrets shown once are printed
// only to stdout, never to stderr where logs are often collected.

import YAML from 'yaml';
import { UsageError } from './exit-codes.ts';

export type Format = 'table' | 'json' | 'yaml';

/** A status or progress line for whoever watches (`kubecred: ...` on stderr), never data. */
export const say = (line: string): void => void process.stderr.write(`kubecred: ${line}\n`);

/** `-o, --output` on every command that prints data (but `kubeconfig get`, whose -o is the file to write). */
export const outputOption = <C extends { option(flags: string, description: string, defaultValue: string): C }>(c: C): C =>
  c.option('-o, --output <format>', 'table, json or yaml', 'table');

export function parseFormat(v: string | undefined): Format {
  const f = (v ?? 'table').toLowerCase();
  if (f !== 'table' && f !== 'json' && f !== 'yaml') throw new UsageError(`--output must be table, json or yaml (got ${v})`);
  return f;
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (Array.isArray(v)) return v.length ? v.join(',') : '-';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function renderTable(rows: Record<string, unknown>[], columns: string[]): string {
  const header = columns.map((c) => c.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase());
  const body = rows.map((r) => columns.map((c) => cell(r[c])));
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  return [line(header), ...body.map(line)].join('\n') + '\n';
}

/** Prints `data`: a list shows as rows, an object as one row (or key/value lines when no columns are given). */
export function print(data: unknown, format: Format, columns?: string[], out: NodeJS.WritableStream = process.stdout): void {
  if (format === 'json') return void out.write(JSON.stringify(data, null, 2) + '\n');
  if (format === 'yaml') return void out.write(YAML.stringify(data));
  if (Array.isArray(data)) {
    if (data.length === 0) return void out.write('No items.\n');
    return void out.write(renderTable(data as Record<string, unknown>[], columns ?? Object.keys(data[0] as object)));
  }
  if (columns) return void out.write(renderTable([data as Record<string, unknown>], columns));
  const obj = data as Record<string, unknown>;
  const width = Math.max(...Object.keys(obj).map((k) => k.length));
  for (const [k, v] of Object.entries(obj)) out.write(`${k.padEnd(width)}  ${cell(v)}\n`);
}
