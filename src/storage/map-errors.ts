// Wraps every repository method so that driver errors of one kind (the database being unreachable)
// become a domain error; everything else passes through unchanged.

import type { Repos } from '../core/store-port.ts';

type AnyFn = (...args: unknown[]) => Promise<unknown>;

export function guardErrors<A extends unknown[], R>(f: (...a: A) => Promise<R>, map: (e: unknown) => unknown): (...a: A) => Promise<R> {
  return async (...a: A): Promise<R> => {
    try {
      return await f(...a);
    } catch (e) {
      throw map(e);
    }
  };
}

export function mapRepoErrors(repos: Repos, map: (e: unknown) => unknown): Repos {
  const out = {} as Record<string, Record<string, AnyFn>>;
  for (const [name, repo] of Object.entries(repos) as Array<[string, Record<string, AnyFn>]>) {
    out[name] = Object.fromEntries(Object.entries(repo).map(([k, f]) => [k, guardErrors(f, map)]));
  }
  return out as unknown as Repos;
}
