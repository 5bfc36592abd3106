/**
 * Typed SQL with Kysely, run by the pool. Kysely only builds and compiles
 * (`createQueryBuilder<DB>()`, one per store module); `runQuery(db, name,
 * query)` sends the compiled text and parameters through a `Queryable` (the
 * pool, or the client `withTransaction` hands out), so the statement gets the
 * pool's name label and duration metric, tenant scoping (the one-batch scoped
 * statement, or the transaction's BEGIN), leak detection, the transaction's
 * retries and query tracking, exactly like hand-written SQL. Raw SQL stays
 * possible: `sql` fragments inside a builder, or `db.query` as before.
 *
 * Executing a builder directly (`.execute()`) is refused: it would bypass all
 * of the above. So are Kysely transactions: transactions are withTransaction's.
 */
import {
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type Compilable,
  type DatabaseConnection,
  type Driver,
} from 'kysely';
import type { Queryable } from './pool.ts';

export { sql, type Generated, type Insertable, type Selectable, type Updateable, type ColumnType, type Kysely, type Compilable } from 'kysely';

function refused(): Error {
  return new Error('a query builder of @bulwark/db only compiles: run its queries with runQuery(db, name, query), transactions with withTransaction');
}

/** Compiles only; any attempt to execute through Kysely is refused. */
class CompileOnlyDriver implements Driver {
  async init(): Promise<void> {}
  async acquireConnection(): Promise<DatabaseConnection> {
    throw refused();
  }
  async beginTransaction(): Promise<void> {
    throw refused();
  }
  async commitTransaction(): Promise<void> {
    throw refused();
  }
  async rollbackTransaction(): Promise<void> {
    throw refused();
  }
  async releaseConnection(): Promise<void> {}
  async destroy(): Promise<void> {}
}

/** A Kysely instance for the tables `DB` describes, that builds and compiles PostgreSQL (no connection of its own). */
export function createQueryBuilder<DB>(): Kysely<DB> {
  return new Kysely<DB>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new CompileOnlyDriver(),
      createIntrospector: (db) => new PostgresIntrospector(db),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  });
}

export interface BuiltQueryResult<O> {
  rows: O[];
  /** Rows the statement touched (UPDATE, DELETE, INSERT without RETURNING). */
  rowCount: number;
}

/**
 * Runs a built query on `db` as the statement `name` (the metrics label and
 * the N+1 report's name, as `query({ name })`); the rows are typed by the builder.
 */
export async function runQuery<O>(db: Queryable, name: string, query: Compilable<O>): Promise<BuiltQueryResult<O>> {
  const compiled = query.compile();
  const result = await db.query({ name, text: compiled.sql, values: compiled.parameters });
  return { rows: result.rows as O[], rowCount: result.rowCount ?? 0 };
}
