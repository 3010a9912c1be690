// The policy engine: parses RAM/IAM-style policy documents and decides allow / explicit deny / implicit deny.
// It must never grant on doubt, never do I/O (no HTTP, no SQL), and never run a pattern that can backtrack.

import { BlockList, isIP } from 'node:net';
import { invalid } from './errors.ts';

export type Effect = 'Allow' | 'Deny';
export interface PolicyStatement {
  Effect: Effect;
  Action: string[];
  Resource: string[];
  Condition?: Record<string, Record<string, Array<string | number | boolean>>>;
}
export interface PolicyDocument { Version: '1'; Statement: PolicyStatement[] }
export type ConditionValue = string | number | boolean | Date | undefined;
export interface AuthzRequest {
  actions: string[];
  resource: string;
  resourceAliases?: string[];
  context: Record<string, ConditionValue>;
  contextAliases?: Record<string, string>;
}
export interface AuthzDecision {
  decision: 'allow' | 'explicit-deny' | 'implicit-deny';
  matched?: { policyIndex: number; statementIndex: number };
}

const MAX_DOCUMENT_BYTES = 32 * 1024;
const MAX_STATEMENTS = 100;
const MAX_STRING = 1024;
// Patterns come from user documents, so the caches must not grow with them.
const CACHE_LIMIT = 2048;

type Kind = 'string' | 'numeric' | 'date' | 'bool' | 'ip';
interface IpAddr { addr: string; type: 'ipv4' | 'ipv6' }
type Typed = string | number | boolean | IpAddr | BlockList;

const cmp = (f: (a: number, b: number) => boolean) => (a: Typed, e: Typed) => f(a as number, e as number);
const BASE_OPERATORS: Record<string, { kind: Kind; test: (actual: Typed, expected: Typed) => boolean }> = {
  StringEquals: { kind: 'string', test: (a, e) => a === e },
  StringEqualsIgnoreCase: { kind: 'string', test: (a, e) => (a as string).toLowerCase() === (e as string).toLowerCase() },
  StringLike: { kind: 'string', test: (a, e) => globMatch(e as string, a as string, false) },
  NumericEquals: { kind: 'numeric', test: cmp((a, e) => a === e) },
  NumericLessThan: { kind: 'numeric', test: cmp((a, e) => a < e) },
  NumericLessThanEquals: { kind: 'numeric', test: cmp((a, e) => a <= e) },
  NumericGreaterThan: { kind: 'numeric', test: cmp((a, e) => a > e) },
  NumericGreaterThanEquals: { kind: 'numeric', test: cmp((a, e) => a >= e) },
  DateEquals: { kind: 'date', test: cmp((a, e) => a === e) },
  DateLessThan: { kind: 'date', test: cmp((a, e) => a < e) },
  DateLessThanEquals: { kind: 'date', test: cmp((a, e) => a <= e) },
  DateGreaterThan: { kind: 'date', test: cmp((a, e) => a > e) },
  DateGreaterThanEquals: { kind: 'date', test: cmp((a, e) => a >= e) },
  Bool: { kind: 'bool', test: (a, e) => a === e },
  IpAddress: { kind: 'ip', test: (a, e) => (e as BlockList).check((a as IpAddr).addr, (a as IpAddr).type) },
};
const NEGATED_OPERATORS: Record<string, string> = {
  StringNotEquals: 'StringEquals',
  StringNotEqualsIgnoreCase: 'StringEqualsIgnoreCase',
  StringNotLike: 'StringLike',
  NumericNotEquals: 'NumericEquals',
  DateNotEquals: 'DateEquals',
  NotIpAddress: 'IpAddress',
};
const OPERATOR_NAMES = [...Object.keys(BASE_OPERATORS), ...Object.keys(NEGATED_OPERATORS)];
const KIND_WORDING: Record<Kind, string> = {
  string: 'a string',
  numeric: 'a number',
  date: 'a date (ISO 8601 string or epoch seconds)',
  bool: 'true or false',
  ip: 'an IPv4 or IPv6 address or CIDR block',
};

function operator(name: string): { kind: Kind; negated: boolean; test: (a: Typed, e: Typed) => boolean } | undefined {
  const negated = Object.hasOwn(NEGATED_OPERATORS, name);
  const base = negated ? NEGATED_OPERATORS[name] : name;
  return Object.hasOwn(BASE_OPERATORS, base) ? { ...BASE_OPERATORS[base], negated } : undefined;
}

function remember<V>(cache: Map<string, V>, key: string, make: () => V): V {
  if (cache.has(key)) return cache.get(key) as V;
  // Insertion order makes the first key the oldest: a cheap FIFO bound, enough for a hot working set.
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  const value = make();
  cache.set(key, value);
  return value;
}

// A pattern is compiled to its literal runs between '*'. Matching each middle run at its leftmost
// position is optimal and linear per run, so no input can trigger the exponential blow-up a
// backtracking RegExp like /a.*a.*a.*b/ suffers on long strings.
const globCache = new Map<string, string[]>();

function runMatchesAt(run: string, s: string, at: number): boolean {
  for (let j = 0; j < run.length; j++) if (run[j] !== '?' && run[j] !== s[at + j]) return false;
  return true;
}

function globMatch(pattern: string, value: string, ignoreCase: boolean): boolean {
  const runs = remember(globCache, (ignoreCase ? 'i' : 's') + pattern, () => (ignoreCase ? pattern.toLowerCase() : pattern).split('*'));
  const s = ignoreCase ? value.toLowerCase() : value;
  const first = runs[0];
  if (runs.length === 1) return s.length === first.length && runMatchesAt(first, s, 0);
  const last = runs[runs.length - 1];
  const end = s.length - last.length;
  if (end < first.length || !runMatchesAt(first, s, 0) || !runMatchesAt(last, s, end)) return false;
  let pos = first.length;
  for (let k = 1; k < runs.length - 1; k++) {
    const run = runs[k];
    let at = pos;
    while (at + run.length <= end && !runMatchesAt(run, s, at)) at++;
    if (at + run.length > end) return false;
    pos = at + run.length;
  }
  return true;
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

// Numbers are epoch seconds, as in AWS/RAM policies; the result is epoch milliseconds.
function toTime(v: unknown): number | undefined {
  const ms = v instanceof Date ? v.getTime() : typeof v === 'number' ? v * 1000 : typeof v === 'string' ? Date.parse(v) : NaN;
  return Number.isFinite(ms) ? ms : undefined;
}

function toBool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
  return undefined;
}

function toIp(v: unknown): IpAddr | undefined {
  if (typeof v !== 'string') return undefined;
  // Dual-stack sockets report IPv4 clients as ::ffff:a.b.c.d; policies name them in IPv4 form.
  const addr = v.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
  const family = isIP(addr);
  return family === 0 ? undefined : { addr, type: family === 4 ? 'ipv4' : 'ipv6' };
}

const rangeCache = new Map<string, BlockList | null>();
function ipRange(v: unknown): BlockList | undefined {
  if (typeof v !== 'string') return undefined;
  return remember(rangeCache, v, () => {
    const [host, prefixText, extra] = v.split('/');
    const ip = toIp(host);
    const max = ip?.type === 'ipv4' ? 32 : 128;
    const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
    if (!ip || extra !== undefined || !(prefix >= 0 && prefix <= max)) return null;
    const list = new BlockList();
    list.addSubnet(ip.addr, prefix, ip.type);
    return list;
  }) ?? undefined;
}

/** The policy-side value in the form evaluation compares, or undefined when it is not of the operator's kind. */
function expectedOf(kind: Kind, v: unknown): Typed | undefined {
  switch (kind) {
    case 'string': return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
    case 'numeric': return toNumber(v);
    case 'date': return toTime(v);
    case 'bool': return toBool(v);
    case 'ip': return ipRange(v);
  }
}

function actualOf(kind: Kind, v: ConditionValue): Typed | undefined {
  if (kind === 'string' && v instanceof Date) return Number.isFinite(v.getTime()) ? v.toISOString() : undefined;
  return kind === 'ip' ? toIp(v) : expectedOf(kind, v);
}

// A key absent from the context (or holding a value unreadable as the operator's kind) makes a positive
// operator false and a negated one true, as in AWS/RAM. So an Allow conditioned on
// NumericLessThanEquals kubecred:KubeConfigDurationMinutes does NOT allow a default kubeconfig that
// has no duration: the policy author asked for short-lived credentials only. Negated operators with
// several values mean "matches none of them", i.e. the negation of the positive OR.
function conditionHolds(condition: NonNullable<PolicyStatement['Condition']>, lookup: (key: string) => ConditionValue): boolean {
  for (const [name, keys] of Object.entries(condition)) {
    const op = operator(name);
    if (!op) return false;
    for (const [key, values] of Object.entries(keys)) {
      const actual = actualOf(op.kind, lookup(key));
      if (actual === undefined) {
        if (op.negated) continue;
        return false;
      }
      const matchesAny = values.some((v) => {
        const expected = expectedOf(op.kind, v);
        return expected !== undefined && op.test(actual, expected);
      });
      if (matchesAny === op.negated) return false;
    }
  }
  return true;
}

export function evaluate(policies: PolicyDocument[], req: AuthzRequest): AuthzDecision {
  const aliases = new Map(Object.entries(req.contextAliases ?? {}).map(([a, c]) => [a.toLowerCase(), c.toLowerCase()]));
  const canonical = (key: string) => aliases.get(key.toLowerCase()) ?? key.toLowerCase();
  const context = new Map<string, ConditionValue>();
  for (const [key, value] of Object.entries(req.context)) if (value != null) context.set(canonical(key), value);
  const lookup = (key: string) => context.get(canonical(key));
  const resources = [req.resource, ...(req.resourceAliases ?? [])];

  let allowed: AuthzDecision['matched'];
  for (const [policyIndex, policy] of policies.entries()) {
    for (const [statementIndex, st] of policy.Statement.entries()) {
      if (st.Effect === 'Allow' && allowed) continue;
      const applies = st.Action.some((p) => req.actions.some((a) => globMatch(p, a, true)))
        && st.Resource.some((p) => resources.some((r) => globMatch(p, r, false)))
        && (!st.Condition || conditionHolds(st.Condition, lookup));
      if (!applies) continue;
      if (st.Effect === 'Deny') return { decision: 'explicit-deny', matched: { policyIndex, statementIndex } };
      allowed = { policyIndex, statementIndex };
    }
  }
  return allowed ? { decision: 'allow', matched: allowed } : { decision: 'implicit-deny' };
}

// ---- parsing ----

function fail(path: string, problem: string): never {
  throw invalid(`${path}: ${problem}`, { path });
}

function show(v: unknown): string {
  const text = v === undefined ? 'nothing' : JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const UNSUPPORTED_FIELDS: Record<string, string> = {
  NotAction: 'NotAction is not supported; list the actions explicitly in Action',
  NotResource: 'NotResource is not supported; list the resources explicitly in Resource',
  Principal: 'Principal is not supported; a policy applies to the principals it is attached to',
};

function checkFields(obj: Record<string, unknown>, allowed: string[], prefix: string): void {
  for (const key of Object.keys(obj)) {
    if (allowed.includes(key)) continue;
    if (Object.hasOwn(UNSUPPORTED_FIELDS, key)) fail(prefix + key, UNSUPPORTED_FIELDS[key]);
    fail(prefix + key.slice(0, 60), `unknown field; allowed fields are ${allowed.join(', ')}`);
  }
}

function checkString(s: string, path: string, what: string): string {
  if (s === '') fail(path, `${what} must not be empty`);
  if (s.length > MAX_STRING) fail(path, `${what} is ${s.length} characters; at most ${MAX_STRING} are allowed`);
  return s;
}

function stringList(v: unknown, path: string): string[] {
  if (v === undefined) fail(path, 'is required');
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0) fail(path, 'must not be an empty list');
  return list.map((item, i) => {
    const itemPath = Array.isArray(v) ? `${path}[${i}]` : path;
    if (typeof item !== 'string') fail(itemPath, `must be a string or a list of strings, got ${show(item)}`);
    return checkString(item, itemPath, 'the value');
  });
}

function parseCondition(raw: unknown, path: string): NonNullable<PolicyStatement['Condition']> {
  if (!isRecord(raw) || Object.keys(raw).length === 0) fail(path, 'must be a non-empty object of {Operator: {Key: value or [values]}}');
  const out: Array<[string, Record<string, Array<string | number | boolean>>]> = [];
  for (const [name, keys] of Object.entries(raw)) {
    const opPath = `${path}.${name.slice(0, 60)}`;
    const op = operator(name);
    if (!op) fail(opPath, `unknown operator; supported operators are ${OPERATOR_NAMES.join(', ')}`);
    if (!isRecord(keys) || Object.keys(keys).length === 0) fail(opPath, 'must be a non-empty object of {Key: value or [values]}');
    const entries: Array<[string, Array<string | number | boolean>]> = [];
    for (const [key, value] of Object.entries(keys)) {
      checkString(key, opPath, 'the condition key');
      const values = Array.isArray(value) ? value : [value];
      if (values.length === 0) fail(opPath, `${show(key)} must not be an empty list`);
      entries.push([key, values.map((item) => {
        if (typeof item === 'string') checkString(item, opPath, `a value of ${show(key)}`);
        if (expectedOf(op.kind, item) === undefined) fail(opPath, `${show(key)} must be ${KIND_WORDING[op.kind]}, got ${show(item)}`);
        // Normalise to the type the operator compares, but keep dates and addresses as written.
        if (op.kind === 'string') return String(item);
        if (op.kind === 'numeric') return toNumber(item) as number;
        if (op.kind === 'bool') return toBool(item) as boolean;
        return item as string | number;
      })]);
    }
    // fromEntries defines own properties, so a key named "__proto__" cannot reach a prototype.
    out.push([name, Object.fromEntries(entries)]);
  }
  return Object.fromEntries(out);
}

/** Whether an Action entry of a policy (wildcards allowed, case ignored) names `action`. */
export const actionPatternMatches = (pattern: string, action: string): boolean => globMatch(pattern, action, true);

function parseStatement(raw: unknown, path: string): PolicyStatement {
  if (!isRecord(raw)) fail(path, 'must be an object with Effect, Action and Resource');
  checkFields(raw, ['Effect', 'Action', 'Resource', 'Condition'], `${path}.`);
  if (raw.Effect !== 'Allow' && raw.Effect !== 'Deny') fail(`${path}.Effect`, `must be "Allow" or "Deny", got ${show(raw.Effect)}`);
  const statement: PolicyStatement = {
    Effect: raw.Effect,
    Action: stringList(raw.Action, `${path}.Action`),
    Resource: stringList(raw.Resource, `${path}.Resource`),
  };
  if (raw.Condition !== undefined) statement.Condition = parseCondition(raw.Condition, `${path}.Condition`);
  return statement;
}

/** Validates and normalises a policy document (object or JSON text); throws VALIDATION_FAILED naming the path. */
export function parsePolicyDocument(input: unknown): PolicyDocument {
  let serialized: string | undefined;
  try {
    serialized = typeof input === 'string' ? input : JSON.stringify(input);
  } catch (e) {
    fail('(document)', `cannot be serialized as JSON (${(e as Error).message})`);
  }
  if (serialized === undefined) fail('(document)', 'must be a JSON object with Version and Statement');
  const bytes = Buffer.byteLength(serialized);
  if (bytes > MAX_DOCUMENT_BYTES) fail('(document)', `is ${bytes} bytes when serialized; at most ${MAX_DOCUMENT_BYTES} are allowed`);
  let doc: unknown = input;
  if (typeof input === 'string') {
    try {
      doc = JSON.parse(input);
    } catch (e) {
      fail('(document)', `is not valid JSON (${(e as Error).message})`);
    }
  }
  if (!isRecord(doc)) fail('(document)', 'must be a JSON object with Version and Statement');
  checkFields(doc, ['Version', 'Statement'], '');
  if (doc.Version !== '1') fail('Version', `must be "1", got ${show(doc.Version)}`);
  const statements = doc.Statement;
  if (!Array.isArray(statements)) fail('Statement', `must be a list of statements, got ${show(statements)}`);
  if (statements.length === 0) fail('Statement', 'must not be an empty list');
  if (statements.length > MAX_STATEMENTS) fail('Statement', `has ${statements.length} statements; at most ${MAX_STATEMENTS} are allowed`);
  return { Version: '1', Statement: statements.map((s, i) => parseStatement(s, `Statement[${i}]`)) };
}
