// Byte-level and DER-structure-aware mutators. DER inputs are parsed into a lenient tree (encapsulated
// BIT/OCTET STRING contents included) so a mutation deep inside stays wrapped in correct outer lengths.

import type { Rng } from './rng.ts';

const INTERESTING = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x1f, 0x20, 0x30, 0x31, 0x7f, 0x80, 0x81, 0x82, 0x84, 0xa0, 0xa3, 0xfe, 0xff];

/** One random byte-level change: flips, interesting bytes, inserts, deletes, duplicated or repeated runs, truncation, splices. */
export function mutateBytes(rng: Rng, input: Buffer, others: Buffer[] = [], maxLen = 70_000): Buffer {
  const b = Buffer.from(input);
  const at = (n = b.length) => rng.int(Math.max(1, n));
  switch (rng.int(10)) {
    case 0: { if (b.length) b[at()] ^= 1 << rng.int(8); return b; }
    case 1: { if (b.length) b[at()] = rng.pick(INTERESTING); return b; }
    case 2: { if (b.length) b[at()] = rng.int(256); return b; }
    case 3: { const p = at(b.length + 1); return Buffer.concat([b.subarray(0, p), rng.bytes(rng.small(16) + 1), b.subarray(p)]); }
    case 4: { const p = at(); return Buffer.concat([b.subarray(0, p), b.subarray(p + rng.small(64) + 1)]); }
    case 5: return b.subarray(0, at());
    case 6: { // a run repeated, often many times: huge inputs, long OIDs, deep nesting by bytes
      const p = at(); const len = rng.small(32) + 1; const times = rng.chance(0.2) ? rng.range(100, 4000) : rng.small(8) + 1;
      const run = b.subarray(p, p + len);
      const grown = Buffer.concat([b.subarray(0, p), ...Array<Buffer>(times).fill(run), b.subarray(p)]);
      return grown.length > maxLen ? grown.subarray(0, maxLen) : grown;
    }
    case 7: { // splice: a piece of another seed in place of a piece of this one
      const o = others.length ? rng.pick(others) : b;
      const p = at(); const q = rng.int(Math.max(1, o.length));
      return Buffer.concat([b.subarray(0, p), o.subarray(q, q + rng.small(256) + 1), b.subarray(p + rng.small(64))]);
    }
    case 8: { if (b.length >= 2) { const p = at(b.length - 1); const t = b[p]!; b[p] = b[p + 1]!; b[p + 1] = t; } return b; }
    default: { const p = at(); const v = rng.pick([0x7f, 0x80, 0xff, 0x00]); for (let i = 0; i < 4 && p + i < b.length; i++) b[p + i] = v; return b; }
  }
}

export interface DerNode {
  tag: number;
  children?: DerNode[];
  content?: Buffer;
  /** Contents parsed as DER inside a BIT STRING (after its unused-bits octet) or an OCTET STRING. */
  encap?: 'bit' | 'oct';
  /** Length octets written as-is instead of the correct ones. */
  rawLength?: Buffer;
  /** Wrapped in this many SEQUENCEs when encoded (iteratively: no recursion however deep). */
  nest?: number;
}

function readHeader(buf: Buffer, p: number, end: number): { tag: number; start: number; stop: number } | null {
  if (p + 2 > end) return null;
  const tag = buf[p]!;
  if ((tag & 0x1f) === 0x1f) return null;
  let len = buf[p + 1]!;
  let q = p + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || q + n > end) return null;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[q + i]!;
    q += n;
  }
  return q + len > end ? null : { tag, start: q, stop: q + len };
}

function parseSeq(buf: Buffer, p: number, end: number, depth: number): DerNode[] | null {
  const out: DerNode[] = [];
  while (p < end) {
    const h = readHeader(buf, p, end);
    if (!h) return null;
    out.push(parseNode(buf, h, depth));
    p = h.stop;
  }
  return out;
}

function parseNode(buf: Buffer, h: { tag: number; start: number; stop: number }, depth: number): DerNode {
  const content = buf.subarray(h.start, h.stop);
  if (depth < 40) {
    if (h.tag & 0x20) {
      const children = parseSeq(buf, h.start, h.stop, depth + 1);
      if (children) return { tag: h.tag, children };
    } else if (h.tag === 0x03 && content.length > 2 && content[0] === 0 && (content[1] === 0x30 || content[1] === 0x02)) {
      const children = parseSeq(content, 1, content.length, depth + 1);
      if (children) return { tag: h.tag, children, encap: 'bit' };
    } else if (h.tag === 0x04 && content.length > 1 && (content[0] === 0x30 || content[0] === 0x03 || content[0] === 0x04)) {
      const children = parseSeq(content, 0, content.length, depth + 1);
      if (children) return { tag: h.tag, children, encap: 'oct' };
    }
  }
  return { tag: h.tag, content: Buffer.from(content) };
}

/** The DER elements of buf as a tree, or null when it does not even frame as DER. */
export function parseDer(buf: Buffer): DerNode[] | null {
  return parseSeq(buf, 0, buf.length, 0);
}

function lengthOctets(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function encodeDer(nodes: DerNode[]): Buffer {
  return Buffer.concat(nodes.map((n) => {
    let body = n.children ? encodeDer(n.children) : (n.content ?? Buffer.alloc(0));
    if (n.children && n.encap === 'bit') body = Buffer.concat([Buffer.from([0]), body]);
    const inner = Buffer.concat([Buffer.from([n.tag]), n.rawLength ?? lengthOctets(body.length), body]);
    // The SEQUENCE headers around it, innermost first, then one copy: not one growing copy per level.
    const heads: Buffer[] = [];
    for (let d = 0, len = inner.length; d < (n.nest ?? 0); d++) {
      const h = Buffer.concat([Buffer.from([0x30]), lengthOctets(len)]);
      heads.push(h);
      len += h.length;
    }
    return Buffer.concat([...heads.reverse(), inner]);
  }));
}

function allNodes(nodes: DerNode[], out: { node: DerNode; siblings: DerNode[] }[] = []) {
  for (const node of nodes) {
    out.push({ node, siblings: nodes });
    if (node.children) allNodes(node.children, out);
  }
  return out;
}

const OIDS = [
  '2a864886f70d01010b', '2a864886f70d010105', '2a864886f70d010104', '2a8648ce3d040302', '2a8648ce3d040301', '2a8648ce3d0201',
  '2a864886f70d010101', '2b8104002200', '2a8648ce3d030107', '2b8104002300', '2b6570', '5503', '551d13', '551d0f', '551d11', '',
  '80', '7f', '2a864886f70d0101', '8101', '2a86488686868686868686868601',
].map((h) => Buffer.from(h, 'hex'));

function bigOdd(rng: Rng, bytes: number): Buffer {
  const b = rng.bytes(bytes);
  b[0] = (b[0]! & 0x7f) | 0x40;
  b[bytes - 1]! |= 1;
  return b;
}

/** One structural change to a DER tree (in place); returns false when it found nothing to change. */
export function mutateDerTree(rng: Rng, roots: DerNode[], donors: DerNode[][]): boolean {
  const nodes = allNodes(roots);
  if (!nodes.length) return false;
  const { node, siblings } = rng.pick(nodes);
  const i = siblings.indexOf(node);
  switch (rng.int(13)) {
    case 0: node.rawLength = rng.pick([
      Buffer.from([0x80]), Buffer.from([0x84, 0x7f, 0xff, 0xff, 0xff]), Buffer.from([0x85, 1, 0, 0, 0, 0]), Buffer.from([0x81, 0x01]),
      Buffer.from([0x82, 0x00, 0x05]), lengthOctets(Math.max(0, encodeDer([node]).length - 2 + rng.range(-3, 3))), Buffer.from([0xff]),
    ]); return true;
    case 1: node.tag = rng.chance(0.5) ? rng.pick([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0c, 0x13, 0x17, 0x18, 0x30, 0x31, 0xa0, 0xa3, 0x1f]) : node.tag ^ 0x20; return true;
    case 2: siblings.splice(i, 1); return true;
    case 3: { // duplicated, sometimes many times (as many as fit in a 64 KiB PEM)
      const copy = structuredClone(node);
      const fit = Math.max(1, Math.floor(45_000 / Math.max(1, encodeDer([copy]).length)));
      // Copies, not one object many times: a later change to one must not multiply across all of them.
      siblings.splice(i, 0, ...Array.from({ length: rng.chance(0.1) ? rng.range(1, Math.min(3000, fit)) : 1 }, () => structuredClone(copy)));
      return true;
    }
    case 4: node.nest = (node.nest ?? 0) + (rng.chance(0.2) ? rng.range(50, 2000) : rng.range(1, 4)); return true; // nesting
    case 5: if (i + 1 < siblings.length) { siblings[i] = siblings[i + 1]!; siblings[i + 1] = node; } return true;
    case 6: { // splice in a node from another seed
      const donor = donors.length ? allNodes(rng.pick(donors)) : nodes;
      if (donor.length) siblings[i] = structuredClone(rng.pick(donor).node);
      return true;
    }
    case 7: node.children = undefined; node.encap = undefined; node.content = rng.bytes(rng.small(40)); return true;
    case 8: { // inflate a primitive: long OIDs, huge INTEGERs, long strings
      node.children = undefined; node.encap = undefined;
      const fill = rng.pick([0x81, 0xff, 0x00, 0x41, 0x7f]);
      const n = rng.chance(0.3) ? rng.range(2000, 45_000) : rng.range(20, 600);
      node.content = Buffer.concat([Buffer.alloc(n, fill), Buffer.from([fill === 0x81 ? 0x01 : fill])]);
      return true;
    }
    case 9: node.children = undefined; node.encap = undefined; node.tag = 0x06; node.content = Buffer.from(rng.pick(OIDS)); return true;
    case 10: // INTEGERs: RSA exponents as large as the modulus, zero, negative, a pad byte
      node.children = undefined; node.encap = undefined; node.tag = 0x02;
      node.content = rng.pick([() => bigOdd(rng, rng.pick([128, 256, 384, 512, 1024])), () => Buffer.from([0]), () => Buffer.from([0xff, 0x01]),
        () => Buffer.from([0x00, 0x01]), () => Buffer.from([0x01, 0x00, 0x01]), () => Buffer.from([0x03]), () => Buffer.alloc(0)])();
      return true;
    case 11: if (node.content) node.content = node.content.subarray(0, rng.int(node.content.length + 1)); else node.children = node.children!.slice(0, rng.int(node.children!.length)); return true;
    default: if (node.content?.length) node.content = mutateBytes(rng, node.content); else if (node.children) node.children = []; return true;
  }
}

/** A few stacked structure-aware mutations of a DER seed, sometimes followed by raw byte damage. */
const parsed = new WeakMap<Buffer, DerNode[] | null>();
const cachedTree = (b: Buffer): DerNode[] | null => {
  if (!parsed.has(b)) parsed.set(b, parseDer(b));
  return parsed.get(b)!;
};
const treeOf = (b: Buffer): DerNode[] | null => {
  const t = cachedTree(b);
  return t && structuredClone(t);
};

/**
 * A few stacked structure-aware mutations of a DER seed, sometimes followed by raw byte damage. Kept under
 * `maxLen` (a PEM of 64 KiB holds 48 KiB of DER; larger never reaches a DER parser): an oversized result is redone.
 */
export function mutateDer(rng: Rng, seed: Buffer, donors: Buffer[], maxLen = 48 * 1024): Buffer {
  for (let attempt = 0; ; attempt++) {
    const tree = treeOf(seed);
    let out = seed;
    if (tree) {
      const donorTrees = donors.length ? [cachedTree(rng.pick(donors))].filter((t): t is DerNode[] => t !== null) : [];
      const n = 1 + rng.small(4);
      for (let k = 0; k < n; k++) mutateDerTree(rng, tree, donorTrees);
      out = encodeDer(tree);
    }
    if (!tree || rng.chance(0.25)) out = mutateBytes(rng, out, donors, maxLen);
    if (out.length <= maxLen || attempt >= 4) return out.length <= maxLen ? out : out.subarray(0, maxLen);
  }
}
