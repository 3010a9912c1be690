import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_JSON_DEPTH, nestsDeeperThan } from './json-depth.ts';

test('nesting is counted outside strings only, escaped quotes included, up to the limit and one past it', () => {
  const nest = (n: number) => '['.repeat(n) + ']'.repeat(n);
  assert.equal(nestsDeeperThan(nest(MAX_JSON_DEPTH)), false);
  assert.equal(nestsDeeperThan(nest(MAX_JSON_DEPTH + 1)), true);
  assert.equal(nestsDeeperThan(`{"a":${'{"b":'.repeat(MAX_JSON_DEPTH)}1${'}'.repeat(MAX_JSON_DEPTH)}}`), true);
  // Brackets in strings, and a string holding an escaped quote followed by brackets, are text.
  assert.equal(nestsDeeperThan(JSON.stringify({ s: '['.repeat(1000) })), false);
  assert.equal(nestsDeeperThan(JSON.stringify({ s: `\\"${'{'.repeat(1000)}` })), false);
  assert.equal(nestsDeeperThan(JSON.stringify({ s: '\\' })), false);
  // Siblings do not add up: depth, not count.
  assert.equal(nestsDeeperThan(JSON.stringify(Array.from({ length: 10_000 }, () => [[1]]))), false);
});
