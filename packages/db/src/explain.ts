/**
 * The plan of a slow statement, for the slow-query log (query-tracking.ts).
 * A read is run again under `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)` in a
 * READ ONLY transaction that is rolled back, in the caller's tenant context
 * (the pool scopes the BEGIN), on its own connection. A statement that may
 * write is only planned (`EXPLAIN (FORMAT JSON)`): analysing it would run the
 * write a second time. Every string of the plan has its literals folded
 * (sql-shape.ts), since conditions show bound values and values may be
 * personal data; numbers of the plan (costs, rows, buffers) stay.
 */
import type { DbPool } from './pool.ts';
import { EXPLAIN_STATEMENT, type Explainer } from './query-tracking.ts';
import { foldLiterals } from './sql-shape.ts';

const READ = /^\s*(?:\(\s*)*(?:SELECT|WITH|VALUES|TABLE)\b/i;
const WRITE = /\b(?:INSERT|UPDATE|DELETE|MERGE|CALL|FOR\s+(?:NO\s+KEY\s+)?UPDATE|FOR\s+(?:KEY\s+)?SHARE|nextval|setval|set_config|pg_advisory\w*)\b/i;

/** True when running `text` again cannot change anything. */
export function isReadOnlyStatement(text: string): boolean {
  return READ.test(text) && !WRITE.test(text);
}

/** The plan with every string's literals folded (numbers kept). */
export function redactPlan(plan: unknown): unknown {
  if (typeof plan === 'string') return foldLiterals(plan);
  if (Array.isArray(plan)) return plan.map(redactPlan);
  if (plan !== null && typeof plan === 'object') return Object.fromEntries(Object.entries(plan).map(([k, v]) => [k, redactPlan(v)]));
  return plan;
}

export function explainerFor(pool: DbPool): Explainer {
  return async ({ text, values }) => {
    const query = (options: string) => ({ name: EXPLAIN_STATEMENT, text: `EXPLAIN (${options}) ${text}`, ...(values ? { values } : {}) });
    if (!isReadOnlyStatement(text)) {
      const { rows } = await pool.query<{ 'QUERY PLAN': unknown }>(query('FORMAT JSON'));
      return redactPlan(rows[0]?.['QUERY PLAN']);
    }
    return pool.withClient(async (client) => {
      await client.query({ name: 'tx.begin', text: 'BEGIN READ ONLY' });
      try {
        const { rows } = await client.query<{ 'QUERY PLAN': unknown }>(query('ANALYZE, BUFFERS, FORMAT JSON'));
        return redactPlan(rows[0]?.['QUERY PLAN']);
      } finally {
        await client.query({ name: 'tx.rollback', text: 'ROLLBACK' });
      }
    });
  };
}
