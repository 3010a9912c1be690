// One principal: its facts and its API credentials (tokens and access keys), for callers allowed to see
// others', and its deletion. The server decides who may list, create and revoke them; the root's are the root's
// alone. A deleted principal's page stays, by its ID, with what it held.

import { useState } from 'preact/hooks';
import { api, enc } from '../api.ts';
import { ErrorNotice } from '../errors.tsx';
import { useLoad } from '../hooks.ts';
import { Link } from '../router.tsx';
import type { PrincipalShown, Session } from '../types.ts';
import { Loading, PageTitle, Time } from '../ui.tsx';
import { AccessKeys } from './access-keys.tsx';
import { ApiTokens } from './api-tokens.tsx';
import { DeletePrincipal, deletedSummary } from './principal-delete.tsx';

export function PrincipalPage(props: { id: string; session: Session; onSessionTokenRevoked(tokenId: string): void }) {
  const principal = useLoad(() => api<PrincipalShown>('GET', `/v1/principals/${enc(props.id)}`), [props.id]);
  const [done, setDone] = useState<string | null>(null);
  const p = principal.data;
  const back = <Link href="/principals">← All principals</Link>;

  if (principal.loading && !p) return <Loading what="the principal" />;
  if (!p) return <section><PageTitle sub={back}>Principal</PageTitle><ErrorNotice error={principal.error} onRetry={principal.reload} /></section>;
  const you = p.id === props.session.principal.id;

  return (
    <section>
      <PageTitle sub={<>{back} · <span class="mono">{p.id}</span></>}>{`${p.kind === 'role' ? 'Role' : 'User'} ${p.name}`}</PageTitle>
      <dl class="facts">
        <dt>Kind</dt><dd>{p.kind}{p.isRoot && <span class="badge badge-root">root</span>}{you && <span class="muted"> (you)</span>}</dd>
        <dt>Kubernetes groups</dt><dd>{p.groups.length ? p.groups.join(', ') : <span class="muted">none</span>}</dd>
        <dt>Created</dt><dd><Time iso={p.createdAt} /></dd>
        {p.deletedAt && <><dt>Deleted</dt><dd><span class="badge badge-revoked">Deleted</span> <Time iso={p.deletedAt} /></dd></>}
      </dl>
      {done && <p class="notice notice-ok" role="status">{done}</p>}
      {p.deletedAt && (
        <p class="notice" role="note">
          {p.name} was deleted: nothing below works any more, and nothing can be added. This is what it held, for the record; its name may belong to
          someone else now.
        </p>
      )}
      {you && <p class="hint">These are your own credentials, also under <Link href="/credentials">My API credentials</Link>.</p>}
      {/* Keyed on the deletion too: a deletion revoked them all, so the lists are read again. */}
      <ApiTokens key={`tokens-${p.deletedAt}`} principal={p} session={props.session} onSessionTokenRevoked={props.onSessionTokenRevoked} />
      <AccessKeys key={`keys-${p.deletedAt}`} principal={p} session={props.session} />
      {p.mayDelete && !you && <DeletePrincipal principal={p} onDeleted={(r) => { setDone(deletedSummary(p.name, r)); principal.reload(); }} />}
    </section>
  );
}
