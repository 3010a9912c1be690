// Checks answers against what the server's own /openapi.json documents for them: the status must be documented,
// with the answer's content type, and the body must validate against that response's schema.

import assert from 'node:assert/strict';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import type { RawResponse } from './http.ts';

type Doc = { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>>; components: object };

export function documentedResponses(doc: Doc) {
  // OpenAPI 3.0's schema dialect: `nullable` (which Ajv knows), and keywords such as `example` left alone.
  const ajv = new Ajv({ strict: false, allErrors: true });
  (addFormats as unknown as (a: Ajv) => void)(ajv);
  // The document is the root every "#/components/..." reference resolves against.
  ajv.addSchema({ ...doc, $id: 'openapi.json' } as object);
  const compiled = new Map<string, ReturnType<Ajv['compile']>>();
  const schemaOf = (method: string, path: string, status: string, type: string) => {
    const key = `${method} ${path} ${status} ${type}`;
    let v = compiled.get(key);
    if (!v) {
      const pointer = ['paths', path, method, 'responses', status, 'content', type, 'schema'].map((s) => s.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
      v = ajv.compile({ $ref: `openapi.json#/${pointer}` });
      compiled.set(key, v);
    }
    return v;
  };

  return {
    /** Every response schema in the document compiles (a schema Ajv cannot read documents nothing). */
    compileAll(): number {
      let n = 0;
      for (const [path, ops] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(ops)) {
          for (const [status, r] of Object.entries(op.responses ?? {})) {
            for (const type of Object.keys(r.content ?? {})) {
              schemaOf(method, path, status, type);
              n++;
            }
          }
        }
      }
      return n;
    },
    /** Asserts that `r`, the answer to `method path` (the document's path, with {id}), is documented as it is. */
    check(method: string, path: string, r: RawResponse): void {
      const op = doc.paths[path]?.[method.toLowerCase()];
      assert.ok(op, `${method} ${path} is documented`);
      const documented = op.responses[String(r.status)];
      assert.ok(documented, `${method} ${path} documents ${r.status} (it documents ${Object.keys(op.responses).join(', ')})`);
      const type = String(r.headers['content-type'] ?? '').split(';')[0]!.trim();
      assert.ok(documented.content?.[type], `${method} ${path} ${r.status} is documented as ${type} (it says ${Object.keys(documented.content ?? {}).join(', ')})`);
      const validate = schemaOf(method.toLowerCase(), path, String(r.status), type);
      const body = type === 'application/json' ? r.json : r.body;
      assert.ok(validate(body), `${method} ${path} ${r.status}: ${JSON.stringify(validate.errors)?.slice(0, 800)}\n${r.body.slice(0, 400)}`);
    },
  };
}
