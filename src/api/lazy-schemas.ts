// Route schemas compiled when a route is first used, not while the server starts. Fastify compiles every route's
// request validators (Ajv) and response serializers (fast-json-stringify) before it listens: ~230 routes with their
// HEAD twins, ~0.3 s of a 1.5-2 s start on a quiet machine, for surfaces a deployment may never call (the console's,
// one vendor's). Each compiler here is Fastify's own default, called with the same arguments, only later: the first
// request of a route pays its few milliseconds once. `compileAll` compiles whatever is still pending, for a test
// that must see every schema compile.

import AjvCompiler from '@fastify/ajv-compiler';
import SerializerSelector from '@fastify/fast-json-stringify-compiler';

type Compile<F> = (routeSchema: unknown) => F;
type Validator = ((data: unknown, context?: unknown) => unknown) & { errors?: unknown; schemaEnv?: unknown };
type Serializer = (data: unknown) => string;

export interface LazySchemas {
  compilersFactory: {
    buildValidator: (externalSchemas: unknown, options: unknown) => Compile<Validator>;
    buildSerializer: (externalSchemas: unknown, options: unknown) => Compile<Serializer>;
  };
  /** Compiles every schema not compiled yet; throws the first compiler error. Returns how many it compiled. */
  compileAll(): number;
}

export function lazySchemas(): LazySchemas {
  const pending = new Set<() => unknown>();
  const once = <F>(make: () => F): (() => F) => {
    let made: F | undefined;
    const get = () => {
      if (made === undefined) {
        made = make();
        pending.delete(get);
      }
      return made;
    };
    pending.add(get);
    return get;
  };
  const validators = (AjvCompiler as unknown as () => (e: unknown, o: unknown) => Compile<Validator>)();
  const serializers = (SerializerSelector as unknown as () => (e: unknown, o: unknown) => Compile<Serializer>)();
  return {
    compilersFactory: {
      buildValidator: (externalSchemas, options) => {
        const compile = validators(externalSchemas, options);
        return (routeSchema) => {
          const real = once(() => compile(routeSchema));
          // Fastify hands Ajv's functions the request as the value's parent (so Ajv may replace a coerced root) only
          // when it sees `schemaEnv`; this says so always, and passes it on to Ajv's function when that has one.
          const v: Validator = (data, context) => {
            const fn = real();
            const ok = fn.schemaEnv ? fn(data, context) : fn(data);
            v.errors = fn.errors;
            return ok;
          };
          v.schemaEnv = true;
          return v;
        };
      },
      buildSerializer: (externalSchemas, options) => {
        const compile = serializers(externalSchemas, options);
        return (routeSchema) => {
          const real = once(() => compile(routeSchema));
          return (data) => real()(data);
        };
      },
    },
    compileAll() {
      const all = [...pending];
      for (const get of all) get();
      return all.length;
    },
  };
}
