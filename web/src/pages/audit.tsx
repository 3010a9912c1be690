// The audit log, newest first, with filters kept in the address (so a filtered view can be shared)
// and paging by "load more". A filtered page examines a bounded number of events, so it may come back short or
// empty with more to search: that is said, and the button goes on searching.

import { useEffect, useState } from 'preact/hooks';
import { all, api, query } from '../api.ts';
import { ACTION_SUGGESTIONS } from '../audit-actions.ts';
import { ErrorNotice } from '../errors.tsx';
import { useLoad } from '../hooks.ts';
import { navigate } from '../router.tsx';
import type { AuditEvent, Page, Principal } from '../types.ts';
import { Badge, Empty, Loading, PageTitle, Time } from '../ui.tsx';

const FIELDS = ['action', 'actor', 'resource', 'outcome', 'since', 'until'] as const;
type Filters = Record<(typeof FIELDS)[number], string>;

/** datetime-local speaks local time without a zone; the API wants RFC 3339. */
const toIso = (local: string) => (local ? new Date(local).toISOString() : '');
const toLocal = (iso: string) => {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : new Date(d.getTime() - d.getTimezoneOffset() * 6e4).toISOString().slice(0, 16);
};

export function AuditPage(props: { query: URLSearchParams }) {
  const applied = Object.fromEntries(FIELDS.map((k) => [k, props.query.get(k) ?? ''])) as Filters;
  const key = JSON.stringify(applied);
  const [form, setForm] = useState<Filters>(applied);
  useEffect(() => setForm(applied), [key]); // back and forward bring their filters with them
  const [more, setMore] = useState<{ key: string; items: AuditEvent[]; next: string | null } | null>(null);
  const [moreError, setMoreError] = useState<unknown>(null);
  const first = useLoad(() => api<Page<AuditEvent>>('GET', `/v1/audit${query({ ...applied, limit: 50 })}`), [key]);
  const names = useLoad(() => all<Principal>('/v1/principals').then((ps) => new Map(ps.map((p) => [p.id, p.name]))).catch(() => new Map<string, string>()), []);

  const mine = more?.key === key ? more : null;
  const items = [...(first.data?.items ?? []), ...(mine?.items ?? [])];
  const next = mine ? mine.next : first.data?.next ?? null;
  const loadMore = async () => {
    try {
      const p = await api<Page<AuditEvent>>('GET', `/v1/audit${query({ ...applied, limit: 50, cursor: next })}`);
      setMore({ key, items: [...(mine?.items ?? []), ...p.items], next: p.next });
    } catch (e) {
      setMoreError(e);
    }
  };
  const apply = (f: Filters) => navigate(`/audit${query(f)}`);
  const who = (id: string | null) => (id ? names.data?.get(id) ?? id : 'system');

  return (
    <section>
      <PageTitle sub="Who did what, when, from where, and with which request ID. Denied attempts are recorded too.">Audit log</PageTitle>
      <form class="form filters" aria-label="Filter the audit log" onSubmit={(e) => { e.preventDefault(); apply(form); }}>
        <div class="field">
          <label for="a-action">Action</label>
          <input id="a-action" list="a-actions" value={form.action} onInput={(e) => setForm({ ...form, action: e.currentTarget.value.trim() })} />
          <datalist id="a-actions">{ACTION_SUGGESTIONS.map((a) => <option key={a} value={a} />)}</datalist>
        </div>
        <div class="field">
          <label for="a-actor">Actor</label>
          <select id="a-actor" value={form.actor} onChange={(e) => setForm({ ...form, actor: e.currentTarget.value })}>
            <option value="">Anyone</option>
            {[...(names.data ?? new Map<string, string>())].map(([id, name]) => <option key={id} value={id}>{name}</option>)}
          </select>
        </div>
        <div class="field">
          <label for="a-resource">Resource ID</label>
          <input id="a-resource" placeholder="cls_…, usr_…" value={form.resource} onInput={(e) => setForm({ ...form, resource: e.currentTarget.value.trim() })} />
        </div>
        <div class="field">
          <label for="a-outcome">Outcome</label>
          <select id="a-outcome" value={form.outcome} onChange={(e) => setForm({ ...form, outcome: e.currentTarget.value })}>
            <option value="">Any</option><option value="success">Success</option><option value="denied">Denied</option><option value="failure">Failure</option>
          </select>
        </div>
        <div class="field">
          <label for="a-since">Since</label>
          <input id="a-since" type="datetime-local" value={toLocal(form.since)} onInput={(e) => setForm({ ...form, since: toIso(e.currentTarget.value) })} />
        </div>
        <div class="field">
          <label for="a-until">Until</label>
          <input id="a-until" type="datetime-local" value={toLocal(form.until)} onInput={(e) => setForm({ ...form, until: toIso(e.currentTarget.value) })} />
        </div>
        <div class="actions">
          <button type="submit" class="primary">Apply filters</button>
          <button type="button" onClick={() => { const none = Object.fromEntries(FIELDS.map((k) => [k, ''])) as Filters; setForm(none); apply(none); }}>Clear</button>
        </div>
      </form>
      <ErrorNotice error={first.error} onRetry={first.reload} />
      {first.loading && <Loading what="audit events" />}
      {first.data && items.length === 0 && !next && <Empty><p>No audit event matches these filters.</p></Empty>}
      {first.data && items.length === 0 && next && <Empty><p>No match among the most recent events searched so far; older events have not been searched yet.</p></Empty>}
      {items.length > 0 && (
        <div class="table-wrap">
          <table class="audit stack">
            <caption class="visually-hidden">Audit events, newest first</caption>
            <thead><tr><th scope="col">Time</th><th scope="col">Actor</th><th scope="col">Action</th><th scope="col">Resource</th><th scope="col">Outcome</th><th scope="col">Source</th><th scope="col">Request ID</th></tr></thead>
            <tbody>
              {items.map((e) => (
                <tr key={e.id}>
                  <td data-label="Time"><Time iso={e.at} /></td>
                  <td data-label="Actor">{who(e.actorId)}</td>
                  <th scope="row">
                    {e.action}
                    {Object.keys(e.detail).length > 0 && <details class="small"><summary>Details</summary><pre class="pem">{JSON.stringify(e.detail, null, 2)}</pre></details>}
                  </th>
                  <td data-label="Resource" class="mono small">{e.resourceType}{e.resourceId && <div>{e.resourceId}</div>}</td>
                  <td data-label="Outcome"><Badge status={e.outcome} /></td>
                  <td data-label="Source" class="mono small nowrap">{e.sourceIp ?? '—'}</td>
                  <td data-label="Request ID" class="mono small">{e.requestId ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ErrorNotice error={moreError} />
      {next && <p><button type="button" onClick={loadMore}>{items.length === 0 ? 'Search older events' : 'Load older events'}</button></p>}
    </section>
  );
}
