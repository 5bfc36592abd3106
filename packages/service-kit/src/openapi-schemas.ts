/**
 * zod → JSON Schema 2020-12 for an OpenAPI 3.1 document. Zod puts reused and
 * recursive schemas (e.g. `z.json()`) under the schema's own `$defs` and refers
 * to them as `#/$defs/…`; inside an OpenAPI document `#` is the document, so
 * those references would not resolve. The collector hoists every `$defs` entry
 * into `components/schemas` (one entry per distinct schema) and rewrites the
 * references to point there.
 */
import { z } from 'zod';

export type JsonSchema = Record<string, unknown>;

const LOCAL_DEF = /^#\/\$defs\/(.+)$/;

/** zod → JSON Schema as zod emits it (own `$defs`, no `$schema`). */
export function toJsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as JsonSchema;
  delete json.$schema;
  return json;
}

/** Holds `components/schemas` while a document is built; names are stable for one set of routes. */
export class SchemaComponents {
  readonly schemas: Record<string, JsonSchema> = {};
  readonly #byContent = new Map<string, string>();
  readonly #filled = new Set<string>();

  constructor(initial: Record<string, JsonSchema> = {}) {
    Object.assign(this.schemas, initial);
    for (const name of Object.keys(initial)) this.#filled.add(name);
  }

  /**
   * Converts a zod schema and hoists its `$defs`; `hint` names hoisted
   * entries that zod left anonymous (`__schema0` → `<Hint>0`).
   */
  convert(schema: z.ZodType, io: 'input' | 'output', hint: string): JsonSchema {
    const json = toJsonSchema(schema, io);
    const defs = (json.$defs ?? {}) as Record<string, JsonSchema>;
    delete json.$defs;
    if (Object.keys(defs).length === 0) return json;
    // Names first, so definitions that refer to each other can be rewritten.
    const renamed = new Map<string, string>();
    for (const [name, def] of Object.entries(defs)) renamed.set(name, this.#nameFor(name, def, hint, io));
    const rewrite = (node: unknown): unknown => {
      if (Array.isArray(node)) return node.map(rewrite);
      if (node === null || typeof node !== 'object') return node;
      const out: JsonSchema = {};
      for (const [key, value] of Object.entries(node)) {
        const local = key === '$ref' && typeof value === 'string' ? LOCAL_DEF.exec(value) : null;
        out[key] = local ? `#/components/schemas/${renamed.get(local[1]!) ?? local[1]!}` : rewrite(value);
      }
      return out;
    };
    for (const [name, def] of Object.entries(defs)) {
      const target = renamed.get(name)!;
      if (this.#filled.has(target)) continue;
      this.schemas[target] = rewrite(def) as JsonSchema;
      this.#filled.add(target);
    }
    return rewrite(json) as JsonSchema;
  }

  #nameFor(name: string, def: JsonSchema, hint: string, io: string): string {
    const key = `${io}\u0000${JSON.stringify(def)}`;
    const known = this.#byContent.get(key);
    if (known) return known;
    const base = name.startsWith('__schema') ? `${hint}${name.slice('__schema'.length)}` : name;
    let candidate = base;
    for (let i = 2; Object.hasOwn(this.schemas, candidate); i++) candidate = `${base}_${i}`;
    this.#byContent.set(key, candidate);
    this.schemas[candidate] = {}; // reserved; filled once rewritten
    return candidate;
  }
}

/** `sendMessage` + `Body` → `SendMessageBody`. */
export function schemaHint(operationId: string, part: string): string {
  return `${operationId.charAt(0).toUpperCase()}${operationId.slice(1)}${part}`;
}
