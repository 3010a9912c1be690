// When a cluster's active kubeconfigs expire: counts per time horizon, stacked by kind, as an SVG chart
// with the same numbers in a table (for screen readers, and for anyone who prefers numbers).

import { api, enc } from '../api.ts';
import { ErrorNotice } from '../errors.tsx';
import { useLoad } from '../hooks.ts';
import { CREDENTIAL_KINDS as KINDS } from '../../../src/core/model.ts';
import type { Cluster, ExpiryBand, KubeconfigSummary } from '../types.ts';
import { Empty, Loading, Time } from '../ui.tsx';

/** Column headings of the numbers' table. */
const KIND_HEADINGS: Record<(typeof KINDS)[number], string> = { default: 'Default', temporary: 'Temporary', csr: 'CSR', explicit: 'Explicit end' };

/** The server's bands end at these days from now (null: the rest). */
const LABELS = new Map<number | null, string>([
  [1, '< 1 day'], [7, '1–7 days'], [30, '1–4 weeks'], [91, '1–3 months'], [365, '3–12 months'], [730, '1–2 years'], [1096, '2–3 years'], [null, '> 3 years'],
]);
export const bandLabel = (b: ExpiryBand, previous: ExpiryBand | undefined) =>
  LABELS.get(b.untilDays) ?? (b.untilDays === null ? `> ${previous?.untilDays ?? 0} days` : `< ${b.untilDays} days`);

export function ExpiryChart(props: { cluster: Cluster }) {
  // Counted by the server's database over every active kubeconfig, however many there are.
  const data = useLoad(() => api<KubeconfigSummary>('GET', `/v1/clusters/${enc(props.cluster.id)}/kubeconfig-summary`), [props.cluster.id]);
  if (data.loading) return <Loading what="active kubeconfigs" />;
  if (!data.data) return <ErrorNotice error={data.error} onRetry={data.reload} />;
  const { bands, total, nextToExpire: soonest } = data.data.expiry;
  // Whoever holds one of the next to expire is among the summary's holders, with a name.
  const names = new Map(data.data.holders.map((h) => [h.principalId, h.principalName]));
  const rows = bands.map((b, i) => ({ ...b, label: bandLabel(b, bands[i - 1]) }));
  if (!total) return <Empty><p>No active kubeconfig on {props.cluster.name}: nothing will expire.</p></Empty>;

  const W = 640, H = 240, left = 36, bottom = 40, top = 12;
  const max = Math.max(...rows.map((r) => r.total));
  const step = (W - left) / rows.length;
  const y = (n: number) => ((H - bottom - top) * n) / max;
  const summary = rows.filter((r) => r.total).map((r) => `${r.total} in ${r.label}`).join(', ');

  return (
    <figure class="chart">
      <figcaption>When the {total} active kubeconfig{total === 1 ? '' : 's'} on {props.cluster.name} expire, from now</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Active kubeconfigs by time left: ${summary}`}>
        <line class="axis" x1={left} y1={H - bottom} x2={W} y2={H - bottom} />
        <text class="tick" x={left - 6} y={H - bottom} text-anchor="end">0</text>
        <text class="tick" x={left - 6} y={top + 8} text-anchor="end">{max}</text>
        {rows.map((r, i) => {
          let base = H - bottom;
          const x = left + i * step + step * 0.15;
          return (
            <g key={r.label}>
              {KINDS.map((k) => {
                if (!r[k]) return null;
                const h = y(r[k]);
                base -= h;
                return <rect key={k} class={`bar bar-${k}`} x={x} y={base} width={step * 0.7} height={h}><title>{`${r[k]} ${k} expiring in ${r.label}`}</title></rect>;
              })}
              {r.total > 0 && <text class="count" x={x + step * 0.35} y={base - 4} text-anchor="middle">{r.total}</text>}
              <text class="tick" x={x + step * 0.35} y={H - bottom + 16} text-anchor="middle">{r.label}</text>
            </g>
          );
        })}
      </svg>
      <ul class="legend" aria-hidden="true">
        {KINDS.map((k) => <li key={k}><span class={`swatch bar-${k}`} />{k}</li>)}
      </ul>
      <details>
        <summary>The numbers</summary>
        <div class="table-wrap">
          <table>
            <thead><tr><th scope="col">Time left</th>{KINDS.map((k) => <th key={k} scope="col">{KIND_HEADINGS[k]}</th>)}<th scope="col">Total</th></tr></thead>
            <tbody>{rows.map((r) => <tr key={r.label}><th scope="row">{r.label}</th>{KINDS.map((k) => <td key={k}>{r[k]}</td>)}<td>{r.total}</td></tr>)}</tbody>
          </table>
        </div>
      </details>
      <h2>Next to expire</h2>
      <ul class="plain">
        {soonest.map((c) => <li key={c.id}><Time iso={c.notAfter} rel /> — {c.kind} kubeconfig of {names.get(c.principalId) ?? <span class="mono">{c.principalId}</span>}</li>)}
      </ul>
    </figure>
  );
}
