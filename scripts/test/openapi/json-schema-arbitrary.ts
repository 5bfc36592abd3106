/**
 * fast-check arbitraries from the JSON Schema 2020-12 subset that zod's
 * toJSONSchema emits into our OpenAPI documents: type (or a list of types),
 * enum/const, not (an enum only), anyOf/oneOf/allOf (first branch), $ref into
 * components/schemas, string length/pattern/format, number bounds, object
 * properties/required/additionalProperties, array items/bounds. Strings use
 * every code point (NUL included). `nearValid` mutates a valid value the way
 * a careless or hostile client would: a wrong type, a missing or extra
 * member, a NUL byte, a very long string, deep nesting.
 */
import fc from 'fast-check';

export type Schema = Record<string, unknown>;

export interface SchemaContext {
  /** `#/components/schemas/X` → X's schema. */
  resolve(ref: string): Schema;
}

const MAX_ARRAY = 4;
const MAX_STRING = 40;

function num(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

function stringArbitrary(schema: Schema): fc.Arbitrary<string> {
  const minLength = num(schema.minLength) ?? 0;
  const maxLength = num(schema.maxLength);
  const fits = (s: string): boolean => [...s].length >= minLength && (maxLength === undefined || [...s].length <= maxLength);
  switch (schema.format) {
    case 'uuid':
      return fc.uuid();
    case 'email':
      return fc.emailAddress().filter(fits);
    case 'date-time':
      return fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString());
    case 'uri':
    case 'url':
      return fc.webUrl().filter(fits);
  }
  if (typeof schema.pattern === 'string') {
    return fc.stringMatching(new RegExp(schema.pattern, 'u')).filter(fits);
  }
  const max = Math.min(maxLength ?? MAX_STRING, Math.max(minLength, MAX_STRING));
  return fc.string({ unit: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...'abcXYZ019 _-.') }, { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) }, { weight: 1, arbitrary: fc.constant('\u0000') }), minLength, maxLength: max });
}

function numberArbitrary(schema: Schema, integer: boolean): fc.Arbitrary<number> {
  let min = num(schema.minimum);
  let max = num(schema.maximum);
  const exMin = num(schema.exclusiveMinimum);
  const exMax = num(schema.exclusiveMaximum);
  if (integer) {
    if (exMin !== undefined) min = Math.max(min ?? -Infinity, Math.floor(exMin) + 1);
    if (exMax !== undefined) max = Math.min(max ?? Infinity, Math.ceil(exMax) - 1);
    const lo = Math.max(min ?? -1_000_000, Number.MIN_SAFE_INTEGER);
    const hi = Math.min(max ?? 1_000_000, Number.MAX_SAFE_INTEGER);
    return fc.oneof(fc.integer({ min: lo, max: hi }), fc.constantFrom(lo, hi));
  }
  return fc.double({ min: min ?? exMin ?? -1e6, max: max ?? exMax ?? 1e6, noNaN: true, noDefaultInfinity: true, minExcluded: exMin !== undefined && min === undefined, maxExcluded: exMax !== undefined && max === undefined });
}

/** A value the schema accepts (for the subset above). `depth` bounds recursive schemas. */
export function valid(schema: Schema | boolean, ctx: SchemaContext, depth = 0): fc.Arbitrary<unknown> {
  if (typeof schema === 'object' && schema.not !== undefined) {
    // Only `not: { enum }` is emitted (path parameters that cannot be `.` or `..`).
    const { not, ...rest } = schema;
    const refused = ((not as Schema).enum ?? []) as unknown[];
    return valid(rest, ctx, depth).filter((v) => !refused.includes(v));
  }
  if (schema === true || (typeof schema === 'object' && Object.keys(schema).length === 0)) return depth > 3 ? fc.constant(null) : fc.jsonValue({ maxDepth: 2 });
  if (schema === false) return fc.constant(undefined);
  if (typeof schema.$ref === 'string') return depth > 4 ? fc.constant(null) : valid(ctx.resolve(schema.$ref), ctx, depth + 1);
  if ('const' in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  const branches = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (branches) return fc.oneof(...branches.map((b) => valid(b, ctx, depth + 1)));
  if (Array.isArray(schema.allOf)) return valid({ ...(schema.allOf[0] as Schema), ...withoutKeys(schema, ['allOf']) }, ctx, depth);
  if (Array.isArray(schema.type)) return fc.oneof(...(schema.type as string[]).map((t) => valid({ ...schema, type: t }, ctx, depth)));
  switch (schema.type) {
    case 'string':
      return stringArbitrary(schema);
    case 'integer':
      return numberArbitrary(schema, true);
    case 'number':
      return numberArbitrary(schema, false);
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const items = (schema.items ?? {}) as Schema;
      const minLength = num(schema.minItems) ?? 0;
      const maxLength = Math.max(minLength, Math.min(num(schema.maxItems) ?? MAX_ARRAY, MAX_ARRAY));
      return fc.array(valid(items, ctx, depth + 1), { minLength, maxLength });
    }
    case 'object':
    case undefined: {
      const properties = (schema.properties ?? {}) as Record<string, Schema>;
      const required = (schema.required ?? []) as string[];
      const fixed = fc.record(Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, valid(v, ctx, depth + 1)])), { requiredKeys: required.filter((k) => k in properties) });
      const extra = schema.additionalProperties;
      if (extra && typeof extra === 'object' && depth < 4) {
        const keys = schema.propertyNames ? (valid(schema.propertyNames as Schema, ctx, depth + 1) as fc.Arbitrary<string>) : fc.string({ minLength: 1, maxLength: 12 });
        return fc.tuple(fixed, fc.dictionary(keys, valid(extra as Schema, ctx, depth + 1), { maxKeys: 3 })).map(([a, b]) => ({ ...b, ...a }));
      }
      return fixed;
    }
    default:
      return fc.constant(null);
  }
}

function withoutKeys(schema: Schema, keys: string[]): Schema {
  return Object.fromEntries(Object.entries(schema).filter(([k]) => !keys.includes(k)));
}

/** Paths of the leaves and members of a JSON value, for mutation. */
function locations(value: unknown, path: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(path);
  if (Array.isArray(value)) value.forEach((v, i) => locations(v, [...path, i], out));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) locations(v, [...path, k], out);
  return out;
}

const REMOVE = Symbol('remove');

/** `value` with the member at `path` replaced (or removed, for REMOVE); copies only along the path. */
function setAt(value: unknown, path: (string | number)[], replacement: unknown): unknown {
  if (path.length === 0) return replacement === REMOVE ? undefined : replacement;
  const [head, ...rest] = path;
  if (Array.isArray(value)) {
    const copy = [...value];
    if (rest.length === 0 && replacement === REMOVE) copy.splice(head as number, 1);
    else copy[head as number] = setAt(copy[head as number], rest, replacement);
    return copy;
  }
  const copy = { ...(value as Record<string, unknown>) };
  if (rest.length === 0 && replacement === REMOVE) delete copy[head!];
  else copy[head!] = setAt(copy[head!], rest, replacement);
  return copy;
}

/**
 * Stands for arrays nested `depth` deep: JSON.stringify would overflow the
 * stack on the value itself, so the request text is spliced in by
 * `serializeJson`.
 */
function deepJson(depth: number): string {
  return `\u0001deep-json:${depth}`;
}

/** JSON text of a generated value, with each deepJson marker expanded. */
export function serializeJson(value: unknown): string {
  return JSON.stringify(value).replace(/"\\u0001deep-json:(\d+)"/g, (_m, n: string) => `${'['.repeat(Number(n))}1${']'.repeat(Number(n))}`);
}

function nested(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

/** One mutation of a valid value. */
export function mutate(value: unknown): fc.Arbitrary<unknown> {
  const where = locations(value);
  const replacement = fc.oneof(
    fc.constant(REMOVE),
    fc.constant('\u0000'),
    fc.constant('a\u0000b'),
    fc.constant('x'.repeat(5000)),
    fc.constant(-1),
    fc.constant(1e308),
    fc.constant(1.5),
    fc.constant(''),
    fc.constant(null),
    fc.constant(true),
    fc.constant({}),
    fc.constant([]),
    fc.constant(nested(64)),
    fc.constant(deepJson(5000)),
    fc.constant('../../etc/passwd'),
    fc.constant("' OR 1=1 --"),
    fc.constant('2026-13-45T99:99:99Z'),
    fc.string({ unit: 'binary', maxLength: 20 }),
  );
  const extraMember = fc.tuple(fc.string({ minLength: 1, maxLength: 10 }), fc.jsonValue({ maxDepth: 1 }));
  return fc.oneof(
    fc.tuple(fc.constantFrom(...where), replacement).map(([path, r]) => setAt(value, path, r)),
    extraMember.map(([k, v]) => (value !== null && typeof value === 'object' && !Array.isArray(value) ? { ...value, [k]: v } : value)),
  );
}

/** Mostly valid values, some mutated: what the contract must answer with a documented status. */
export function nearValid(schema: Schema, ctx: SchemaContext): fc.Arbitrary<unknown> {
  const ok = valid(schema, ctx);
  return fc.oneof({ weight: 3, arbitrary: ok }, { weight: 2, arbitrary: ok.chain(mutate) });
}
