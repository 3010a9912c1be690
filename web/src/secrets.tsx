// Pieces the API-credential views share: a secret the server sends once (shown until dismissed, never
// stored), a credential's state with the time it changed, and the order lists show them in.

import type { ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useRef } from 'preact/hooks';
import { Badge, CopyButton, Time } from './ui.tsx';

/**
 * Drops a secret the page holds (`forget`) when the browser leaves the page. Leaving may keep the page, its memory and
 * its DOM in the back/forward cache, and Back would show the secret again; pagehide comes before the page is frozen,
 * and the re-render it causes runs in the microtask right after it. (index.html is also served no-store.)
 */
export function useForgetOnPageHide(forget: () => void): void {
  const latest = useRef(forget);
  latest.current = forget;
  useEffect(() => {
    const onHide = () => latest.current();
    addEventListener('pagehide', onHide);
    return () => removeEventListener('pagehide', onHide);
  }, []);
}

/**
 * Who made a credential, when it was not its holder: a role's token or key made by an admin outlives the admin, and
 * whoever offboards the admin looks for it.
 */
export const MadeBy = (props: { by: string | null; holder: string }) =>
  props.by && props.by !== props.holder ? <div class="muted small mono nowrap">by {props.by}</div> : null;

/** `copy`: the copy button's words ("Copy the token"). */
export interface ShownSecret { label: string; copy: string; value: string }

/**
 * A just-created secret with a copy button and a plain "you will not see this again". It lives in this
 * component's state only: dismissing it, or leaving the page (even for the back/forward cache), drops it from the browser.
 */
export function SecretOnce(props: { id: string; title: string; secrets: ShownSecret[]; children?: ComponentChildren; onDone(): void }) {
  const title = useRef<HTMLHeadingElement>(null);
  const cameFrom = useRef<Element | null>(null);
  useForgetOnPageHide(props.onDone);
  // Focus goes to the secret as it arrives (before the next paint, so no keystroke lands elsewhere) and keyboard
  // users reach the copy button next; Done takes it back to where it was, or to the page when that is gone.
  useLayoutEffect(() => {
    cameFrom.current = document.activeElement;
    title.current?.focus();
  }, [props.secrets[0]?.value]);
  const done = () => {
    const back = cameFrom.current;
    props.onDone();
    if (back instanceof HTMLElement && back.isConnected && back !== document.body && !back.matches(':disabled')) back.focus();
    else document.getElementById('main')?.focus();
  };
  return (
    <section class="card secret-once" aria-labelledby={`${props.id}-title`}>
      <h3 id={`${props.id}-title`} tabIndex={-1} ref={title}>{props.title}</h3>
      <p class="notice notice-warn" role="note">
        <strong>Copy it now: you will not see this again.</strong> kubecred keeps only a hash or a sealed copy and never
        shows the secret a second time. If it is lost, revoke it and create another.
      </p>
      {props.secrets.map((s, i) => (
        <div class="field" key={s.label}>
          <label for={`${props.id}-${i}`}>{s.label}</label>
          <div class="secret-row">
            <input id={`${props.id}-${i}`} class="mono" readOnly spellcheck={false} autocomplete="off" value={s.value}
              onFocus={(e) => e.currentTarget.select()} />
            <CopyButton text={s.value} label={s.copy} />
          </div>
        </div>
      ))}
      {props.children}
      <button type="button" class="primary" onClick={done}>Done: I have stored it</button>
    </section>
  );
}

/** Active, or expired / revoked with when. */
export function StateSince(props: { status: string; at: string | null }) {
  return (
    <span class="state-since">
      <Badge status={props.status} />
      {props.status !== 'active' && props.at && <span class="small"> <Time iso={props.at} /></span>}
    </span>
  );
}

/** Usable ones first (the ones that matter when something leaked), newest first within each. */
export function usableFirst<T extends { status: string; createdAt: string }>(items: T[]): T[] {
  return [...items].sort((a, b) => Number(a.status !== 'active') - Number(b.status !== 'active') || b.createdAt.localeCompare(a.createdAt));
}
