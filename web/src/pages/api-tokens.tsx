// One principal's API bearer tokens: listed without their secrets, created with the secret shown once,
// revoked after confirming. Revoking the token this session was opened with signs the console out.

import { useState } from 'preact/hooks';
import { all, api, enc } from '../api.ts';
import { ErrorNotice, type Words } from '../errors.tsx';
import { useAction, useLoad } from '../hooks.ts';
import { MadeBy, SecretOnce, StateSince, usableFirst } from '../secrets.tsx';
import type { ApiToken, NewApiToken, Principal, Session } from '../types.ts';
import { ConfirmDialog, Empty, Loading, Time } from '../ui.tsx';

/** The one CONFLICT revoking a token can meet: the root's last usable token. */
const REVOKE_WORDS: Words = {
  CONFLICT: { title: "kubecred keeps the root's last usable token", next: 'Create another token for the root first, then revoke this one.' },
};

export function ApiTokens(props: { principal: Principal; session: Session; onSessionTokenRevoked(tokenId: string): void }) {
  const p = props.principal;
  const { session } = props;
  const list = useLoad(() => all<ApiToken>(`/v1/principals/${enc(p.id)}/tokens`), [p.id]);
  const [created, setCreated] = useState<NewApiToken | null>(null);
  const [target, setTarget] = useState<ApiToken | null>(null);
  const [done, setDone] = useState<string | null>(null);
  // Nobody but the root makes or revokes the root's tokens (one made for the root would act as the root).
  const othersRoot = p.isRoot && !session.principal.isRoot;
  // A deleted principal's tokens are all revoked, and it can be given none: listed for the record only.
  const closed = othersRoot || p.deletedAt !== null;
  const isSessionToken = (t: ApiToken | null) => !!t && t.id === session.tokenId && p.id === session.principal.id;
  const items = usableFirst(list.data ?? []);
  const othersUsable = target ? items.filter((t) => t.status === 'active' && t.id !== target.id).length : 0;

  const revoke = useAction(async (t: ApiToken) => {
    const res = await api<{ revoked: boolean }>('DELETE', `/v1/principals/${enc(p.id)}/tokens/${enc(t.id)}`);
    setTarget(null);
    if (isSessionToken(t)) return props.onSessionTokenRevoked(t.id);
    setDone(res.revoked ? `Revoked token ${t.name} (${t.id}): requests and console sessions made with it are refused from now on.` : `Token ${t.name} (${t.id}) was already revoked.`);
    list.reload();
  });
  const ask = (t: ApiToken) => { setDone(null); revoke.setError(null); setTarget(t); };

  return (
    <section aria-labelledby={`tokens-${p.id}`}>
      <h2 id={`tokens-${p.id}`}>API tokens</h2>
      <p class="hint">Bearer tokens for the native API, the CLI (<code>KUBECRED_TOKEN</code>) and signing in to this console. Revoking one refuses it at once and ends the console sessions opened with it.</p>
      {othersRoot && (
        <p class="notice" role="note">These are the account root's tokens: only the root may create or revoke them, and kubecred refuses anyone else. A root that lost its tokens gets a new one on the server with <code>kubecred account root-token</code>.</p>
      )}
      {created && (
        <SecretOnce id="new-token" title={`New token ${created.name} (${created.id})`} secrets={[{ label: 'Token', copy: 'Copy the token', value: created.token }]} onDone={() => setCreated(null)}>
          <p class="hint">
            Use it as <code>Authorization: Bearer …</code>, as <code>KUBECRED_TOKEN</code> for the CLI, or to sign in here.{' '}
            {created.expiresAt ? <>It expires <Time iso={created.expiresAt} rel />.</> : 'It does not expire: revoke it when it is no longer needed.'}
          </p>
        </SecretOnce>
      )}
      {!closed && <CreateToken principal={p} onCreated={(t) => { setDone(null); setCreated(t); list.reload(); }} />}
      {done && <p class="notice notice-ok" role="status">{done}</p>}
      <ErrorNotice error={list.error} onRetry={list.reload} />
      {list.loading && !list.data && <Loading what="tokens" />}
      {list.data && items.length === 0 && <Empty><p>{p.name} has no API token.</p></Empty>}
      {items.length > 0 && (
        <div class="table-wrap">
          <table class="stack">
            <caption class="visually-hidden">API tokens of {p.name}</caption>
            <thead><tr><th scope="col">Name</th><th scope="col">State</th><th scope="col">Created</th><th scope="col">Expires</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>
              {items.map((t) => (
                <tr key={t.id} data-token={t.id}>
                  <th scope="row">
                    {t.name}{isSessionToken(t) && <span class="muted small"> (this session)</span>}
                    <div class="muted small mono nowrap">{t.id}</div>
                  </th>
                  <td data-label="State"><StateSince status={t.status} at={t.status === 'revoked' ? t.revokedAt : t.expiresAt} /></td>
                  <td data-label="Created"><Time iso={t.createdAt} /><MadeBy by={t.createdBy} holder={p.id} /></td>
                  <td data-label="Expires">{t.expiresAt ? <Time iso={t.expiresAt} rel={t.status === 'active'} /> : <span class="muted">never</span>}</td>
                  <td class="row-actions">
                    {t.status === 'active' && !closed && <button type="button" class="danger" onClick={() => ask(t)} aria-label={`Revoke token ${t.name} (${t.id})`}>Revoke</button>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ConfirmDialog open={target !== null} danger title={`Revoke token ${target?.name ?? ''}?`} confirmLabel="Revoke token"
        busy={revoke.busy} onCancel={() => { setTarget(null); revoke.setError(null); }} onConfirm={() => target && void revoke.run(target)}>
        <p>
          Token <strong>{target?.name}</strong> <span class="mono">({target?.id})</span> of <strong>{p.name}</strong> will be refused from now on,
          and the console sessions opened with it end. This cannot be undone.
        </p>
        {isSessionToken(target) && <p class="notice notice-warn" role="note"><strong>You are signed in with this token.</strong> Revoking it signs you out of this console; sign in again with another token.</p>}
        {p.isRoot && target && othersUsable === 0 && (
          <p class="notice notice-warn" role="note">This is the root's last usable token: kubecred keeps it, so that someone can still act as the root. Create another token first.</p>
        )}
        <ErrorNotice error={revoke.error} words={REVOKE_WORDS} />
      </ConfirmDialog>
    </section>
  );
}

function CreateToken(props: { principal: Principal; onCreated(t: NewApiToken): void }) {
  const [name, setName] = useState('');
  const [days, setDays] = useState('90');
  const create = useAction(async () => {
    const body: { name?: string; expiresInDays?: number } = {};
    if (name.trim()) body.name = name.trim();
    if (days.trim()) body.expiresInDays = Number(days);
    const t = await api<NewApiToken>('POST', `/v1/principals/${enc(props.principal.id)}/tokens`, body);
    setName('');
    props.onCreated(t);
  });
  const id = `tok-${props.principal.id}`;
  return (
    <details class="card">
      <summary>Create a token</summary>
      <form class="form" onSubmit={(e) => { e.preventDefault(); void create.run(); }}>
        <div class="row">
          <div class="field">
            <label for={`${id}-name`}>Token name</label>
            <p class="hint" id={`${id}-name-hint`}>Optional: what it is for, e.g. <code>laptop</code> or <code>ci</code>. Lowercase letters, digits, <code>.</code> <code>_</code> <code>-</code>.</p>
            <input id={`${id}-name`} maxLength={63} pattern="[a-z0-9]([a-z0-9._\-]{0,61}[a-z0-9])?" title="1-63 lowercase letters, digits, '.', '_' or '-', starting and ending with a letter or digit"
              aria-describedby={`${id}-name-hint`} value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </div>
          <div class="field">
            <label for={`${id}-days`}>Expires after (days)</label>
            <p class="hint" id={`${id}-days-hint`}>From 1 to 3650. Empty: the token never expires and lasts until revoked.</p>
            <input id={`${id}-days`} type="number" min={1} max={3650} step={1} aria-describedby={`${id}-days-hint`} value={days} onInput={(e) => setDays(e.currentTarget.value)} />
          </div>
        </div>
        <ErrorNotice error={create.error} />
        <button type="submit" class="primary" disabled={create.busy}>{create.busy ? 'Creating…' : 'Create token'}</button>
      </form>
    </details>
  );
}
