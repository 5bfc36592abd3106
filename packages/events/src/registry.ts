/**
 * Event types and their versions. Each `defineEvent()` is one version of one
 * type with its zod schema; a version above 1 may carry `upcast`, which turns
 * the data of the previous version into its own. Reading an old event walks
 * the chain: validate against the schema of the version it was written with,
 * upcast step by step, validate against the latest. Producers may write any
 * registered version (an old deployment keeps writing v1 while a new one
 * reads v2); consumers always see the latest.
 */
import type { z } from 'zod';
import { EventDecodeError } from './errors.ts';

export interface EventDefinition<TType extends string = string, TData = unknown> {
  readonly type: TType;
  readonly version: number;
  readonly schema: z.ZodType<TData>;
  /** Turns data of `version - 1` (already validated against that version's schema) into this version's input. */
  readonly upcast: ((previous: unknown) => unknown) | undefined;
  /** Optional `dataschema` URI sent with each event of this version. */
  readonly dataschema: string | undefined;
}

export interface DefineEventOptions<TType extends string, TSchema extends z.ZodType> {
  /** Reverse-DNS CloudEvents type, e.g. `com.bulwark.orders.order-placed`. */
  type: TType;
  /** Integer from 1, one more than the previous version of the same type. */
  version: number;
  schema: TSchema;
  upcast?: (previous: unknown) => z.input<TSchema>;
  dataschema?: string;
}

/** Declares one version of an event type. */
export function defineEvent<TType extends string, TSchema extends z.ZodType>(
  options: DefineEventOptions<TType, TSchema>,
): EventDefinition<TType, z.output<TSchema>> {
  if (!Number.isInteger(options.version) || options.version < 1) throw new Error(`event ${options.type}: version must be an integer >= 1`);
  if (options.version === 1 && options.upcast) throw new Error(`event ${options.type}: version 1 has nothing to upcast from`);
  return {
    type: options.type,
    version: options.version,
    schema: options.schema as unknown as z.ZodType<z.output<TSchema>>,
    upcast: options.upcast,
    dataschema: options.dataschema,
  };
}

/** The data type of a definition. */
export type EventData<D> = D extends EventDefinition<string, infer T> ? T : never;

export interface EventRegistry {
  /** The highest registered version of `type`, or undefined. */
  latest(type: string): EventDefinition | undefined;
  /** Exactly this version, or undefined. */
  get(type: string, version: number): EventDefinition | undefined;
  types(): string[];
  /**
   * Validates `data` written as `type`@`version` and upcasts it to the latest
   * version. Throws EventDecodeError (never retried) when that cannot be done.
   */
  decode(type: string, version: number, data: unknown): { version: number; data: unknown };
  /** Validates data before publishing (parsed output, so defaults apply). */
  encode(definition: EventDefinition, data: unknown): unknown;
}

export function createEventRegistry(definitions: readonly EventDefinition[]): EventRegistry {
  const byType = new Map<string, Map<number, EventDefinition>>();
  for (const def of definitions) {
    let versions = byType.get(def.type);
    if (!versions) byType.set(def.type, (versions = new Map()));
    if (versions.has(def.version)) throw new Error(`event ${def.type} v${def.version} is defined twice`);
    versions.set(def.version, def);
  }
  for (const [type, versions] of byType) {
    const max = Math.max(...versions.keys());
    for (let v = 2; v <= max; v++) {
      const def = versions.get(v);
      if (def && !def.upcast && versions.has(v - 1)) throw new Error(`event ${type} v${v} needs upcast() from v${v - 1}`);
    }
  }

  const get = (type: string, version: number) => byType.get(type)?.get(version);
  const latest = (type: string) => {
    const versions = byType.get(type);
    if (!versions) return undefined;
    return versions.get(Math.max(...versions.keys()));
  };

  const parse = (def: EventDefinition, data: unknown): unknown => {
    const result = def.schema.safeParse(data);
    if (!result.success) {
      throw new EventDecodeError('EVENTS_INVALID_DATA', `${def.type} v${def.version}: ${result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`, result.error);
    }
    return result.data;
  };

  return {
    latest,
    get,
    types: () => [...byType.keys()].sort(),
    decode(type, version, data) {
      const target = latest(type);
      const own = get(type, version);
      if (!target || !own) throw new EventDecodeError('EVENTS_UNKNOWN_TYPE', `no definition for event ${type} v${version}`);
      let current = parse(own, data);
      for (let v = version + 1; v <= target.version; v++) {
        const step = get(type, v);
        if (!step?.upcast) throw new EventDecodeError('EVENTS_UNKNOWN_TYPE', `event ${type}: no upcast to v${v}`);
        current = parse(step, step.upcast(current));
      }
      return { version: target.version, data: current };
    },
    encode(definition, data) {
      if (get(definition.type, definition.version) !== definition) {
        throw new EventDecodeError('EVENTS_UNKNOWN_TYPE', `event ${definition.type} v${definition.version} is not in this registry`);
      }
      return parse(definition, data);
    },
  };
}
