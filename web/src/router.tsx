// A small history router under /console: the server answers every page path with the app, so links
// can be bookmarked and reloaded. Plain <a href> elements, so keyboard and middle-click work as usual.

import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';

export const BASE = '/console';

const here = () => ({ path: location.pathname.slice(BASE.length).replace(/\/+$/, '') || '/', query: new URLSearchParams(location.search) });

/** False until the first move inside the app: the page loaded fresh keeps the browser's own focus order. */
export let navigated = false;
addEventListener('popstate', () => { navigated = true; });

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  history[opts.replace ? 'replaceState' : 'pushState'](null, '', BASE + to);
  dispatchEvent(new PopStateEvent('popstate'));
}

export function useLocation(): { path: string; query: URLSearchParams } {
  const [loc, setLoc] = useState(here);
  useEffect(() => {
    const update = () => setLoc(here());
    addEventListener('popstate', update);
    return () => removeEventListener('popstate', update);
  }, []);
  return loc;
}

/** `/clusters/:id` against `/clusters/cls_1` → { id: 'cls_1' }; null when it does not match. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split('/');
  const s = path.split('/');
  if (p.length !== s.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i].startsWith(':')) out[p[i].slice(1)] = decodeURIComponent(s[i]);
    else if (p[i] !== s[i]) return null;
  }
  return out;
}

export function Link(props: { href: string; class?: string; current?: boolean; children: ComponentChildren }) {
  return (
    <a
      href={BASE + props.href}
      class={props.class}
      aria-current={props.current ? 'page' : undefined}
      onClick={(e) => {
        if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(props.href);
      }}
    >
      {props.children}
    </a>
  );
}
