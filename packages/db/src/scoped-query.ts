/**
 * A single statement scoped to a DbContext in one extended-protocol batch
 * with one Sync: Parse (the statement, when this connection has not parsed
 * it), the context's `set_config(…, true)` (Bind + Execute of a statement
 * parsed once per connection), then Bind + Describe + Execute of the
 * statement, Sync. Until Sync the messages run in one implicit transaction,
 * so the setting has SET LOCAL semantics: the statement sees it, and it ends
 * with the transaction whatever happens (an error skips to Sync and rolls it
 * back). Against BEGIN + set_config + statement + COMMIT this saves the two
 * transaction-control commands and their round-trip messages (bench/rls.ts).
 *
 * Built on pg's own Query (the documented Submittable extension point, as
 * pg-cursor does): only the messages sent differ; results, type parsing and
 * errors are pg's. The statement's Parse goes first, so a Parse that fails
 * stops the batch before pg records the name as parsed.
 */
import { createRequire } from 'node:module';
import pg from 'pg';

const require = createRequire(import.meta.url);
// pg's own value serialisation for Bind (Dates, arrays, JSON, Buffers), as its Query uses.
const { prepareValue } = require('pg/lib/utils') as { prepareValue: (value: unknown) => unknown };

/**
 * The preamble per setting, parsed once per connection under its name. A row-less form: the
 * set_config is a one-time filter of an empty SELECT, so the batch carries no row (no DataRow to
 * send, parse and drop) and no parameter for the setting's name.
 */
const SCOPE_STATEMENTS = {
  'bulwark.tenant': { name: 'bulwark.scope.tenant', text: "SELECT WHERE set_config('bulwark.tenant', $1, true) IS NULL" },
  'bulwark.system': { name: 'bulwark.scope.system', text: "SELECT WHERE set_config('bulwark.system', $1, true) IS NULL" },
} as const;

/** Per pg connection, the preamble statements known to be parsed on it. */
const scopeParsed = new WeakMap<object, Set<string>>();

/** The protocol calls of pg's Connection this module sends. */
interface Connection {
  parse(config: { text: string; name?: string; types?: unknown }): void;
  bind(config: { portal: string; statement?: string; values?: unknown[]; binary?: boolean; valueMapper?: (v: unknown) => unknown }): void;
  describe(config: { type: 'P' | 'S'; name: string }): void;
  execute(config: { portal: string; rows?: number }): void;
  close(config: { type: 'P' | 'S'; name: string }): void;
  sync(): void;
  parsedStatements: Record<string, string>;
  submittedNamedStatements: Record<string, string>;
  stream: { cork?: () => void; uncork?: () => void };
}

/** pg's Query as this module extends it (its internals are not in @types/pg). */
interface QueryInternals {
  text: string;
  name?: string;
  values?: unknown[];
  types?: unknown;
  binary?: boolean;
  portal: string;
  hasBeenParsed(connection: Connection): boolean;
  handleDataRow(msg: unknown): void;
  handleCommandComplete(msg: unknown, connection: Connection): void;
  handleError(err: Error, connection: Connection): void;
  handleReadyForQuery(connection: Connection): void;
}

const BaseQuery = pg.Query as unknown as new (config: pg.QueryConfig, values?: unknown, callback?: (err: Error | null, result: pg.QueryResult) => void) => QueryInternals;

class ScopedQuery extends BaseQuery {
  /** True until the set_config's own CommandComplete has gone by (its row is not the caller's). */
  private inPreamble = true;
  private failed = false;
  private readonly setting: ScopeSetting;

  constructor(config: pg.QueryConfig, setting: ScopeSetting, callback: (err: Error | null, result: pg.QueryResult) => void) {
    super(config, undefined, callback);
    this.setting = setting;
  }

  requiresPreparation(): boolean {
    return true;
  }

  submit(connection: Connection): Error | null {
    const previous = this.name ? (connection.parsedStatements[this.name] ?? connection.submittedNamedStatements[this.name]) : undefined;
    if (previous !== undefined && previous !== this.text) return new Error(`Prepared statements must be unique - '${this.name}' was used for a different statement`);
    connection.stream.cork?.();
    try {
      this.send(connection);
    } finally {
      connection.stream.uncork?.();
    }
    return null;
  }

  private send(connection: Connection): void {
    if (!this.hasBeenParsed(connection)) {
      connection.parse({ text: this.text, name: this.name, types: this.types });
      if (this.name) connection.submittedNamedStatements[this.name] = this.text;
    }
    const scope = SCOPE_STATEMENTS[this.setting[0]];
    if (!scopeParsed.get(connection)?.has(scope.name)) {
      // Not known to exist here (first use, or an earlier batch failed before we learnt): closing a missing one is no error.
      connection.close({ type: 'S', name: scope.name });
      connection.parse({ text: scope.text, name: scope.name });
    }
    connection.bind({ portal: '', statement: scope.name, values: [this.setting[1]] });
    connection.execute({ portal: '' });
    let mapped: unknown[] | undefined;
    try {
      mapped = this.values?.map((v) => prepareValue(v));
    } catch (err) {
      connection.sync();
      this.handleError(err as Error, connection);
      return;
    }
    connection.bind({ portal: this.portal, statement: this.name ?? '', values: mapped ?? [], binary: this.binary });
    connection.describe({ type: 'P', name: this.portal });
    connection.execute({ portal: this.portal });
    connection.sync();
  }

  override handleDataRow(msg: unknown): void {
    if (!this.inPreamble) super.handleDataRow(msg);
  }

  override handleCommandComplete(msg: unknown, connection: Connection): void {
    if (this.inPreamble) {
      this.inPreamble = false;
      let parsed = scopeParsed.get(connection);
      if (!parsed) scopeParsed.set(connection, (parsed = new Set()));
      parsed.add(SCOPE_STATEMENTS[this.setting[0]].name);
      return;
    }
    super.handleCommandComplete(msg, connection);
  }

  override handleError(err: Error, connection: Connection): void {
    this.failed = true;
    super.handleError(err, connection);
  }

  override handleReadyForQuery(connection: Connection): void {
    if (!this.failed) super.handleReadyForQuery(connection);
  }
}

/** The (name, value) `set_config` a context needs. */
export type ScopeSetting = [name: 'bulwark.tenant' | 'bulwark.system', value: string];

/** Runs one statement on `client` scoped by `setting` (SET LOCAL semantics), in one batch with one Sync. */
export function queryScoped<R extends pg.QueryResultRow>(client: pg.ClientBase, config: pg.QueryConfig, setting: ScopeSetting): Promise<pg.QueryResult<R>> {
  return new Promise((resolve, reject) => {
    const query = new ScopedQuery(config, setting, (err, result) => (err ? reject(err) : resolve(result as pg.QueryResult<R>)));
    client.query(query as unknown as pg.Submittable);
  });
}
