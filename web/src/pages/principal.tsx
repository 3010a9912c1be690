// One principal: its facts and its API credentials (tokens and access keys), for callers allowed to see
// others'. The server decides who may list, create and revoke them; the root's are the root's alone.

import { api, enc } from '../api.ts';
import { ErrorNotice } from '../errors.tsx';
import { useLoad } from '../hooks.ts';
import { Link } from '../router.tsx';
import type { Principal, Session } from '../types.ts';
import { Loading, PageTitle, Time } from '../ui.tsx';
import { AccessKeys } from './access-keys.tsx';
import { ApiTokens } from './api-tokens.tsx';

export function PrincipalPage(props: { id: string; session: Session; onSessionTokenRevoked(tokenId: string): void }) {
  const principal = useLoad(() => api<Principal>('GET', `/v1/principals/${enc(props.id)}`), [props.id]);
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
      </dl>
      {you && <p class="hint">These are your own credentials, also under <Link href="/credentials">My API credentials</Link>.</p>}
      <ApiTokens principal={p} session={props.session} onSessionTokenRevoked={props.onSessionTokenRevoked} />
      <AccessKeys principal={p} session={props.session} />
    </section>
  );
}
