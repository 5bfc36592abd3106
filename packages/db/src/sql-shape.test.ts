import { describe, expect, it } from '@jest/globals';
import { createShapeCache, foldLiterals, sqlShape } from './sql-shape.ts';

describe('sqlShape', () => {
  it('when only parameters or literals differ, then the shapes are equal', () => {
    const a = sqlShape("SELECT * FROM orders WHERE id = $1 AND status = 'placed' AND total > 10.5");
    const b = sqlShape("SELECT * FROM orders WHERE id = $2 AND status = 'paid' AND total > 3");
    expect(a).toBe('SELECT * FROM orders WHERE id = ? AND status = ? AND total > ?');
    expect(b).toBe(a);
  });

  it('when IN lists, VALUES rows and arrays have different lengths, then they fold to one shape', () => {
    expect(sqlShape('SELECT 1 FROM t WHERE id IN ($1, $2, $3)')).toBe(sqlShape('SELECT 1 FROM t WHERE id IN ($1)'));
    expect(sqlShape('INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4), ($5, $6)')).toBe('INSERT INTO t (a, b) VALUES (?+)…');
    expect(sqlShape('INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)')).toBe(sqlShape('INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4), ($5, $6)'));
    expect(sqlShape('SELECT * FROM t WHERE id = ANY(ARRAY[1, 2, 3])')).toBe('SELECT * FROM t WHERE id = ANY(ARRAY[?+])');
  });

  it('when the text has comments, escapes, dollar quotes and odd spacing, then none of it survives', () => {
    const text = `-- who asked
      SELECT  /* hint */ name
      FROM "Weird""Table"  WHERE note = E'it\\'s' AND body = $$x'y$$ AND tag = $t$z$t$ AND q = 'a''b'`;
    expect(sqlShape(text)).toBe('SELECT name FROM "Weird""Table" WHERE note = ? AND body = ? AND tag = ? AND q = ?');
  });

  it('when digits are part of identifiers or quoted names, then they are kept', () => {
    expect(sqlShape('SELECT col1, t2.x FROM orders_2024 AS t2 WHERE "x1" = 42')).toBe('SELECT col1, t2.x FROM orders_2024 AS t2 WHERE "x1" = ?');
  });

  it('when a plan line carries values, then foldLiterals hides them', () => {
    expect(foldLiterals("Index Cond: (email = 'ann@example.com'::text) AND (age > 42)")).toBe('Index Cond: (email = ?::text) AND (age > ?)');
  });

  it('when the cache is full, then it starts over and still answers', () => {
    const shape = createShapeCache(2);
    expect(shape('SELECT 1')).toBe('SELECT ?');
    expect(shape('SELECT 2')).toBe('SELECT ?');
    expect(shape("SELECT 'x'")).toBe('SELECT ?');
    expect(shape('SELECT $1')).toBe('SELECT ?');
  });
});
