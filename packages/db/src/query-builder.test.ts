import { describe, expect, it } from '@jest/globals';
import { createQueryBuilder, runQuery, sql, type Generated } from './query-builder.ts';
import type { Queryable } from './pool.ts';

interface Tables {
  items: { id: string; qty: number; note: string | null; created_at: Generated<Date> };
}

const qb = createQueryBuilder<Tables>();

describe('query builder', () => {
  it('when a query is built, then it compiles to PostgreSQL with numbered parameters', () => {
    const compiled = qb.selectFrom('items').select(['id', 'qty']).where('id', 'in', ['a', 'b']).where('qty', '>', 2).orderBy('id').compile();
    expect(compiled.sql).toBe('select "id", "qty" from "items" where "id" in ($1, $2) and "qty" > $3 order by "id"');
    expect(compiled.parameters).toEqual(['a', 'b', 2]);
  });

  it('when it is run, then the compiled text and values go to the queryable under the given name', async () => {
    const sent: unknown[] = [];
    const db: Queryable = {
      query: async (q) => {
        sent.push(q);
        return { rows: [{ id: 'a', n: 1 }], rowCount: 1, command: 'SELECT', oid: 0, fields: [] } as never;
      },
    };
    const { rows } = await runQuery(db, 'items.count', qb.selectFrom('items').select(['id', sql<number>`count(*)::int`.as('n')]).groupBy('id'));
    expect(rows[0]!.n).toBe(1);
    expect(sent).toEqual([{ name: 'items.count', text: 'select "id", count(*)::int as "n" from "items" group by "id"', values: [] }]);
  });

  it('when a builder is executed by Kysely itself, then it is refused (it would bypass the pool)', async () => {
    await expect(qb.selectFrom('items').selectAll().execute()).rejects.toThrow('runQuery');
  });
});
