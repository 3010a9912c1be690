// Reading a whole keyset-paged listing, for the few core rules that need every item (a holder's credentials on a
// cluster, the root's usable tokens), a page of 500 at a time.

import type { Page } from './model.ts';
import type { PageRequest } from './store-port.ts';

export async function allPages<T>(list: (page: PageRequest) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = [];
  for (let cursor: string | null = null; ;) {
    const page: Page<T> = await list({ limit: 500, cursor });
    items.push(...page.items);
    if (!page.next) return items;
    cursor = page.next;
  }
}
