import assert from 'node:assert/strict';
import test from 'node:test';
import { makeKit } from '../core/test-kit.ts';
import { lazySchemas } from './lazy-schemas.ts';
import { buildApp } from './server.ts';

test('every route schema of the whole app compiles (they are compiled on first use, so a bad one would fail only then)', async () => {
  const kit = await makeKit();
  try {
    const { app, compileSchemas } = await buildApp({ authority: kit.authority, logger: false, bodyLimitBytes: 1 << 20, version: 'test' });
    await app.ready();
    const compiled = compileSchemas();
    assert.ok(compiled > 200, `compiled ${compiled}: every surface's validators and serializers`);
    assert.equal(compileSchemas(), 0, 'nothing is compiled twice');
    await app.close();
  } finally {
    await kit.close();
  }
});

test("a lazy validator answers as Ajv's own: errors on a bad value, defaults and the parent handed on", () => {
  const { compilersFactory, compileAll } = lazySchemas();
  const compile = compilersFactory.buildValidator({}, { customOptions: { coerceTypes: false }, plugins: [] });
  const v = compile({ schema: { type: 'object', properties: { n: { type: 'integer' }, d: { type: 'string', default: 'x' } }, required: ['n'] }, method: 'POST', url: '/t', httpPart: 'body' });
  assert.equal(compileAll(), 1, 'not compiled until called');
  assert.equal(v({ n: 'one' }), false);
  assert.match(JSON.stringify(v.errors), /must be integer/);
  const body: Record<string, unknown> = { n: 1 };
  assert.equal(v(body, { parentData: { body }, parentDataProperty: 'body' }), true);
  assert.equal(v.errors, null);
  assert.equal(body.d, 'x', "Ajv's defaults apply");

  const s = compilersFactory.buildSerializer({}, {})({ schema: { type: 'object', properties: { a: { type: 'string' } } } });
  assert.equal(s({ a: 'b', secret: 'never' }), '{"a":"b"}', 'only the schema\'s properties are written');
  assert.equal(compileAll(), 0);
});
