// Loading data for a page: one request (or a few) with loading, error and reload, dropping answers
// that arrive after the page moved on.

import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { ApiError } from './api.ts';

export interface Loaded<T> { data: T | undefined; error: ApiError | null; loading: boolean; reload(): void }

export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: ApiError | null; loading: boolean }>({ data: undefined, error: null, loading: true });
  const generation = useRef(0);
  // New inputs (other filters, another page) drop the old answer at once, so it is never shown as
  // if it were theirs; reloading the same inputs keeps it on screen until the fresh one arrives.
  const run = useCallback((keep = false) => {
    const mine = ++generation.current;
    setState((s) => ({ data: keep ? s.data : undefined, loading: true, error: null }));
    load().then(
      (data) => { if (mine === generation.current) setState({ data, error: null, loading: false }); },
      (error) => { if (mine === generation.current) setState({ data: undefined, error, loading: false }); },
    );
  }, deps);
  useEffect(() => run(), [run]);
  return { ...state, reload: () => run(true) };
}

/** A button's action: busy while it runs, its error kept for display. */
export function useAction<A extends unknown[], R>(fn: (...args: A) => Promise<R>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const run = async (...args: A): Promise<R | undefined> => {
    setBusy(true);
    setError(null);
    try {
      return await fn(...args);
    } catch (e) {
      setError(e as ApiError);
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { run, busy, error, setError };
}
