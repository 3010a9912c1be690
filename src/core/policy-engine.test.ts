import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubecredError } from './errors.ts';
import { evaluate, parsePolicyDocument, type AuthzRequest } from './policy-engine.ts';

const CLUSTER = 'krn:kubecred:cn-hangzhou:acc_123:cluster/cls_abc';
const CLUSTER_ACS = 'acs:cs:cn-hangzhou:acc_123:cluster/cls_abc';
const DURATION = 'kubecred:KubeConfigDurationMinutes';

const doc = (...Statement: unknown[]) => parsePolicyDocument({ Version: '1', Statement });
const allow = (extra: Record<string, unknown> = {}) => ({ Effect: 'Allow', Action: 'kubecred:GetKubeconfig', Resource: '*', ...extra });
const req = (extra: Partial<AuthzRequest> = {}): AuthzRequest => ({
  actions: ['kubecred:GetKubeconfig', 'cs:DescribeClusterUserKubeconfig'],
  resource: CLUSTER,
  resourceAliases: [CLUSTER_ACS],
  context: {},
  contextAliases: { 'cs:KubeConfigDurationMinutes': DURATION, 'acs:SourceIp': 'kubecred:SourceIp' },
  ...extra,
});
const decide = (statement: unknown, r: Partial<AuthzRequest> = {}) => evaluate([doc(statement)], req(r)).decision;

test('explicit deny wins over allow, in any order and across policies', () => {
  const deny = { Effect: 'Deny', Action: '*', Resource: '*' };
  assert.deepEqual(evaluate([doc(allow(), deny)], req()), { decision: 'explicit-deny', matched: { policyIndex: 0, statementIndex: 1 } });
  assert.deepEqual(evaluate([doc(allow()), doc(deny)], req()), { decision: 'explicit-deny', matched: { policyIndex: 1, statementIndex: 0 } });
  assert.deepEqual(evaluate([doc(allow())], req()), { decision: 'allow', matched: { policyIndex: 0, statementIndex: 0 } });
});

test('implicit deny when nothing matches', () => {
  assert.deepEqual(evaluate([], req()), { decision: 'implicit-deny' });
  assert.equal(decide(allow({ Action: ['kubecred:ListClusters'] })), 'implicit-deny');
  assert.equal(decide(allow({ Resource: ['krn:kubecred:*:acc_999:cluster/*'] })), 'implicit-deny');
});

test('action wildcards match any run (including empty, across ":") and one char, case-insensitively', () => {
  assert.equal(decide(allow({ Action: ['kubecred:Get*'] })), 'allow');
  assert.equal(decide(allow({ Action: ['KUBECRED:getkubeconfig'] })), 'allow');
  assert.equal(decide(allow({ Action: ['*'] })), 'allow');
  assert.equal(decide(allow({ Action: ['kube*config'] })), 'allow');
  assert.equal(decide(allow({ Action: ['kubecred:GetKubeconfig*'] })), 'allow');
  assert.equal(decide(allow({ Action: ['kubecred:G?tKubeconfig'] })), 'allow');
  assert.equal(decide(allow({ Action: ['kubecred:G?Kubeconfig'] })), 'implicit-deny');
  assert.equal(decide(allow({ Action: ['kubecred:Get'] })), 'implicit-deny');
});

test('resource wildcards match across "/" and ":" but are case-sensitive', () => {
  assert.equal(decide(allow({ Resource: ['krn:kubecred:*:acc_123:cluster/*'] })), 'allow');
  assert.equal(decide(allow({ Resource: ['krn:*/cls_abc'] })), 'allow');
  assert.equal(decide(allow({ Resource: ['krn:kubecred:cn-hangzhou:acc_123:cluster/cls_ab?'] })), 'allow');
  assert.equal(decide(allow({ Resource: ['krn:kubecred:*:acc_123:cluster/CLS_ABC'] })), 'implicit-deny');
  assert.equal(decide(allow({ Resource: ['KRN:kubecred:*'] })), 'implicit-deny');
});

test('alias actions, resources and condition keys match like the canonical names', () => {
  assert.equal(decide(allow({ Action: ['cs:DescribeClusterUserKubeconfig'] })), 'allow');
  assert.equal(decide(allow({ Resource: ['acs:cs:*:acc_123:cluster/cls_abc'] })), 'allow');
  const aliased = allow({ Condition: { NumericLessThanEquals: { 'cs:KubeConfigDurationMinutes': 60 } } });
  assert.equal(decide(aliased, { context: { [DURATION]: 30 } }), 'allow');
  assert.equal(decide(aliased, { context: { [DURATION]: 90 } }), 'implicit-deny');
  const otherCase = allow({ Condition: { NumericLessThanEquals: { 'KUBECRED:kubeconfigdurationminutes': 60 } } });
  assert.equal(decide(otherCase, { context: { [DURATION]: 30 } }), 'allow');
  const deny = { Effect: 'Deny', Action: '*', Resource: '*', Condition: { IpAddress: { 'acs:SourceIp': '10.0.0.0/8' } } };
  assert.equal(evaluate([doc(allow(), deny)], req({ context: { 'kubecred:SourceIp': '10.1.2.3' } })).decision, 'explicit-deny');
});

test('NumericLessThanEquals on duration allows 60, denies 120 and denies a missing key', () => {
  const st = allow({ Condition: { NumericLessThanEquals: { [DURATION]: 60 } } });
  assert.equal(decide(st, { context: { [DURATION]: 60 } }), 'allow');
  assert.equal(decide(st, { context: { [DURATION]: 120 } }), 'implicit-deny');
  assert.equal(decide(st, { context: {} }), 'implicit-deny');
  assert.equal(decide(st, { context: { [DURATION]: undefined } }), 'implicit-deny');
});

test('negated operator with a missing key is true; several values mean "none of them"', () => {
  const st = allow({ Condition: { StringNotEquals: { 'kubecred:Tag': ['prod', 'staging'] } } });
  assert.equal(decide(st, { context: {} }), 'allow');
  assert.equal(decide(st, { context: { 'kubecred:Tag': 'dev' } }), 'allow');
  assert.equal(decide(st, { context: { 'kubecred:Tag': 'staging' } }), 'implicit-deny');
  const notIp = { Effect: 'Deny', Action: '*', Resource: '*', Condition: { NotIpAddress: { 'kubecred:SourceIp': '10.0.0.0/8' } } };
  assert.equal(evaluate([doc(allow(), notIp)], req()).decision, 'explicit-deny');
});

test('all operators and all keys AND, values of one key OR', () => {
  const st = allow({ Condition: { StringEquals: { 'k:a': ['x', 'y'], 'k:b': 'z' }, Bool: { 'k:c': true } } });
  assert.equal(decide(st, { context: { 'k:a': 'y', 'k:b': 'z', 'k:c': true } }), 'allow');
  assert.equal(decide(st, { context: { 'k:a': 'y', 'k:b': 'z', 'k:c': false } }), 'implicit-deny');
  assert.equal(decide(st, { context: { 'k:a': 'w', 'k:b': 'z', 'k:c': true } }), 'implicit-deny');
});

test('string operators: ignore-case and like', () => {
  const ci = allow({ Condition: { StringEqualsIgnoreCase: { 'k:u': 'Alice' } } });
  assert.equal(decide(ci, { context: { 'k:u': 'ALICE' } }), 'allow');
  const like = allow({ Condition: { StringLike: { 'k:u': 'team-*' } } });
  assert.equal(decide(like, { context: { 'k:u': 'team-ops' } }), 'allow');
  assert.equal(decide(like, { context: { 'k:u': 'Team-ops' } }), 'implicit-deny');
  const notLike = allow({ Condition: { StringNotLike: { 'k:u': 'team-*' } } });
  assert.equal(decide(notLike, { context: { 'k:u': 'team-ops' } }), 'implicit-deny');
});

test('IpAddress matches IPv4 and IPv6 CIDR blocks, including IPv4-mapped addresses', () => {
  const st = allow({ Condition: { IpAddress: { 'acs:SourceIp': ['192.168.0.0/16', '2001:db8::/32', '203.0.113.7'] } } });
  const ip = (a: string) => decide(st, { context: { 'kubecred:SourceIp': a } });
  assert.equal(ip('192.168.10.20'), 'allow');
  assert.equal(ip('::ffff:192.168.10.20'), 'allow');
  assert.equal(ip('203.0.113.7'), 'allow');
  assert.equal(ip('2001:db8:1::5'), 'allow');
  assert.equal(ip('10.0.0.1'), 'implicit-deny');
  assert.equal(ip('2001:db9::1'), 'implicit-deny');
  assert.equal(ip('not-an-ip'), 'implicit-deny');
  assert.equal(decide(st, { context: {} }), 'implicit-deny');
});

test('Bool compares booleans and "true"/"false" strings', () => {
  const st = allow({ Condition: { Bool: { 'k:mfa': 'true' } } });
  assert.equal(decide(st, { context: { 'k:mfa': true } }), 'allow');
  assert.equal(decide(st, { context: { 'k:mfa': 'TRUE' } }), 'allow');
  assert.equal(decide(st, { context: { 'k:mfa': false } }), 'implicit-deny');
  assert.equal(decide(st, { context: {} }), 'implicit-deny');
});

test('Date operators compare Date, ISO strings and epoch seconds', () => {
  const st = allow({ Condition: { DateLessThan: { 'k:now': '2030-01-01T00:00:00Z' }, DateGreaterThanEquals: { 'k:now': 1577836800 } } });
  assert.equal(decide(st, { context: { 'k:now': new Date('2025-06-01T00:00:00Z') } }), 'allow');
  assert.equal(decide(st, { context: { 'k:now': '2025-06-01T00:00:00Z' } }), 'allow');
  assert.equal(decide(st, { context: { 'k:now': new Date('2031-01-01T00:00:00Z') } }), 'implicit-deny');
  assert.equal(decide(st, { context: { 'k:now': new Date('2019-01-01T00:00:00Z') } }), 'implicit-deny');
  const ne = allow({ Condition: { DateNotEquals: { 'k:now': '2025-06-01T00:00:00Z' } } });
  assert.equal(decide(ne, { context: { 'k:now': new Date('2025-06-01T00:00:00Z') } }), 'implicit-deny');
});

test('parse normalises strings to arrays, accepts JSON text and numeric strings', () => {
  const parsed = parsePolicyDocument(JSON.stringify({
    Version: '1',
    Statement: [{ Effect: 'Allow', Action: 'a:b', Resource: 'r', Condition: { NumericLessThan: { 'k:n': '60' }, Bool: { 'k:b': 'false' } } }],
  }));
  assert.deepEqual(parsed, {
    Version: '1',
    Statement: [{ Effect: 'Allow', Action: ['a:b'], Resource: ['r'], Condition: { NumericLessThan: { 'k:n': [60] }, Bool: { 'k:b': [false] } } }],
  });
});

const rejects = (input: unknown, path: string, text: RegExp) => {
  assert.throws(() => parsePolicyDocument(input), (e: unknown) => {
    assert.ok(e instanceof KubecredError);
    assert.equal(e.code, 'VALIDATION_FAILED');
    assert.equal(e.details?.path, path);
    assert.ok(e.message.startsWith(`${path}: `), e.message);
    assert.match(e.message, text);
    return true;
  });
};
const withStatement = (extra: Record<string, unknown>) => ({ Version: '1', Statement: [allow(), { ...allow(), ...extra }] });

test('parse rejects malformed documents, naming the path', () => {
  rejects('{not json', '(document)', /not valid JSON/);
  rejects([], '(document)', /JSON object/);
  rejects({ Version: '2', Statement: [allow()] }, 'Version', /must be "1"/);
  rejects({ Version: '1', Statement: [allow()], Extra: 1 }, 'Extra', /unknown field/);
  rejects({ Version: '1', Statement: 'x' }, 'Statement', /must be a list/);
  rejects({ Version: '1', Statement: [] }, 'Statement', /must not be an empty list/);
  rejects({ Version: '1', Statement: Array.from({ length: 101 }, () => allow()) }, 'Statement', /at most 100/);
  rejects(withStatement({ Sid: 'x' }), 'Statement[1].Sid', /unknown field/);
  rejects(withStatement({ Effect: 'allow' }), 'Statement[1].Effect', /"Allow" or "Deny"/);
  rejects(withStatement({ Action: undefined }), 'Statement[1].Action', /is required/);
  rejects(withStatement({ Action: [] }), 'Statement[1].Action', /must not be an empty list/);
  rejects(withStatement({ Resource: ['ok', 7] }), 'Statement[1].Resource[1]', /must be a string/);
  rejects(withStatement({ Resource: ['ok', ''] }), 'Statement[1].Resource[1]', /must not be empty/);
  rejects(withStatement({ Resource: 'r'.repeat(1025) }), 'Statement[1].Resource', /1025 characters; at most 1024/);
});

test('parse rejects NotAction, NotResource and Principal as unsupported', () => {
  for (const field of ['NotAction', 'NotResource', 'Principal']) {
    rejects(withStatement({ [field]: '*' }), `Statement[1].${field}`, /is not supported/);
  }
});

test('parse rejects bad conditions, naming the operator path', () => {
  const cond = (Condition: unknown) => withStatement({ Condition });
  rejects(cond({}), 'Statement[1].Condition', /non-empty object/);
  rejects(cond({ StringEqualz: { k: 'v' } }), 'Statement[1].Condition.StringEqualz', /unknown operator/);
  rejects(cond({ StringEquals: {} }), 'Statement[1].Condition.StringEquals', /non-empty object/);
  rejects(cond({ StringEquals: { k: [] } }), 'Statement[1].Condition.StringEquals', /"k" must not be an empty list/);
  rejects(cond({ StringEquals: { k: { nested: 1 } } }), 'Statement[1].Condition.StringEquals', /"k" must be a string/);
  rejects(cond({ StringEquals: { k: 'v'.repeat(1025) } }), 'Statement[1].Condition.StringEquals', /at most 1024/);
  rejects(cond({ StringEquals: { ['k'.repeat(1025)]: 'v' } }), 'Statement[1].Condition.StringEquals', /condition key is 1025/);
  rejects(
    cond({ NumericLessThanEquals: { 'cs:KubeConfigDurationMinutes': 'sixty' } }),
    'Statement[1].Condition.NumericLessThanEquals',
    /^Statement\[1\]\.Condition\.NumericLessThanEquals: "cs:KubeConfigDurationMinutes" must be a number/,
  );
  rejects(cond({ NumericEquals: { k: [1, true] } }), 'Statement[1].Condition.NumericEquals', /must be a number, got true/);
  rejects(cond({ DateLessThan: { k: 'yesterday' } }), 'Statement[1].Condition.DateLessThan', /must be a date/);
  rejects(cond({ Bool: { k: 'yes' } }), 'Statement[1].Condition.Bool', /true or false/);
  rejects(cond({ IpAddress: { k: '10.0.0.0/33' } }), 'Statement[1].Condition.IpAddress', /IPv4 or IPv6/);
  rejects(cond({ NotIpAddress: { k: '300.1.1.1' } }), 'Statement[1].Condition.NotIpAddress', /IPv4 or IPv6/);
});

test('parse rejects a document over 32 KiB when serialized', () => {
  const big = { Version: '1', Statement: Array.from({ length: 40 }, () => allow({ Resource: ['r'.repeat(1000)] })) };
  rejects(big, '(document)', /bytes when serialized; at most 32768/);
  rejects(JSON.stringify(big), '(document)', /bytes when serialized/);
});

test('a pathological pattern against a 1000-char string returns (no catastrophic backtracking)', () => {
  const st = allow({ Resource: ['a*a*a*a*a*a*a*a*b'] });
  assert.equal(decide(st, { resource: 'a'.repeat(1000), resourceAliases: [] }), 'implicit-deny');
  assert.equal(decide(st, { resource: `${'a'.repeat(1000)}b`, resourceAliases: [] }), 'allow');
  const like = allow({ Condition: { StringLike: { 'k:s': '*a*a*a*a*a*a*a*a*a*a*b' } } });
  assert.equal(decide(like, { context: { 'k:s': 'a'.repeat(1000) } }), 'implicit-deny');
});
