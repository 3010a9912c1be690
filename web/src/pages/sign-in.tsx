// Sign-in: an API token is exchanged for an HttpOnly session cookie. The token is sent once and kept
// nowhere in the browser; the form field is cleared whatever the answer.

import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { ErrorNotice } from '../errors.tsx';
import type { Session } from '../types.ts';

export function SignInPage(props: { notice: string | null; onSignedIn(s: Session): void }) {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const s = await api<Session>('POST', '/v1/sessions', { token: token.trim() });
      props.onSignedIn(s);
    } catch (err) {
      setError(err);
    } finally {
      setToken('');
      setBusy(false);
    }
  };

  return (
    <section class="card sign-in" aria-labelledby="sign-in-title">
      <h1 id="sign-in-title" tabIndex={-1}>Sign in to kubecred</h1>
      {props.notice && <p class="notice" role="status">{props.notice}</p>}
      <ErrorNotice error={error} />
      <form class="form" onSubmit={submit}>
        <div class="field">
          <label for="token">API token</label>
          <p class="hint" id="token-hint">
            A token looks like <code>kc1.tok_….…</code>. Create one with <code>kubecred token create</code>, or ask your account root.
            The console exchanges it for a session cookie that lasts 12 hours at most; the token itself is not kept in the browser.
          </p>
          <input id="token" name="token" type="password" autocomplete="off" spellcheck={false} required autofocus
            aria-describedby="token-hint" value={token} onInput={(e) => setToken(e.currentTarget.value)} />
        </div>
        <button type="submit" class="primary" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
    </section>
  );
}
