/**
 * What a projection is: a name, the tables it owns, and a batch `apply` that
 * writes a slice of the global log into those tables. `apply` receives the
 * physical table names (live ones, or the shadow copies during a rebuild), so
 * the same code fills both.
 */
import type { Queryable } from '@bulwark/db';
import type { RecordedEvent } from '../store/event-store.ts';

/** Logical table name → physical (quoted-safe, internal) name. */
export type TableNames = Readonly<Record<string, string>>;

export interface Projection {
  name: string;
  /** Logical names of the tables this projection owns (also their live physical names). */
  tables: readonly string[];
  /** Applies events in global order; runs inside the projector's transaction. */
  apply(db: Queryable, events: readonly RecordedEvent[], tables: TableNames): Promise<void>;
}

export function liveTables(projection: Projection): TableNames {
  return Object.fromEntries(projection.tables.map((t) => [t, t]));
}

export function table(tables: TableNames, name: string): string {
  const physical = tables[name];
  if (!physical) throw new Error(`projection table ${name} is not declared`);
  return `"${physical}"`;
}
