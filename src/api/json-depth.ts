// How deep a JSON text nests, found in one pass before it is parsed. No kubecred body nests more than a few levels
// (a policy document's Condition is the deepest, at six), but JSON.parse of 1 MiB of "[[[[…" takes 0.3-0.6 s of the
// event loop every surface and webhook shares, before anything could check who sent it.

/** kubecred refuses a JSON body nested deeper than this, on every surface. */
export const MAX_JSON_DEPTH = 64;

/** Whether the text opens more than `max` arrays or objects inside one another (brackets inside strings do not count). */
export function nestsDeeperThan(text: string, max = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

export const tooDeepMessage = `the JSON body nests more than ${MAX_JSON_DEPTH} arrays or objects inside one another; no kubecred request needs that many: send the documented shape`;
