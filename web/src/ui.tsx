// Small pieces every page uses: page titles that take focus, loading and empty states, times,
// state badges, a confirmation dialog, copy and download buttons.

import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { localTime, relative } from './format.ts';
import { navigated } from './router.tsx';

/**
 * The page's heading. After a move inside the app it takes focus, so keyboard and screen reader users
 * land on the new page; on a fresh load the browser's order (skip link first) is left alone.
 */
export function PageTitle(props: { children: string; sub?: ComponentChildren }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${props.children} · kubecred`;
    if (navigated && (document.activeElement === document.body || document.activeElement?.closest('nav'))) ref.current?.focus();
  }, [props.children]);
  return (
    <header class="page-head">
      <h1 ref={ref} tabIndex={-1}>{props.children}</h1>
      {props.sub && <p class="sub">{props.sub}</p>}
    </header>
  );
}

export const Loading = (props: { what: string }) => <p class="loading" role="status" aria-live="polite">Loading {props.what}…</p>;

export const Empty = (props: { children: ComponentChildren }) => <div class="empty" role="status">{props.children}</div>;

export const Time = (props: { iso: string | null; rel?: boolean }) =>
  props.iso ? <time dateTime={props.iso} title={props.iso}>{localTime(props.iso)}{props.rel && <span class="muted"> ({relative(props.iso)})</span>}</time> : <span class="muted">—</span>;

const STATUS_WORDS: Record<string, string> = { active: 'Active', expired: 'Expired', revoked: 'Revoked', superseded: 'Superseded', none: 'Never issued', success: 'Success', denied: 'Denied', failure: 'Failure' };

export const Badge = (props: { status: string }) => <span class={`badge badge-${props.status}`}>{STATUS_WORDS[props.status] ?? props.status}</span>;

/** A modal question built on <dialog>: focus stays inside, Escape cancels, the safe choice is focused first. */
export function ConfirmDialog(props: {
  open: boolean; title: string; confirmLabel: string; busy?: boolean; danger?: boolean;
  onConfirm(): void; onCancel(): void; children: ComponentChildren;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  // A page may hold several dialogs (closed ones stay in the DOM): each is named by its own title.
  const titleId = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.open && !d.open) d.showModal();
    if (!props.open && d.open) d.close();
  }, [props.open]);
  return (
    <dialog ref={ref} class="dialog" aria-labelledby={titleId} onCancel={(e) => { e.preventDefault(); props.onCancel(); }}>
      <h2 id={titleId}>{props.title}</h2>
      {props.children}
      <div class="actions">
        <button type="button" autofocus onClick={props.onCancel}>Cancel</button>
        <button type="button" class={props.danger ? 'danger' : 'primary'} disabled={props.busy} onClick={props.onConfirm}>
          {props.busy ? 'Working…' : props.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

/** Copies text; says so in a live region, so the result is announced too. */
export function CopyButton(props: { text: string; label: string }) {
  const [said, setSaid] = useState('');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.text);
      setSaid('Copied to the clipboard.');
    } catch {
      setSaid('The browser refused the clipboard; use Download, or select the text and copy it.');
    }
  };
  return (
    <>
      <button type="button" onClick={copy}>{props.label}</button>
      <span class="muted" role="status" aria-live="polite">{said}</span>
    </>
  );
}

/** Saves text as a file without it ever leaving the browser's memory for anywhere else. */
export function DownloadButton(props: { text: string; filename: string; label: string; primary?: boolean }) {
  const save = () => {
    const url = URL.createObjectURL(new Blob([props.text], { type: 'application/yaml' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = props.filename;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };
  return <button type="button" class={props.primary ? 'primary' : undefined} onClick={save}>{props.label}</button>;
}

/** A PEM textarea that can also be filled from a file. */
export function PemField(props: { label: string; hint?: string; value: string; onInput(v: string): void; required?: boolean; id: string }) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      {props.hint && <p class="hint" id={`${props.id}-hint`}>{props.hint}</p>}
      <textarea id={props.id} rows={4} spellcheck={false} required={props.required} aria-describedby={props.hint ? `${props.id}-hint` : undefined}
        value={props.value} onInput={(e) => props.onInput(e.currentTarget.value)} placeholder="-----BEGIN …-----" />
      <label class="file">
        <span>or load from a file</span>
        <input type="file" accept=".pem,.crt,.key,.cer,text/plain" onChange={async (e) => {
          const f = e.currentTarget.files?.[0];
          if (f) props.onInput(await f.text());
        }} />
      </label>
    </div>
  );
}
